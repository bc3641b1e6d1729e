// The blocked traversal behind every exact comparison: inner products of all query rows with
// all base rows, computed one block at a time by sgemm into a small scratch block that a
// consumer reads while it is still in cache. Work is split over `Compute.threads` workers
// along the larger of the two sets, each worker running single-threaded BLAS, so that workers
// never wait for each other; the smaller set is the inner loop and stays in cache.
//
// Shape letters: Q query rows, N base rows, D row width; a block is at most
// `queryBlock` x `baseBlock` scores, row-major, one row per query.
import ArfTensor
import Foundation

/// Which of the two sets the workers divide between them.
enum WorkSplit {
    case queries, base

    /// Splits the larger set, so that each worker streams its own part of it once.
    static func larger(queries: Int, base: Int) -> WorkSplit {
        queries >= base ? .queries : .base
    }
}

/// The extent of one sgemm block.
struct BlockShape {
    var queryBlock: Int
    var baseBlock: Int

    /// 256 x 1024 scores are 1 MB, one core's L2 on the Zen 3 machines measured, where at
    /// D = 512 the products ran as fast as with larger blocks and faster than with fewer
    /// than 128 queries per block.
    nonisolated(unsafe) static var standard = BlockShape(queryBlock: 256, baseBlock: 1024)
}

/// Runs `body` with OpenBLAS limited to `count` threads, restoring `Compute.threads` after.
///
/// The setting is process-wide, so `body` runs as one pass of `Compute.serialized`: no model
/// pass enters OpenBLAS while the count is changed or while the search's own workers call
/// it. The cost is that inference waits while a search runs: about 6 s for an exact search
/// of 1,000 queries over a million rows on 2 cores, a fraction of a second through IVF.
func withBLASThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
    try Compute.serialized {
        Compute.setBLASThreads(count)
        defer { Compute.setBLASThreads(Compute.threads) }
        return try body()
    }
}

/// One block of scores handed to a consumer: rows are queries, columns base rows.
struct ScoreBlock {
    /// The worker computing it, in 0 ..< workers.
    var worker: Int
    var queries: Range<Int>
    var base: Range<Int>
    /// queries.count rows of base.count scores each.
    var scores: UnsafePointer<Float>

    @inline(__always)
    func row(_ query: Int) -> UnsafePointer<Float> {
        scores + (query - queries.lowerBound) * base.count
    }
}

/// How many workers `forEachScoreBlock` will use for these sizes.
func scoreBlockWorkers(
    queries: Int, base: Int, split: WorkSplit, shape: BlockShape = .standard
) -> Int {
    let outer = split == .queries ? queries : base
    let block = split == .queries ? shape.queryBlock : shape.baseBlock
    let blocks = (outer + block - 1) / block
    return Swift.max(1, Swift.min(Compute.threads, blocks))
}

/// Computes every block of queries x baseᵀ and hands each to `body` on the worker that made
/// it, one of `workers` (from `scoreBlockWorkers`); a worker's blocks arrive one after another.
func forEachScoreBlock(
    queries: VectorMatrix, base: VectorMatrix, split: WorkSplit, workers: Int,
    shape: BlockShape = .standard, _ body: (ScoreBlock) -> Void
) {
    precondition(queries.dimension == base.dimension, "dimensions differ")
    guard queries.rows > 0, base.rows > 0 else { return }
    let d = queries.dimension
    let outerCount = split == .queries ? queries.rows : base.rows
    let outerBlock = split == .queries ? shape.queryBlock : shape.baseBlock
    let innerCount = split == .queries ? base.rows : queries.rows
    let innerBlock = split == .queries ? shape.baseBlock : shape.queryBlock
    let blocks = (outerCount + outerBlock - 1) / outerBlock

    withBLASThreads(1) {
        parallelChunks(workers) { workerRange in
            let scratch = UnsafeMutablePointer<Float>.allocate(
                capacity: shape.queryBlock * shape.baseBlock)
            defer { scratch.deallocate() }
            for worker in workerRange {
                let firstBlock = blocks * worker / workers
                let endBlock = blocks * (worker + 1) / workers
                for block in firstBlock..<endBlock {
                    let outer = block * outerBlock..<Swift.min(outerCount, (block + 1) * outerBlock)
                    for innerStart in stride(from: 0, to: innerCount, by: innerBlock) {
                        let inner = innerStart..<Swift.min(innerCount, innerStart + innerBlock)
                        let q = split == .queries ? outer : inner
                        let b = split == .queries ? inner : outer
                        gemm(
                            transB: true, m: q.count, n: b.count, k: d,
                            a: queries.row(q.lowerBound), lda: d, b: base.row(b.lowerBound),
                            ldb: d, c: scratch, ldc: b.count)
                        body(ScoreBlock(worker: worker, queries: q, base: b, scores: scratch))
                    }
                }
            }
        }
    }
}
