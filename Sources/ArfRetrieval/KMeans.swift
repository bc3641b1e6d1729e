// Spherical k-means for the IVF index's coarse quantiser: centroids start as distinct sample
// rows drawn from a seed, then a fixed number of Lloyd iterations assign every sample row to
// its highest-inner-product centroid (a top-1 exact search, so blocked sgemm on all threads)
// and move each centroid to the normalised mean of its rows. A centroid left without rows
// takes over half of the largest cluster, split by a small opposite nudge of the two copies.
//
// Leaves out: k-means++ seeding (one pass per centroid over the sample is too slow for
// thousands of centroids), convergence tests and restarts.
import ArfTensor
import Foundation

enum KMeans {
    /// `count` distinct numbers from 0 ..< population, in increasing order, drawn from `seed`.
    ///
    /// Floyd's method: memory in proportion to `count`, not to the population.
    static func sample(_ count: Int, of population: Int, seed: UInt64) -> [Int] {
        precondition(count <= population, "cannot draw \(count) of \(population)")
        var generator = SeededGenerator(seed: seed)
        var chosen = Set<Int>(minimumCapacity: count)
        for upper in population - count..<population {
            let pick = Int(generator.next() % UInt64(upper + 1))
            chosen.insert(chosen.contains(pick) ? upper : pick)
        }
        return chosen.sorted()
    }

    /// The row of `centroids` with the highest inner product for each row of `x`, ties to
    /// the lower centroid.
    static func nearest(of x: VectorMatrix, in centroids: VectorMatrix) -> [Int] {
        let lists = TopKLists(queries: x.rows, k: 1)
        ExactIndex.searchSplit(x, centroids, into: lists)
        return (0..<x.rows).map { lists.counts[$0] == 1 ? lists.rows[$0] : 0 }
    }

    /// Trains `count` unit-length centroids on the rows of `sample`; their ids are 0 ..< count.
    static func train(
        sample: VectorMatrix, count: Int, iterations: Int, seed: UInt64
    ) -> VectorMatrix {
        precondition(count > 0 && count <= sample.rows, "\(count) centroids, \(sample.rows) rows")
        let d = sample.dimension
        let centroids = VectorMatrix(rows: count, dimension: d)
        for (list, row) in KMeans.sample(count, of: sample.rows, seed: seed).enumerated() {
            centroids.row(list).update(from: sample.row(row), count: d)
        }
        centroids.normalizeRows()

        var generator = SeededGenerator(seed: seed ^ 0x5eed_cafe)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        defer { sums.deallocate() }
        for _ in 0..<iterations {
            let assignment = nearest(of: sample, in: centroids)

            // Sums in sample order on one thread: cheap next to the assignment, and
            // the same on every thread count.
            sums.initialize(repeating: 0, count: count * d)
            var sizes = [Int](repeating: 0, count: count)
            for (row, list) in assignment.enumerated() {
                let source = sample.row(row)
                let target = sums + list * d
                for j in 0..<d { target[j] += source[j] }
                sizes[list] += 1
            }
            for list in 0..<count where sizes[list] > 0 {
                centroids.row(list).update(from: sums + list * d, count: d)
            }
            splitLargest(into: &sizes, centroids: centroids, generator: &generator)
            centroids.normalizeRows()
        }
        return centroids
    }

    /// Gives every empty cluster a nudged copy of the largest cluster's centroid, nudging
    /// that centroid the other way, so the next assignment splits the large cluster.
    static func splitLargest(
        into sizes: inout [Int], centroids: VectorMatrix, generator: inout SeededGenerator
    ) {
        let d = centroids.dimension
        for empty in 0..<sizes.count where sizes[empty] == 0 {
            var largest = 0
            for list in 1..<sizes.count where sizes[list] > sizes[largest] { largest = list }
            guard sizes[largest] > 1 else { return }
            let source = centroids.row(largest)
            let target = centroids.row(empty)
            var norm: Float = 0
            for j in 0..<d { norm += source[j] * source[j] }
            let scale = 1e-3 * norm.squareRoot() / Float(d).squareRoot()
            for j in 0..<d {
                let nudge = scale * (2 * generator.uniform() - 1)
                target[j] = source[j] + nudge
                source[j] -= nudge
            }
            sizes[empty] = sizes[largest] / 2
            sizes[largest] -= sizes[empty]
        }
    }
}
