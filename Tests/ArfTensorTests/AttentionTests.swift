// Attention: the forward pass against a naive loop in Double, the causal mask hiding later
// tokens, and the gradients of q, k and v against central differences, with and without the
// mask, on one thread and on two. Every test here is in the thread-sensitive suite, since the
// backward pass reads Compute.threads twice per call.
import ArfTensor
import Foundation
import Testing

/// One attention problem with random q, k and v, and the objective sum(w * out).
struct AttentionProblem {
    let shape: AttentionShape
    let q, k, v, probs, out: Tensor
    let w: [Float]

    init(_ shape: AttentionShape, seed: UInt64) {
        self.shape = shape
        var rng = SplitMix64(seed: seed)
        let rows = shape.sequences * shape.tokens
        q = rng.tensor([rows, shape.width])
        k = rng.tensor([rows, shape.width])
        v = rng.tensor([rows, shape.width])
        w = rng.normals(rows * shape.width)
        // Both outputs are written in full, so they start as NaN to show it.
        probs = Tensor([Float](repeating: .nan, count: shape.probabilityCount),
                       shape: [shape.probabilityCount])
        out = Tensor([Float](repeating: .nan, count: rows * shape.width),
                     shape: [rows, shape.width])
    }

    func forward() {
        Attention.forward(q: q.data, k: k.data, v: v.data, probs: probs.data, out: out.data,
                          shape: shape)
    }

    func objective() -> Double {
        forward()
        return weightedSum(out, w)
    }

    /// dq, dk and dv for dout = w, after a forward pass.
    func gradients() -> (dq: [Float], dk: [Float], dv: [Float]) {
        forward()
        let dOut = Tensor(w, shape: out.shape)
        let nan = [Float](repeating: .nan, count: out.count)
        let dq = Tensor(nan, shape: out.shape), dk = Tensor(nan, shape: out.shape)
        let dv = Tensor(nan, shape: out.shape)
        Attention.backward(
            dOut: dOut.data, q: q.data, k: k.data, v: v.data, probs: probs.data, dq: dq.data,
            dk: dk.data, dv: dv.data, shape: shape)
        return (dq.values, dk.values, dv.values)
    }

    /// softmax(q k^T / sqrt(E), masked) v by plain loops in Double.
    func reference() -> [Double] {
        let (l, d, e) = (shape.tokens, shape.width, shape.headWidth)
        var result = [Double](repeating: 0, count: out.count)
        for b in 0..<shape.sequences {
            for h in 0..<shape.heads {
                for i in 0..<l {
                    let visible = shape.causal ? i + 1 : l
                    var scores = [Double](repeating: 0, count: visible)
                    for j in 0..<visible {
                        for c in 0..<e {
                            let qi = (b * l + i) * d + h * e + c
                            let kj = (b * l + j) * d + h * e + c
                            scores[j] += Double(q[qi]) * Double(k[kj])
                        }
                        scores[j] /= Double(e).squareRoot()
                    }
                    let peak = scores.max()!
                    let weights = scores.map { Foundation.exp($0 - peak) }
                    let total = weights.reduce(0, +)
                    for j in 0..<visible {
                        for c in 0..<e {
                            result[(b * l + i) * d + h * e + c] +=
                                weights[j] / total * Double(v[(b * l + j) * d + h * e + c])
                        }
                    }
                }
            }
        }
        return result
    }

    /// Scores are of order one, so a 1e-2 step keeps the softmax's curvature error small;
    /// with float32 rounding of a row of outputs over the step, about 5e-5 is measured.
    /// 5e-4 leaves a tenfold margin.
    static let tolerance = 5e-4
    static let step: Float = 1e-2

    func expectGradientsMatch() {
        let g = gradients()
        let (h, tol) = (Self.step, Self.tolerance)
        expectGradient("dq", g.dq, of: q, step: h, tolerance: tol, objective)
        expectGradient("dk", g.dk, of: k, step: h, tolerance: tol, objective)
        expectGradient("dv", g.dv, of: v, step: h, tolerance: tol, objective)
    }
}

extension AttentionShape: CustomTestStringConvertible {
    public var testDescription: String {
        "\(sequences) x \(tokens) tokens, \(heads) heads of \(headWidth)\(causal ? ", causal" : "")"
    }
}

extension ThreadSensitive {
    @Suite("Attention") struct AttentionTests {
        static let shapes = [
            AttentionShape(sequences: 1, tokens: 1, heads: 1, width: 1, causal: false),
            AttentionShape(sequences: 2, tokens: 5, heads: 3, width: 9, causal: false),
            AttentionShape(sequences: 2, tokens: 5, heads: 3, width: 9, causal: true),
            AttentionShape(sequences: 1, tokens: 7, heads: 2, width: 10, causal: true),
            AttentionShape(sequences: 3, tokens: 4, heads: 1, width: 5, causal: false),
            AttentionShape(sequences: 2, tokens: 6, heads: 4, width: 12, causal: true),
        ]

        @Test("forward matches a naive loop in Double", arguments: shapes)
        func forwardMatchesNaiveLoop(shape: AttentionShape) {
            let p = AttentionProblem(shape, seed: UInt64(shape.tokens * 10 + shape.width))
            p.forward()

            // Outputs are averages of values of order one; fastExp and float32 products
            // keep them within about 1e-6.
            let tolerance = 1e-5
            let error = largestDifference(p.out.values, p.reference())
            #expect(error.value <= tolerance,
                    "largest difference \(error.value) at \(error.at)")
        }

        @Test("backward matches central differences for q, k and v", arguments: shapes)
        func backwardMatchesFiniteDifferences(shape: AttentionShape) {
            AttentionProblem(shape, seed: UInt64(shape.tokens * 100 + shape.width))
                .expectGradientsMatch()
        }

        @Test("backward matches central differences with heads spread over two threads",
              arguments: [
                  AttentionShape(sequences: 2, tokens: 5, heads: 3, width: 9, causal: true),
                  AttentionShape(sequences: 3, tokens: 4, heads: 2, width: 6, causal: false),
              ])
        func parallelBackwardMatchesFiniteDifferences(shape: AttentionShape) {
            withComputeThreads(2) {
                AttentionProblem(shape, seed: UInt64(shape.tokens * 1000 + shape.width))
                    .expectGradientsMatch()
            }
        }

        @Test("two threads give exactly the values one thread gives")
        func parallelMatchesSerial() {
            let shape = AttentionShape(sequences: 3, tokens: 9, heads: 3, width: 15, causal: true)
            let p = AttentionProblem(shape, seed: 99)
            let serial = withComputeThreads(1) { (p.gradients(), p.out.values) }
            let parallel = withComputeThreads(2) { (p.gradients(), p.out.values) }

            // Each head is computed by the same single-threaded products either way.
            #expect(parallel.1 == serial.1, "outputs differ between thread counts")
            #expect(parallel.0.dq == serial.0.dq, "dq differs between thread counts")
            #expect(parallel.0.dk == serial.0.dk, "dk differs between thread counts")
            #expect(parallel.0.dv == serial.0.dv, "dv differs between thread counts")
        }

        @Test("the causal mask hides every later token's key and value", arguments: [true, false])
        func causalMaskHidesLaterTokens(causal: Bool) {
            let shape = AttentionShape(sequences: 2, tokens: 6, heads: 3, width: 12, causal: causal)
            let (l, d) = (shape.tokens, shape.width)
            var rng = SplitMix64(seed: 6)
            for t in 1..<l {
                let p = AttentionProblem(shape, seed: UInt64(t))
                p.forward()
                let before = p.out.values

                // New keys and values for token t of every sequence, in every head.
                for b in 0..<shape.sequences {
                    for c in 0..<d {
                        p.k[(b * l + t) * d + c] = rng.normal(scale: 3)
                        p.v[(b * l + t) * d + c] = rng.normal(scale: 3)
                    }
                }
                p.forward()
                let after = p.out.values

                for b in 0..<shape.sequences {
                    let rows = { (range: Range<Int>) in
                        Array(((b * l + range.lowerBound) * d)..<((b * l + range.upperBound) * d))
                    }
                    let earlierChanged = rows(0..<t).filter { before[$0] != after[$0] }.count
                    let laterChanged = rows(t..<l).filter { before[$0] != after[$0] }.count
                    if causal {
                        #expect(earlierChanged == 0,
                                "token \(t) of sequence \(b) changed \(earlierChanged) values")
                    } else {
                        // Without the mask the same change must reach earlier tokens: this is
                        // what shows that the check above can fail.
                        #expect(earlierChanged > 0, "token \(t) of sequence \(b) reached nothing")
                    }
                    #expect(laterChanged > 0, "token \(t) of sequence \(b) changed nothing later")
                }
            }
        }
    }
}
