// Layer normalisation over the last dimension, forward and backward side by side.
// Legend: N rows, D width. The forward pass keeps each row's mean and reciprocal standard
// deviation so that the backward pass does not recompute them.

/// y = (x - mean) / sqrt(var + eps) * gamma + beta, with the biased variance, per row.
public enum LayerNorm {
    public static func forward(
        x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
        rstd: UnsafeMutablePointer<Float>, n: Int, d: Int, eps: Float
    ) {
        parallelChunks(n, minimumPerChunk: 64) { rows in
            for r in rows {
                let xr = x + r * d
                let yr = y + r * d

                // Two passes (mean, then squared deviations) keep the variance accurate for
                // rows whose mean is large compared with their spread.
                let mu = sum(xr, d) / Float(d)
                let s = 1 / (squaredDeviation(xr, d, mean: mu) / Float(d) + eps).squareRoot()
                mean[r] = mu
                rstd[r] = s
                for i in 0..<d { yr[i] = (xr[i] - mu) * s * gamma[i] + beta[i] }
            }
        }
    }

    /// dx = rstd (g - mean(g) - xhat mean(g xhat)) with g = dy gamma; dgamma and dbeta are
    /// accumulated. dx is written, or added when `accumulate`.
    public static func backward(
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
        rstd: UnsafePointer<Float>, gamma: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        dGamma: UnsafeMutablePointer<Float>, dBeta: UnsafeMutablePointer<Float>, n: Int, d: Int,
        accumulate: Bool = false
    ) {
        // Each chunk sums its parameter gradients privately; the partial sums are added at
        // the end so that chunks never write the same memory.
        let chunks = Swift.max(1, Swift.min(Compute.threads, n / 64))
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * 2 * d)
        partial.initialize(repeating: 0, count: chunks * 2 * d)
        defer { partial.deallocate() }

        DispatchQueueChunks.run(n, chunks: chunks) { chunk, rows in
            let pg = partial + chunk * 2 * d
            let pb = pg + d
            for r in rows {
                let xr = x + r * d
                let dyr = dy + r * d
                let dxr = dx + r * d
                let mu = mean[r]
                let s = rstd[r]

                // Eight lanes at a time (the sums would not vectorise on their own), then
                // the tail.
                var sumG = SIMD8<Float>(), sumGX = SIMD8<Float>()
                let mu8 = SIMD8<Float>(repeating: mu), s8 = SIMD8<Float>(repeating: s)
                var i = 0
                while i + 8 <= d {
                    let xhat = (load8(xr + i) - mu8) * s8
                    let dyi = load8(dyr + i)
                    let g = dyi * load8(gamma + i)
                    sumG += g
                    sumGX += g * xhat
                    store8(load8(pg + i) + dyi * xhat, pg + i)
                    store8(load8(pb + i) + dyi, pb + i)
                    i += 8
                }
                var meanG = sumG.sum()
                var meanGX = sumGX.sum()
                while i < d {
                    let xhat = (xr[i] - mu) * s
                    let g = dyr[i] * gamma[i]
                    meanG += g
                    meanGX += g * xhat
                    pg[i] += dyr[i] * xhat
                    pb[i] += dyr[i]
                    i += 1
                }
                meanG /= Float(d)
                meanGX /= Float(d)
                for i in 0..<d {
                    let xhat = (xr[i] - mu) * s
                    let value = s * (dyr[i] * gamma[i] - meanG - xhat * meanGX)
                    dxr[i] = accumulate ? dxr[i] + value : value
                }
            }
        }
        for chunk in 0..<chunks {
            let pg = partial + chunk * 2 * d
            for i in 0..<d {
                dGamma[i] += pg[i]
                dBeta[i] += pg[d + i]
            }
        }
    }
}
