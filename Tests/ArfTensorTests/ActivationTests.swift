// The MLP activations (quick_gelu, gelu) against Double references and central differences,
// and fastExp against Foundation's exp over the whole float32 range it claims.
import ArfTensor
import Foundation
import Testing

@Suite("Activations") struct ActivationTests {
    static let activations: [Activation] = [.quickGelu, .gelu]

    /// The formula in Double, as the checkpoints' reference implementations define it.
    static func reference(_ activation: Activation, _ x: Double) -> Double {
        switch activation {
        case .quickGelu: x / (1 + Foundation.exp(-1.702 * x))
        case .gelu: 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
        }
    }

    @Test("forward matches the Double formula", arguments: activations)
    func forwardMatchesReference(activation: Activation) {
        var rng = SplitMix64(seed: 21)
        let x = Tensor(rng.uniforms(1001, -12, 12), shape: [1001])
        let y = Tensor(zeros: [1001])
        activation.forward(x: x.data, y: y.data, count: x.count)

        // fastExp and erff are within a few ulp; |y| <= 12, so 1e-6 of max(1, |y|) is ample.
        let tolerance = 1e-6
        let expected = x.values.map { Self.reference(activation, Double($0)) }
        let error = largestDifference(y.values, expected)
        #expect(error.value <= tolerance,
                "\(activation): largest difference \(error.value) at x = \(x[error.at])")
    }

    @Test("backward matches central differences", arguments: activations, [1, 7, 37, 1001])
    func backwardMatchesFiniteDifferences(activation: Activation, count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        let x = Tensor(rng.uniforms(count, -6, 6), shape: [count])
        let w = rng.normals(count)
        let y = Tensor(zeros: [count])
        func objective() -> Double {
            activation.forward(x: x.data, y: y.data, count: count)
            return weightedSum(y, w)
        }
        let dy = Tensor(w, shape: [count]), dx = Tensor(zeros: [count])
        activation.backward(dy: dy.data, x: x.data, dx: dx.data, count: count)

        // Both functions have |f'''| below 2 on this range: a 5e-3 step leaves a truncation
        // error near 1e-5, and float32 rounding of one output (|y| <= 6) over the step up to
        // 2e-4 per element, some 3e-5 in the norm; 5e-4 leaves a tenfold margin.
        expectGradient("\(activation) dx", dx.values, of: x, step: 5e-3, tolerance: 5e-4,
                       objective)
    }

    @Test("fastExp is within 3e-7 relative of exp over [-87, 88]")
    func fastExpIsAccurate() {
        // 3e-7 is about 2.5 ulp of float32 (an ulp is at most 1.2e-7 of the value).
        let tolerance = 3e-7
        var largest = 0.0, worst: Float = 0
        let samples = 2_000_001
        for i in 0..<samples {
            let x = -87 + 175 * Float(i) / Float(samples - 1)
            let exact = Foundation.exp(Double(x))
            let error = abs(Double(fastExp(x)) - exact) / exact
            if !(error <= largest) { (largest, worst) = (error, x) }
        }
        #expect(largest <= tolerance, "largest relative difference \(largest) at x = \(worst)")
    }

    @Test("fastExp is exact at zero and gives 0 and infinity past the ends of the range")
    func fastExpExtremes() {
        #expect(fastExp(0) == 1)
        for x: Float in [-87.5, -88, -100, -1e10, -.infinity] {
            #expect(fastExp(x) == 0, "fastExp(\(x)) = \(fastExp(x))")
        }
        for x: Float in [89, 100, 1e10, .infinity] {
            #expect(fastExp(x) == .infinity, "fastExp(\(x)) = \(fastExp(x))")
        }
    }
}

extension ThreadSensitive {
    @Suite("Activations on two threads") struct ActivationParallelTests {
        @Test("two threads give exactly the values one thread gives", arguments: [
            Activation.quickGelu, .gelu,
        ])
        func parallelMatchesSerial(activation: Activation) {
            // Above twice the kernels' 16384-element threshold, so the work is split.
            let count = 40_001
            var rng = SplitMix64(seed: 40)
            let x = Tensor(rng.uniforms(count, -8, 8), shape: [count])
            let dy = rng.tensor([count])
            func run() -> (y: [Float], dx: [Float]) {
                let y = Tensor(zeros: [count]), dx = Tensor(zeros: [count])
                activation.forward(x: x.data, y: y.data, count: count)
                activation.backward(dy: dy.data, x: x.data, dx: dx.data, count: count)
                return (y.values, dx.values)
            }
            let serial = withComputeThreads(1, run)
            let parallel = withComputeThreads(2, run)
            #expect(parallel.y == serial.y, "\(activation): forward values differ")
            #expect(parallel.dx == serial.dx, "\(activation): backward values differ")
        }
    }
}
