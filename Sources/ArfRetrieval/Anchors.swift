// Choosing anchor pairs for finetuning from a large pool: each query (a class prompt's text
// embedding searched against image embeddings, or a finetuning image's embedding) claims up to
// a quota of pool items. Every candidate (query, item, score) of all queries is considered
// once, best score first; a candidate is kept when its item is still free, its query still has
// room and, with near-duplicate removal on, no kept item lies within the duplicate threshold
// of it. So each item goes to the best query that still has room, and a query that loses
// items to better queries or to duplicates is refilled from deeper in its list when the search
// `depth` is larger than the quota.
//
// Exclusion keeps evaluation images out of training: every pool item within a cosine
// threshold of any evaluation embedding is found by an exact scan and never retrieved.
//
// Leaves out: text-side deduplication (captions) and balancing quotas by class frequency.
// TODO: duplicate detection compares all candidates pairwise (an exact scan of candidates x
// candidates); beyond about 50 000 candidates this costs more than the search itself.
import Foundation

/// Which kind of query picked an anchor.
public enum AnchorSource: String, Sendable, Codable {
    /// A class prompt's text embedding, searched against image embeddings.
    case classPrompt
    /// A finetuning image's embedding.
    case image
}

/// Queries of one kind, each allowed to claim up to `quota` pool items.
public struct AnchorQuerySet {
    public var source: AnchorSource
    public var vectors: VectorMatrix
    public var quota: Int

    public init(source: AnchorSource, vectors: VectorMatrix, quota: Int) {
        self.source = source
        self.vectors = vectors
        self.quota = quota
    }
}

/// A retrieved pool item and where it came from.
public struct Anchor: Sendable, Equatable {
    /// The pool item's id.
    public var id: Int
    /// The item's row in the index's matrix.
    public var row: Int
    /// The kind of query that picked it.
    public var source: AnchorSource
    /// The picking query's number among the queries of its kind (the class for prompts).
    public var query: Int
    /// The inner product of query and item.
    public var score: Float
    /// The item's place in that query's search results, 0 for the best.
    public var rank: Int
}

/// Retrieves anchors from an index of pool image embeddings, keeping excluded items out.
public final class AnchorRetriever {
    /// The pool's index.
    public let index: any VectorIndex
    /// Item ids that are never retrieved.
    public private(set) var excluded: Set<Int> = []

    public init(index: any VectorIndex) {
        self.index = index
    }

    /// Excludes every pool item whose embedding has an inner product of at least `threshold`
    /// with any row of `evaluation`; returns the ids newly found.
    @discardableResult
    public func exclude(near evaluation: VectorMatrix, threshold: Float) throws -> Set<Int> {
        let found = try AnchorRetriever.items(
            of: index.vectors, near: evaluation, threshold: threshold)
        excluded.formUnion(found)
        return found
    }

    /// Ids of the rows of `pool` within `threshold` of any row of `evaluation`, by one exact
    /// scan with the smaller set as the queries.
    public static func items(
        of pool: VectorMatrix, near evaluation: VectorMatrix, threshold: Float
    ) throws -> Set<Int> {
        try requireSameDimension(evaluation, pool, "evaluation vectors")
        if evaluation.rows <= pool.rows {
            let pairs = try ExactIndex.pairs(evaluation, pool, atLeast: threshold)
            return Set(pairs.map { pool.ids[$0.row] })
        }
        let pairs = try ExactIndex.pairs(pool, evaluation, atLeast: threshold)
        return Set(pairs.map { pool.ids[$0.query] })
    }

    /// Up to `perQueryQuota` items for each query, of one kind; see `retrieve(_:depth:...)`.
    public func retrieve(
        queries: VectorMatrix, source: AnchorSource = .classPrompt, perQueryQuota: Int,
        depth: Int? = nil, duplicateThreshold: Float? = 0.98
    ) throws -> [Anchor] {
        try retrieve(
            [AnchorQuerySet(source: source, vectors: queries, quota: perQueryQuota)],
            depth: depth, duplicateThreshold: duplicateThreshold)
    }

    /// Anchors for all query sets together, best score first.
    ///
    /// Each query's search returns `depth` items (its quota when nil; a larger depth lets
    /// queries refill places lost to other queries or to duplicates). Items whose inner
    /// product with an already kept item reaches `duplicateThreshold` are dropped; nil keeps
    /// near-duplicates.
    public func retrieve(
        _ sets: [AnchorQuerySet], depth: Int? = nil, duplicateThreshold: Float? = 0.98
    ) throws -> [Anchor] {
        var setNumber: [AnchorSource: Int] = [:]
        for (number, set) in sets.enumerated() {
            guard setNumber.updateValue(number, forKey: set.source) == nil else {
                throw RetrievalError.parameter(
                    name: "sets", value: sets.map(\.source.rawValue).joined(separator: ","),
                    reason: "each source may appear once")
            }
            guard set.quota > 0 else {
                throw RetrievalError.parameter(
                    name: "quota", value: "\(set.quota)", reason: "must be positive")
            }
            guard (depth ?? set.quota) >= set.quota else {
                throw RetrievalError.parameter(
                    name: "depth", value: "\(depth!)", reason: "must be at least the quota")
            }
        }
        var candidates: [Anchor] = []
        for set in sets {
            let result = try index.search(
                set.vectors, k: depth ?? set.quota, excluding: excluded)
            for query in 0..<result.queryCount {
                for (rank, hit) in result.hits(query).enumerated() {
                    candidates.append(
                        Anchor(id: hit.id, row: hit.row, source: set.source, query: query,
                               score: hit.score, rank: rank))
                }
            }
        }
        candidates.sort {
            if $0.score != $1.score { return $0.score > $1.score }
            let a = (setNumber[$0.source]!, $0.query, $0.rank)
            let b = (setNumber[$1.source]!, $1.query, $1.rank)
            return a < b
        }
        let conflicts = try duplicateThreshold.map { try nearDuplicates(candidates, $0) } ?? [:]

        var taken = Set<Int>()
        var blocked = Set<Int>()
        var filled = [[Int]](repeating: [], count: sets.count)
        for (number, set) in sets.enumerated() {
            filled[number] = Array(repeating: 0, count: set.vectors.rows)
        }
        var kept: [Anchor] = []
        for candidate in candidates {
            let number = setNumber[candidate.source]!
            guard !taken.contains(candidate.id), !blocked.contains(candidate.id),
                filled[number][candidate.query] < sets[number].quota
            else { continue }
            kept.append(candidate)
            taken.insert(candidate.id)
            filled[number][candidate.query] += 1
            blocked.formUnion(conflicts[candidate.id] ?? [])
        }
        return kept
    }

    /// For each candidate item, the other candidate items within `threshold` of it.
    private func nearDuplicates(_ candidates: [Anchor], _ threshold: Float) throws
        -> [Int: [Int]]
    {
        var rows: [Int] = []
        var seen = Set<Int>()
        for candidate in candidates where seen.insert(candidate.id).inserted {
            rows.append(candidate.row)
        }
        let vectors = index.vectors.gathering(rows)
        var conflicts: [Int: [Int]] = [:]
        for pair in try ExactIndex.pairs(vectors, vectors, atLeast: threshold)
        where pair.query != pair.row {
            conflicts[vectors.ids[pair.query], default: []].append(vectors.ids[pair.row])
        }
        return conflicts
    }
}
