// The Swift CLIP against transformers: for every fixture checkpoint, embeddings, logits, the
// contrastive loss and every parameter's gradient must match what transformers computed
// for the same inputs, within the tolerances the fixture states. ARF_PRINT_PARITY=1 prints
// every comparison, not only the failing ones.
import ArfCLIP
import ArfTensor
import Foundation
import Testing

@Suite("Parity with transformers") struct ParityTests {
    static let embeddingTolerance = 1e-4
    static let gradientTolerance = 1e-3
    static let lossTolerance: Float = 1e-5

    /// Loads the fixture's model, its expected tensors and its token ids.
    func load(_ folder: URL) throws -> (CLIPModel, SafeTensorsFile, [[Int32]]) {
        let model = try CLIPModel.load(directory: folder)
        let expected = try SafeTensorsFile(
            url: folder.appendingPathComponent("expected.safetensors"))
        return (model, expected, try Fixtures.inputIDs(folder))
    }

    /// Below this norm a reference is rounding noise around an exact zero (the key bias's
    /// gradient is one: softmax ignores a constant added to every score of a row), so a
    /// relative error means nothing and the difference's norm is checked instead.
    static let noiseFloor = 1e-6

    func check(_ name: String, _ found: [Float], _ reference: [Float], tolerance: Double) {
        let e = relativeError(found, reference)
        let referenceNorm = reference.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let absolute = e.relative * referenceNorm
        if ProcessInfo.processInfo.environment["ARF_PRINT_PARITY"] != nil {
            print("parity \(name): relative \(e.relative) largest \(e.largest)")
        }
        let detail = "\(name): relative error \(e.relative) > \(tolerance); "
            + "largest difference \(e.largest) at \(e.at)"
        #expect(
            e.relative <= tolerance
                || (referenceNorm < Self.noiseFloor && absolute < Self.noiseFloor),
            "\(detail)")
    }

    @Test("embeddings and logits match transformers", arguments: Fixtures.checkpoints)
    func embeddingsAndLogitsMatch(folder: URL) throws {
        let (model, expected, ids) = try load(folder)
        let pixels = try expected.tensor("pixel_values")

        let imageFeatures = try model.imageFeatures(pixels: pixels, state: TowerState())
        let textFeatures = try model.textFeatures(ids: ids, state: TowerState())
        check(
            "image_embeds_unnormalized", imageFeatures.values,
            try expected.tensor("image_embeds_unnormalized").values,
            tolerance: Self.embeddingTolerance)
        check(
            "text_embeds_unnormalized", textFeatures.values,
            try expected.tensor("text_embeds_unnormalized").values,
            tolerance: Self.embeddingTolerance)

        let images = normalized(imageFeatures)
        let texts = normalized(textFeatures)
        check(
            "image_embeds", images.values, try expected.tensor("image_embeds").values,
            tolerance: Self.embeddingTolerance)
        check(
            "text_embeds", texts.values, try expected.tensor("text_embeds").values,
            tolerance: Self.embeddingTolerance)

        let logits = ContrastiveLoss.logits(
            images: imageFeatures, texts: textFeatures, logitScale: model.logitScale.value[0])
        check(
            "logits_per_image", logits.values, try expected.tensor("logits_per_image").values,
            tolerance: Self.embeddingTolerance)
    }

    @Test(
        "the contrastive loss and every gradient match transformers",
        arguments: Fixtures.checkpoints)
    func lossAndGradientsMatch(folder: URL) throws {
        let (model, expected, ids) = try load(folder)
        let allPixels = try expected.tensor("pixel_values")
        let images = allPixels.shape[0]
        let pixels = Tensor(Array(allPixels.values), shape: allPixels.shape)
        let texts = Array(ids.prefix(images))

        let imageState = TowerState()
        let textState = TowerState()
        let imageFeatures = try model.imageFeatures(
            pixels: pixels, state: imageState, training: true)
        let textFeatures = try model.textFeatures(ids: texts, state: textState, training: true)
        let result = ContrastiveLoss.clip(
            images: imageFeatures, texts: textFeatures, logitScale: model.logitScale.value[0])
        model.zeroGradients()
        model.imageBackward(dFeatures: result.dImages, state: imageState)
        model.textBackward(dFeatures: result.dTexts, state: textState)
        model.logitScale.gradient[0] += result.dLogitScale

        let expectedLoss = try expected.tensor("loss")[0]
        if ProcessInfo.processInfo.environment["ARF_PRINT_PARITY"] != nil {
            print("parity loss: \(result.loss) against \(expectedLoss)")
        }
        #expect(
            abs(result.loss - expectedLoss) <= Self.lossTolerance,
            "loss \(result.loss) against \(expectedLoss)")

        let rows = try Fixtures.cases(folder)["token_embedding_grad_rows"] as? [Int] ?? []
        var checked = 0
        for p in model.parameters {
            var found = p.gradient.values
            var key = "grad.\(p.name)"
            if p.name == "text_model.embeddings.token_embedding.weight" {
                // Only the rows of ids in use are stored, in ascending id order.
                let width = p.shape[1]
                found = rows.flatMap { Array(found[($0 * width)..<(($0 + 1) * width)]) }
                key += ".rows"
            }
            guard expected.entries[key] != nil else { continue }
            check(key, found, try expected.tensor(key).values, tolerance: Self.gradientTolerance)
            checked += 1
        }
        #expect(
            checked == model.parameters.count, "\(checked) of \(model.parameters.count) checked")
    }

    func normalized(_ x: Tensor) -> Tensor {
        let (n, p) = (x.shape[0], x.shape[1])
        let y = Tensor(zeros: [n, p])
        let norms = Tensor(zeros: [n])
        L2Normalize.forward(x: x.data, y: y.data, norms: norms.data, n: n, p: p)
        return y
    }
}
