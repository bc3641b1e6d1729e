// The ways rows enter and leave the transformer, forward and backward side by side: token
// plus position embeddings (text), patches as one matrix product plus class token and
// position embeddings (vision), and gathering the pooled row of each sequence.
// Legend: B sequences or images, L tokens, D width, C channels, S image side, P patch side,
// G = (S / P)^2 patches per image, V vocabulary size.

/// Token and position embedding lookup for the text tower.
public enum TokenEmbedding {
    /// h[b, t] = table[ids[b, t]] + position[t], for the first L positions of each sequence.
    public static func forward(
        ids: UnsafePointer<Int32>, table: UnsafePointer<Float>, position: UnsafePointer<Float>,
        h: UnsafeMutablePointer<Float>, b: Int, l: Int, d: Int
    ) {
        parallelChunks(b * l, minimumPerChunk: 128) { rows in
            for r in rows {
                let token = table + Int(ids[r]) * d
                let pos = position + (r % l) * d
                let out = h + r * d
                for i in 0..<d { out[i] = token[i] + pos[i] }
            }
        }
    }

    /// dtable[ids[b, t]] += dh[b, t] and dposition[t] += dh[b, t].
    public static func backward(
        dh: UnsafePointer<Float>, ids: UnsafePointer<Int32>, dTable: UnsafeMutablePointer<Float>?,
        dPosition: UnsafeMutablePointer<Float>?, b: Int, l: Int, d: Int
    ) {
        for r in 0..<(b * l) {
            let g = dh + r * d
            if let dTable {
                let row = dTable + Int(ids[r]) * d
                for i in 0..<d { row[i] += g[i] }
            }
            if let dPosition {
                let row = dPosition + (r % l) * d
                for i in 0..<d { row[i] += g[i] }
            }
        }
    }
}

/// The stride-equals-patch convolution of the vision tower, as patch extraction followed by
/// one matrix product, with the class token prepended and position embeddings added.
public enum PatchEmbedding {
    /// Copies each P x P patch of [B, C, S, S] pixels into a row of `patches` [B*G, C*P*P],
    /// in the (channel, row, column) order of a flattened [D, C, P, P] convolution weight.
    public static func extractPatches(
        pixels: UnsafePointer<Float>, patches: UnsafeMutablePointer<Float>,
        b: Int, channels: Int, side: Int, patch: Int
    ) {
        let grid = side / patch
        let rowWidth = channels * patch * patch
        parallelChunks(b * grid * grid, minimumPerChunk: 64) { range in
            for index in range {
                let image = index / (grid * grid)
                let gy = (index / grid) % grid
                let gx = index % grid
                var out = patches + index * rowWidth
                for c in 0..<channels {
                    let plane = pixels + (image * channels + c) * side * side
                    for y in 0..<patch {
                        let src = plane + (gy * patch + y) * side + gx * patch
                        out.update(from: src, count: patch)
                        out += patch
                    }
                }
            }
        }
    }

    /// h[b, 0] = classToken + position[0]; h[b, 1 + g] = projected[b*G + g] + position[1 + g].
    public static func assemble(
        projected: UnsafePointer<Float>, classToken: UnsafePointer<Float>,
        position: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>, b: Int, g: Int, d: Int
    ) {
        let l = g + 1
        parallelChunks(b * l, minimumPerChunk: 128) { rows in
            for r in rows {
                let image = r / l
                let t = r % l
                let src = t == 0 ? classToken : projected + (image * g + t - 1) * d
                let pos = position + t * d
                let out = h + r * d
                for i in 0..<d { out[i] = src[i] + pos[i] }
            }
        }
    }

    /// Splits dh back: dprojected is written; dclassToken and dposition are accumulated.
    public static func disassemble(
        dh: UnsafePointer<Float>, dProjected: UnsafeMutablePointer<Float>,
        dClassToken: UnsafeMutablePointer<Float>, dPosition: UnsafeMutablePointer<Float>,
        b: Int, g: Int, d: Int
    ) {
        let l = g + 1
        for r in 0..<(b * l) {
            let image = r / l
            let t = r % l
            let grad = dh + r * d
            let pos = dPosition + t * d
            for i in 0..<d { pos[i] += grad[i] }
            if t == 0 {
                for i in 0..<d { dClassToken[i] += grad[i] }
            } else {
                (dProjected + (image * g + t - 1) * d).update(from: grad, count: d)
            }
        }
    }
}

/// Picks one row per sequence (the class token, or the end-of-text token) out of [B*L, D].
public enum Pooling {
    public static func gather(
        h: UnsafePointer<Float>, rows: [Int], pooled: UnsafeMutablePointer<Float>, d: Int
    ) {
        for (i, r) in rows.enumerated() { (pooled + i * d).update(from: h + r * d, count: d) }
    }

    /// dh is zeroed, then each pooled gradient is placed back in its row.
    public static func scatter(
        dPooled: UnsafePointer<Float>, rows: [Int], dh: UnsafeMutablePointer<Float>,
        totalRows: Int, d: Int
    ) {
        dh.update(repeating: 0, count: totalRows * d)
        for (i, r) in rows.enumerated() { (dh + r * d).update(from: dPooled + i * d, count: d) }
    }
}
