// A loss plugin as a trainer loss term, so that finetuning configurations can name losses
// that plugins bring: `register` adds a plugin type to ArfTraining's loss registry, and each
// term made from a configuration entry is a `PluginLossTerm` around a fresh plugin instance.
// The plugin's parameters are mirrored as trainer parameters, which the optimizer updates;
// their values are copied into the plugin before every step.
//
// A plugin that throws in the middle of a step gives a loss that is not a number, with the
// error in the log. Left out: the plugin's own version in a saved run (a run records this
// bridge's version, so resuming across a change of the plugin is not detected).
import ArfCLIP
import ArfPluginAPI
import ArfSupport
import ArfTensor
import ArfTraining
import Foundation

/// A loss plugin running as a trainer loss term.
public final class PluginLossTerm: TrainingLoss {
    /// The options the term was made with, as text.
    public struct Options: Codable, Equatable {
        public var values: [String: String]
    }

    public static let name = "plugin"
    public static let version = 1
    public let options: Options
    public let plugin: any LossPlugin
    public let parameters: [Parameter]

    public init(plugin: any LossPlugin, options: [String: String]) {
        self.plugin = plugin
        self.options = Options(values: options)
        parameters = plugin.parameters.map { mirrored in
            let parameter = Parameter(
                name: mirrored.name, shape: mirrored.shape, decays: mirrored.decays)
            parameter.value.copy(from: Tensor(mirrored.values, shape: mirrored.shape))
            return parameter
        }
    }

    public var usesPairs: Bool { plugin.usesPairs }
    public var usesTexts: Bool { plugin.usesTexts }

    public func plan(for batch: TrainingBatch, random: inout SeededGenerator) -> LossPlan {
        plugin.plan(LossExamples(batch), random: { random.next() }).trainerPlan
    }

    public func compute(_ inputs: LossInputs) -> LossOutput {
        for (parameter, mirrored) in zip(parameters, plugin.parameters) {
            mirrored.values = parameter.value.values
        }
        let features = LossFeatures(
            images: EmbeddingMatrix(inputs.images), pairImages: EmbeddingMatrix(inputs.pairImages),
            texts: EmbeddingMatrix(inputs.texts), logLogitScale: inputs.logitScale)
        let result: LossResult
        do {
            result = try plugin.compute(
                LossExamples(inputs.batch), plan: LossTextPlan(inputs.plan), features: features)
        } catch {
            // The trainer's compute cannot throw: a failing plugin yields a loss that is not a
            // number, which stops the run like any other divergence, and says why in the log.
            log.error("loss plugin failed", ("plugin", plugin.name), ("error", error))
            return LossOutput(loss: .nan)
        }
        func tensor(_ values: [Float]?, like shape: [Int]) -> Tensor? {
            values.map { Tensor($0, shape: shape) }
        }
        return LossOutput(
            loss: result.value, dImages: tensor(result.imageGradient, like: inputs.images.shape),
            dPairImages: tensor(result.pairImageGradient, like: inputs.pairImages.shape),
            dTexts: tensor(result.textGradient, like: inputs.texts.shape),
            dLogitScale: result.logLogitScaleGradient,
            dParameters: zip(result.parameterGradients, parameters).map {
                Tensor($0, shape: $1.shape)
            })
    }

    /// Adds a loss plugin type to the trainer's registry under the plugin's name.
    public static func register(_ type: any LossPlugin.Type) throws {
        try LossRegistry.register(descriptor(type))
    }

    /// How the trainer makes terms of a loss plugin: options from the configuration entry
    /// as text, a fresh plugin prepared with the run's classes, templates and text tower.
    public static func descriptor(_ type: any LossPlugin.Type) -> LossDescriptor {
        let major = Int(type.version.split(separator: ".").first ?? "") ?? 1
        return LossDescriptor(name: type.name, version: major, summary: type.summary) {
            term, context in
            var given: [String: String] = [:]
            for (key, value) in term.options {
                switch value {
                case .string(let text): given[key] = text
                case .number(let number):
                    given[key] =
                        number == number.rounded() && abs(number) < 1e15
                        ? String(Int(number)) : String(number)
                case .bool(let flag): given[key] = flag ? "true" : "false"
                }
            }
            let plugin = try type.make(given)
            try plugin.prepare(setup(context))
            return PluginLossTerm(plugin: plugin, options: given)
        }
    }

    /// What a plugin may use from the trainer's loss context.
    static func setup(_ context: LossContext) -> LossSetup {
        let (model, tokenizer) = (context.model, context.tokenizer)
        return LossSetup(
            classNames: context.classNames, templates: context.templates,
            hasPairs: context.hasPairs, logLogitScale: model.logitScale.value.data[0],
            embedTexts: { texts in
                let state = TowerState()
                var rows: [[Float]] = []
                for start in stride(from: 0, to: texts.count, by: 64) {
                    let chunk = Array(texts[start..<min(start + 64, texts.count)])
                    let features = try model.textFeatures(
                        ids: tokenizer.encode(chunk), state: state)
                    let width = features.shape[1]
                    let values = features.values
                    for row in 0..<chunk.count {
                        let vector = values[row * width..<(row + 1) * width]
                        let norm = max(vector.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                        rows.append(vector.map { $0 / norm })
                    }
                }
                return rows
            })
    }
}
