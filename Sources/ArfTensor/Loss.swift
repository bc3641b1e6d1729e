// The pieces of a contrastive objective, forward and backward side by side: L2
// normalisation of embeddings, the scaled similarity matrix, and softmax cross-entropy over
// rows with hard or soft targets.
// Legend: N, M numbers of embeddings on each side, P embedding width, C classes.
import Foundation

/// y = x / |x| per row of an [N, P] matrix; keeps the norms for the backward pass.
public enum L2Normalize {
    public static func forward(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>,
        n: Int, p: Int
    ) {
        for r in 0..<n {
            var squares: Float = 0
            for i in 0..<p { squares += x[r * p + i] * x[r * p + i] }
            let norm = squares.squareRoot()
            norms[r] = norm
            let inverse = norm > 0 ? 1 / norm : 0
            for i in 0..<p { y[r * p + i] = x[r * p + i] * inverse }
        }
    }

    /// dx = (dy - y (y . dy)) / |x|.
    public static func backward(
        dy: UnsafePointer<Float>, y: UnsafePointer<Float>, norms: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, n: Int, p: Int
    ) {
        for r in 0..<n {
            var dot: Float = 0
            for i in 0..<p { dot += y[r * p + i] * dy[r * p + i] }
            let inverse = norms[r] > 0 ? 1 / norms[r] : 0
            for i in 0..<p { dx[r * p + i] = (dy[r * p + i] - y[r * p + i] * dot) * inverse }
        }
    }
}

/// Softmax cross-entropy averaged over rows.
public enum CrossEntropy {
    /// The mean over rows of -sum_c target[r, c] log softmax(logits[r])_c, where each row's
    /// target is a distribution given as (class, weight) pairs. dLogits receives
    /// `weight` times the loss's gradient, added to what it holds.
    public static func forwardBackward(
        logits: UnsafePointer<Float>, rows: Int, classes: Int, targets: [[(Int, Float)]],
        dLogits: UnsafeMutablePointer<Float>?, weight: Float = 1
    ) -> Float {
        precondition(targets.count == rows, "\(targets.count) targets for \(rows) rows")
        var total: Double = 0
        let probs = UnsafeMutablePointer<Float>.allocate(capacity: classes)
        defer { probs.deallocate() }
        for r in 0..<rows {
            let row = logits + r * classes

            // log-sum-exp with the row maximum subtracted, for stability.
            var peak = -Float.infinity
            for c in 0..<classes { peak = Swift.max(peak, row[c]) }
            var sum: Double = 0
            for c in 0..<classes {
                probs[c] = Foundation.exp(row[c] - peak)
                sum += Double(probs[c])
            }
            let logSum = Double(peak) + Foundation.log(sum)
            var mass: Float = 0
            for (c, w) in targets[r] {
                total -= Double(w) * (Double(row[c]) - logSum)
                mass += w
            }

            // d/dlogit_c = mass * softmax_c - target_c, averaged over rows.
            guard let dLogits else { continue }
            let scale = weight / Float(rows)
            let out = dLogits + r * classes
            let inverse = Float(1 / sum)
            for c in 0..<classes { out[c] += scale * mass * probs[c] * inverse }
            for (c, w) in targets[r] { out[c] -= scale * w }
        }
        return Float(total / Double(rows))
    }

    /// Hard targets: `labels[r]` is the class of row r.
    public static func forwardBackward(
        logits: UnsafePointer<Float>, rows: Int, classes: Int, labels: [Int],
        dLogits: UnsafeMutablePointer<Float>?, weight: Float = 1
    ) -> Float {
        forwardBackward(
            logits: logits, rows: rows, classes: classes, targets: labels.map { [($0, Float(1))] },
            dLogits: dLogits, weight: weight)
    }
}

/// Writes the transpose of an [rows, cols] matrix into `out` [cols, rows].
public func transpose(
    _ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = m[r * cols + c] } }
}
