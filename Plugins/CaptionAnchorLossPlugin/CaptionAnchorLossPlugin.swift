// The `caption-anchor` loss as a plugin: ArfTraining's caption-anchor term (finetune images
// against one of the captions a captioner wrote for them) behind the plugin interface. The
// computation is the trainer's own; this file only adapts it.
import ArfPluginAPI
import ArfPluginAdapters
import ArfTraining

/// Images against captions of them.
public final class CaptionAnchorLossPlugin: LossPlugin {
    public static let name = CaptionAnchorLoss.name
    public static let version = String(CaptionAnchorLoss.version)
    public static let summary = "contrastive loss between images and captions of them"
    public static let options = [
        OptionSpec(
            "captions", .string, default: "sample",
            help: "which of an image's captions it is matched with each step",
            choices: ["first", "sample"])
    ]

    private let loss: CaptionAnchorLoss

    public init(options: PluginOptions) throws {
        loss = CaptionAnchorLoss(
            options: .init(captions: TextChoice(rawValue: options.string("captions"))!))
    }

    public var usesPairs: Bool { false }
    public var usesTexts: Bool { true }
    public var parameters: [LossParameter] { [] }

    public func prepare(_ setup: LossSetup) throws {}

    public func plan(_ examples: LossExamples, random: () -> UInt64) -> LossTextPlan {
        TrainingLossAdapter.plan(loss, examples, random: random)
    }

    public func compute(_ examples: LossExamples, plan: LossTextPlan, features: LossFeatures)
        throws -> LossResult
    {
        TrainingLossAdapter.compute(loss, examples, plan: plan, features: features)
    }
}
