// LayerNorm: the gradients of the input, gamma and beta against central differences, on one
// thread and (in the thread-sensitive suite) on two, where rows are split between chunks and
// the parameter gradients are summed from per-chunk parts; plus the accumulation rules.
import ArfTensor
import Testing

/// One layer norm problem with random data, and the objective sum(w * y).
struct LayerNormProblem {
    let n, d: Int
    let eps: Float = 1e-5
    let x, gamma, beta, y, mean, rstd: Tensor
    let w: [Float]

    init(n: Int, d: Int, seed: UInt64) {
        self.n = n
        self.d = d
        var rng = SplitMix64(seed: seed)
        // An offset larger than the spread exercises the two-pass variance.
        x = Tensor(rng.normals(n * d, scale: 2).map { $0 + 3 }, shape: [n, d])
        gamma = Tensor(rng.normals(d).map { 1 + 0.5 * $0 }, shape: [d])
        beta = rng.tensor([d])
        w = rng.normals(n * d)
        y = Tensor(zeros: [n, d])
        mean = Tensor(zeros: [n])
        rstd = Tensor(zeros: [n])
    }

    func objective() -> Double {
        LayerNorm.forward(
            x: x.data, gamma: gamma.data, beta: beta.data, y: y.data, mean: mean.data,
            rstd: rstd.data, n: n, d: d, eps: eps)
        return weightedSum(y, w)
    }

    /// dx, dgamma and dbeta for dy = w, after a forward pass.
    func gradients() -> (dx: [Float], dGamma: [Float], dBeta: [Float]) {
        _ = objective()
        let dy = Tensor(w, shape: [n, d])
        let dx = Tensor([Float](repeating: .nan, count: n * d), shape: [n, d])
        let dGamma = Tensor(zeros: [d]), dBeta = Tensor(zeros: [d])
        LayerNorm.backward(
            dy: dy.data, x: x.data, mean: mean.data, rstd: rstd.data, gamma: gamma.data,
            dx: dx.data, dGamma: dGamma.data, dBeta: dBeta.data, n: n, d: d)
        return (dx.values, dGamma.values, dBeta.values)
    }

    /// The x spread is 2, so a 1e-2 step keeps the truncation error near (1e-2 / 2)^2. Moving
    /// one x moves its whole row, and the float32 rounding of those outputs over the step
    /// dominates: about 2e-4 relative for 64-wide rows. 2e-3 leaves a tenfold margin.
    static let tolerance = 2e-3
    static let step: Float = 1e-2

    func expectGradientsMatch() {
        let g = gradients()
        let (h, tol) = (Self.step, Self.tolerance)
        expectGradient("dx", g.dx, of: x, step: h, tolerance: tol, objective)
        expectGradient("dGamma", g.dGamma, of: gamma, step: h, tolerance: tol, objective)
        expectGradient("dBeta", g.dBeta, of: beta, step: h, tolerance: tol, objective)
    }
}

@Suite("Layer norm") struct LayerNormTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        let n, d: Int
        var testDescription: String { "\(n) rows of \(d)" }
    }

    @Test("backward matches central differences for x, gamma and beta", arguments: [
        Shape(n: 1, d: 3), Shape(n: 4, d: 7), Shape(n: 5, d: 13), Shape(n: 3, d: 64),
    ])
    func backwardMatchesFiniteDifferences(shape: Shape) {
        LayerNormProblem(n: shape.n, d: shape.d, seed: UInt64(shape.n * 1000 + shape.d))
            .expectGradientsMatch()
    }

    @Test("forward normalises each row to mean beta and spread gamma")
    func forwardNormalises() {
        let p = LayerNormProblem(n: 3, d: 11, seed: 5)
        _ = p.objective()
        var largest = 0.0
        for r in 0..<p.n {
            let row = (0..<p.d).map { Double(p.x[r * p.d + $0]) }
            let mu = row.reduce(0, +) / Double(p.d)
            let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(p.d)
            for i in 0..<p.d {
                let expected = (row[i] - mu) / (variance + Double(p.eps)).squareRoot()
                    * Double(p.gamma[i]) + Double(p.beta[i])
                largest = Swift.max(largest, abs(Double(p.y[r * p.d + i]) - expected))
            }
        }
        // Outputs are of order one; float32 arithmetic over 11 values stays near 1e-6.
        #expect(largest <= 1e-5, "largest difference from the Double reference \(largest)")
    }

    @Test("gamma and beta gradients add up; dx is added only with accumulate")
    func accumulation() {
        let p = LayerNormProblem(n: 6, d: 10, seed: 9)
        let once = p.gradients()
        _ = p.objective()
        let dy = Tensor(p.w, shape: [p.n, p.d])
        let earlier = (0..<(p.n * p.d)).map { Float($0 % 7) - 3 }
        let dx = Tensor(earlier, shape: [p.n, p.d])
        let dGamma = Tensor(zeros: [p.d]), dBeta = Tensor(zeros: [p.d])
        for _ in 0..<2 {
            LayerNorm.backward(
                dy: dy.data, x: p.x.data, mean: p.mean.data, rstd: p.rstd.data,
                gamma: p.gamma.data, dx: dx.data, dGamma: dGamma.data, dBeta: dBeta.data,
                n: p.n, d: p.d, accumulate: true)
        }

        // Doubling in float32 is exact, and so is adding a small integer to dx here but for
        // one rounding: 1e-6 relative.
        let tolerance = 1e-6
        let dxError = largestDifference(
            dx.values, zip(earlier, once.dx).map { Double($0) + 2 * Double($1) })
        let gammaError = largestDifference(dGamma.values, once.dGamma.map { 2 * Double($0) })
        let betaError = largestDifference(dBeta.values, once.dBeta.map { 2 * Double($0) })
        #expect(dxError.value <= tolerance, "dx: largest difference \(dxError.value)")
        #expect(gammaError.value <= tolerance, "dGamma: largest difference \(gammaError.value)")
        #expect(betaError.value <= tolerance, "dBeta: largest difference \(betaError.value)")
    }
}

extension ThreadSensitive {
    @Suite("Layer norm on two threads") struct LayerNormParallelTests {
        @Test("backward matches central differences when rows are split between two threads")
        func parallelBackwardMatchesFiniteDifferences() {
            // 130 rows: two chunks of at least 64 rows each, the kernels' threshold.
            withComputeThreads(2) {
                LayerNormProblem(n: 130, d: 9, seed: 130).expectGradientsMatch()
            }
        }

        @Test("two threads give the values one thread gives")
        func parallelMatchesSerial() {
            let p = LayerNormProblem(n: 200, d: 12, seed: 200)
            let serial = withComputeThreads(1) { (p.gradients(), p.y.values) }
            let parallel = withComputeThreads(2) { (p.gradients(), p.y.values) }

            // Rows are computed identically; only the per-chunk sums of dgamma and dbeta are
            // added in another order, which float32 rounding allows for (1e-5 relative).
            let tolerance = 1e-5
            #expect(parallel.1 == serial.1, "forward values differ between thread counts")
            #expect(parallel.0.dx == serial.0.dx, "dx differs between thread counts")
            let gamma = largestDifference(parallel.0.dGamma, serial.0.dGamma.map(Double.init))
            let beta = largestDifference(parallel.0.dBeta, serial.0.dBeta.map(Double.init))
            #expect(gamma.value <= tolerance, "dGamma: largest difference \(gamma.value)")
            #expect(beta.value <= tolerance, "dBeta: largest difference \(beta.value)")
        }
    }
}
