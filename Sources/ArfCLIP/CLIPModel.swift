// A CLIP model: both towers, the projections and the logit scale, loaded from and saved to a
// Hugging Face checkpoint folder (config.json + model.safetensors). Loading checks every
// tensor against the shape the config implies and names the tensor on any mismatch.
import ArfSupport
import ArfTensor
import Foundation

/// A CLIP model with its weights.
public final class CLIPModel {
    public let config: CLIPConfig
    public let vision: VisionTower
    public let text: TextTower
    public let logitScale: Parameter
    /// Every parameter, in the order transformers lists them.
    public let parameters: [Parameter]

    /// A model of the given architecture with all weights zero.
    public init(config: CLIPConfig) {
        self.config = config
        text = TextTower(config: config.text, projectionDim: config.projectionDim)
        vision = VisionTower(config: config.vision, projectionDim: config.projectionDim)
        logitScale = Parameter(name: "logit_scale", shape: [], decays: false)
        logitScale.value[0] = config.logitScaleInit
        parameters = text.parameters + vision.parameters + [logitScale]
    }

    /// Buffers some checkpoints carry that are not weights.
    static let ignoredTensors: Set<String> = [
        "text_model.embeddings.position_ids", "vision_model.embeddings.position_ids",
    ]

    /// Loads config.json and model.safetensors from a checkpoint folder.
    public static func load(directory: URL) throws -> CLIPModel {
        let config = try CLIPConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let weights = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw CLIPError.missingFile(path: weights.path)
        }
        let model = CLIPModel(config: config)
        try model.loadWeights(from: SafeTensorsFile(url: weights))
        log.info(
            "model loaded", ("path", directory.path), ("architecture", config.summary),
            ("parameters", model.parameterCount))
        return model
    }

    /// Replaces every weight with the file's; fails, changing nothing, on any missing,
    /// unknown or misshapen tensor.
    public func loadWeights(from file: SafeTensorsFile) throws {
        let known = Set(parameters.map(\.name))
        for name in file.names where !known.contains(name) && !Self.ignoredTensors.contains(name) {
            throw CLIPError.unexpectedTensor(
                name: name, shape: file.entries[name]!.shape, file: file.path)
        }
        for p in parameters {
            guard let entry = file.entries[p.name] else {
                throw CLIPError.missingTensor(name: p.name, expectedShape: p.shape, file: file.path)
            }
            // A scalar may be stored as [] or [1].
            let sameCount = entry.shape.reduce(1, *) == p.value.count
            guard entry.shape == p.shape || (p.shape.isEmpty && sameCount) else {
                throw CLIPError.shapeMismatch(
                    name: p.name, expected: p.shape, found: entry.shape, file: file.path)
            }
        }
        // Every tensor is read before any is copied, so a failure changes nothing.
        let loaded = try parameters.map { try file.tensor($0.name) }
        for (p, value) in zip(parameters, loaded) { p.value.copy(from: value) }
    }

    /// Writes config.json and model.safetensors so that transformers loads them unchanged.
    public func save(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data((JSONValue.object(config.json).serialized() + "\n").utf8)
            .write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        try SafeTensorsFile.write(
            parameters.map { ($0.name, $0.value) },
            to: directory.appendingPathComponent("model.safetensors"))
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Image features [B, P], before normalisation, of pixels [B, C, S, S].
    public func imageFeatures(pixels: Tensor, state: TowerState, training: Bool = false) throws
        -> Tensor
    {
        let side = config.vision.imageSize
        let perImage = config.vision.channels * side * side
        guard pixels.count > 0, pixels.count % perImage == 0 else {
            throw CLIPError.badInput(
                reason: "pixel tensor \(pixels.shape) is not a batch of \(config.vision.channels)"
                    + "x\(side)x\(side) images")
        }
        return Compute.serialized {
            vision.forward(pixels: pixels, b: pixels.count / perImage, state: state,
                           training: training)
        }
    }

    /// Text features [B, P], before normalisation, of token id rows of equal length.
    public func textFeatures(ids: [[Int32]], state: TowerState, training: Bool = false) throws
        -> Tensor
    {
        try Compute.serialized { try text.forward(ids: ids, state: state, training: training) }
    }

    /// Accumulates gradients from d(image features), after `imageFeatures(training: true)`.
    public func imageBackward(dFeatures: Tensor, state: TowerState) {
        Compute.serialized { vision.backward(dFeatures: dFeatures, state: state) }
    }

    /// Accumulates gradients from d(text features), after `textFeatures(training: true)`.
    public func textBackward(dFeatures: Tensor, state: TowerState) {
        Compute.serialized { text.backward(dFeatures: dFeatures, state: state) }
    }

    public func zeroGradients() { for p in parameters { p.zeroGradient() } }
}
