// Synthetic embedding pools for tests and benchmarks: unit vectors scattered around random
// unit centres, which have the cluster structure that makes an IVF index worth having (purely
// uniform random vectors have none, and every index does badly on them). Rows are drawn in
// chunks of fixed size, each from its own seeded generator, so the same seed gives the same
// matrix on any number of threads.
import ArfTensor
import Foundation

/// A reproducible source of clustered unit vectors.
public struct ClusteredVectors {
    /// The cluster centres, unit length.
    public let centres: VectorMatrix
    /// The length of a row's offset from its centre relative to the centre's (before the row
    /// is normalised): a row's expected cosine with its centre is 1 / sqrt(1 + spread²).
    public let spread: Float

    /// `count` random centres of the given dimension, drawn from `seed`.
    public init(centres count: Int, dimension: Int, spread: Float, seed: UInt64) {
        precondition(count > 0 && dimension > 0, "a positive number of centres and dimension")
        let centres = VectorMatrix(rows: count, dimension: dimension)
        var generator = SeededGenerator(seed: seed)
        for i in 0..<count * dimension { centres.data[i] = generator.normal() }
        centres.normalizeRows()
        self.centres = centres
        self.spread = spread
    }

    /// `rows` vectors around centres chosen at random, drawn from `seed`, with ids
    /// firstID ..< firstID + rows.
    public func sample(rows: Int, seed: UInt64, firstID: Int = 0) -> VectorMatrix {
        let d = centres.dimension
        let result = VectorMatrix(rows: rows, dimension: d)
        let chunk = 1024
        let chunks = (rows + chunk - 1) / chunk
        let scale = spread / Float(d).squareRoot()
        parallelChunks(chunks) { range in
            for c in range {
                var generator = SeededGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(c))
                for row in c * chunk..<Swift.min(rows, (c + 1) * chunk) {
                    let centre = centres.row(Int(generator.next() % UInt64(centres.rows)))
                    let p = result.row(row)
                    for j in 0..<d { p[j] = centre[j] + scale * generator.normal() }
                    result.ids[row] = firstID + row
                }
            }
        }
        result.normalizeRows()
        return result
    }
}
