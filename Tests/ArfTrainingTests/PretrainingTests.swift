// Pretraining from scratch on a pair list written by the test: coloured discs and squares
// with captions naming colour and shape. A few steps of a very small model must lower the
// contrastive loss, the output folder must load as a model, and a run stopped half way must
// resume to the weights of a run that never stopped.
import ArfCLIP
import ArfImage
import ArfTensor
import ArfTraining
import Foundation
import Testing

@Suite("Pretraining") struct PretrainingTests {
    static let colours: [(String, (UInt8, UInt8, UInt8))] = [
        ("red", (220, 30, 30)), ("green", (30, 200, 60)), ("blue", (30, 60, 220)),
        ("yellow", (230, 210, 40)),
    ]

    /// Writes `count` pictures and `pairs.tsv` into `folder`.
    func writePairs(_ folder: URL, count: Int) throws -> URL {
        var lines = ["filepath\tcaption"]
        for i in 0..<count {
            let (colour, rgb) = Self.colours[i % Self.colours.count]
            let disc = (i / Self.colours.count) % 2 == 0
            var pixels = [UInt8](repeating: 245, count: 32 * 32 * 3)
            for y in 0..<32 {
                for x in 0..<32 {
                    let (dx, dy) = (x - 16, y - 16)
                    let inside = disc ? dx * dx + dy * dy <= 100 : abs(dx) <= 9 && abs(dy) <= 9
                    if inside {
                        let p = (y * 32 + x) * 3
                        (pixels[p], pixels[p + 1], pixels[p + 2]) = rgb
                    }
                }
            }
            let name = "\(i).png"
            try ImageCodec.encodePNG(RGBImage(width: 32, height: 32, pixels: pixels))
                .write(to: folder.appendingPathComponent(name))
            lines.append("\(name)\ta \(colour) \(disc ? "disc" : "square")")
        }
        let list = folder.appendingPathComponent("pairs.tsv")
        try lines.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        return list
    }

    func smallConfig(steps: Int) -> PretrainConfig {
        var c = PretrainConfig()
        (c.visionWidth, c.visionLayers, c.visionHeads, c.patchSize) = (32, 1, 2, 8)
        (c.textWidth, c.textLayers, c.textHeads, c.contextLength) = (32, 1, 2, 16)
        c.projectionDim = 16
        c.steps = steps
        c.batchSize = 16
        c.warmupSteps = 2
        c.learningRate = 3e-3
        c.checkpointInterval = 5
        return c
    }

    @Test("a few steps lower the loss and the result loads as a model")
    func pretrainingLowersTheLoss() throws {
        try withTemporaryFolder { folder in
            let list = try writePairs(folder, count: 32)
            let output = folder.appendingPathComponent("model")
            var losses: [Float] = []
            try Pretrainer(config: smallConfig(steps: 40), pairList: list, output: output)
                .run(onStep: { losses.append($0.loss) })
            let first = losses.prefix(5).reduce(0, +) / 5
            let last = losses.suffix(5).reduce(0, +) / 5
            #expect(last < 0.7 * first, "loss went from \(first) to \(last)")

            let pipeline = try CLIPPipeline(directory: output)
            #expect(pipeline.model.config.text.contextLength == 16)
            let texts = try pipeline.embed(texts: ["a red disc", "a blue square"])
            #expect(texts.count == 2 && texts[0].count == 16)
        }
    }

    @Test("a run stopped half way resumes to the weights of an uninterrupted run")
    func resumedRunMatchesStraightRun() throws {
        try withTemporaryFolder { folder in
            let list = try writePairs(folder, count: 24)
            let straight = folder.appendingPathComponent("straight")
            let resumed = folder.appendingPathComponent("resumed")
            try Pretrainer(config: smallConfig(steps: 10), pairList: list, output: straight).run()

            var seen = 0
            try Pretrainer(config: smallConfig(steps: 10), pairList: list, output: resumed)
                .run(shouldStop: { seen >= 5 }, onStep: { _ in seen += 1 })
            try Pretrainer(config: smallConfig(steps: 10), pairList: list, output: resumed).run()

            let a = try CLIPModel.load(directory: straight)
            let b = try CLIPModel.load(directory: resumed)
            var largest: Float = 0
            for (p, q) in zip(a.parameters, b.parameters) {
                largest = max(largest, largestDifference(p.value.values, q.value.values))
            }
            #expect(largest <= 1e-6, "largest weight difference \(largest)")
        }
    }

    @Test("a pair list without the named columns is an error naming the file")
    func badHeaderIsAnError() throws {
        try withTemporaryFolder { folder in
            let list = folder.appendingPathComponent("pairs.tsv")
            try "path\ttext\na.png\ta cat\n".write(to: list, atomically: true, encoding: .utf8)
            #expect(throws: TrainingError.self) {
                try Pretrainer(config: smallConfig(steps: 2), pairList: list,
                               output: folder.appendingPathComponent("m"))
            }
        }
    }
}
