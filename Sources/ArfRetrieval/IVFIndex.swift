// The inverted-file index: k-means centroids split the rows into `lists`; a query compares
// itself with every centroid, then exactly with the rows of its `nprobe` best lists. Rows
// live in one matrix ordered by list (list l is rows offsets[l] ..< offsets[l + 1]), so a
// list is one contiguous block for sgemm.
//
// A search is list-major: the queries are grouped by the lists they probe, and each list is
// read once per batch and multiplied with all its queries at once, which turns many
// memory-bound matrix-vector products into few matrix products. Workers take contiguous runs
// of lists of about equal work, each with its own heaps, merged at the end.
//
// Leaves out: compressed codes (product quantisation), removing rows, and retraining the
// centroids when added rows drift away from the training sample.
import ArfSupport
import ArfTensor
import Foundation

/// An inverted-file index over unit vectors, searched by inner product.
public final class IVFIndex: VectorIndex {
    /// How an index is trained.
    public struct Options: Sendable, Equatable {
        /// The number of inverted lists (k-means centroids).
        public var lists: Int
        /// Lloyd iterations of k-means.
        public var iterations: Int
        /// Rows drawn to train k-means; nil means 39 per list, or every row if fewer.
        public var trainingSize: Int?
        /// The seed of the training sample and the initial centroids.
        public var seed: UInt64

        public init(lists: Int, iterations: Int = 10, trainingSize: Int? = nil, seed: UInt64 = 0) {
            self.lists = lists
            self.iterations = iterations
            self.trainingSize = trainingSize
            self.seed = seed
        }
    }

    /// The list centroids, unit length; centroid l has id l.
    public let centroids: VectorMatrix
    /// All indexed rows, grouped by list.
    public internal(set) var vectors: VectorMatrix
    /// List l holds rows offsets[l] ..< offsets[l + 1] of `vectors`.
    public internal(set) var offsets: [Int]
    /// How many lists a search visits when the call does not say.
    public var nprobe: Int

    /// The number of inverted lists.
    public var lists: Int { centroids.rows }

    /// The number of indexed rows.
    public var count: Int { vectors.rows }

    init(centroids: VectorMatrix, vectors: VectorMatrix, offsets: [Int], nprobe: Int) {
        precondition(offsets.count == centroids.rows + 1 && offsets.last == vectors.rows)
        self.centroids = centroids
        self.vectors = vectors
        self.offsets = offsets
        self.nprobe = nprobe
    }

    /// An empty index whose centroids are trained on `sample`; add rows with `add`.
    public static func train(on sample: VectorMatrix, options: Options) throws -> IVFIndex {
        let size = try validate(options, rows: sample.rows)
        let training = size == sample.rows
            ? sample : sample.gathering(KMeans.sample(size, of: sample.rows, seed: options.seed))
        let centroids = KMeans.train(
            sample: training, count: options.lists, iterations: options.iterations,
            seed: options.seed)
        return IVFIndex(
            centroids: centroids, vectors: VectorMatrix(rows: 0, dimension: sample.dimension),
            offsets: Array(repeating: 0, count: options.lists + 1),
            nprobe: Swift.min(16, options.lists))
    }

    /// Trains on a sample of `vectors`, then indexes all of them.
    ///
    /// The index takes the matrix over and reorders its rows by list in place, so that a
    /// large pool is never held twice; the caller's reference sees the new order (each id
    /// stays with its row).
    public static func build(taking vectors: VectorMatrix, options: Options) throws -> IVFIndex {
        let start = Date()
        let index = try train(on: vectors, options: options)
        let assignment = KMeans.nearest(of: vectors, in: index.centroids)
        let offsets = listOffsets(assignment, lists: options.lists)
        var next = Array(offsets.dropLast())
        var destination = [Int](repeating: 0, count: vectors.rows)
        for (row, list) in assignment.enumerated() {
            destination[row] = next[list]
            next[list] += 1
        }
        vectors.permuteRows(to: destination)
        index.vectors = vectors
        index.offsets = offsets
        log.info(
            "ivf index built", ("rows", vectors.rows), ("lists", options.lists),
            ("seconds", String(format: "%.1f", Date().timeIntervalSince(start))))
        return index
    }

    /// Adds rows, each to the list of its nearest centroid, after the rows already there.
    ///
    /// The index's matrix is rebuilt with the new rows merged in, so adding costs a copy of
    /// the whole index: add in large batches.
    public func add(_ batch: VectorMatrix) throws {
        try requireSameDimension(batch, centroids, "added vectors")
        _ = insert(batch)
    }

    /// Merges `batch` into the lists; returns each list's new rows as ranges of `vectors`.
    func insert(_ batch: VectorMatrix) -> [Range<Int>] {
        let d = vectors.dimension
        let assignment = KMeans.nearest(of: batch, in: centroids)
        var rowsOfList = [[Int]](repeating: [], count: lists)
        for (row, list) in assignment.enumerated() { rowsOfList[list].append(row) }

        let merged = VectorMatrix(rows: vectors.rows + batch.rows, dimension: d)
        var newOffsets = [0]
        var fresh: [Range<Int>] = []
        for list in 0..<lists {
            let old = offsets[list]..<offsets[list + 1]
            let target = newOffsets[list]
            merged.row(target).update(from: vectors.row(old.lowerBound), count: old.count * d)
            (merged.ids + target).update(from: vectors.ids + old.lowerBound, count: old.count)
            for (slot, row) in rowsOfList[list].enumerated() {
                merged.row(target + old.count + slot).update(from: batch.row(row), count: d)
                merged.ids[target + old.count + slot] = batch.ids[row]
            }
            let end = target + old.count + rowsOfList[list].count
            fresh.append(target + old.count..<end)
            newOffsets.append(end)
        }
        vectors = merged
        offsets = newOffsets
        return fresh
    }

    public func search(_ queries: VectorMatrix, k: Int, excluding: Set<Int>? = nil) throws
        -> SearchResult
    {
        try search(queries, k: k, nprobe: nprobe, excluding: excluding)
    }

    /// The k best rows among each query's `nprobe` nearest lists.
    public func search(
        _ queries: VectorMatrix, k: Int, nprobe: Int, excluding: Set<Int>? = nil
    ) throws -> SearchResult {
        try requireSameDimension(queries, centroids, "queries")
        guard k > 0 else {
            throw RetrievalError.parameter(name: "k", value: "\(k)", reason: "must be positive")
        }
        guard nprobe > 0 else {
            throw RetrievalError.parameter(
                name: "nprobe", value: "\(nprobe)", reason: "must be positive")
        }
        let probe = Swift.min(nprobe, lists)
        let probes = TopKLists(queries: queries.rows, k: probe)
        ExactIndex.searchSplit(queries, centroids, into: probes)

        // Invert the probes: for each list, the queries that visit it.
        var visits = [Int](repeating: 0, count: lists + 1)
        var distances = [Int](repeating: lists, count: queries.rows)
        for q in 0..<queries.rows {
            for slot in q * probe..<q * probe + probes.counts[q] {
                let list = probes.rows[slot]
                visits[list + 1] += 1
                distances[q] += offsets[list + 1] - offsets[list]
            }
        }
        for list in 0..<lists { visits[list + 1] += visits[list] }
        var visitors = [Int](repeating: 0, count: visits[lists])
        var fill = Array(visits.dropLast())
        for q in 0..<queries.rows {
            for slot in q * probe..<q * probe + probes.counts[q] {
                let list = probes.rows[slot]
                visitors[fill[list]] = q
                fill[list] += 1
            }
        }

        let results = TopKLists(
            queries: queries.rows, k: Swift.max(1, Swift.min(k, vectors.rows)),
            excluded: excluding)
        scanLists(queries, visits: visits, visitors: visitors, into: results)
        return results.result(distances: distances)
    }

    /// Multiplies each visited list with its visiting queries and offers the scores.
    private func scanLists(
        _ queries: VectorMatrix, visits: [Int], visitors: [Int], into results: TopKLists
    ) {
        let d = vectors.dimension
        let shape = BlockShape.standard
        let runs = IVFIndex.balancedRuns(
            lists: lists, workers: Compute.threads,
            work: { (self.offsets[$0 + 1] - self.offsets[$0]) * (visits[$0 + 1] - visits[$0]) })
        let perWorker: [TopKLists] = runs.indices.map {
            $0 == 0 ? results : TopKLists(queries: results.queries, k: results.k,
                                          excluded: results.excluded)
        }
        withBLASThreads(1) {
            parallelChunks(runs.count) { range in
                let gathered = VectorMatrix(rows: shape.queryBlock, dimension: d)
                let scores = UnsafeMutablePointer<Float>.allocate(
                    capacity: shape.queryBlock * shape.baseBlock)
                defer { scores.deallocate() }
                for worker in range {
                    let heaps = perWorker[worker]
                    for list in runs[worker] {
                        let rows = offsets[list]..<offsets[list + 1]
                        let visiting = visits[list]..<visits[list + 1]
                        guard !rows.isEmpty else { continue }
                        for first in stride(from: visiting.lowerBound, to: visiting.upperBound,
                                            by: shape.queryBlock) {
                            let batch = first..<Swift.min(first + shape.queryBlock,
                                                          visiting.upperBound)
                            for (slot, v) in batch.enumerated() {
                                gathered.row(slot).update(from: queries.row(visitors[v]), count: d)
                            }
                            for start in stride(from: rows.lowerBound, to: rows.upperBound,
                                                by: shape.baseBlock) {
                                let n = Swift.min(shape.baseBlock, rows.upperBound - start)
                                gemm(
                                    transB: true, m: batch.count, n: n, k: d,
                                    a: gathered.data, lda: d, b: vectors.row(start), ldb: d,
                                    c: scores, ldc: n)
                                for (slot, v) in batch.enumerated() {
                                    heaps.scan(
                                        visitors[v], scores: scores + slot * n, count: n,
                                        firstRow: start, rowIDs: vectors.ids)
                                }
                            }
                        }
                    }
                }
            }
        }
        for other in perWorker.dropFirst() { results.merge(other) }
    }

    /// Splits 0 ..< lists into at most `workers` contiguous runs of about equal work.
    static func balancedRuns(lists: Int, workers: Int, work: (Int) -> Int) -> [Range<Int>] {
        let costs = (0..<lists).map(work)
        let total = costs.reduce(0, +)
        guard workers > 1, total > 0 else { return [0..<lists] }
        var runs: [Range<Int>] = []
        var start = 0
        var done = 0
        for list in 0..<lists {
            done += costs[list]
            let target = total * (runs.count + 1) / workers
            if done >= target && runs.count < workers - 1 {
                runs.append(start..<list + 1)
                start = list + 1
            }
        }
        runs.append(start..<lists)
        return runs
    }

    /// Start offsets of each list (and the total at the end) for rows assigned to lists.
    static func listOffsets(_ assignment: [Int], lists: Int) -> [Int] {
        var offsets = [Int](repeating: 0, count: lists + 1)
        for list in assignment { offsets[list + 1] += 1 }
        for list in 0..<lists { offsets[list + 1] += offsets[list] }
        return offsets
    }

    /// The training size the options ask for, after checking them against `rows`.
    static func validate(_ options: Options, rows: Int) throws -> Int {
        guard options.lists > 0, options.lists <= rows else {
            throw RetrievalError.parameter(
                name: "lists", value: "\(options.lists)",
                reason: "must be between 1 and the \(rows) training rows")
        }
        guard options.iterations >= 0 else {
            throw RetrievalError.parameter(
                name: "iterations", value: "\(options.iterations)", reason: "must not be negative")
        }
        let size = Swift.min(rows, options.trainingSize ?? 39 * options.lists)
        guard size >= options.lists else {
            throw RetrievalError.parameter(
                name: "trainingSize", value: "\(size)",
                reason: "needs at least one row per list (\(options.lists))")
        }
        return size
    }
}
