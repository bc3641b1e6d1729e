// The embedding kernels: token plus position lookup, the patch embedding path (patch
// extraction, one product, class token and positions), and pooling one row per sequence.
// Gradients of every table against central differences, patch extraction against a naive
// strided convolution, and which gradients are written and which accumulated.
import ArfTensor
import Testing

/// Every kernel here is linear in its tables, so central differences are exact but for
/// float32 rounding of the outputs over the step: 1e-3 relative is far above that.
private let tolerance = 1e-3
private let step: Float = 1e-2

@Suite("Token embedding") struct TokenEmbeddingTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        let b, l, d, vocabulary, context: Int
        var testDescription: String {
            "\(b) x \(l) tokens of width \(d), \(vocabulary) ids, \(context) positions"
        }
    }

    @Test("backward matches central differences for the token and position tables",
          arguments: [
              Shape(b: 1, l: 1, d: 1, vocabulary: 1, context: 1),
              Shape(b: 2, l: 3, d: 5, vocabulary: 7, context: 4),
              Shape(b: 3, l: 5, d: 11, vocabulary: 13, context: 9),
          ])
    func backwardMatchesFiniteDifferences(shape: Shape) {
        let (b, l, d) = (shape.b, shape.l, shape.d)
        let (vocabulary, context) = (shape.vocabulary, shape.context)
        var rng = SplitMix64(seed: UInt64(b * 100 + d))
        // Few distinct ids, so that rows repeat and their gradients must add up; the position
        // table is longer than the sequences, so its last rows get no gradient.
        let distinct = UInt64(Swift.max(1, vocabulary / 2))
        let ids = (0..<(b * l)).map { _ in Int32(rng.next() % distinct) }
        let table = rng.tensor([vocabulary, d]), position = rng.tensor([context, d])
        let w = rng.normals(b * l * d)
        let h = Tensor(zeros: [b * l, d])
        func objective() -> Double {
            TokenEmbedding.forward(
                ids: ids, table: table.data, position: position.data, h: h.data, b: b, l: l, d: d)
            return weightedSum(h, w)
        }

        let dh = Tensor(w, shape: [b * l, d])
        let dTable = Tensor(zeros: table.shape), dPosition = Tensor(zeros: position.shape)
        TokenEmbedding.backward(
            dh: dh.data, ids: ids, dTable: dTable.data, dPosition: dPosition.data, b: b, l: l,
            d: d)
        expectGradient("dTable", dTable.values, of: table, step: step, tolerance: tolerance,
                       objective)
        expectGradient("dPosition", dPosition.values, of: position, step: step,
                       tolerance: tolerance, objective)
    }

    @Test("table gradients add up over two backward calls")
    func gradientsAccumulate() {
        let (b, l, d) = (2, 3, 4)
        let ids: [Int32] = [0, 2, 2, 1, 0, 2]
        var rng = SplitMix64(seed: 3)
        let dh = rng.tensor([b * l, d])
        let dTable = Tensor(zeros: [3, d]), dPosition = Tensor(zeros: [l, d])
        TokenEmbedding.backward(dh: dh.data, ids: ids, dTable: dTable.data,
                                dPosition: dPosition.data, b: b, l: l, d: d)
        let once = (dTable.values, dPosition.values)
        TokenEmbedding.backward(dh: dh.data, ids: ids, dTable: dTable.data,
                                dPosition: dPosition.data, b: b, l: l, d: d)

        // Repeated ids add rows in another order than doubling would: a few float32
        // roundings, 1e-6 of max(1, |value|).
        let table = largestDifference(dTable.values, once.0.map { 2 * Double($0) })
        let position = largestDifference(dPosition.values, once.1.map { 2 * Double($0) })
        #expect(table.value <= 1e-6, "dTable: largest difference \(table.value)")
        #expect(position.value <= 1e-6, "dPosition: largest difference \(position.value)")
    }
}

@Suite("Patch embedding") struct PatchEmbeddingTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        let images, channels, side, patch, width: Int
        var grid: Int { side / patch }
        var patches: Int { grid * grid }
        var patchWidth: Int { channels * patch * patch }
        var testDescription: String {
            "\(images) images of \(channels)x\(side)x\(side), patch \(patch), width \(width)"
        }
    }

    static let shapes = [
        Shape(images: 1, channels: 1, side: 1, patch: 1, width: 1),
        Shape(images: 2, channels: 3, side: 10, patch: 5, width: 7),
        Shape(images: 1, channels: 2, side: 9, patch: 3, width: 5),
        Shape(images: 3, channels: 3, side: 8, patch: 4, width: 12),
    ]

    /// The vision tower's embedding path with its tables, as one problem.
    struct Problem {
        let s: Shape
        let pixels, weight, classToken, position, patches, projected, h: Tensor
        let w: [Float]

        init(_ s: Shape, seed: UInt64) {
            self.s = s
            var rng = SplitMix64(seed: seed)
            pixels = rng.tensor([s.images, s.channels, s.side, s.side])
            weight = rng.tensor([s.width, s.channels, s.patch, s.patch])
            classToken = rng.tensor([s.width])
            position = rng.tensor([s.patches + 1, s.width])
            patches = Tensor(zeros: [s.images * s.patches, s.patchWidth])
            projected = Tensor(zeros: [s.images * s.patches, s.width])
            h = Tensor(zeros: [s.images * (s.patches + 1), s.width])
            w = rng.normals(h.count)
        }

        func objective() -> Double {
            PatchEmbedding.extractPatches(
                pixels: pixels.data, patches: patches.data, b: s.images, channels: s.channels,
                side: s.side, patch: s.patch)
            Linear.forward(x: patches.data, weight: weight.data, bias: nil, y: projected.data,
                           n: s.images * s.patches, inputs: s.patchWidth, outputs: s.width)
            PatchEmbedding.assemble(
                projected: projected.data, classToken: classToken.data, position: position.data,
                h: h.data, b: s.images, g: s.patches, d: s.width)
            return weightedSum(h, w)
        }
    }

    @Test("patches times the weight equal a naive strided convolution", arguments: shapes)
    func patchProductIsConvolution(shape s: Shape) {
        let p = Problem(s, seed: 5)
        _ = p.objective()
        var expected = [Double](repeating: 0, count: p.projected.count)
        for image in 0..<s.images {
            for gy in 0..<s.grid {
                for gx in 0..<s.grid {
                    for o in 0..<s.width {
                        var sum = 0.0
                        for c in 0..<s.channels {
                            for y in 0..<s.patch {
                                for x in 0..<s.patch {
                                    let pixel = ((image * s.channels + c) * s.side
                                        + gy * s.patch + y) * s.side + gx * s.patch + x
                                    let tap = ((o * s.channels + c) * s.patch + y) * s.patch + x
                                    sum += Double(p.pixels[pixel]) * Double(p.weight[tap])
                                }
                            }
                        }
                        expected[((image * s.grid + gy) * s.grid + gx) * s.width + o] = sum
                    }
                }
            }
        }
        // Sums of at most 75 products of order one, in float32: 1e-5 of max(1, |y|).
        let error = largestDifference(p.projected.values, expected)
        #expect(error.value <= 1e-5, "largest difference \(error.value) at \(error.at)")
    }

    @Test("backward matches central differences for the weight, class token and positions",
          arguments: shapes)
    func backwardMatchesFiniteDifferences(shape s: Shape) {
        let p = Problem(s, seed: UInt64(s.side * 10 + s.width))
        _ = p.objective()
        let dh = Tensor(p.w, shape: p.h.shape)
        let dProjected = Tensor(zeros: p.projected.shape), dWeight = Tensor(zeros: p.weight.shape)
        let dClass = Tensor(zeros: p.classToken.shape), dPosition = Tensor(zeros: p.position.shape)
        PatchEmbedding.disassemble(
            dh: dh.data, dProjected: dProjected.data, dClassToken: dClass.data,
            dPosition: dPosition.data, b: s.images, g: s.patches, d: s.width)
        Linear.backward(
            dy: dProjected.data, x: p.patches.data, weight: p.weight.data, dx: nil,
            dWeight: dWeight.data, dBias: nil, n: s.images * s.patches, inputs: s.patchWidth,
            outputs: s.width)

        expectGradient("dWeight", dWeight.values, of: p.weight, step: step,
                       tolerance: tolerance, p.objective)
        expectGradient("dClassToken", dClass.values, of: p.classToken, step: step,
                       tolerance: tolerance, p.objective)
        expectGradient("dPosition", dPosition.values, of: p.position, step: step,
                       tolerance: tolerance, p.objective)
    }

    @Test("disassemble writes the patch gradients and adds to the class and position ones")
    func disassembleAccumulation() {
        let (b, g, d) = (2, 3, 4)
        var rng = SplitMix64(seed: 8)
        let dh = rng.tensor([b * (g + 1), d])
        let dProjected = Tensor(rng.normals(b * g * d), shape: [b * g, d])
        let dClass = Tensor(zeros: [d]), dPosition = Tensor(zeros: [g + 1, d])
        for _ in 0..<2 {
            PatchEmbedding.disassemble(
                dh: dh.data, dProjected: dProjected.data, dClassToken: dClass.data,
                dPosition: dPosition.data, b: b, g: g, d: d)
        }
        // The class and position gradients sum over both images, twice: a few float32
        // roundings, so 1e-6 of max(1, |value|).
        let classSums = (0..<d).map { i in
            2 * (0..<b).map { Double(dh[$0 * (g + 1) * d + i]) }.reduce(0, +)
        }
        let classError = largestDifference(dClass.values, classSums)
        #expect(classError.value <= 1e-6, "dClassToken: largest difference \(classError.value)")
        for image in 0..<b {
            for t in 0..<g {
                for i in 0..<d {
                    let written = dProjected[(image * g + t) * d + i]
                    let source = dh[(image * (g + 1) + 1 + t) * d + i]
                    #expect(written == source, "dProjected was added to, not written")
                }
            }
        }
        var expected = [Double](repeating: 0, count: (g + 1) * d)
        for r in 0..<(b * (g + 1)) {
            for i in 0..<d { expected[(r % (g + 1)) * d + i] += 2 * Double(dh[r * d + i]) }
        }
        let error = largestDifference(dPosition.values, expected)
        #expect(error.value <= 1e-6, "dPosition: largest difference \(error.value)")
    }
}

@Suite("Pooling") struct PoolingTests {
    @Test("scatter is the gradient of gather and zeroes every other row",
          arguments: [[0], [0, 5, 10], [4, 7]])
    func scatterMatchesFiniteDifferences(rows: [Int]) {
        let (total, d) = (12, 5)
        var rng = SplitMix64(seed: UInt64(rows.count))
        let h = rng.tensor([total, d])
        let w = rng.normals(rows.count * d)
        let pooled = Tensor(zeros: [rows.count, d])
        func objective() -> Double {
            Pooling.gather(h: h.data, rows: rows, pooled: pooled.data, d: d)
            return weightedSum(pooled, w)
        }
        let dPooled = Tensor(w, shape: pooled.shape)
        let dh = Tensor([Float](repeating: .nan, count: total * d), shape: [total, d])
        Pooling.scatter(dPooled: dPooled.data, rows: rows, dh: dh.data, totalRows: total, d: d)
        expectGradient("dh", dh.values, of: h, step: step, tolerance: tolerance, objective)
    }
}
