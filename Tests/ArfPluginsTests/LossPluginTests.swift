// Loss plugins against the trainer: each built-in loss plugin plans and computes exactly what
// ArfTraining's own loss does (it runs the same code, so the tolerance is zero), the ce
// plugin builds the zero-shot head from the prompts and trains through its parameter, and a
// loss plugin's trainer descriptor makes terms from configuration entries that run behind
// PluginLossTerm with their parameters mirrored.
import ArfCLIP
import ArfPluginAPI
import ArfPluginAdapters
import ArfTensor
import ArfTraining
import CaptionAnchorLossPlugin
import CrossEntropyLossPlugin
import FLYPLossPlugin
import Foundation
import PairAnchorLossPlugin
import Testing

@Suite("Loss plugins")
struct LossPluginTests {
    static let classes = ["cat", "dog", "bird"]
    static let templates = ["a photo of a {}.", "a drawing of a {}."]
    static let examples = LossExamples(
        labels: [0, 2, 1, 0], captions: [["a cat", "tabby"], [], ["a dog"], ["a cat"]],
        pairCaptions: ["a car", "a tree", "a car"])
    static let width = 6

    /// Deterministic features: `rows` x width values from a seeded generator.
    func matrix(_ rows: Int, seed: UInt64) -> EmbeddingMatrix {
        var random = SeededGenerator(seed: seed)
        let values = (0..<rows * Self.width).map { _ in
            Float(Double(random.next() % 2001) / 1000 - 1)
        }
        return EmbeddingMatrix(rows: rows, dimension: Self.width, values: values)
    }

    func features(texts: Int) -> LossFeatures {
        LossFeatures(
            images: matrix(4, seed: 1), pairImages: matrix(3, seed: 2),
            texts: matrix(texts, seed: 3), logLogitScale: 2.5)
    }

    func setup(hasPairs: Bool = true, embed: @escaping ([String]) throws -> [[Float]] = { _ in [] })
        -> LossSetup
    {
        LossSetup(
            classNames: Self.classes, templates: Self.templates, hasPairs: hasPairs,
            logLogitScale: 2.5, embedTexts: embed)
    }

    /// The largest element difference of two optional gradients (0 when both are absent).
    func largest(_ a: [Float]?, _ b: [Float]?) -> Float {
        guard let a, let b else { return a == nil && b == nil ? 0 : .infinity }
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    func expectSame(_ plugin: LossResult, _ trainer: LossOutput, _ name: String) {
        let direct = LossResult(trainer)
        let differences = [
            abs(plugin.value - direct.value),
            largest(plugin.imageGradient, direct.imageGradient),
            largest(plugin.pairImageGradient, direct.pairImageGradient),
            largest(plugin.textGradient, direct.textGradient),
            abs(plugin.logLogitScaleGradient - direct.logLogitScaleGradient),
        ]
        #expect(differences.max() == 0, "\(name): largest difference \(differences.max()!)")
        #expect(plugin.value.isFinite && plugin.value > 0, "\(name): loss \(plugin.value)")
    }

    @Test("flyp, caption-anchor and pair-anchor plugins equal the trainer's losses exactly")
    func contrastiveAdapters() throws {
        let trainerLosses: [(any LossPlugin, any TrainingLoss)] = [
            (
                try FLYPLossPlugin.make([:]),
                FLYPLoss(classNames: Self.classes, templates: Self.templates)
            ),
            (try CaptionAnchorLossPlugin.make(["captions": "sample"]), CaptionAnchorLoss()),
            (try PairAnchorLossPlugin.make([:]), PairAnchorLoss()),
        ]
        for (plugin, trainer) in trainerLosses {
            try plugin.prepare(setup())
            let plan = plugin.plan(Self.examples, random: { 42 })
            var generator = SeededGenerator(seed: 42)
            let trainerPlan = trainer.plan(for: Self.examples.batch, random: &generator)
            #expect(plan == LossTextPlan(trainerPlan), "\(plugin.name)")
            #expect(!plan.matches.isEmpty, "\(plugin.name) planned nothing")

            let features = features(texts: plan.texts.count)
            let output = try plugin.compute(Self.examples, plan: plan, features: features)
            let direct = trainer.compute(
                LossInputs(
                    batch: Self.examples.batch, plan: trainerPlan, images: features.images.tensor,
                    pairImages: features.pairImages.tensor, texts: features.texts.tensor,
                    logitScale: features.logLogitScale))
            expectSame(output, direct, plugin.name)
        }
        // The image without captions sits the caption term out.
        let captionPlan = try CaptionAnchorLossPlugin.make([:]).plan(Self.examples, random: { 1 })
        #expect(captionPlan.matches.map(\.image) == [0, 2, 3])
    }

    @Test("the ce plugin builds the zero-shot head from the prompts and trains through it")
    func crossEntropyAdapter() throws {
        // Prompt embeddings chosen here: one axis per class, plus a template offset.
        let embed: ([String]) throws -> [[Float]] = { texts in
            texts.map { text in
                var row = [Float](repeating: 0, count: Self.width)
                row[Self.classes.firstIndex { text.contains($0) }!] = 1
                row[5] = text.hasPrefix("a drawing") ? 0.5 : 0
                let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return row.map { $0 / norm }
            }
        }
        let plugin = try CrossEntropyLossPlugin.make(["label_smoothing": "0.1"])
        try plugin.prepare(setup(embed: embed))
        let weight = try #require(plugin.parameters.first)
        #expect(weight.shape == [3, Self.width] && weight.name == "classifier.weight")

        // Row c: mean of the two normalised prompt rows, normalised, times exp(2.5).
        let drawing = Float(0.5) / Float(1.25).squareRoot()
        let axis = (1 + 1 / Float(1.25).squareRoot()) / 2
        let norm = (axis * axis + (drawing / 2) * (drawing / 2)).squareRoot()
        let scale = Float(Foundation.exp(2.5))
        #expect(abs(weight.values[0] - axis / norm * scale) < 1e-4, "\(weight.values[0])")
        #expect(abs(weight.values[5] - drawing / 2 / norm * scale) < 1e-4, "\(weight.values[5])")
        #expect(weight.values[1] == 0)

        let features = features(texts: 0)
        let head = ClassifierHead(
            classNames: Self.classes, templates: Self.templates,
            weights: Tensor(weight.values, shape: weight.shape))
        let trainer = CrossEntropyLoss(head: head, options: .init(labelSmoothing: 0.1))
        let inputs = LossInputs(
            batch: Self.examples.batch, plan: LossPlan(), images: features.images.tensor,
            pairImages: features.pairImages.tensor, texts: features.texts.tensor,
            logitScale: features.logLogitScale)
        let output = try plugin.compute(Self.examples, plan: LossTextPlan(), features: features)
        expectSame(output, trainer.compute(inputs), "ce")
        let dWeight = trainer.compute(inputs).dParameters.first?.values
        #expect(largest(output.parameterGradients.first, dWeight) == 0)

        // An optimizer step on the parameter changes what the plugin computes.
        weight.values = weight.values.map { $0 * 0.5 }
        let after = try plugin.compute(Self.examples, plan: LossTextPlan(), features: features)
        #expect(after.value != output.value)
        #expect(throws: PluginAPIError.self) {
            try CrossEntropyLossPlugin.make(["label_smoothing": "1"])
        }
    }

    @Test("pair-anchor refuses a run without retrieved pairs")
    func pairAnchorNeedsPairs() throws {
        let plugin = try PairAnchorLossPlugin.make([:])
        let error = #expect(throws: PluginAPIError.self) {
            try plugin.prepare(setup(hasPairs: false))
        }
        #expect("\(error!)".contains("no retrieved pairs"))
    }

    @Test("a loss plugin's descriptor makes terms from configuration entries that run as terms")
    func pluginRunsAsTerm() throws {
        // The descriptor is what registration adds; the shared registry is left alone, since
        // other tests list it.
        let descriptor = PluginLossTerm.descriptor(WeightedSumLoss.self)
        #expect(descriptor.name == WeightedSumLoss.name && descriptor.version == 2)
        let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/clip-tiny")
        let pipeline = try CLIPPipeline(directory: checkpoint)
        let context = LossContext(
            model: pipeline.model, tokenizer: pipeline.tokenizer, classNames: Self.classes,
            templates: Self.templates, hasPairs: false)

        let term = try descriptor.make(
            LossTerm(WeightedSumLoss.name, options: ["start": .number(2)]), context)
        let bridged = try #require(term as? PluginLossTerm)
        #expect(bridged.options.values == ["start": "2"])
        #expect(bridged.parameters.map(\.value.values) == [[Float](repeating: 2, count: 32)])

        // An optimizer step on the mirrored parameter reaches the plugin.
        for i in 0..<32 { bridged.parameters[0].value.data[i] = Float(i) }
        let images = Tensor((0..<64).map { Float($0) / 64 }, shape: [2, 32])
        var generator = SeededGenerator(seed: 0)
        let batch = TrainingBatch(indices: [0, 1], labels: [0, 1], captions: [[], []])
        let output = term.compute(
            LossInputs(
                batch: batch, plan: term.plan(for: batch, random: &generator), images: images,
                pairImages: Tensor(zeros: [0, 32]), texts: Tensor(zeros: [0, 32]),
                logitScale: 1))
        let x: [Float] = (0..<64).map { Float($0) / 64 }
        let w: [Float] = (0..<64).map { Float($0 % 32) }
        let expected: Float = zip(x, w).map { $0 * $1 }.reduce(0, +)
        #expect(abs(output.loss - expected) < 1e-3, "\(output.loss) vs \(expected)")
        #expect(output.dImages?.values == w)
        let dWeight: [Float] = (0..<32).map { x[$0] + x[$0 + 32] }
        #expect(output.dParameters.first?.values == dWeight)

        // Options the plugin does not take are refused with the plugin's own message.
        let refused = #expect(throws: PluginAPIError.self) {
            try descriptor.make(
                LossTerm(WeightedSumLoss.name, options: ["begin": .number(1)]), context)
        }
        #expect("\(refused!)".contains("test-weighted-sum has no option begin"))
    }
}

/// A loss made for the registration test: the sum of image features weighted by a learned
/// vector, so that every gradient is known in closed form.
final class WeightedSumLoss: LossPlugin {
    static let name = "test-weighted-sum"
    static let version = "2.0.0"
    static let summary = "sum of image features weighted by a learned vector"
    static let options = [OptionSpec("start", .double, default: "1", help: "initial weight")]

    let start: Float
    private(set) var parameters: [LossParameter] = []

    init(options: PluginOptions) throws { start = Float(options.double("start")) }

    var usesPairs: Bool { false }
    var usesTexts: Bool { false }

    func prepare(_ setup: LossSetup) throws {
        let width = try setup.embedTexts(["x"]).first?.count ?? 0
        parameters = [
            LossParameter(
                name: "test.weight", shape: [width], decays: false,
                values: [Float](repeating: start, count: width))
        ]
    }

    func plan(_ examples: LossExamples, random: () -> UInt64) -> LossTextPlan { LossTextPlan() }

    func compute(_ examples: LossExamples, plan: LossTextPlan, features: LossFeatures) throws
        -> LossResult
    {
        let weight = parameters[0].values
        let images = features.images
        var value: Float = 0
        var dWeight = [Float](repeating: 0, count: weight.count)
        for row in 0..<images.rows {
            for (j, x) in images.row(row).enumerated() {
                value += weight[j] * x
                dWeight[j] += x
            }
        }
        return LossResult(
            value: value, imageGradient: (0..<images.rows).flatMap { _ in weight },
            parameterGradients: [dWeight])
    }
}
