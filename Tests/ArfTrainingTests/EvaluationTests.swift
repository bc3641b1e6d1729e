// Evaluation metrics on predictions made by hand, the CLIP_benchmark export, and the
// evaluator's scores against the model's own features and classifier.
import ArfCLIP
import ArfTensor
import ArfTraining
import Foundation
import Testing

@Suite("Evaluation") struct EvaluationTests {
    @Test("top-1, top-5 and mean per-class recall of hand-made scores")
    func metricsOfHandMadeScores() {
        // Six classes; the label's rank in each row is noted on the right.
        let scores: [[Float]] = [
            [9, 1, 1, 1, 1, 1],  // label 0, rank 0
            [1, 9, 2, 3, 4, 5],  // label 0, rank 5
            [1, 2, 9, 0, 0, 0],  // label 1, rank 1
            [0, 9, 0, 0, 0, 0],  // label 1, rank 0
            [5, 4, 3, 2, 1, 0],  // label 2, rank 2
            [0, 0, 0, 9, 0, 0],  // label 3, rank 0
            [1, 1, 1, 1, 1, 1],  // label 5, ties: rank 5 (lower indices first)
            [0, 0, 0, 0, 1, 2],  // label 4, rank 1
        ]
        let labels = [0, 0, 1, 1, 2, 3, 5, 4]
        let m = ClassificationMetrics.compute(scores: scores, labels: labels, classes: 6)
        // Exact fractions of small counts; 1e-12 allows for their float64 quotients.
        #expect(abs(m.top1 - 3.0 / 8) <= 1e-12, "top1 \(m.top1)")
        #expect(abs(m.top5! - 6.0 / 8) <= 1e-12, "top5 \(String(describing: m.top5))")
        // Recalls per present class: 0: 1/2, 1: 1/2, 2: 0, 3: 1, 4: 0, 5: 0.
        #expect(abs(m.meanPerClassRecall - 2.0 / 6) <= 1e-12, "recall \(m.meanPerClassRecall)")
        #expect(m.examples == 8)
    }

    @Test("classes absent from the labels do not count towards mean per-class recall")
    func absentClassesAreIgnored() {
        let m = ClassificationMetrics.compute(
            scores: [[1, 0, 0], [0, 1, 0], [1, 0, 0]], labels: [0, 1, 1], classes: 3)
        #expect(m.top5 == nil)
        #expect(abs(m.meanPerClassRecall - 0.75) <= 1e-12)
    }

    @Test("the CLIP_benchmark export has its layout and leaves out acc5 below five classes")
    func benchmarkJSON() throws {
        let metrics = ClassificationMetrics(
            top1: 0.5, top5: 0.9, meanPerClassRecall: 0.45, examples: 10)
        let result = EvaluationResult(
            dataset: "shapes", model: "tiny", classes: 6, metrics: metrics)
        let json = try JSONSerialization.jsonObject(with: result.benchmarkJSON()) as! [String: Any]
        #expect(json["dataset"] as? String == "shapes")
        #expect(json["model"] as? String == "tiny")
        #expect(json["task"] as? String == "zeroshot_classification")
        let m = json["metrics"] as! [String: Double]
        #expect(m == ["acc1": 0.5, "acc5": 0.9, "mean_per_class_recall": 0.45])
        var few = result
        few.metrics.top5 = nil
        let fewJSON = try JSONSerialization.jsonObject(with: few.benchmarkJSON()) as! [String: Any]
        #expect(
            (fewJSON["metrics"] as! [String: Double]).keys.sorted() == [
                "acc1", "mean_per_class_recall",
            ])
    }

    @Test("zero-shot scores are normalised image features against the class embeddings")
    func zeroShotScores() throws {
        let model = try CLIPModel.load(directory: Fixture.tiny)
        let tokenizer = try CLIPTokenizer(directory: Fixture.tiny)
        let data = try Shapes.labeled(perClass: 1, seed: 41)
        let templates = ["a photo of a {}.", "a drawing of a {}."]
        let evaluator = try ZeroShotEvaluator(
            model: model, tokenizer: tokenizer, classNames: data.classNames, templates: templates)
        let scores = try evaluator.scores(data)

        // The same scores by hand: mean of normalised prompt embeddings, renormalised.
        let pipelineTexts = data.classNames.flatMap { name in
            templates.map { Prompts.fill($0, with: name) }
        }
        let textFeatures = try model.textFeatures(
            ids: tokenizer.encode(pipelineTexts), state: TowerState())
        let p = model.config.projectionDim
        func unit(_ v: [Float]) -> [Float] {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / n }
        }
        let rowsOfText = (0..<pipelineTexts.count).map {
            unit(Array(textFeatures.values[($0 * p)..<(($0 + 1) * p)]))
        }
        let classes = (0..<data.classNames.count).map { c in
            unit((0..<p).map { i in (rowsOfText[2 * c][i] + rowsOfText[2 * c + 1][i]) / 2 })
        }
        var largest: Float = 0
        for i in 0..<data.count {
            var pixels = [Float](repeating: 0, count: 3 * 32 * 32)
            try pixels.withUnsafeMutableBufferPointer { try data.pixels(i, into: $0) }
            let image = unit(
                try model.imageFeatures(
                    pixels: Tensor(pixels, shape: [1, 3, 32, 32]), state: TowerState()
                ).values)
            for c in 0..<classes.count {
                let expected = zip(image, classes[c]).reduce(0) { $0 + $1.0 * $1.1 }
                largest = Swift.max(largest, abs(expected - scores[i][c]))
            }
        }
        // Float32 sums over 32 products in different orders: 1e-5.
        #expect(largest <= 1e-5, "largest score difference \(largest)")
        let result = try evaluator.evaluate(data, dataset: "shapes", modelName: "tiny")
        #expect(result.metrics.examples == data.count && result.classes == 4)
    }

    @Test("evaluating against other class names is refused")
    func classNamesMustMatch() throws {
        let model = try CLIPModel.load(directory: Fixture.tiny)
        let head = ClassifierHead(
            classNames: ["a", "b"], templates: ["{}"], weights: Tensor(zeros: [2, 32]))
        let evaluator = ZeroShotEvaluator(model: model, head: head)
        #expect(throws: TrainingError.self) {
            try evaluator.evaluate(
                try Shapes.labeled(perClass: 1, seed: 42), dataset: "x", modelName: "y")
        }
    }
}
