// The arf side of `arf-bench engine`, run in a process of its own for one architecture:
// times each phase, records its matrix products once, times those products alone, and
// prints one JSON object with the rates and the process's peak resident memory.
import ArfCLIP
import ArfSupport
import ArfTensor
import Foundation

extension EngineBenchmark {
    static func child(_ words: [String]) throws {
        var args = try Arguments(words, flags: [])
        let name = args.option("config") ?? "small"
        let batch = try args.integer("batch", default: 32, in: 1...4096)
        let threads = try args.integer("threads", default: 2, in: 1...256)
        let reps = try args.integer("reps", default: 3, in: 1...100)
        let warmup = try args.integer("warmup", default: 1, in: 0...100)
        let only = args.option("phases").map { Set($0.split(separator: ",").map(String.init)) }
        try args.finish()
        guard let json = CLIPConfig.presets[name] else { throw UsageError("unknown \(name)") }
        log.level = .warning
        Compute.threads = threads

        let config = try CLIPConfig(json: json)
        let model = CLIPModel(config: config)
        model.initializeRandomly(seed: 0)
        var rng = SeededGenerator(seed: 1)
        let side = config.vision.imageSize
        let pixels = Tensor(zeros: [batch, config.vision.channels, side, side])
        rng.fillNormal(pixels, std: 1)
        let vocabulary = config.text.vocabularySize
        let ids: [[Int32]] = (0..<batch).map { _ in
            var row = (0..<config.text.contextLength).map { _ in
                Int32(rng.next() % UInt64(vocabulary - 2))
            }
            row[0] = Int32(vocabulary - 2)
            row[row.count - 1] = Int32(vocabulary - 1)
            return row
        }

        let imageState = TowerState()
        let textState = TowerState()
        let trainer = ContrastiveTrainer(model: model, settings: AdamWSettings(learningRate: 1e-5))
        let phases: [(String, () throws -> Void)] = [
            ("image_forward", { _ = try model.imageFeatures(pixels: pixels, state: imageState) }),
            ("text_forward", { _ = try model.textFeatures(ids: ids, state: textState) }),
            ("train_step", { try trainer.step(pixels: pixels, ids: ids, learningRate: 1e-5) }),
        ]
        var results: [Phase] = []
        for (phaseName, run) in phases where only?.contains(phaseName) ?? true {
            let seconds = try medianSeconds(warmup: warmup, reps: reps, run)
            GemmRecorder.start()
            try run()
            let shapes = GemmRecorder.stop()
            let flops = shapes.reduce(0) { $0 + $1.flops }
            let ceiling = replaySeconds(shapes, reps: reps)
            results.append(
                Phase(
                    name: phaseName, perSecond: Double(batch) / seconds,
                    gflops: flops / seconds / 1e9,
                    ceilingFraction: ceiling / seconds))
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let result = ChildResult(phases: results, peakRSSMB: Double(usage.ru_maxrss) / 1024)
        print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
    }

    static func medianSeconds(warmup: Int, reps: Int, _ body: () throws -> Void) rethrows -> Double
    {
        for _ in 0..<warmup { try body() }
        var samples: [Double] = []
        for _ in 0..<reps {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return samples.sorted()[samples.count / 2]
    }

    /// Times the recorded products back to back on scratch matrices (median of `reps`).
    static func replaySeconds(_ shapes: [GemmShape], reps: Int) -> Double {
        func extent(_ s: GemmShape) -> (Int, Int, Int) {
            let a = (s.transA ? s.k : s.m) * s.lda
            let b = (s.transB ? s.n : s.k) * s.ldb
            return (a, b, s.m * s.ldc)
        }
        let sizes = shapes.map(extent)
        let a = Tensor(zeros: [sizes.map(\.0).max() ?? 1])
        let b = Tensor(zeros: [sizes.map(\.1).max() ?? 1])
        let c = Tensor(zeros: [sizes.map(\.2).max() ?? 1])
        var rng = SeededGenerator(seed: 2)
        rng.fillNormal(a, std: 0.1)
        rng.fillNormal(b, std: 0.1)
        let replay = {
            for s in shapes {
                gemm(
                    transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a.data,
                    lda: s.lda, b: b.data, ldb: s.ldb, c: c.data, ldc: s.ldc)
            }
        }
        return medianSeconds(warmup: 1, reps: reps, replay)
    }
}
