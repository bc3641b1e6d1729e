// Multi-head scaled dot-product attention over already projected queries, keys and values,
// forward and backward side by side.
// Legend: B sequences, L tokens, H heads, E head width, D = H x E the model width.
// q, k and v are [B*L, D] column blocks of matrices with `stride` columns (D when they stand
// alone, 3D when one product made all three), the output is [B*L, D]; columns
// h*E..<(h+1)*E belong to head h. Each head's blocks are addressed in place through the
// leading dimensions, so no reshaping or transposing copies are made. The softmax
// probabilities [B, H, L, L] are kept for the backward pass. A causal mask (the text
// tower's) lets token i see tokens 0...i.
import Dispatch

/// The shape of one attention call.
public struct AttentionShape: Sendable {
    public var sequences: Int
    public var tokens: Int
    public var heads: Int
    public var width: Int
    public var causal: Bool

    public init(sequences: Int, tokens: Int, heads: Int, width: Int, causal: Bool) {
        precondition(width % heads == 0, "width \(width) is not a multiple of \(heads) heads")
        self.sequences = sequences
        self.tokens = tokens
        self.heads = heads
        self.width = width
        self.causal = causal
    }

    public var headWidth: Int { width / heads }
    public var scale: Float { 1 / Float(headWidth).squareRoot() }
    /// Floats needed for the kept probabilities.
    public var probabilityCount: Int { sequences * heads * tokens * tokens }
}

/// out = softmax(q k^T / sqrt(E), masked) v for every sequence and head.
public enum Attention {
    public static func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, shape: AttentionShape,
        stride: Int? = nil
    ) {
        let (l, d, e) = (shape.tokens, shape.width, shape.headWidth)
        let s = stride ?? d
        forEachHead(shape, workers: Compute.threads) { b, h, _ in
            let inOffset = b * l * s + h * e
            let outOffset = b * l * d + h * e
            let p = probs + (b * shape.heads + h) * l * l

            gemm(
                transB: true, m: l, n: l, k: e, alpha: shape.scale, a: q + inOffset, lda: s,
                b: k + inOffset, ldb: s, c: p, ldc: l)
            softmaxRows(p, rows: l, causal: shape.causal)
            gemm(
                m: l, n: e, k: l, a: p, lda: l, b: v + inOffset, ldb: s, c: out + outOffset,
                ldc: d)
        }
    }

    /// Given dout, writes dq, dk and dv (laid out as q, k and v are).
    public static func backward(
        dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
        v: UnsafePointer<Float>, probs: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
        dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, shape: AttentionShape,
        stride: Int? = nil
    ) {
        let (l, d, e) = (shape.tokens, shape.width, shape.headWidth)
        let s = stride ?? d
        // The worker count is read once: it sizes the scratch and spreads the work.
        let workers = Compute.threads
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * l * l)
        defer { scratch.deallocate() }

        forEachHead(shape, workers: workers) { b, h, worker in
            let offset = b * l * s + h * e
            let outOffset = b * l * d + h * e
            let p = probs + (b * shape.heads + h) * l * l
            let dp = scratch + worker * l * l

            // dv = p^T dout, dp = dout v^T.
            gemm(
                transA: true, m: l, n: e, k: l, a: p, lda: l, b: dOut + outOffset, ldb: d,
                c: dv + offset, ldc: s)
            gemm(
                transB: true, m: l, n: l, k: e, a: dOut + outOffset, lda: d, b: v + offset,
                ldb: s, c: dp, ldc: l)

            // Through the softmax: ds = p * (dp - rowsum(dp * p)), in place in dp. Masked
            // entries have p = 0 and so get no gradient.
            for i in 0..<l {
                let pr = p + i * l
                let dr = dp + i * l
                let rowDot = dot(pr, dr, l)
                for j in 0..<l { dr[j] = pr[j] * (dr[j] - rowDot) }
            }

            // dq = scale ds k, dk = scale ds^T q.
            gemm(
                m: l, n: e, k: l, alpha: shape.scale, a: dp, lda: l, b: k + offset, ldb: s,
                c: dq + offset, ldc: s)
            gemm(
                transA: true, m: l, n: e, k: l, alpha: shape.scale, a: dp, lda: l,
                b: q + offset, ldb: s, c: dk + offset, ldc: s)
        }
    }

    /// Runs `body(sequence, head, worker)` for every pair, spread over the compute threads
    /// with OpenBLAS held to one thread meanwhile: the per-head products are too small for
    /// BLAS to split well, and two levels of threads would oversubscribe the cores.
    static func forEachHead(
        _ shape: AttentionShape, workers threads: Int, _ body: (Int, Int, Int) -> Void
    ) {
        let pairs = shape.sequences * shape.heads
        let workers = Swift.min(threads, pairs)
        if workers <= 1 {
            for pair in 0..<pairs { body(pair / shape.heads, pair % shape.heads, 0) }
            return
        }
        Compute.setBLASThreads(1)
        defer { Compute.setBLASThreads(threads) }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var pair = worker
            while pair < pairs {
                body(pair / shape.heads, pair % shape.heads, worker)
                pair += workers
            }
        }
    }

    /// In-place softmax of each row of an [rows, rows] score matrix; with `causal`, entries
    /// right of the diagonal are masked to probability zero.
    static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, causal: Bool) {
        for i in 0..<rows {
            let row = s + i * rows
            let visible = causal ? i + 1 : rows
            let peak = maximum(row, visible)
            for j in 0..<visible { row[j] = fastExp(row[j] - peak) }
            let inverse = 1 / sum(row, visible)
            for j in 0..<visible { row[j] *= inverse }
            for j in visible..<rows { row[j] = 0 }
        }
    }
}
