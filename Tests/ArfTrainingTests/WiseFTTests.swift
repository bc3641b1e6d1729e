// WiSE-FT on checkpoints: alpha 0 and 1 give back the endpoints' floats exactly (for a ce
// model, the zero-shot endpoint's head being the zero-shot classifier), alpha 0.5 the
// midpoint, every output loads as a model; mismatched checkpoints are refused by name.
import ArfCLIP
import ArfTensor
import ArfTraining
import Foundation
import Testing

/// All tensors of a checkpoint's model.safetensors, by name.
private func tensors(_ folder: URL) throws -> [String: [Float]] {
    let file = try SafeTensorsFile(url: folder.appendingPathComponent("model.safetensors"))
    return Dictionary(uniqueKeysWithValues: try file.names.map { ($0, try file.tensor($0).values) })
}

private func headWeights(_ folder: URL) throws -> [Float] {
    try ClassifierHead.load(from: folder.appendingPathComponent(ClassifierHead.fileName))
        .weight.value.values
}

@Suite("WiSE-FT") struct WiseFTTests {
    @Test("alpha 0 and 1 reproduce the endpoints exactly, heads included; 0.5 is the midpoint")
    func endpointsAreExact() throws {
        var config = FinetuneConfig(method: .ft)
        config.steps = 3
        config.batchSize = 4
        config.optimizer.learningRate = 1e-3
        config.warmupSteps = 0
        try withTemporaryFolder { root in
            let data = try Shapes.labeled(perClass: 2, seed: 31)
            let finetuner = try Finetuner(
                config: config, base: Fixture.tiny, data: data,
                output: root.appendingPathComponent("run"))
            let tuned = try finetuner.run().checkpoint
            let points = try WiseFT.interpolate(
                zeroShot: Fixture.tiny, finetuned: tuned, alphas: [0, 0.5, 1],
                output: root.appendingPathComponent("wise"))
            #expect(points.map(\.alpha) == [0, 0.5, 1])

            let zero = try tensors(Fixture.tiny)
            let one = try tensors(tuned)
            #expect(try tensors(points[0].checkpoint) == zero)
            #expect(try tensors(points[2].checkpoint) == one)
            #expect(zero != one, "finetuning changed nothing")

            // Midpoint: float32 rounding of 0.5 a + 0.5 b, 1e-6 absolute.
            let half = try tensors(points[1].checkpoint)
            var largest: Float = 0
            for (name, a) in zero {
                let mid = zip(a, one[name]!).map { ($0 + $1) / 2 }
                largest = Swift.max(largest, largestDifference(half[name]!, mid))
            }
            #expect(largest <= 1e-6, "midpoint off by \(largest)")

            // The zero-shot end of the head is CLIP's zero-shot classifier.
            let model = try CLIPModel.load(directory: Fixture.tiny)
            let zeroHead = try ClassifierHead.zeroShot(
                model: model, tokenizer: CLIPTokenizer(directory: Fixture.tiny),
                classNames: data.classNames, templates: config.templates)
            #expect(try headWeights(points[0].checkpoint) == zeroHead.weight.value.values)
            #expect(try headWeights(points[2].checkpoint) == (try headWeights(tuned)))

            for point in points { _ = try CLIPPipeline(directory: point.checkpoint) }
        }
    }

    @Test("tensors of different shapes are refused with the tensor's name")
    func shapeMismatchNamesTheTensor() {
        let a = [("w", Tensor(zeros: [2, 3])), ("b", Tensor(zeros: [3]))]
        let b = [("w", Tensor(zeros: [3, 2])), ("b", Tensor(zeros: [3]))]
        #expect { try WiseFT.interpolate(a, b, alpha: 0.5) } throws: { error in
            "\(error)".contains("w") && "\(error)".contains("[2, 3]")
                && "\(error)".contains("[3, 2]")
        }
        let c = [("w", Tensor(zeros: [2, 3])), ("extra", Tensor(zeros: [3]))]
        #expect { try WiseFT.interpolate(a, c, alpha: 0.5) } throws: { "\($0)".contains("extra") }
        #expect(throws: TrainingError.self) { try WiseFT.interpolate(a, a, alpha: .nan) }
    }

    @Test("interpolating in memory follows (1 - alpha) a + alpha b")
    func inMemoryInterpolation() throws {
        let a = [("w", Tensor([1, 2, -4], shape: [3]))]
        let b = [("w", Tensor([3, 2, 4], shape: [3]))]
        let quarter = try WiseFT.interpolate(a, b, alpha: 0.25)
        #expect(quarter[0].tensor.values == [1.5, 2, -2])
        #expect(try WiseFT.interpolate(a, b, alpha: 0)[0].tensor.values == [1, 2, -4])
        #expect(try WiseFT.interpolate(a, b, alpha: 1)[0].tensor.values == [3, 2, 4])
    }
}
