// AdamW, the optimizer CLIP is trained with: Adam moments with bias correction and weight
// decay applied to the weights directly (decoupled), as PyTorch's AdamW computes it.
// The moments live with the optimizer, one pair per parameter tensor, allocated on the
// first step. Gradient clipping by global norm is here too, since it precedes each step.
import Foundation

/// AdamW's hyper-parameters.
public struct AdamWSettings: Codable, Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float

    public init(
        learningRate: Float = 1e-5, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0.1
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// One tensor the optimizer updates: its value, its gradient, and whether it decays.
public struct OptimizedTensor {
    public let value: Tensor
    public let gradient: Tensor
    public let decays: Bool

    public init(value: Tensor, gradient: Tensor, decays: Bool) {
        self.value = value
        self.gradient = gradient
        self.decays = decays
    }
}

/// AdamW state over a fixed list of tensors.
public final class AdamW {
    public var settings: AdamWSettings
    /// The number of steps taken so far.
    public private(set) var step = 0
    /// First and second moments, one pair per tensor, in the order of the tensors.
    public private(set) var moments: [(m: Tensor, v: Tensor)] = []

    public init(settings: AdamWSettings) { self.settings = settings }

    /// Restores a saved state (moments and step count) for resuming.
    public func restore(step: Int, moments: [(m: Tensor, v: Tensor)]) {
        self.step = step
        self.moments = moments
    }

    /// Takes one step at learning rate `learningRate` (a schedule's value for this step).
    public func update(_ tensors: [OptimizedTensor], learningRate: Float) {
        if moments.isEmpty {
            moments = tensors.map { (Tensor(zeros: $0.value.shape), Tensor(zeros: $0.value.shape)) }
        }
        precondition(moments.count == tensors.count, "the optimizer's tensors changed")
        step += 1
        let s = settings
        let correction1 = 1 - Foundation.pow(s.beta1, Float(step))
        let correction2 = 1 - Foundation.pow(s.beta2, Float(step))
        let stepSize = learningRate / correction1
        let rootCorrection2 = correction2.squareRoot()

        for (index, tensor) in tensors.enumerated() {
            let p = tensor.value.data
            let g = tensor.gradient.data
            let m = moments[index].m.data
            let v = moments[index].v.data
            let decay: Float = tensor.decays ? 1 - learningRate * s.weightDecay : 1
            parallelChunks(tensor.value.count, minimumPerChunk: 65536) { range in
                for i in range {
                    let gi = g[i]
                    let mi = s.beta1 * m[i] + (1 - s.beta1) * gi
                    let vi = s.beta2 * v[i] + (1 - s.beta2) * gi * gi
                    m[i] = mi
                    v[i] = vi
                    let denominator = vi.squareRoot() / rootCorrection2 + s.epsilon
                    p[i] = p[i] * decay - stepSize * mi / denominator
                }
            }
        }
    }
}

/// The global L2 norm of all gradients.
public func gradientNorm(_ gradients: [Tensor]) -> Float {
    var total: Double = 0
    for g in gradients {
        // Partial sums per chunk, in Double, so that the total does not depend on how the
        // elements are split and large tensors lose no precision.
        let chunks = Swift.max(1, Swift.min(Compute.threads, g.count / 65536))
        var partial = [Double](repeating: 0, count: chunks)
        partial.withUnsafeMutableBufferPointer { sums in
            DispatchQueueChunks.run(g.count, chunks: chunks) { chunk, range in
                var part: Float = 0
                var sum: Double = 0
                for (n, i) in range.enumerated() {
                    part += g.data[i] * g.data[i]
                    if n & 1023 == 1023 {
                        sum += Double(part)
                        part = 0
                    }
                }
                sums[chunk] = sum + Double(part)
            }
        }
        total += partial.reduce(0, +)
    }
    return Float(total.squareRoot())
}

/// Scales all gradients down so that their global norm is at most `maxNorm`; returns the
/// norm before clipping.
@discardableResult
public func clipGradients(_ gradients: [Tensor], maxNorm: Float) -> Float {
    let norm = gradientNorm(gradients)
    guard norm > maxNorm, norm > 0 else { return norm }
    let scale = maxNorm / (norm + 1e-6)
    for g in gradients {
        parallelChunks(g.count, minimumPerChunk: 65536) { range in
            for i in range { g.data[i] *= scale }
        }
    }
    return norm
}
