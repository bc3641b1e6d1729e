// The finetuner end to end on the clip-tiny fixture and generated shapes: ft and arf learn
// the task, weight decay and frozen towers behave, lp-ft's probe moves only the head, and a
// run stopped half way and resumed in fresh objects ends with the same weights as one run
// straight through.
import ArfCLIP
import ArfTensor
import ArfTraining
import Foundation
import Testing

/// Every model parameter's values, and the head's, by name.
private func snapshot(_ finetuner: Finetuner) -> [String: [Float]] {
    var values = Dictionary(
        uniqueKeysWithValues: finetuner.model.parameters.map { ($0.name, $0.value.values) })
    if let head = finetuner.head { values["classifier.weight"] = head.weight.value.values }
    return values
}

/// Top-1 accuracy of the finetuner's model (with its head, if any) on `source`.
private func accuracy(_ finetuner: Finetuner, on source: LabeledImageSource) throws -> Double {
    let evaluator =
        try finetuner.head.map { ZeroShotEvaluator(model: finetuner.model, head: $0) }
        ?? ZeroShotEvaluator(
            model: finetuner.model, tokenizer: finetuner.tokenizer,
            classNames: finetuner.config.classNames, templates: finetuner.config.templates)
    return try evaluator.evaluate(source, dataset: "shapes", modelName: "tiny").metrics.top1
}

@Suite("Finetuner") struct FinetunerTests {
    /// Trains `config` on generated shapes; returns the losses and accuracies before and after.
    func learn(_ config: FinetuneConfig, pairs: PairSource? = nil) throws
        -> (firstLoss: Float, lastLoss: Float, before: Double, after: Double)
    {
        let train = try Shapes.labeled(perClass: 16, seed: 1)
        let test = try Shapes.labeled(perClass: 10, seed: 2)
        return try withTemporaryFolder { output in
            let finetuner = try Finetuner(
                config: config, base: Fixture.tiny, data: train, pairs: pairs, output: output)
            let before = try accuracy(finetuner, on: test)
            var losses: [Float] = []
            let outcome = try finetuner.run(onStep: { losses.append($0.loss) })
            #expect(outcome.completedSteps == config.steps && !outcome.stopped)
            let after = try accuracy(finetuner, on: test)
            let first = losses.prefix(5).reduce(0, +) / 5
            let last = losses.suffix(5).reduce(0, +) / 5
            let method = config.method.rawValue
            print("\(method): loss \(first) -> \(last), accuracy \(before) -> \(after)")

            // The final checkpoint is a loadable model with the base's tokenizer files.
            let files = try FileManager.default.contentsOfDirectory(atPath: outcome.checkpoint.path)
            for name in [
                "config.json", "model.safetensors", "vocab.json", "merges.txt",
                "preprocessor_config.json", "training-state.json", "optimizer.safetensors",
            ] {
                #expect(files.contains(name), "checkpoint lacks \(name): \(files)")
            }
            let pipeline = try CLIPPipeline(directory: outcome.checkpoint)
            let loaded = pipeline.model.parameters.map(\.value.values)
            #expect(loaded == finetuner.model.parameters.map(\.value.values))
            if let head = finetuner.head {
                let saved = try ClassifierHead.load(
                    from: outcome.checkpoint.appendingPathComponent(ClassifierHead.fileName))
                #expect(saved.weight.value.values == head.weight.value.values)
                #expect(saved.classNames == train.classNames)
            }
            return (first, last, before, after)
        }
    }

    @Test("ft lowers the loss and lifts accuracy well above chance on generated shapes")
    func ftLearns() throws {
        var config = FinetuneConfig(method: .ft)
        config.steps = 60
        config.batchSize = 16
        config.warmupSteps = 5
        config.optimizer.learningRate = 1e-3
        let r = try learn(config)
        #expect(r.lastLoss < 0.8 * r.firstLoss, "loss \(r.firstLoss) -> \(r.lastLoss)")
        // Chance is 0.25 with four balanced classes.
        #expect(r.after >= 0.6, "accuracy \(r.before) -> \(r.after)")
    }

    @Test("arf lowers the loss and lifts zero-shot accuracy well above chance")
    func arfLearns() throws {
        var config = FinetuneConfig(method: .arf)
        config.steps = 60
        config.batchSize = 16
        config.pairBatchSize = 8
        config.warmupSteps = 5
        config.optimizer.learningRate = 1e-3
        let r = try learn(config, pairs: try Shapes.pairs(count: 24, seed: 3))
        #expect(r.lastLoss < 0.5 * r.firstLoss, "loss \(r.firstLoss) -> \(r.lastLoss)")
        #expect(r.after >= 0.6, "accuracy \(r.before) -> \(r.after)")
    }

    @Test("with zero gradients, decaying weights shrink by lr x decay and the rest stay put")
    func weightDecaySkipsNonDecaying() throws {
        var config = FinetuneConfig(method: .ft)
        config.losses = [LossTerm("ce", weight: 0)]
        config.steps = 1
        config.warmupSteps = 0
        config.batchSize = 4
        config.optimizer.learningRate = 0.01
        config.optimizer.weightDecay = 0.5
        try withTemporaryFolder { output in
            let finetuner = try Finetuner(
                config: config, base: Fixture.tiny, data: try Shapes.labeled(perClass: 1, seed: 4),
                output: output)
            let before = snapshot(finetuner)
            try finetuner.trainStep()
            let after = snapshot(finetuner)
            let factor: Float = 1 - 0.01 * 0.5
            let all = finetuner.model.parameters + [finetuner.head!.weight]
            var decayed = 0
            var kept = 0
            for p in all {
                let old = before[p.name]!
                let new = after[p.name]!
                let trains =
                    p.name == "classifier.weight" || p.name.hasPrefix("vision")
                    || p.name.hasPrefix("visual")
                if trains && p.decays {
                    // Exact: AdamW's update with zero moments adds exactly zero.
                    #expect(new == old.map { $0 * factor }, "\(p.name) did not decay by \(factor)")
                    decayed += 1
                } else {
                    #expect(new == old, "\(p.name) changed: \(largestDifference(new, old))")
                    kept += 1
                }
            }
            #expect(decayed > 5 && kept > 20, "\(decayed) decayed, \(kept) kept")
            // Biases, norms, embeddings and the logit scale must be among the kept.
            let names = Set(all.filter { !$0.decays }.map(\.name))
            #expect(names.contains("logit_scale"))
            #expect(names.contains("vision_model.embeddings.class_embedding"))
            #expect(names.contains("vision_model.post_layernorm.weight"))
            #expect(names.contains("vision_model.encoder.layers.0.mlp.fc1.bias"))
        }
    }

    @Test("lp-ft's probe steps move only the head, its finetune steps the image tower too")
    func linearProbeMovesOnlyTheHead() throws {
        var config = FinetuneConfig(method: .lpFT)
        config.steps = 4
        config.probeSteps = 2
        config.batchSize = 4
        config.warmupSteps = 0
        try withTemporaryFolder { output in
            let finetuner = try Finetuner(
                config: config, base: Fixture.tiny, data: try Shapes.labeled(perClass: 2, seed: 5),
                output: output)
            let start = snapshot(finetuner)
            var phases: [TrainingPhase.Kind] = []
            let metrics1 = try finetuner.trainStep()
            try finetuner.trainStep()
            phases = [metrics1.phase]
            let probed = snapshot(finetuner)
            let moved = probed.keys.filter { probed[$0] != start[$0] }
            #expect(moved == ["classifier.weight"], "moved in the probe: \(moved)")
            let metrics3 = try finetuner.trainStep()
            phases.append(metrics3.phase)
            #expect(phases == [.probe, .finetune])
            let tuned = snapshot(finetuner)
            #expect(tuned["visual_projection.weight"] != probed["visual_projection.weight"])
            #expect(tuned["text_projection.weight"] == start["text_projection.weight"])
        }
    }

    @Test("images of the wrong size are refused with both sizes, not written past the batch")
    func wrongImageSizeIsRefused() throws {
        let data = try InMemoryLabeledImages(
            classNames: ["a", "b"], labels: [0, 1],
            pixelRows: [
                [Float](repeating: 0, count: 3 * 64 * 64),
                [Float](repeating: 0, count: 3 * 64 * 64),
            ])
        var config = FinetuneConfig(method: .flyp)
        config.steps = 1
        config.batchSize = 2
        try withTemporaryFolder { output in
            let finetuner = try Finetuner(
                config: config, base: Fixture.tiny, data: data, output: output)
            #expect { try finetuner.trainStep() } throws: { error in
                "\(error)".contains("12288") && "\(error)".contains("3072")
            }
        }
    }

    @Test("zero-shot trains nothing and hands back the base checkpoint")
    func zeroShotRunsNoSteps() throws {
        try withTemporaryFolder { output in
            let finetuner = try Finetuner(
                config: FinetuneConfig(method: .zeroshot), base: Fixture.tiny,
                data: try Shapes.labeled(perClass: 1, seed: 6), output: output)
            let outcome = try finetuner.run()
            #expect(outcome.completedSteps == 0 && outcome.checkpoint == Fixture.tiny)
        }
    }
}
