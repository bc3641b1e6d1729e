// The architecture of a CLIP model, decoded from a Hugging Face checkpoint's config.json with
// transformers' defaults for anything the file leaves out. The original JSON is kept so that
// saving writes back every field, including those arf does not use.
import ArfTensor
import Foundation

/// What went wrong loading or saving a CLIP checkpoint.
public enum CLIPError: Error, CustomStringConvertible {
    case missingFile(path: String)
    case badConfig(path: String, reason: String)
    case missingTensor(name: String, expectedShape: [Int], file: String)
    case unexpectedTensor(name: String, shape: [Int], file: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int], file: String)
    case badInput(reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            "missing checkpoint file \(path)"
        case .badConfig(let path, let reason):
            "\(path): \(reason)"
        case .missingTensor(let name, let shape, let file):
            "\(file) has no tensor \(name) (expected shape \(shape))"
        case .unexpectedTensor(let name, let shape, let file):
            "\(file) has tensor \(name) \(shape) that the configured architecture does not use"
        case .shapeMismatch(let name, let expected, let found, let file):
            "\(file): tensor \(name) has shape \(found), the config implies \(expected)"
        case .badInput(let reason):
            reason
        }
    }
}

/// The hyper-parameters shared by both towers' transformers.
public struct TransformerConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var activation: Activation
    public var layerNormEps: Float
}

/// The vision tower: a ViT over square images cut into square patches.
public struct VisionConfig: Sendable, Equatable {
    public var transformer: TransformerConfig
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int

    public var grid: Int { imageSize / patchSize }
    /// Patches plus the class token.
    public var tokens: Int { grid * grid + 1 }
}

/// The text tower: a causal transformer over BPE tokens.
public struct TextConfig: Sendable, Equatable {
    public var transformer: TransformerConfig
    public var vocabularySize: Int
    public var contextLength: Int
    public var endTokenId: Int
    /// Older checkpoints say eos is 2 and pool at the highest token id instead.
    public var poolsAtHighestId: Bool { endTokenId == 2 }
}

/// A whole CLIP model's architecture.
public struct CLIPConfig: Sendable, Equatable {
    public var vision: VisionConfig
    public var text: TextConfig
    public var projectionDim: Int
    public var logitScaleInit: Float
    /// The decoded config.json, written back on save.
    public var json: [String: JSONValue]

    /// Decodes a Hugging Face CLIPModel config.json.
    public init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CLIPError.missingFile(path: url.path)
        }
        guard case .object(let root)? = try? JSONValue(parsing: data) else {
            throw CLIPError.badConfig(path: url.path, reason: "not a JSON object")
        }
        try self.init(json: root, path: url.path)
    }

    public init(json root: [String: JSONValue], path: String = "config.json") throws {
        let textJSON = root["text_config"]?.objectValue ?? [:]
        let visionJSON = root["vision_config"]?.objectValue ?? [:]

        func transformer(_ j: [String: JSONValue], width: Int, mlp: Int, layers: Int, heads: Int)
            throws -> TransformerConfig
        {
            let act = j["hidden_act"]?.stringValue ?? "quick_gelu"
            guard let activation = Activation(rawValue: act) else {
                throw CLIPError.badConfig(
                    path: path, reason: "hidden_act \(act) is not supported (quick_gelu, gelu)")
            }
            let config = TransformerConfig(
                hiddenSize: j["hidden_size"]?.intValue ?? width,
                intermediateSize: j["intermediate_size"]?.intValue ?? mlp,
                layers: j["num_hidden_layers"]?.intValue ?? layers,
                heads: j["num_attention_heads"]?.intValue ?? heads, activation: activation,
                layerNormEps: Float(j["layer_norm_eps"]?.doubleValue ?? 1e-5))
            guard config.hiddenSize > 0, config.heads > 0, config.hiddenSize % config.heads == 0,
                config.layers >= 0, config.intermediateSize > 0
            else {
                throw CLIPError.badConfig(
                    path: path, reason: "hidden_size \(config.hiddenSize) must be a positive "
                        + "multiple of num_attention_heads \(config.heads)")
            }
            return config
        }

        text = TextConfig(
            transformer: try transformer(textJSON, width: 512, mlp: 2048, layers: 12, heads: 8),
            vocabularySize: textJSON["vocab_size"]?.intValue ?? 49408,
            contextLength: textJSON["max_position_embeddings"]?.intValue ?? 77,
            endTokenId: textJSON["eos_token_id"]?.intValue ?? 49407)
        vision = VisionConfig(
            transformer: try transformer(visionJSON, width: 768, mlp: 3072, layers: 12, heads: 12),
            imageSize: visionJSON["image_size"]?.intValue ?? 224,
            patchSize: visionJSON["patch_size"]?.intValue ?? 32,
            channels: visionJSON["num_channels"]?.intValue ?? 3)
        projectionDim = root["projection_dim"]?.intValue ?? 512
        logitScaleInit = Float(root["logit_scale_init_value"]?.doubleValue ?? 2.6592)
        json = root

        guard vision.patchSize > 0, vision.imageSize % vision.patchSize == 0 else {
            throw CLIPError.badConfig(
                path: path, reason: "image_size \(vision.imageSize) is not a multiple of "
                    + "patch_size \(vision.patchSize)")
        }
        guard text.vocabularySize > 0, text.contextLength > 0, projectionDim > 0 else {
            throw CLIPError.badConfig(path: path, reason: "sizes must be positive")
        }
    }

    /// A one-line summary for logs and listings.
    public var summary: String {
        let v = vision.transformer
        let t = text.transformer
        return "vision \(v.layers)x\(v.hiddenSize) patch \(vision.patchSize) on "
            + "\(vision.imageSize)px, text \(t.layers)x\(t.hiddenSize) over "
            + "\(text.contextLength) tokens, projection \(projectionDim)"
    }
}
