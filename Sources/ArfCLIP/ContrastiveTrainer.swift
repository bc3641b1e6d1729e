// One optimisation step of CLIP's own objective on a batch of matching image-text pairs:
// both towers forward, the symmetric contrastive loss, both towers backward, AdamW. It is
// the unit that pretraining and the engine benchmark repeat; finetuning methods with other
// losses build their steps from the same model calls.
import ArfTensor
import Foundation

/// What one step measured.
public struct StepReport: Sendable {
    public var loss: Float
    public var gradientNorm: Float
    public var learningRate: Float
}

/// Trains every trainable parameter of a model on image-text pairs.
public final class ContrastiveTrainer {
    public let model: CLIPModel
    public let optimizer: AdamW
    /// Global gradient-norm clip; nil leaves gradients as they are.
    public var maxGradientNorm: Float?
    let imageState = TowerState()
    let textState = TowerState()

    public init(model: CLIPModel, settings: AdamWSettings, maxGradientNorm: Float? = nil) {
        self.model = model
        self.optimizer = AdamW(settings: settings)
        self.maxGradientNorm = maxGradientNorm
    }

    /// The parameters the optimizer updates, in checkpoint order.
    public var trainedTensors: [OptimizedTensor] {
        model.parameters.filter(\.trainable).map {
            OptimizedTensor(value: $0.value, gradient: $0.gradient, decays: $0.decays)
        }
    }

    /// One step on pixels [B, C, S, S] and B token id rows, image i matching text i.
    @discardableResult
    public func step(pixels: Tensor, ids: [[Int32]], learningRate: Float) throws -> StepReport {
        model.zeroGradients()
        let images = try model.imageFeatures(pixels: pixels, state: imageState, training: true)
        let texts = try model.textFeatures(ids: ids, state: textState, training: true)
        guard images.shape[0] == texts.shape[0] else {
            throw CLIPError.badInput(
                reason: "\(images.shape[0]) images but \(texts.shape[0]) texts in one batch")
        }
        let result = ContrastiveLoss.clip(
            images: images, texts: texts, logitScale: model.logitScale.value[0])
        model.imageBackward(dFeatures: result.dImages, state: imageState)
        model.textBackward(dFeatures: result.dTexts, state: textState)
        if model.logitScale.trainable { model.logitScale.gradient[0] += result.dLogitScale }

        let tensors = trainedTensors
        let norm = maxGradientNorm.map { clipGradients(tensors.map(\.gradient), maxNorm: $0) }
            ?? gradientNorm(tensors.map(\.gradient))
        optimizer.update(tensors, learningRate: learningRate)
        return StepReport(loss: result.loss, gradientNorm: norm, learningRate: learningRate)
    }
}
