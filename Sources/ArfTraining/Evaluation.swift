// Zero-shot (or ce-head) classification accuracy of a model on a labelled image source:
// top-1, top-5 when there are at least five classes, and mean per-class recall, the metrics
// CLIP_benchmark reports, with its JSON layout for export. The classifier is either the
// zero-shot one (class embeddings from a prompt-template ensemble) or a trained ce head;
// both rank classes by a product with normalised image features, so the logit scale does
// not change any metric.
// Left out: evaluation sets whose classes are a subset of the head's (the caller maps
// labels into the head's class list).
// Legend: N images, C classes, P projection width.
import ArfCLIP
import ArfTensor
import Foundation

/// Accuracy metrics of scores against labels.
public struct ClassificationMetrics: Codable, Equatable, Sendable {
    public var top1: Double
    /// Nil when there are fewer than five classes.
    public var top5: Double?
    /// The mean over classes that occur in the labels of the fraction of their examples
    /// ranked first (balanced accuracy).
    public var meanPerClassRecall: Double
    public var examples: Int

    public init(top1: Double, top5: Double?, meanPerClassRecall: Double, examples: Int) {
        self.top1 = top1
        self.top5 = top5
        self.meanPerClassRecall = meanPerClassRecall
        self.examples = examples
    }

    /// Metrics of score rows (one per example, one score per class) against labels. Ties
    /// rank the lower class index first, as an argmax would.
    public static func compute(scores: [[Float]], labels: [Int], classes: Int)
        -> ClassificationMetrics
    {
        precondition(
            scores.count == labels.count, "\(scores.count) score rows, \(labels.count) labels")
        var hits1 = 0
        var hits5 = 0
        var classTotal = [Int](repeating: 0, count: classes)
        var classHits = [Int](repeating: 0, count: classes)
        for (row, label) in zip(scores, labels) {
            let own = row[label]
            var rank = 0
            for (c, s) in row.enumerated() where s > own || (s == own && c < label) { rank += 1 }
            if rank == 0 { hits1 += 1 }
            if rank < 5 { hits5 += 1 }
            classTotal[label] += 1
            if rank == 0 { classHits[label] += 1 }
        }
        let n = Double(Swift.max(labels.count, 1))
        let present = (0..<classes).filter { classTotal[$0] > 0 }
        let recall = present.reduce(0.0) { $0 + Double(classHits[$1]) / Double(classTotal[$1]) }
        return ClassificationMetrics(
            top1: Double(hits1) / n, top5: classes >= 5 ? Double(hits5) / n : nil,
            meanPerClassRecall: present.isEmpty ? 0 : recall / Double(present.count),
            examples: labels.count)
    }
}

/// One model evaluated on one dataset.
public struct EvaluationResult: Codable, Equatable, Sendable {
    public var dataset: String
    public var model: String
    public var classes: Int
    public var metrics: ClassificationMetrics

    public init(dataset: String, model: String, classes: Int, metrics: ClassificationMetrics) {
        self.dataset = dataset
        self.model = model
        self.classes = classes
        self.metrics = metrics
    }

    /// The result as CLIP_benchmark writes it (acc5 left out below five classes).
    public func benchmarkJSON() throws -> Data {
        struct Metrics: Encodable {
            var acc1: Double
            var acc5: Double?
            var mean_per_class_recall: Double
        }
        struct Benchmark: Encodable {
            var dataset: String
            var model: String
            var task = "zeroshot_classification"
            var metrics: Metrics
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(
            Benchmark(
                dataset: dataset, model: model,
                metrics: Metrics(
                    acc1: metrics.top1, acc5: metrics.top5,
                    mean_per_class_recall: metrics.meanPerClassRecall)))
    }
}

/// Classifies images with a model and a fixed classifier matrix.
public struct ZeroShotEvaluator {
    public let model: CLIPModel
    /// Class weights [C, P]: normalised class embeddings, or a ce head's weights.
    public let classifier: Tensor
    public let classNames: [String]
    public var batchSize = 64

    /// CLIP's zero-shot classifier from a template ensemble.
    public init(
        model: CLIPModel, tokenizer: CLIPTokenizer, classNames: [String], templates: [String]
    ) throws {
        self.model = model
        self.classNames = classNames
        classifier = try zeroShotClassEmbeddings(
            model: model, tokenizer: tokenizer, classNames: classNames, templates: templates)
    }

    /// A trained ce head as the classifier.
    public init(model: CLIPModel, head: ClassifierHead) {
        self.model = model
        classNames = head.classNames
        classifier = head.weight.value
    }

    /// Loads a checkpoint folder; uses its classifier.safetensors when it has one, else the
    /// zero-shot classifier of `classNames` under `templates`.
    public static func load(checkpoint: URL, classNames: [String], templates: [String]) throws
        -> ZeroShotEvaluator
    {
        let model = try CLIPModel.load(directory: checkpoint)
        let headURL = checkpoint.appendingPathComponent(ClassifierHead.fileName)
        if FileManager.default.fileExists(atPath: headURL.path) {
            return ZeroShotEvaluator(model: model, head: try ClassifierHead.load(from: headURL))
        }
        let tokenizer = try CLIPTokenizer(
            directory: checkpoint, contextLength: model.config.text.contextLength)
        return try ZeroShotEvaluator(
            model: model, tokenizer: tokenizer, classNames: classNames, templates: templates)
    }

    /// Scores [N][C] of every image of `source`.
    public func scores(_ source: LabeledImageSource) throws -> [[Float]] {
        let v = model.config.vision
        let perImage = v.channels * v.imageSize * v.imageSize
        let (c, p) = (classifier.shape[0], classifier.shape[1])
        let state = TowerState()
        let pixels = Tensor(zeros: [0])
        var rows: [[Float]] = []
        for start in stride(from: 0, to: source.count, by: batchSize) {
            let n = Swift.min(batchSize, source.count - start)
            pixels.resize([n, v.channels, v.imageSize, v.imageSize])
            for k in 0..<n {
                let slot = UnsafeMutableBufferPointer(
                    start: pixels.data + k * perImage, count: perImage)
                try source.pixels(start + k, into: slot)
            }
            let features = try model.imageFeatures(pixels: pixels, state: state)
            let normalized = Tensor(zeros: [n, p])
            let norms = Tensor(zeros: [n])
            L2Normalize.forward(
                x: features.data, y: normalized.data, norms: norms.data, n: n, p: p)
            let logits = Tensor(zeros: [n, c])
            Compute.serialized {
                gemm(
                    transB: true, m: n, n: c, k: p, a: normalized.data, lda: p,
                    b: classifier.data, ldb: p, c: logits.data, ldc: c)
            }
            for k in 0..<n {
                rows.append(Array(UnsafeBufferPointer(start: logits.data + k * c, count: c)))
            }
        }
        return rows
    }

    /// Metrics on `source`, whose classes must be the classifier's.
    public func evaluate(_ source: LabeledImageSource, dataset: String, modelName: String) throws
        -> EvaluationResult
    {
        guard source.classNames == classNames else {
            throw TrainingError.classNamesDiffer(config: classNames, data: source.classNames)
        }
        guard source.count > 0 else { throw TrainingError.emptyDataset(what: dataset) }
        let labels = try (0..<source.count).map { i -> Int in
            let label = source.label(i)
            guard label >= 0, label < classNames.count else {
                throw TrainingError.badLabel(index: i, label: label, classes: classNames.count)
            }
            return label
        }
        let metrics = ClassificationMetrics.compute(
            scores: try scores(source), labels: labels, classes: classNames.count)
        return EvaluationResult(
            dataset: dataset, model: modelName, classes: classNames.count, metrics: metrics)
    }
}
