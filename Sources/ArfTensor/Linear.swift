// Fully connected layers, forward and backward side by side.
// Legend: N rows (batch x tokens), I input width, O output width. Weights are stored as
// Hugging Face stores them, [O, I], so the forward product multiplies by the transpose.
// Parameter gradients are accumulated (+=) so that a parameter used twice sums its parts.

/// y[N,O] = x[N,I] W[O,I]^T + b[O].
public enum Linear {
    public static func forward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, n: Int, inputs: Int, outputs: Int
    ) {
        if let bias {
            // Seed every output row with the bias, then let sgemm add the product (beta 1).
            parallelChunks(n, minimumPerChunk: 256) { rows in
                for r in rows { (y + r * outputs).update(from: bias, count: outputs) }
            }
        }
        gemm(
            transB: true, m: n, n: outputs, k: inputs, a: x, lda: inputs, b: weight, ldb: inputs,
            beta: bias == nil ? 0 : 1, c: y, ldc: outputs)
    }

    /// dx = dy W (written, or added when `accumulate`), dW += dy^T x, db += sum of dy rows.
    public static func backward(
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
        dBias: UnsafeMutablePointer<Float>?, n: Int, inputs: Int, outputs: Int,
        accumulate: Bool = false
    ) {
        if let dx {
            gemm(
                m: n, n: inputs, k: outputs, a: dy, lda: outputs, b: weight, ldb: inputs,
                beta: accumulate ? 1 : 0, c: dx, ldc: inputs)
        }
        if let dWeight {
            gemm(
                transA: true, m: outputs, n: inputs, k: n, a: dy, lda: outputs, b: x, ldb: inputs,
                beta: 1, c: dWeight, ldc: inputs)
        }
        if let dBias {
            sumRows(dy, into: dBias, n: n, width: outputs)
        }
    }
}

/// out[w] += sum over rows r of m[r, w], for an [n, width] matrix.
public func sumRows(
    _ m: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, n: Int, width: Int
) {
    for r in 0..<n {
        let row = m + r * width
        for w in 0..<width { out[w] += row[w] }
    }
}
