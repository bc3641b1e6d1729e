// Resuming: a run stopped half way, reloaded into fresh objects from its checkpoint and run
// to the end must end with the weights of an uninterrupted run (optimizer moments, schedule
// step, sampling generator and data order all carried over, across epochs and, for lp-ft,
// across the probe/finetune boundary). Also the refusals and checkpoint pruning.
import ArfCLIP
import ArfTensor
import ArfTraining
import Foundation
import Testing

/// Weights of the model and head, in a fixed order.
private func weights(_ f: Finetuner) -> [(String, [Float])] {
    f.model.parameters.map { ($0.name, $0.value.values) }
        + (f.head.map { [("classifier.weight", $0.weight.value.values)] } ?? [])
}

@Suite("Resuming") struct ResumeTests {
    /// A short run that crosses epochs (20 examples, batches of 8) and clips gradients.
    func config(_ method: FinetuneMethod) -> FinetuneConfig {
        var config = FinetuneConfig(method: method)
        config.steps = 8
        config.batchSize = 8
        config.pairBatchSize = 4
        config.warmupSteps = 2
        config.optimizer.learningRate = 1e-3
        config.maxGradientNorm = 1
        config.probeSteps = 3
        config.checkpointInterval = 0
        config.seed = 11
        return config
    }

    func makeFinetuner(_ config: FinetuneConfig, output: URL) throws -> Finetuner {
        try Finetuner(
            config: config, base: Fixture.tiny, data: try Shapes.labeled(perClass: 5, seed: 21),
            pairs: try Shapes.pairs(count: 10, seed: 22), output: output)
    }

    @Test(
        "stopping half way and resuming in fresh objects ends with the same weights",
        arguments: [FinetuneMethod.arf, .lpFT])
    func resumedRunMatchesStraightRun(method: FinetuneMethod) throws {
        let config = config(method)
        try withTemporaryFolder { root in
            let straight = try makeFinetuner(config, output: root.appendingPathComponent("a"))
            _ = try straight.run()

            let stoppedOutput = root.appendingPathComponent("b")
            let stopped = try makeFinetuner(config, output: stoppedOutput)
            let outcome = try stopped.run(shouldStop: { stopped.completedSteps >= 4 })
            #expect(outcome.stopped && outcome.completedSteps == 4)

            let resumed = try makeFinetuner(config, output: stoppedOutput)
            let checkpoint = try #require(Finetuner.latestCheckpoint(in: stoppedOutput))
            #expect(checkpoint == outcome.checkpoint)
            try resumed.restore(from: checkpoint)
            #expect(resumed.completedSteps == 4)
            let final = try resumed.run()
            #expect(final.completedSteps == 8 && !final.stopped)

            // Tolerance 1e-6 absolute on every weight; the same arithmetic should give 0.
            var largest: Float = 0
            var worst = ""
            for ((name, a), (_, b)) in zip(weights(straight), weights(resumed)) {
                let d = largestDifference(a, b)
                if d > largest { (largest, worst) = (d, name) }
            }
            print("\(method.rawValue) resume: largest weight difference \(largest) \(worst)")
            #expect(largest <= 1e-6, "largest difference \(largest) in \(worst)")
            let base = weights(try makeFinetuner(config, output: root))
            let moved = zip(weights(straight), base).contains { $0.0.1 != $0.1.1 }
            #expect(moved, "training changed no weight, so the comparison proves nothing")
        }
    }

    @Test("resuming under a different configuration names the fields that differ")
    func resumeRefusesChangedConfig() throws {
        var config = config(.flyp)
        config.steps = 2
        try withTemporaryFolder { output in
            _ = try makeFinetuner(config, output: output).run()
            var changed = config
            changed.optimizer.learningRate = 5e-4
            changed.checkpointInterval = 7
            let other = try makeFinetuner(changed, output: output)
            let checkpoint = try #require(Finetuner.latestCheckpoint(in: output))
            #expect { try other.restore(from: checkpoint) } throws: { error in
                let text = "\(error)"
                return text.contains("optimizer") && !text.contains("checkpointInterval")
            }
        }
    }

    @Test("interval checkpoints are written and only the newest ones kept")
    func checkpointsArePruned() throws {
        var config = config(.flyp)
        config.steps = 6
        config.checkpointInterval = 2
        config.keepCheckpoints = 2
        try withTemporaryFolder { output in
            let finetuner = try makeFinetuner(config, output: output)
            let outcome = try finetuner.run()
            let folder = output.appendingPathComponent("checkpoints")
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasPrefix("step-") }.sorted()
            #expect(names == ["step-000004", "step-000006"])
            #expect(outcome.checkpoint.lastPathComponent == "step-000006")
            #expect(Finetuner.latestCheckpoint(in: output) == outcome.checkpoint)
        }
    }
}
