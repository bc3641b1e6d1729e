// Per-query top-k selection: one bounded binary heap of (score, id, row) per query, its worst
// entry at the root, and a scan that tests sixteen scores at a time against that worst score
// so the heap is touched only by scores that can enter it. Results are ordered by score, higher
// first, and equal scores by lower item id, which makes every search deterministic.
//
// Leaves out: thread safety inside one query's heap (callers give each thread its own queries
// or its own `TopKLists`).

/// A retrieved item: its id, its row in the searched matrix and its inner product.
public struct Hit: Sendable, Equatable {
    public var id: Int
    public var row: Int
    public var score: Float

    public init(id: Int, row: Int, score: Float) {
        self.id = id
        self.row = row
        self.score = score
    }
}

/// The answer to a batch of queries: up to k hits per query, best first.
public struct SearchResult: Sendable {
    /// The slots per query in `hits`: the k asked for, capped at the number of rows searched.
    public let k: Int
    /// Hits of query q are at q * k ..< q * k + counts[q].
    public internal(set) var hits: [Hit]
    /// How many hits each query found (k unless the searched set was smaller).
    public internal(set) var counts: [Int]
    /// How many inner products each query needed.
    public internal(set) var distances: [Int]

    /// The number of queries.
    public var queryCount: Int { counts.count }

    /// The hits of one query, best first.
    public func hits(_ query: Int) -> ArraySlice<Hit> {
        hits[query * k..<query * k + counts[query]]
    }

    /// The mean number of inner products per query.
    public var meanDistances: Double {
        counts.isEmpty ? 0 : Double(distances.reduce(0, +)) / Double(counts.count)
    }
}

/// Whether (a, aID) ranks before (b, bID): a higher score, or an equal one with a lower id.
@inline(__always)
func ranksBefore(_ a: Float, _ aID: Int, _ b: Float, _ bID: Int) -> Bool {
    a > b || (a == b && aID < bID)
}

/// Scores are tested in chunks of this many.
let chunkWidth = 16

/// The start of the first chunk at or after `start` holding a score of at least `limit`, the
/// start of the last partial chunk, or `count`.
///
/// Kept out of line: inlined into a larger loop, the compiler no longer vectorises the test.
@inline(never)
func nextChunk(
    reaching limit: Float, in s: UnsafePointer<Float>, from start: Int, count: Int
) -> Int {
    var j = start
    while j + chunkWidth <= count {
        // An integer OR of comparisons vectorises; a float maximum would need reassociation.
        var flags: UInt32 = 0
        for lane in j..<j + chunkWidth { flags |= s[lane] >= limit ? 1 : 0 }
        if flags != 0 { return j }
        j += chunkWidth
    }
    return j
}

/// One bounded heap per query, in flat buffers.
final class TopKLists {
    let queries: Int
    let k: Int
    let scores: UnsafeMutablePointer<Float>
    let ids: UnsafeMutablePointer<Int>
    let rows: UnsafeMutablePointer<Int>
    let counts: UnsafeMutablePointer<Int>
    /// Items that may never enter a list.
    let excluded: Set<Int>?

    init(queries: Int, k: Int, excluded: Set<Int>? = nil) {
        precondition(k > 0, "k must be positive")
        self.queries = queries
        self.k = k
        self.excluded = excluded?.isEmpty == true ? nil : excluded
        let slots = Swift.max(queries * k, 1)
        scores = .allocate(capacity: slots)
        ids = .allocate(capacity: slots)
        rows = .allocate(capacity: slots)
        counts = .allocate(capacity: Swift.max(queries, 1))
        counts.initialize(repeating: 0, count: Swift.max(queries, 1))
    }

    deinit {
        scores.deallocate()
        ids.deallocate()
        rows.deallocate()
        counts.deallocate()
    }

    /// The score a new entry must reach to be considered for query `q`.
    @inline(__always)
    func threshold(_ q: Int) -> Float {
        counts[q] < k ? -Float.infinity : scores[q * k]
    }

    /// Offers one entry to query `q`'s heap.
    @inline(__always)
    func offer(_ q: Int, score: Float, id: Int, row: Int) {
        let base = q * k
        let count = counts[q]
        if count == k && !ranksBefore(score, id, scores[base], ids[base]) { return }
        if let excluded, excluded.contains(id) { return }
        if count < k {
            counts[q] = count + 1
            siftUp(base: base, from: count, score: score, id: id, row: row)
        } else {
            siftDown(base: base, score: score, id: id, row: row)
        }
    }

    /// Offers the n scores at `s` (rows firstRow ..< firstRow + n of a matrix with `rowIDs`).
    @inline(__always)
    func scan(
        _ q: Int, scores s: UnsafePointer<Float>, count n: Int, firstRow: Int,
        rowIDs: UnsafePointer<Int>
    ) {
        var limit = threshold(q)
        var j = 0
        while true {
            j = nextChunk(reaching: limit, in: s, from: j, count: n)
            if j >= n { return }
            let end = Swift.min(j + chunkWidth, n)
            for lane in j..<end where s[lane] >= limit {
                let row = firstRow + lane
                offer(q, score: s[lane], id: rowIDs[row], row: row)
                limit = threshold(q)
            }
            j = end
        }
    }

    /// Offers every entry of `other`'s heaps to the same queries here.
    func merge(_ other: TopKLists) {
        precondition(other.queries == queries && other.k == k, "merging unlike lists")
        for q in 0..<queries {
            for slot in q * k..<q * k + other.counts[q] {
                offer(q, score: other.scores[slot], id: other.ids[slot], row: other.rows[slot])
            }
        }
    }

    /// The lists sorted best first, with the given distance counts.
    func result(distances: [Int]) -> SearchResult {
        var hits = [Hit](repeating: Hit(id: -1, row: -1, score: -.infinity), count: queries * k)
        var found = [Int](repeating: 0, count: queries)
        for q in 0..<queries {
            let base = q * k
            var entries = (0..<counts[q]).map {
                Hit(id: ids[base + $0], row: rows[base + $0], score: scores[base + $0])
            }
            entries.sort { ranksBefore($0.score, $0.id, $1.score, $1.id) }
            for (slot, hit) in entries.enumerated() { hits[base + slot] = hit }
            found[q] = entries.count
        }
        return SearchResult(k: k, hits: hits, counts: found, distances: distances)
    }

    /// Moves the entry at `position` up while it ranks below its parent's.
    @inline(__always)
    private func siftUp(base: Int, from position: Int, score: Float, id: Int, row: Int) {
        var position = position
        while position > 0 {
            let parent = (position - 1) / 2
            guard ranksBefore(scores[base + parent], ids[base + parent], score, id) else { break }
            move(base + parent, to: base + position)
            position = parent
        }
        scores[base + position] = score
        ids[base + position] = id
        rows[base + position] = row
    }

    /// Replaces the root (the worst entry) and restores the heap downwards.
    @inline(__always)
    private func siftDown(base: Int, score: Float, id: Int, row: Int) {
        var position = 0
        while true {
            var child = 2 * position + 1
            if child >= k { break }
            // Follow the worse child: the root must stay the worst entry.
            if child + 1 < k,
                ranksBefore(scores[base + child], ids[base + child],
                            scores[base + child + 1], ids[base + child + 1])
            {
                child += 1
            }
            guard ranksBefore(score, id, scores[base + child], ids[base + child]) else { break }
            move(base + child, to: base + position)
            position = child
        }
        scores[base + position] = score
        ids[base + position] = id
        rows[base + position] = row
    }

    @inline(__always)
    private func move(_ from: Int, to: Int) {
        scores[to] = scores[from]
        ids[to] = ids[from]
        rows[to] = rows[from]
    }
}
