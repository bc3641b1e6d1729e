// The `pair-anchor` loss as a plugin: ArfTraining's pair-anchor term (retrieved pool images
// against their own captions) behind the plugin interface. The computation is the trainer's
// own; this file only adapts it.
import ArfPluginAPI
import ArfPluginAdapters
import ArfTraining

/// Retrieved pairs against their own captions.
public final class PairAnchorLossPlugin: LossPlugin {
    public static let name = PairAnchorLoss.name
    public static let version = String(PairAnchorLoss.version)
    public static let summary = "contrastive loss on retrieved image-caption pairs"
    public static let options: [OptionSpec] = []

    private let loss = PairAnchorLoss()

    public init(options: PluginOptions) throws {}

    public var usesPairs: Bool { true }
    public var usesTexts: Bool { true }
    public var parameters: [LossParameter] { [] }

    public func prepare(_ setup: LossSetup) throws {
        guard setup.hasPairs else {
            throw PluginAPIError.badInput(
                plugin: Self.name, reason: "the run has no retrieved pairs")
        }
    }

    public func plan(_ examples: LossExamples, random: () -> UInt64) -> LossTextPlan {
        TrainingLossAdapter.plan(loss, examples, random: random)
    }

    public func compute(_ examples: LossExamples, plan: LossTextPlan, features: LossFeatures)
        throws -> LossResult
    {
        TrainingLossAdapter.compute(loss, examples, plan: plan, features: features)
    }
}
