// The linear classifier over normalised image features that cross-entropy finetuning trains,
// initialised as CLIP's zero-shot classifier: per class, the text embeddings of its prompts
// (one per template) normalised, averaged and normalised again, times exp(logit_scale).
// The `ce` loss and the head's file format (classifier.safetensors: weights [C, P], class
// names and templates in the metadata) are here too. The head has no bias, as the zero-shot
// classifier has none.
// Legend: N images, C classes, P projection width.
import ArfCLIP
import ArfTensor
import Foundation

/// Normalised class embeddings [C, P]: for each class, the mean of its normalised prompt
/// embeddings over `templates`, normalised.
public func zeroShotClassEmbeddings(
    model: CLIPModel, tokenizer: CLIPTokenizer, classNames: [String], templates: [String],
    batchSize: Int = 64
) throws -> Tensor {
    let forms = templates.isEmpty ? ["{}"] : templates
    let texts = classNames.flatMap { name in forms.map { Prompts.fill($0, with: name) } }
    let p = model.config.projectionDim
    let embedded = Tensor(zeros: [texts.count, p])
    let state = TowerState()
    for start in stride(from: 0, to: texts.count, by: batchSize) {
        let chunk = Array(texts[start..<Swift.min(start + batchSize, texts.count)])
        let features = try model.textFeatures(ids: tokenizer.encode(chunk), state: state)
        let norms = Tensor(zeros: [chunk.count])
        L2Normalize.forward(
            x: features.data, y: embedded.data + start * p, norms: norms.data, n: chunk.count,
            p: p)
    }
    let classes = Tensor(zeros: [classNames.count, p])
    for c in 0..<classNames.count {
        let mean = classes.data + c * p
        for t in 0..<forms.count {
            let row = embedded.data + (c * forms.count + t) * p
            for i in 0..<p { mean[i] += row[i] / Float(forms.count) }
        }
    }
    let norms = Tensor(zeros: [Swift.max(classNames.count, 1)])
    L2Normalize.forward(
        x: classes.data, y: classes.data, norms: norms.data, n: classNames.count, p: p)
    return classes
}

/// A linear head over normalised image features: logits = normalise(features) W^T.
public final class ClassifierHead {
    /// The head's weights [C, P]; decayed like other weight matrices.
    public let weight: Parameter
    public let classNames: [String]
    /// The templates the head was initialised from, kept for WiSE-FT's zero-shot endpoint.
    public let templates: [String]

    public init(classNames: [String], templates: [String], weights: Tensor) {
        precondition(
            weights.shape.count == 2 && weights.shape[0] == classNames.count,
            "head weights \(weights.shape) for \(classNames.count) classes")
        weight = Parameter(name: "classifier.weight", shape: weights.shape, decays: true)
        weight.value.copy(from: weights)
        self.classNames = classNames
        self.templates = templates
    }

    /// CLIP's zero-shot classifier as a head: class embeddings times exp(logit_scale).
    public static func zeroShot(
        model: CLIPModel, tokenizer: CLIPTokenizer, classNames: [String], templates: [String]
    ) throws -> ClassifierHead {
        let weights = try zeroShotClassEmbeddings(
            model: model, tokenizer: tokenizer, classNames: classNames, templates: templates)
        let scale = Foundation.exp(model.logitScale.value[0])
        for i in 0..<weights.count { weights.data[i] *= scale }
        return ClassifierHead(classNames: classNames, templates: templates, weights: weights)
    }

    public var classCount: Int { weight.shape[0] }
    public var width: Int { weight.shape[1] }

    /// Logits [N, C] of image features [N, P] (not normalised).
    public func logits(features: Tensor) -> Tensor {
        let (n, p) = (features.shape[0], features.shape[1])
        let normalized = Tensor(zeros: [n, p])
        let norms = Tensor(zeros: [Swift.max(n, 1)])
        L2Normalize.forward(x: features.data, y: normalized.data, norms: norms.data, n: n, p: p)
        let logits = Tensor(zeros: [n, classCount])
        Compute.serialized {
            gemm(
                transB: true, m: n, n: classCount, k: p, a: normalized.data, lda: p,
                b: weight.value.data, ldb: p, c: logits.data, ldc: classCount)
        }
        return logits
    }

    /// The file name of a head inside a checkpoint folder.
    public static let fileName = "classifier.safetensors"

    /// Writes the weights with class names and templates (JSON arrays) in the metadata.
    public func save(to url: URL) throws {
        let names = String(decoding: try JSONEncoder().encode(classNames), as: UTF8.self)
        let forms = String(decoding: try JSONEncoder().encode(templates), as: UTF8.self)
        try SafeTensorsFile.write(
            [("weight", weight.value)],
            metadata: ["format": "arf-classifier", "class_names": names, "templates": forms],
            to: url)
    }

    /// Reads a head written by `save`, checking that names and weights agree.
    public static func load(from url: URL) throws -> ClassifierHead {
        let file = try SafeTensorsFile(url: url)
        func list(_ key: String) throws -> [String] {
            guard let text = file.metadata[key],
                let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8))
            else { throw TrainingError.badHead(path: url.path, reason: "no \(key) list") }
            return list
        }
        let names = try list("class_names")
        let weights = try file.tensor("weight")
        guard weights.shape.count == 2, weights.shape[0] == names.count else {
            throw TrainingError.badHead(
                path: url.path, reason: "weight \(weights.shape) for \(names.count) classes")
        }
        return ClassifierHead(classNames: names, templates: try list("templates"), weights: weights)
    }
}

/// Cross-entropy of the head's logits against the labels (the `ce` loss).
public final class CrossEntropyLoss: TrainingLoss {
    public struct Options: Codable, Equatable {
        /// Mass moved from the label to a uniform distribution over classes.
        public var labelSmoothing: Double = 0

        public init(labelSmoothing: Double = 0) { self.labelSmoothing = labelSmoothing }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            labelSmoothing = try c.decodeIfPresent(Double.self, forKey: .labelSmoothing) ?? 0
            guard labelSmoothing >= 0, labelSmoothing < 1 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .labelSmoothing, in: c, debugDescription: "must be in [0, 1)")
            }
        }
    }

    public static let name = "ce"
    public static let version = 1
    public let options: Options
    public let head: ClassifierHead
    public var usesPairs: Bool { false }
    public var usesTexts: Bool { false }
    public var parameters: [Parameter] { [head.weight] }

    public init(head: ClassifierHead, options: Options = Options()) {
        self.head = head
        self.options = options
    }

    public func plan(for batch: TrainingBatch, random: inout SeededGenerator) -> LossPlan {
        LossPlan()
    }

    public func compute(_ inputs: LossInputs) -> LossOutput {
        let features = inputs.images
        let (n, p, c) = (features.shape[0], features.shape[1], head.classCount)
        precondition(p == head.width, "features of width \(p) for a head of width \(head.width)")
        let y = Tensor(zeros: [n, p])
        let norms = Tensor(zeros: [Swift.max(n, 1)])
        L2Normalize.forward(x: features.data, y: y.data, norms: norms.data, n: n, p: p)
        let logits = Tensor(zeros: [n, c])
        Compute.serialized {
            gemm(
                transB: true, m: n, n: c, k: p, a: y.data, lda: p, b: head.weight.value.data,
                ldb: p, c: logits.data, ldc: c)
        }

        let smoothing = Float(options.labelSmoothing)
        let targets: [[(Int, Float)]] = inputs.batch.labels.map { label in
            guard smoothing > 0 else { return [(label, 1)] }
            return (0..<c).map { ($0, smoothing / Float(c) + ($0 == label ? 1 - smoothing : 0)) }
        }
        let dLogits = Tensor(zeros: [n, c])
        let loss = CrossEntropy.forwardBackward(
            logits: logits.data, rows: n, classes: c, targets: targets, dLogits: dLogits.data)

        // dW = dLogits^T y; dy = dLogits W; then back through the normalisation.
        let dWeight = Tensor(zeros: [c, p])
        let dy = Tensor(zeros: [n, p])
        Compute.serialized {
            gemm(
                transA: true, m: c, n: p, k: n, a: dLogits.data, lda: c, b: y.data, ldb: p,
                c: dWeight.data, ldc: p)
            gemm(
                m: n, n: p, k: c, a: dLogits.data, lda: c, b: head.weight.value.data, ldb: p,
                c: dy.data, ldc: p)
        }
        let dImages = Tensor(zeros: [n, p])
        L2Normalize.backward(
            dy: dy.data, y: y.data, norms: norms.data, dx: dImages.data, n: n, p: p)
        return LossOutput(loss: loss, dImages: dImages, dParameters: [dWeight])
    }
}
