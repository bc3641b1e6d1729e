// Exact search: every query against every row, by blocked sgemm and per-query top-k heaps.
// Vectors are expected to be unit length, so the inner product is the cosine; nothing here
// normalises. Besides top-k, `pairs` finds every (query, row) at or above a score, which is
// what exclusion of evaluation images and near-duplicate removal need.
//
// Two ways to use the cores are kept, because which wins depends on the machine and its load:
// `splitWork` (the default) gives each worker its own part of the larger set and
// single-threaded BLAS; `threadedBLAS` lets OpenBLAS spread each product over all threads and
// then selects in parallel over queries. Alternated on two shared cores (300 000 x 512, 1000
// queries) they averaged 80 and 75 GFLOP/s, within each other's noise; `splitWork` leads
// because its workers never wait for each other. `arf-bench retrieval` measures both.
import ArfTensor
import Foundation

/// An index that answers top-k inner-product queries over its own rows.
public protocol VectorIndex: AnyObject {
    /// The rows searched; a hit's `row` points into this matrix.
    var vectors: VectorMatrix { get }

    /// The k best rows for each query (k is capped at the number of rows), skipping items
    /// whose ids are in `excluding`.
    func search(_ queries: VectorMatrix, k: Int, excluding: Set<Int>?) throws -> SearchResult
}

/// A query row and a base row whose inner product reached a threshold.
public struct ScorePair: Sendable, Equatable {
    public var query: Int
    public var row: Int
    public var score: Float

    public init(query: Int, row: Int, score: Float) {
        self.query = query
        self.row = row
        self.score = score
    }
}

/// Brute-force top-k over a matrix, exact up to float rounding in sgemm.
public final class ExactIndex: VectorIndex {
    /// How the work of one search is spread over threads.
    public enum Strategy: String, Sendable, CaseIterable {
        /// Workers own disjoint parts of the data and run single-threaded BLAS.
        case splitWork
        /// OpenBLAS threads each product; selection runs in parallel over queries.
        case threadedBLAS
    }

    public let vectors: VectorMatrix
    /// The threading strategy used by `search`.
    public var strategy: Strategy

    /// An index over `vectors`, which it keeps without copying.
    public init(_ vectors: VectorMatrix, strategy: Strategy = .splitWork) {
        self.vectors = vectors
        self.strategy = strategy
    }

    public func search(_ queries: VectorMatrix, k: Int, excluding: Set<Int>? = nil) throws
        -> SearchResult
    {
        try requireSameDimension(queries, vectors, "queries")
        guard k > 0 else {
            throw RetrievalError.parameter(name: "k", value: "\(k)", reason: "must be positive")
        }
        let lists = TopKLists(
            queries: queries.rows, k: Swift.max(1, Swift.min(k, vectors.rows)),
            excluded: excluding)
        switch strategy {
        case .splitWork: ExactIndex.searchSplit(queries, vectors, into: lists)
        case .threadedBLAS: ExactIndex.searchThreaded(queries, vectors, into: lists)
        }
        return lists.result(distances: Array(repeating: vectors.rows, count: queries.rows))
    }

    /// Every (query, row) pair whose inner product is at least `threshold`, ordered by query
    /// then row.
    ///
    /// The cost is that of a full exact search: pass the smaller set as `queries` when either
    /// order will do. A low threshold can return up to queries x rows pairs.
    public static func pairs(
        _ queries: VectorMatrix, _ base: VectorMatrix, atLeast threshold: Float
    ) throws -> [ScorePair] {
        try requireSameDimension(queries, base, "queries")
        let split = WorkSplit.larger(queries: queries.rows, base: base.rows)
        let workers = scoreBlockWorkers(queries: queries.rows, base: base.rows, split: split)
        let found = UnsafeMutablePointer<[ScorePair]>.allocate(capacity: workers)
        found.initialize(repeating: [], count: workers)
        defer { found.deinitialize(count: workers).deallocate() }

        forEachScoreBlock(
            queries: queries, base: base, split: split, workers: workers
        ) { block in
            for q in block.queries {
                let s = block.row(q)
                let n = block.base.count
                var j = 0
                while true {
                    j = nextChunk(reaching: threshold, in: s, from: j, count: n)
                    if j >= n { break }
                    let end = Swift.min(j + chunkWidth, n)
                    for lane in j..<end where s[lane] >= threshold {
                        found[block.worker].append(
                            ScorePair(query: q, row: block.base.lowerBound + lane, score: s[lane]))
                    }
                    j = end
                }
            }
        }
        var all = Array(UnsafeBufferPointer(start: found, count: workers).joined())
        all.sort { ($0.query, $0.row) < ($1.query, $1.row) }
        return all
    }

    static func searchSplit(_ queries: VectorMatrix, _ base: VectorMatrix, into lists: TopKLists) {
        let split = WorkSplit.larger(queries: queries.rows, base: base.rows)
        let workers = scoreBlockWorkers(queries: queries.rows, base: base.rows, split: split)

        // Splitting the queries gives each worker its own heaps; splitting the base makes
        // workers share queries, so each keeps private heaps that are merged at the end.
        let perWorker: [TopKLists] = (0..<workers).map { worker in
            split == .queries || worker == 0
                ? lists : TopKLists(queries: lists.queries, k: lists.k, excluded: lists.excluded)
        }
        forEachScoreBlock(
            queries: queries, base: base, split: split, workers: workers
        ) { block in
            let target = perWorker[block.worker]
            for q in block.queries {
                target.scan(
                    q, scores: block.row(q), count: block.base.count,
                    firstRow: block.base.lowerBound, rowIDs: base.ids)
            }
        }
        if split == .base {
            for other in perWorker.dropFirst() { lists.merge(other) }
        }
    }

    static func searchThreaded(
        _ queries: VectorMatrix, _ base: VectorMatrix, into lists: TopKLists
    ) {
        guard queries.rows > 0, base.rows > 0 else { return }
        let d = base.dimension
        let queryBlock = Swift.min(queries.rows, 1024)
        let baseBlock = 4096
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * baseBlock)
        defer { scratch.deallocate() }
        withBLASThreads(Compute.threads) {
            for baseStart in stride(from: 0, to: base.rows, by: baseBlock) {
                let n = Swift.min(baseBlock, base.rows - baseStart)
                for queryStart in stride(from: 0, to: queries.rows, by: queryBlock) {
                    let m = Swift.min(queryBlock, queries.rows - queryStart)
                    gemm(
                        transB: true, m: m, n: n, k: d, a: queries.row(queryStart), lda: d,
                        b: base.row(baseStart), ldb: d, c: scratch, ldc: n)
                    parallelChunks(m, minimumPerChunk: 16) { range in
                        for row in range {
                            lists.scan(
                                queryStart + row, scores: scratch + row * n, count: n,
                                firstRow: baseStart, rowIDs: base.ids)
                        }
                    }
                }
            }
        }
    }
}
