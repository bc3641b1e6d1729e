// AdamW against two steps worked out by hand with PyTorch's formula, the rule that
// parameters marked not to decay are left alone by decay, and gradient clipping by the
// global norm.
import ArfTensor
import Foundation
import Testing

@Suite("AdamW") struct AdamWTests {
    /// PyTorch's AdamW for one value over several steps, in Double: decoupled decay
    /// p *= 1 - lr wd, bias-corrected moments, and eps added after the square root.
    static func reference(
        value: Float, gradients: [Float], learningRates: [Float], settings s: AdamWSettings,
        decays: Bool, epsilonInsideRoot: Bool = false
    ) -> Double {
        var (p, m, v) = (Double(value), 0.0, 0.0)
        let (b1, b2) = (Double(s.beta1), Double(s.beta2))
        for (t, (g, lr)) in zip(gradients, learningRates).enumerated() {
            let step = Double(t + 1)
            if decays { p *= 1 - Double(lr) * Double(s.weightDecay) }
            m = b1 * m + (1 - b1) * Double(g)
            v = b2 * v + (1 - b2) * Double(g) * Double(g)
            let mHat = m / (1 - Foundation.pow(b1, step))
            let vHat = v / (1 - Foundation.pow(b2, step))
            let eps = Double(s.epsilon)
            let denominator =
                epsilonInsideRoot ? (vHat + eps).squareRoot() : vHat.squareRoot() + eps
            p -= Double(lr) * mHat / denominator
        }
        return p
    }

    /// An eps of the gradients' size makes its place in the formula matter: inside the
    /// square root it would give a visibly different step.
    static let settings = AdamWSettings(
        learningRate: 1, beta1: 0.8, beta2: 0.95, epsilon: 1e-3, weightDecay: 0.5)

    @Test("two steps match PyTorch's formula worked out in Double")
    func twoStepsMatchHandComputedUpdate() {
        let values: [Float] = [0.5, -1.25, 2, 0, 3e-3, -0.75, 1]
        let firstGradients: [Float] = [0.1, -2e-3, 1e-3, 0.5, -1, 4e-4, 0]
        let secondGradients: [Float] = [-0.2, 3e-3, 1e-3, 0.25, 2, -1e-4, 0]
        let learningRates: [Float] = [0.05, 0.02]

        let decayed = Tensor(values, shape: [values.count])
        let kept = Tensor(values, shape: [values.count])
        let g1 = Tensor(zeros: [values.count]), g2 = Tensor(zeros: [values.count])
        let optimizer = AdamW(settings: Self.settings)
        let tensors = [
            OptimizedTensor(value: decayed, gradient: g1, decays: true),
            OptimizedTensor(value: kept, gradient: g2, decays: false),
        ]
        for (step, gradients) in [firstGradients, secondGradients].enumerated() {
            g1.copy(from: Tensor(gradients, shape: [values.count]))
            g2.copy(from: Tensor(gradients, shape: [values.count]))
            optimizer.update(tensors, learningRate: learningRates[step])
        }
        #expect(optimizer.step == 2)

        // A few float32 operations per step on values of order one: 1e-6 of max(1, |p|).
        let tolerance = 1e-6
        for (tensor, decays) in [(decayed, true), (kept, false)] {
            let expected = values.indices.map {
                Self.reference(
                    value: values[$0], gradients: [firstGradients[$0], secondGradients[$0]],
                    learningRates: learningRates, settings: Self.settings, decays: decays)
            }
            let error = largestDifference(tensor.values, expected)
            #expect(error.value <= tolerance,
                    "decays \(decays): largest difference \(error.value) at \(error.at)")
        }

        // The check can tell eps inside the square root from eps after it.
        let misplaced = values.indices.map {
            Self.reference(
                value: values[$0], gradients: [firstGradients[$0], secondGradients[$0]],
                learningRates: learningRates, settings: Self.settings, decays: true,
                epsilonInsideRoot: true)
        }
        let separation = largestDifference(decayed.values, misplaced)
        #expect(separation.value > 100 * tolerance, "eps placement makes no difference")
    }

    @Test("parameters marked not to decay are not decayed")
    func nonDecayingParametersKeepTheirValue() {
        // With a zero gradient the Adam step is zero, so only decay could move a value.
        let values: [Float] = [1, -2, 0.5, 3]
        let decayed = Tensor(values, shape: [4]), kept = Tensor(values, shape: [4])
        let optimizer = AdamW(settings: Self.settings)
        let tensors = [
            OptimizedTensor(value: decayed, gradient: Tensor(zeros: [4]), decays: true),
            OptimizedTensor(value: kept, gradient: Tensor(zeros: [4]), decays: false),
        ]
        optimizer.update(tensors, learningRate: 0.1)
        optimizer.update(tensors, learningRate: 0.1)

        #expect(kept.values == values, "a non-decaying parameter moved: \(kept.values)")
        let factor = (1 - 0.1 * Self.settings.weightDecay) * (1 - 0.1 * Self.settings.weightDecay)
        let error = largestDifference(decayed.values, values.map { Double($0 * factor) })
        #expect(error.value <= 1e-6, "decay: largest difference \(error.value)")
    }

    @Test("clipping scales gradients down to the maximum norm and reports the old norm")
    func clippingScalesToMaxNorm() {
        let a = Tensor([3, 4], shape: [2]), b = Tensor([0, 12], shape: [1, 2])
        #expect(gradientNorm([a, b]) == 13)

        let norm = clipGradients([a, b], maxNorm: 6.5)
        #expect(norm == 13)
        // The divisor carries 1e-6 against division by zero, so the new norm is 6.5 within
        // 1e-6 relative.
        let clipped = Double(gradientNorm([a, b]))
        #expect(abs(clipped - 6.5) <= 6.5e-6, "norm after clipping \(clipped)")
        // Scaling keeps directions: every element halves.
        let error = largestDifference(a.values + b.values, [1.5, 2, 0, 6])
        #expect(error.value <= 1e-6, "largest difference \(error.value) at \(error.at)")
    }

    @Test("clipping leaves gradients under the maximum norm unchanged")
    func clippingLeavesSmallGradients() {
        var rng = SplitMix64(seed: 12)
        let gradients = [rng.tensor([3, 5]), rng.tensor([7])]
        let before = gradients.map(\.values)
        let expectedNorm = before.joined().map { Double($0) * Double($0) }.reduce(0, +)
            .squareRoot()
        let norm = clipGradients(gradients, maxNorm: Float(expectedNorm) * 1.01)
        #expect(abs(Double(norm) - expectedNorm) <= 1e-6 * expectedNorm,
                "norm \(norm), reference \(expectedNorm)")
        #expect(gradients.map(\.values) == before)
    }
}
