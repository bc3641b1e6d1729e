// The `ce` loss as a plugin: ArfTraining's cross-entropy term on a linear head initialised as
// the zero-shot classifier (per class, the normalised mean of its normalised prompt
// embeddings, times the logit scale), behind the plugin interface. The head's weights are
// the plugin's one parameter; the trainer's optimizer updates them and they are copied into
// the head before every step. The computation is the trainer's own.
import ArfPluginAPI
import ArfPluginAdapters
import ArfTensor
import ArfTraining
import Foundation

/// Cross-entropy on a zero-shot-initialised linear head.
public final class CrossEntropyLossPlugin: LossPlugin {
    public static let name = CrossEntropyLoss.name
    public static let version = String(CrossEntropyLoss.version)
    public static let summary =
        "cross-entropy on a linear head initialised as the zero-shot classifier"
    public static let options = [
        OptionSpec(
            "label_smoothing", .double, default: "0",
            help: "mass moved from the label to a uniform distribution over classes")
    ]

    private let settings: CrossEntropyLoss.Options
    private var loss: CrossEntropyLoss?
    public private(set) var parameters: [LossParameter] = []

    public init(options: PluginOptions) throws {
        let smoothing = options.double("label_smoothing")
        guard smoothing >= 0, smoothing < 1 else {
            throw PluginAPIError.badOptionValue(
                plugin: Self.name, name: "label_smoothing", value: String(smoothing),
                expected: "a number from 0 up to 1")
        }
        settings = CrossEntropyLoss.Options(labelSmoothing: smoothing)
    }

    public var usesPairs: Bool { false }
    public var usesTexts: Bool { false }

    public func prepare(_ setup: LossSetup) throws {
        let forms = setup.templates.isEmpty ? ["{}"] : setup.templates
        let prompts = setup.classNames.flatMap { name in forms.map { Prompts.fill($0, with: name) }
        }
        let rows = try setup.embedTexts(prompts)
        guard rows.count == prompts.count, let width = rows.first?.count else {
            throw PluginAPIError.badInput(plugin: Self.name, reason: "no class prompts to embed")
        }
        // Per class: the mean of its prompts' embeddings, normalised, times the logit scale.
        let scale = Foundation.exp(setup.logLogitScale)
        var weights: [Float] = []
        for c in setup.classNames.indices {
            var mean = [Float](repeating: 0, count: width)
            for t in forms.indices {
                for (i, x) in rows[c * forms.count + t].enumerated() {
                    mean[i] += x / Float(forms.count)
                }
            }
            let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            weights += mean.map { $0 / norm * scale }
        }
        let head = ClassifierHead(
            classNames: setup.classNames, templates: setup.templates,
            weights: Tensor(weights, shape: [setup.classNames.count, width]))
        loss = CrossEntropyLoss(head: head, options: settings)
        parameters = [
            LossParameter(
                name: head.weight.name, shape: head.weight.shape, decays: head.weight.decays,
                values: weights)
        ]
    }

    public func plan(_ examples: LossExamples, random: () -> UInt64) -> LossTextPlan {
        LossTextPlan()
    }

    public func compute(_ examples: LossExamples, plan: LossTextPlan, features: LossFeatures)
        throws -> LossResult
    {
        guard let loss, let weights = parameters.first else {
            preconditionFailure("\(Self.name) used before prepare()")
        }
        loss.head.weight.value.copy(from: Tensor(weights.values, shape: weights.shape))
        return TrainingLossAdapter.compute(loss, examples, plan: plan, features: features)
    }
}
