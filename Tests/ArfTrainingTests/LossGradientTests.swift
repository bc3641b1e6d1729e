// Every loss term against central finite differences of itself, with respect to each of its
// inputs (image, pair and text features, the logit scale, the ce head), on small random
// features with shared classes and captions so that soft targets are exercised. Also: FLYP
// with one class per image is CLIP's loss exactly, and FLYP run through the finetuner's
// shared tower passes reproduces transformers' loss and gradients on the clip-tiny fixture.
import ArfCLIP
import ArfTensor
import ArfTraining
import Foundation
import Testing

/// Relative error ||numeric - analytic|| / max(||analytic||, 1e-3) allowed for float32
/// central differences with step `step`.
private let gradientTolerance = 1e-3
private let step: Float = 1e-2

/// Checks `analytic` against central differences of `loss` in every element of `t`.
private func checkGradient(
    _ name: String, of t: Tensor, analytic: [Float], loss: () -> Float
) {
    var numeric = [Float](repeating: 0, count: t.count)
    for i in 0..<t.count {
        let saved = t.data[i]
        t.data[i] = saved + step
        let up = loss()
        t.data[i] = saved - step
        let down = loss()
        t.data[i] = saved
        numeric[i] = (up - down) / (2 * step)
    }
    var difference = 0.0
    var reference = 0.0
    for (n, a) in zip(numeric, analytic) {
        difference += Double(n - a) * Double(n - a)
        reference += Double(a) * Double(a)
    }
    let relative = difference.squareRoot() / Swift.max(reference.squareRoot(), 1e-3)
    let largest = largestDifference(numeric, analytic)
    #expect(
        relative <= gradientTolerance,
        "\(name): relative error \(relative) > \(gradientTolerance); largest difference \(largest)")
}

/// Checks every input gradient a term reports.
private func checkTerm(
    _ loss: any TrainingLoss, batch: TrainingBatch, images: Tensor, pairImages: Tensor,
    logitScale: Float, seed: UInt64
) {
    var random = SeededGenerator(seed: 1)
    let plan = loss.plan(for: batch, random: &random)
    let texts = randomTensor([plan.texts.count, images.shape[1]], seed: seed)
    var scale = logitScale
    let evaluate = {
        loss.compute(
            LossInputs(
                batch: batch, plan: plan, images: images, pairImages: pairImages, texts: texts,
                logitScale: scale))
    }
    let output = evaluate()
    #expect(output.loss.isFinite && output.loss > 0, "loss \(output.loss)")
    let name = type(of: loss).name
    if let d = output.dImages {
        checkGradient("\(name) images", of: images, analytic: d.values) { evaluate().loss }
    }
    if let d = output.dPairImages {
        checkGradient("\(name) pair images", of: pairImages, analytic: d.values) { evaluate().loss }
    }
    if let d = output.dTexts {
        checkGradient("\(name) texts", of: texts, analytic: d.values) { evaluate().loss }
    }
    if plan.texts.count > 0 {
        let numeric = { (delta: Float) -> Float in
            scale = logitScale + delta
            defer { scale = logitScale }
            return evaluate().loss
        }
        let dScale = (numeric(step) - numeric(-step)) / (2 * step)
        #expect(
            abs(dScale - output.dLogitScale) <= 1e-2 * Swift.max(1, abs(dScale)),
            "\(name) logit scale: numeric \(dScale), analytic \(output.dLogitScale)")
    }
    for (parameter, d) in zip(loss.parameters, output.dParameters) {
        checkGradient("\(name) \(parameter.name)", of: parameter.value, analytic: d.values) {
            evaluate().loss
        }
    }
}

@Suite("Loss terms") struct LossGradientTests {
    let classes = ["cat", "dog", "fox"]
    let p = 8

    @Test("flyp's gradients match finite differences when classes repeat in a batch")
    func flypGradients() {
        let loss = FLYPLoss(classNames: classes, templates: ["a {}.", "the {}!"])
        let batch = TrainingBatch(
            indices: Array(0..<6), labels: [0, 1, 0, 2, 1, 0],
            captions: Array(repeating: [], count: 6))
        checkTerm(
            loss, batch: batch, images: randomTensor([6, p], seed: 2),
            pairImages: Tensor(zeros: [0, p]), logitScale: 2, seed: 3)
    }

    @Test("caption-anchor's gradients match finite differences, images without captions sit out")
    func captionAnchorGradients() {
        let loss = CaptionAnchorLoss(options: .init(captions: .first))
        let captions = [["a cat"], [], ["a dog", "dog"], ["a cat"], ["a fox"]]
        let batch = TrainingBatch(
            indices: Array(0..<5), labels: [0, 1, 1, 0, 2], captions: captions)
        var random = SeededGenerator(seed: 1)
        let plan = loss.plan(for: batch, random: &random)
        #expect(plan.texts == ["a cat", "a dog", "a fox"])
        #expect(plan.matches.map(\.image) == [0, 2, 3, 4])
        checkTerm(
            loss, batch: batch, images: randomTensor([5, p], seed: 4),
            pairImages: Tensor(zeros: [0, p]), logitScale: 1.5, seed: 5)
    }

    @Test("pair-anchor's gradients match finite differences on the pair images")
    func pairAnchorGradients() {
        let batch = TrainingBatch(
            indices: [0, 1], labels: [0, 1], captions: [[], []], pairIndices: [7, 8, 9, 10],
            pairCaptions: ["a boat", "a tree", "a boat", "a cloud"])
        checkTerm(
            PairAnchorLoss(), batch: batch, images: randomTensor([2, p], seed: 6),
            pairImages: randomTensor([4, p], seed: 7), logitScale: 2.5, seed: 8)
    }

    @Test("ce's gradients match finite differences for features and head, with smoothing")
    func crossEntropyGradients() {
        for smoothing in [0.0, 0.1] {
            let head = ClassifierHead(
                classNames: classes, templates: ["{}"],
                weights: randomTensor([3, p], seed: 9, scale: 3))
            let loss = CrossEntropyLoss(head: head, options: .init(labelSmoothing: smoothing))
            let batch = TrainingBatch(
                indices: Array(0..<5), labels: [0, 2, 1, 2, 0],
                captions: Array(repeating: [], count: 5))
            checkTerm(
                loss, batch: batch, images: randomTensor([5, p], seed: 10),
                pairImages: Tensor(zeros: [0, p]), logitScale: 0, seed: 11)
        }
    }

    @Test("flyp with one distinct prompt per image is CLIP's symmetric loss exactly")
    func flypEqualsClipLoss() {
        let names = (0..<6).map { "class \($0)" }
        let loss = FLYPLoss(classNames: names, templates: ["a photo of a {}."])
        let batch = TrainingBatch(
            indices: Array(0..<6), labels: [3, 0, 5, 1, 4, 2],
            captions: Array(repeating: [], count: 6))
        var random = SeededGenerator(seed: 1)
        let plan = loss.plan(for: batch, random: &random)
        let images = randomTensor([6, p], seed: 12)
        let texts = randomTensor([6, p], seed: 13)
        let flyp = loss.compute(
            LossInputs(
                batch: batch, plan: plan, images: images, pairImages: Tensor(zeros: [0, p]),
                texts: texts, logitScale: 2.3))
        let clip = ContrastiveLoss.clip(images: images, texts: texts, logitScale: 2.3)
        // Tolerance zero: both must run the very same arithmetic.
        #expect(flyp.loss == clip.loss, "flyp \(flyp.loss), clip \(clip.loss)")
        #expect(
            flyp.dImages!.values == clip.dImages.values,
            "largest difference \(largestDifference(flyp.dImages!.values, clip.dImages.values))")
        #expect(flyp.dTexts!.values == clip.dTexts.values)
        #expect(flyp.dLogitScale == clip.dLogitScale)
    }

    @Test("flyp through the finetuner's shared passes matches transformers on the fixture")
    func flypMatchesTransformers() throws {
        let expected = try SafeTensorsFile(
            url: Fixture.tiny.appendingPathComponent("expected.safetensors"))
        let cases =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: Fixture.tiny.appendingPathComponent("cases.json")))
            as! [String: Any]
        let texts = Array((cases["texts"] as! [String]).prefix(4))
        let pixels = try expected.tensor("pixel_values")
        let perImage = pixels.count / 4
        let data = try InMemoryLabeledImages(
            classNames: texts, labels: [0, 1, 2, 3],
            pixelRows: (0..<4).map { Array(pixels.values[($0 * perImage)..<(($0 + 1) * perImage)]) }
        )
        var config = FinetuneConfig(method: .flyp)
        config.templates = ["{}"]
        config.steps = 1
        try withTemporaryFolder { output in
            let finetuner = try Finetuner(
                config: config, base: Fixture.tiny, data: data, output: output)
            let (loss, _) = try finetuner.accumulateGradients(indices: [0, 1, 2, 3])
            let reference = try expected.tensor("loss")[0]
            // The fixture states 1e-5 for the loss and 1e-3 relative for gradients.
            #expect(abs(loss - reference) <= 1e-5, "loss \(loss), transformers \(reference)")
            var checked = 0
            for parameter in finetuner.model.parameters {
                let key = "grad.\(parameter.name)"
                guard expected.entries[key] != nil else { continue }
                let found = parameter.gradient.values
                let ref = try expected.tensor(key).values
                var difference = 0.0
                var norm = 0.0
                for (a, b) in zip(found, ref) {
                    difference += Double(a - b) * Double(a - b)
                    norm += Double(b) * Double(b)
                }
                // Reference gradients below 1e-6 are rounding noise around zero.
                let relative =
                    norm.squareRoot() < 1e-6
                    ? difference.squareRoot() : (difference / norm).squareRoot()
                #expect(relative <= 1e-3, "\(key): relative error \(relative)")
                checked += 1
            }
            #expect(checked > 70, "only \(checked) gradients compared")
        }
    }
}
