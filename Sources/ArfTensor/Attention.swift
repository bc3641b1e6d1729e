// Multi-head scaled dot-product attention over already projected queries, keys and values,
// forward and backward side by side.
// Legend: B sequences, L tokens, H heads, E head width, D = H x E the model width.
// q, k, v and the output are [B*L, D] matrices whose columns h*E..<(h+1)*E belong to head h;
// each head's blocks are addressed in place through the leading dimension D, so no
// reshaping or transposing copies are made. The softmax probabilities [B, H, L, L] are kept
// for the backward pass. A causal mask (the text tower's) lets token i see tokens 0...i.
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
        probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, shape: AttentionShape
    ) {
        let (l, d, e) = (shape.tokens, shape.width, shape.headWidth)
        forEachHead(shape, workers: Compute.threads) { b, h, _ in
            let offset = b * l * d + h * e
            let p = probs + (b * shape.heads + h) * l * l

            gemm(
                transB: true, m: l, n: l, k: e, alpha: shape.scale, a: q + offset, lda: d,
                b: k + offset, ldb: d, c: p, ldc: l)
            softmaxRows(p, rows: l, causal: shape.causal)
            gemm(m: l, n: e, k: l, a: p, lda: l, b: v + offset, ldb: d, c: out + offset, ldc: d)
        }
    }

    /// Given dout, writes dq, dk and dv (all [B*L, D]).
    public static func backward(
        dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
        v: UnsafePointer<Float>, probs: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
        dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, shape: AttentionShape
    ) {
        let (l, d, e) = (shape.tokens, shape.width, shape.headWidth)
        // The worker count is read once: it sizes the scratch and spreads the work.
        let workers = Compute.threads
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * l * l)
        defer { scratch.deallocate() }

        forEachHead(shape, workers: workers) { b, h, worker in
            let offset = b * l * d + h * e
            let p = probs + (b * shape.heads + h) * l * l
            let dp = scratch + worker * l * l

            // dv = p^T dout, dp = dout v^T.
            gemm(transA: true, m: l, n: e, k: l, a: p, lda: l, b: dOut + offset, ldb: d,
                 c: dv + offset, ldc: d)
            gemm(transB: true, m: l, n: l, k: e, a: dOut + offset, lda: d, b: v + offset, ldb: d,
                 c: dp, ldc: l)

            // Through the softmax: ds = p * (dp - rowsum(dp * p)), in place in dp. Masked
            // entries have p = 0 and so get no gradient.
            for i in 0..<l {
                let pr = p + i * l
                let dr = dp + i * l
                var dot: Float = 0
                for j in 0..<l { dot += pr[j] * dr[j] }
                for j in 0..<l { dr[j] = pr[j] * (dr[j] - dot) }
            }

            // dq = scale ds k, dk = scale ds^T q.
            gemm(m: l, n: e, k: l, alpha: shape.scale, a: dp, lda: l, b: k + offset, ldb: d,
                 c: dq + offset, ldc: d)
            gemm(transA: true, m: l, n: e, k: l, alpha: shape.scale, a: dp, lda: l,
                 b: q + offset, ldb: d, c: dk + offset, ldc: d)
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
            var peak = -Float.infinity
            for j in 0..<visible { peak = Swift.max(peak, row[j]) }
            var total: Float = 0
            for j in 0..<visible {
                let value = fastExp(row[j] - peak)
                row[j] = value
                total += value
            }
            let inverse = 1 / total
            for j in 0..<visible { row[j] *= inverse }
            for j in visible..<rows { row[j] = 0 }
        }
    }
}
