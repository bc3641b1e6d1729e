// Moving loss values between ArfPluginAPI's Foundation-only types and ArfTraining's tensors:
// matrices and tensors, a plugin's step examples and the trainer's batch, text plans, and
// results. Both sides use the same layouts (row-major features, one match per image row),
// so every conversion is a copy, never a reinterpretation.
import ArfPluginAPI
import ArfTensor
import ArfTraining
import Foundation

extension EmbeddingMatrix {
    /// A copy of a [rows, width] tensor.
    public init(_ tensor: Tensor) {
        precondition(tensor.shape.count == 2, "a matrix needs two dimensions, not \(tensor.shape)")
        self.init(rows: tensor.shape[0], dimension: tensor.shape[1], values: tensor.values)
    }

    /// A [rows, dimension] tensor holding a copy of the values.
    public var tensor: Tensor {
        values.isEmpty
            ? Tensor(zeros: [rows, dimension]) : Tensor(values, shape: [rows, dimension])
    }
}

extension LossExamples {
    /// The examples as the trainer's batch; rows are numbered in order.
    public var batch: TrainingBatch {
        TrainingBatch(
            indices: Array(labels.indices), labels: labels, captions: captions,
            pairIndices: Array(pairCaptions.indices), pairCaptions: pairCaptions)
    }

    /// The examples of a trainer's batch.
    public init(_ batch: TrainingBatch) {
        self.init(labels: batch.labels, captions: batch.captions, pairCaptions: batch.pairCaptions)
    }
}

extension LossTextPlan {
    /// A copy of a trainer's plan.
    public init(_ plan: LossPlan) {
        self.init(
            texts: plan.texts, group: plan.group == .pairs ? .pairs : .finetune,
            matches: plan.matches.map { LossMatch(image: $0.image, text: $0.text) })
    }

    /// The plan as the trainer keeps it.
    public var trainerPlan: LossPlan {
        LossPlan(
            texts: texts, group: group == .pairs ? .pairs : .finetune,
            matches: matches.map { TextMatch(image: $0.image, text: $0.text) })
    }
}

extension LossResult {
    /// A copy of a trainer's output.
    public init(_ output: LossOutput) {
        self.init(
            value: output.loss, imageGradient: output.dImages?.values,
            pairImageGradient: output.dPairImages?.values, textGradient: output.dTexts?.values,
            logLogitScaleGradient: output.dLogitScale,
            parameterGradients: output.dParameters.map(\.values))
    }
}

/// Runs a trainer loss behind the plugin interface.
public enum TrainingLossAdapter {
    /// The loss's plan, drawing from a generator seeded by one number of `random`.
    public static func plan(
        _ loss: any TrainingLoss, _ examples: LossExamples, random: () -> UInt64
    ) -> LossTextPlan {
        var generator = SeededGenerator(seed: random())
        return LossTextPlan(loss.plan(for: examples.batch, random: &generator))
    }

    /// The loss's value and gradients on plugin features.
    public static func compute(
        _ loss: any TrainingLoss, _ examples: LossExamples, plan: LossTextPlan,
        features: LossFeatures
    ) -> LossResult {
        let inputs = LossInputs(
            batch: examples.batch, plan: plan.trainerPlan, images: features.images.tensor,
            pairImages: features.pairImages.tensor, texts: features.texts.tensor,
            logitScale: features.logLogitScale)
        return LossResult(loss.compute(inputs))
    }
}
