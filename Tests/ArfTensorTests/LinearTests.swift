// Linear: the gradients of the input, weight and bias against central differences on odd
// shapes, and the accumulation rules (parameter gradients add up; dx is written unless asked
// to add).
import ArfTensor
import Testing

@Suite("Linear") struct LinearTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        let n, inputs, outputs: Int
        let bias: Bool
        var testDescription: String { "\(n)x\(inputs) -> \(outputs)\(bias ? " with bias" : "")" }
    }

    static let shapes = [
        Shape(n: 1, inputs: 1, outputs: 1, bias: true),
        Shape(n: 3, inputs: 5, outputs: 7, bias: true),
        Shape(n: 5, inputs: 13, outputs: 9, bias: false),
        Shape(n: 17, inputs: 33, outputs: 10, bias: true),
    ]

    /// The objective is linear in each argument, so central differences are exact but for
    /// float32 rounding of the outputs (about 1e-7 of their size, divided by the 2e-2 step).
    static let tolerance = 1e-3
    static let step: Float = 1e-2

    @Test("backward matches central differences for x, weight and bias", arguments: shapes)
    func backwardMatchesFiniteDifferences(shape s: Shape) {
        var rng = SplitMix64(seed: UInt64(1000 + s.n * 100 + s.inputs))
        let x = rng.tensor([s.n, s.inputs])
        let weight = rng.tensor([s.outputs, s.inputs])
        let bias = rng.tensor([s.outputs])
        let w = rng.normals(s.n * s.outputs)
        let y = Tensor(zeros: [s.n, s.outputs])
        func objective() -> Double {
            Linear.forward(
                x: x.data, weight: weight.data, bias: s.bias ? bias.data : nil, y: y.data,
                n: s.n, inputs: s.inputs, outputs: s.outputs)
            return weightedSum(y, w)
        }

        // dx is written, so it starts as NaN to show that nothing of it is read.
        let dy = Tensor(w, shape: [s.n, s.outputs])
        let dx = Tensor([Float](repeating: .nan, count: s.n * s.inputs), shape: [s.n, s.inputs])
        let dWeight = Tensor(zeros: weight.shape), dBias = Tensor(zeros: bias.shape)
        Linear.backward(
            dy: dy.data, x: x.data, weight: weight.data, dx: dx.data, dWeight: dWeight.data,
            dBias: s.bias ? dBias.data : nil, n: s.n, inputs: s.inputs, outputs: s.outputs)

        let (h, tol) = (Self.step, Self.tolerance)
        expectGradient("dx", dx.values, of: x, step: h, tolerance: tol, objective)
        expectGradient("dWeight", dWeight.values, of: weight, step: h, tolerance: tol, objective)
        if s.bias {
            expectGradient("dBias", dBias.values, of: bias, step: h, tolerance: tol, objective)
        } else {
            #expect(dBias.values.allSatisfy { $0 == 0 }, "no bias, yet dBias was written")
        }
    }

    @Test("parameter gradients add up over two backward calls")
    func parameterGradientsAccumulate() {
        let (n, inputs, outputs) = (6, 11, 5)
        var rng = SplitMix64(seed: 77)
        let x = rng.tensor([n, inputs]), weight = rng.tensor([outputs, inputs])
        let dy1 = rng.tensor([n, outputs]), dy2 = rng.tensor([n, outputs])

        func gradients(_ dys: [Tensor]) -> (dWeight: [Float], dBias: [Float]) {
            let dWeight = Tensor(zeros: [outputs, inputs]), dBias = Tensor(zeros: [outputs])
            for dy in dys {
                Linear.backward(
                    dy: dy.data, x: x.data, weight: weight.data, dx: nil, dWeight: dWeight.data,
                    dBias: dBias.data, n: n, inputs: inputs, outputs: outputs)
            }
            return (dWeight.values, dBias.values)
        }
        let first = gradients([dy1]), second = gradients([dy2]), both = gradients([dy1, dy2])

        // Two float32 roundings per element separate the sums; 1e-5 relative covers them.
        let tolerance = 1e-5
        let weightError = largestDifference(
            both.dWeight, zip(first.dWeight, second.dWeight).map { Double($0) + Double($1) })
        let biasError = largestDifference(
            both.dBias, zip(first.dBias, second.dBias).map { Double($0) + Double($1) })
        #expect(weightError.value <= tolerance,
                "dWeight: largest difference \(weightError.value) at \(weightError.at)")
        #expect(biasError.value <= tolerance,
                "dBias: largest difference \(biasError.value) at \(biasError.at)")
    }

    @Test("dx is overwritten by default and added to with accumulate")
    func inputGradientAccumulatesOnlyWhenAsked() {
        let (n, inputs, outputs) = (4, 9, 3)
        var rng = SplitMix64(seed: 78)
        let x = rng.tensor([n, inputs]), weight = rng.tensor([outputs, inputs])
        let dy = rng.tensor([n, outputs])
        let earlier = rng.normals(n * inputs)

        func dx(startingFrom start: [Float], accumulate: Bool) -> [Float] {
            let dx = Tensor(start, shape: [n, inputs])
            Linear.backward(
                dy: dy.data, x: x.data, weight: weight.data, dx: dx.data, dWeight: nil,
                dBias: nil, n: n, inputs: inputs, outputs: outputs, accumulate: accumulate)
            return dx.values
        }
        let fresh = dx(startingFrom: [Float](repeating: 0, count: n * inputs), accumulate: false)
        let overwritten = dx(startingFrom: earlier, accumulate: false)
        let added = dx(startingFrom: earlier, accumulate: true)

        let tolerance = 1e-5
        let overwriteError = largestDifference(overwritten, fresh.map(Double.init))
        let addError = largestDifference(added, zip(earlier, fresh).map { Double($0) + Double($1) })
        #expect(overwriteError.value == 0,
                "dx kept old values: largest difference \(overwriteError.value)")
        #expect(addError.value <= tolerance,
                "accumulated dx: largest difference \(addError.value) at \(addError.at)")
    }
}
