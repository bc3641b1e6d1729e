// The `flyp` loss as a plugin: ArfTraining's FLYP term (finetune images against the prompts
// of their classes, CLIP's contrastive loss) behind the plugin interface, so that it is
// listed with its options and can be combined with plugin losses. The computation is the
// trainer's own; this file only adapts it.
import ArfPluginAPI
import ArfPluginAdapters
import ArfTraining

/// Images against their class prompts.
public final class FLYPLossPlugin: LossPlugin {
    public static let name = FLYPLoss.name
    public static let version = String(FLYPLoss.version)
    public static let summary = "contrastive loss between images and their class prompts"
    public static let options = [
        OptionSpec(
            "templates", .string, default: "sample",
            help: "which template a class's prompt uses each step: the first, or one drawn",
            choices: ["first", "sample"])
    ]

    private let settings: FLYPLoss.Options
    private var loss: FLYPLoss?

    public init(options: PluginOptions) throws {
        settings = FLYPLoss.Options(templates: TextChoice(rawValue: options.string("templates"))!)
    }

    public var usesPairs: Bool { false }
    public var usesTexts: Bool { true }
    public var parameters: [LossParameter] { [] }

    public func prepare(_ setup: LossSetup) throws {
        guard !setup.templates.isEmpty else {
            throw PluginAPIError.badInput(plugin: Self.name, reason: "it needs prompt templates")
        }
        loss = FLYPLoss(classNames: setup.classNames, templates: setup.templates, options: settings)
    }

    public func plan(_ examples: LossExamples, random: () -> UInt64) -> LossTextPlan {
        TrainingLossAdapter.plan(prepared, examples, random: random)
    }

    public func compute(_ examples: LossExamples, plan: LossTextPlan, features: LossFeatures)
        throws -> LossResult
    {
        TrainingLossAdapter.compute(prepared, examples, plan: plan, features: features)
    }

    private var prepared: FLYPLoss {
        guard let loss else { preconditionFailure("\(Self.name) used before prepare()") }
        return loss
    }
}
