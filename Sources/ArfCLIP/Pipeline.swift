// A checkpoint ready for inference: the model with its tokenizer and image preprocessing,
// turning texts and pictures into normalised embeddings and images into zero-shot class
// probabilities. Calls may come from several threads at once: each call takes a tower state
// from a small pool, so buffers are reused across calls without being shared between them.
import ArfImage
import ArfSupport
import ArfTensor
import Foundation

/// A model, its tokenizer and its preprocessor, loaded from one checkpoint folder.
public final class CLIPPipeline: @unchecked Sendable {
    public let directory: URL
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let preprocessor: ImagePreprocessor
    /// Images and texts go through the towers in batches of at most this many.
    public var batchSize = 64
    private var idleStates: [TowerState] = []
    private let lock = NSLock()

    public init(directory: URL) throws {
        self.directory = directory
        model = try CLIPModel.load(directory: directory)
        tokenizer = try CLIPTokenizer(
            directory: directory, contextLength: model.config.text.contextLength)
        preprocessor = try ImagePreprocessor(directory: directory)
        guard preprocessor.cropSize == model.config.vision.imageSize else {
            throw CLIPError.badConfig(
                path: directory.appendingPathComponent("preprocessor_config.json").path,
                reason: "crop size \(preprocessor.cropSize) differs from the model's image size "
                    + "\(model.config.vision.imageSize)")
        }
    }

    /// Runs `body` with a tower state nobody else is using.
    func withState<T>(_ body: (TowerState) throws -> T) rethrows -> T {
        let state = lock.withLock { idleStates.popLast() } ?? TowerState()
        defer { lock.withLock { idleStates.append(state) } }
        return try body(state)
    }

    /// L2-normalised text embeddings, one row per text.
    public func embed(texts: [String]) throws -> [[Float]] {
        var rows: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let ids = tokenizer.encode(
                Array(texts[start..<Swift.min(start + batchSize, texts.count)]))
            let features = try withState { try model.textFeatures(ids: ids, state: $0) }
            rows += normalizedRows(features)
        }
        return rows
    }

    /// L2-normalised image embeddings of decoded images, one row per image.
    public func embed(images: [RGBImage]) throws -> [[Float]] {
        try embed(pixelRows: images.map(preprocessor.pixelValues))
    }

    /// L2-normalised image embeddings of preprocessed pixel rows (C x S x S floats each).
    public func embed(pixelRows: [[Float]]) throws -> [[Float]] {
        let side = model.config.vision.imageSize
        let channels = model.config.vision.channels
        var rows: [[Float]] = []
        for start in stride(from: 0, to: pixelRows.count, by: batchSize) {
            let chunk = pixelRows[start..<Swift.min(start + batchSize, pixelRows.count)]
            let pixels = Tensor(chunk.flatMap { $0 }, shape: [chunk.count, channels, side, side])
            let features = try withState { try model.imageFeatures(pixels: pixels, state: $0) }
            rows += normalizedRows(features)
        }
        return rows
    }

    /// One embedding per label: the normalised mean of the label's normalised embeddings
    /// under every template (each `{}` in a template is replaced by the label).
    public func classEmbeddings(labels: [String], templates: [String]) throws -> [[Float]] {
        let forms = templates.isEmpty ? ["{}"] : templates
        let texts = labels.flatMap { label in
            forms.map {
                $0.contains("{}")
                    ? $0.replacingOccurrences(of: "{}", with: label) : "\($0) \(label)"
            }
        }
        let embedded = try embed(texts: texts)
        return labels.indices.map { i in
            let group = embedded[(i * forms.count)..<((i + 1) * forms.count)]
            var mean = [Float](repeating: 0, count: group.first?.count ?? 0)
            for row in group { for k in mean.indices { mean[k] += row[k] } }
            return normalized(mean)
        }
    }

    /// Class probabilities of each image embedding against class embeddings, using the
    /// model's logit scale as CLIP does.
    public func probabilities(images: [[Float]], classes: [[Float]]) -> [[Float]] {
        let scale = Foundation.exp(model.logitScale.value[0])
        return images.map { image in
            let logits = classes.map { c in scale * zip(image, c).reduce(0) { $0 + $1.0 * $1.1 } }
            let peak = logits.max() ?? 0
            let exps = logits.map { Foundation.exp($0 - peak) }
            let total = exps.reduce(0, +)
            return exps.map { $0 / total }
        }
    }
}

func normalizedRows(_ t: Tensor) -> [[Float]] {
    let (n, p) = (t.shape[0], t.shape[1])
    return (0..<n).map { normalized(Array(UnsafeBufferPointer(start: t.data + $0 * p, count: p))) }
}

func normalized(_ v: [Float]) -> [Float] {
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return norm > 0 ? v.map { $0 / norm } : v
}
