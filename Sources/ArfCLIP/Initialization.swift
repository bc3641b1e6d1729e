// Fresh weights for a CLIP model, drawn as transformers initialises a new CLIPModel:
// normal weights whose spread shrinks with width and depth, zero biases, unit norms, and the
// configured logit scale. Used to pretrain from scratch and to benchmark without a checkpoint.
import ArfTensor
import Foundation

extension CLIPModel {
    /// Overwrites every weight with a fresh draw from `seed`.
    public func initializeRandomly(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let factor: Float = 1
        let range: Float = 0.02

        func blocks(_ layers: [EncoderLayer], width: Int) {
            let d = Float(width)
            let inStd =
                1 / d.squareRoot() / Float(2 * Swift.max(layers.count, 1)).squareRoot() * factor
            let outStd = 1 / d.squareRoot() * factor
            let fcStd = 1 / (2 * d).squareRoot() * factor
            for layer in layers {
                for w in [layer.qWeight, layer.kWeight, layer.vWeight] {
                    rng.fillNormal(w.value, std: inStd)
                }
                rng.fillNormal(layer.outWeight.value, std: outStd)
                rng.fillNormal(layer.fc1Weight.value, std: fcStd)
                rng.fillNormal(layer.fc2Weight.value, std: inStd)
                for b in [
                    layer.qBias, layer.kBias, layer.vBias, layer.outBias, layer.fc1Bias,
                    layer.fc2Bias, layer.norm1Bias, layer.norm2Bias,
                ] { b.value.zero() }
                for g in [layer.norm1Weight, layer.norm2Weight] { fill(g.value, 1) }
            }
        }

        rng.fillNormal(text.tokenEmbedding.value, std: range * factor)
        rng.fillNormal(text.positionEmbedding.value, std: range * factor)
        blocks(text.blocks, width: config.text.transformer.hiddenSize)
        fill(text.finalNormWeight.value, 1)
        text.finalNormBias.value.zero()

        let visionWidth = Float(config.vision.transformer.hiddenSize)
        rng.fillNormal(vision.classEmbedding.value, std: 1 / visionWidth.squareRoot() * factor)
        rng.fillNormal(vision.patchWeight.value, std: range * factor)
        rng.fillNormal(vision.positionEmbedding.value, std: range * factor)
        blocks(vision.blocks, width: config.vision.transformer.hiddenSize)
        for g in [vision.preNormWeight, vision.postNormWeight] { fill(g.value, 1) }
        vision.preNormBias.value.zero()
        vision.postNormBias.value.zero()

        let textWidth = Float(config.text.transformer.hiddenSize)
        rng.fillNormal(text.projection.value, std: 1 / textWidth.squareRoot() * factor)
        rng.fillNormal(vision.projection.value, std: 1 / visionWidth.squareRoot() * factor)
        logitScale.value[0] = config.logitScaleInit
    }
}

private func fill(_ t: Tensor, _ value: Float) { t.data.update(repeating: value, count: t.count) }

extension CLIPConfig {
    /// Architectures by name: the usual OpenAI shapes and a small one a CPU can pretrain.
    public static let presets: [String: [String: JSONValue]] = [
        "vit-b-32": shape(
            text: (512, 12, 8, 2048), vision: (768, 12, 12, 3072), patch: 32,
            image: 224, projection: 512),
        "vit-b-16": shape(
            text: (512, 12, 8, 2048), vision: (768, 12, 12, 3072), patch: 16,
            image: 224, projection: 512),
        "vit-l-14": shape(
            text: (768, 12, 12, 3072), vision: (1024, 24, 16, 4096), patch: 14,
            image: 224, projection: 768),
        "small": shape(
            text: (128, 3, 4, 512), vision: (128, 4, 4, 512), patch: 4, image: 32,
            projection: 128),
    ]

    /// The config.json of a CLIPModel with the given (width, layers, heads, MLP width) towers.
    public static func shape(
        text: (Int, Int, Int, Int), vision: (Int, Int, Int, Int), patch: Int, image: Int,
        projection: Int, vocabulary: Int = 49408, context: Int = 77,
        activation: Activation = .quickGelu
    ) -> [String: JSONValue] {
        func tower(_ t: (Int, Int, Int, Int), _ extra: [String: JSONValue]) -> JSONValue {
            var j: [String: JSONValue] = [
                "hidden_size": .integer(Int64(t.0)), "num_hidden_layers": .integer(Int64(t.1)),
                "num_attention_heads": .integer(Int64(t.2)),
                "intermediate_size": .integer(Int64(t.3)),
                "hidden_act": .string(activation.rawValue), "layer_norm_eps": .number(1e-5),
                "projection_dim": .integer(Int64(projection)), "initializer_range": .number(0.02),
                "initializer_factor": .number(1.0), "attention_dropout": .number(0.0),
            ]
            j.merge(extra) { $1 }
            return .object(j)
        }
        return [
            "architectures": .array([.string("CLIPModel")]), "model_type": .string("clip"),
            "projection_dim": .integer(Int64(projection)),
            "logit_scale_init_value": .number(2.6592),
            "initializer_factor": .number(1.0),
            "text_config": tower(
                text,
                [
                    "model_type": .string("clip_text_model"),
                    "vocab_size": .integer(Int64(vocabulary)),
                    "max_position_embeddings": .integer(Int64(context)),
                    "bos_token_id": .integer(Int64(vocabulary - 2)),
                    "eos_token_id": .integer(Int64(vocabulary - 1)), "pad_token_id": .integer(1),
                ]),
            "vision_config": tower(
                vision,
                [
                    "model_type": .string("clip_vision_model"),
                    "image_size": .integer(Int64(image)),
                    "patch_size": .integer(Int64(patch)), "num_channels": .integer(3),
                ]),
        ]
    }
}
