// Exact search against a naive full sort: random unit vectors over several shapes (queries
// and base each smaller and larger than a block, k larger than a block and larger than the
// base), integer vectors whose many equal scores must be broken by id, both threading
// strategies, exclusion, and the pairs above a threshold.
import ArfRetrieval
import ArfTensor
import Foundation
import Testing

@Suite("Exact index")
struct ExactIndexTests {
    struct Shape: CustomStringConvertible {
        var rows, dimension, queries, k: Int
        var description: String { "N \(rows) D \(dimension) Q \(queries) k \(k)" }
    }

    static let shapes = [
        Shape(rows: 1, dimension: 8, queries: 1, k: 1),
        Shape(rows: 3000, dimension: 48, queries: 40, k: 16),
        Shape(rows: 2500, dimension: 16, queries: 300, k: 1100),
        Shape(rows: 600, dimension: 24, queries: 900, k: 7),
        Shape(rows: 50, dimension: 8, queries: 5, k: 80),
    ]

    @Test("top-k matches a naive full sort on random vectors", arguments: shapes,
          ExactIndex.Strategy.allCases)
    func matchesNaiveSort(shape: Shape, strategy: ExactIndex.Strategy) throws {
        useTwoThreads()
        let base = randomUnitVectors(rows: shape.rows, dimension: shape.dimension, seed: 1)
        let queries = randomUnitVectors(rows: shape.queries, dimension: shape.dimension, seed: 2)
        let result = try ExactIndex(base, strategy: strategy).search(queries, k: shape.k)
        let truth = naiveTopK(queries, base, k: shape.k)

        // sgemm sums in another order than the naive loop, so scores agree to a tolerance and
        // ids only where neighbouring true scores are further apart than that.
        let tolerance = 1e-5
        var largest = 0.0
        var misplaced = 0
        for q in 0..<shape.queries {
            let hits = Array(result.hits(q))
            #expect(hits.count == truth[q].count)
            for (rank, expected) in truth[q].enumerated() where rank < hits.count {
                largest = max(largest, abs(Double(hits[rank].score) - expected.score))
                let gapBefore = rank == 0 ? 1 : truth[q][rank - 1].score - expected.score
                let gapAfter = rank + 1 < truth[q].count
                    ? expected.score - truth[q][rank + 1].score : 1
                if min(gapBefore, gapAfter) > tolerance, hits[rank].id != expected.id {
                    misplaced += 1
                }
            }
        }
        #expect(largest <= tolerance, "largest score difference \(largest)")
        #expect(misplaced == 0, "\(misplaced) ids differ where scores are well separated")
        #expect(result.distances.allSatisfy { $0 == shape.rows })
    }

    @Test("equal scores are ordered by lower id, exactly as a full sort orders them",
          arguments: ExactIndex.Strategy.allCases)
    func tiesBreakByID(strategy: ExactIndex.Strategy) throws {
        useTwoThreads()
        for (rows, queries, k) in [(2000, 37, 25), (700, 800, 1030)] {
            let base = smallIntegerVectors(rows: rows, dimension: 6, seed: 3)
            let query = smallIntegerVectors(rows: queries, dimension: 6, seed: 4)
            let result = try ExactIndex(base, strategy: strategy).search(query, k: k)
            let truth = naiveTopK(query, base, k: k)
            var ties = 0
            for q in 0..<queries {
                let hits = Array(result.hits(q))
                #expect(hits.map(\.id) == truth[q].map(\.id), "query \(q)")
                #expect(hits.map { Double($0.score) } == truth[q].map(\.score), "query \(q)")
                ties += zip(hits, hits.dropFirst()).filter { $0.score == $1.score }.count
                for hit in hits { #expect(base.ids[hit.row] == hit.id) }
            }
            // Integer inner products in six dimensions repeat constantly.
            #expect(ties > queries * k / 2, "only \(ties) ties")
        }
    }

    @Test("excluded ids never appear and their places go to the next best rows")
    func exclusionSkipsItems() throws {
        useTwoThreads()
        let base = randomUnitVectors(rows: 4000, dimension: 32, seed: 5)
        let queries = randomUnitVectors(rows: 20, dimension: 32, seed: 6)
        let index = ExactIndex(base)
        let first = try index.search(queries, k: 10)
        let excluded = Set(first.hits.prefix(30).map(\.id))
        let result = try index.search(queries, k: 10, excluding: excluded)
        let truth = naiveTopK(queries, base, k: 10, excluding: excluded)
        for q in 0..<queries.rows {
            #expect(result.hits(q).allSatisfy { !excluded.contains($0.id) })
            #expect(Array(result.hits(q).map(\.id)) == truth[q].map(\.id), "query \(q)")
        }
    }

    @Test("pairs returns every query and row at or above the threshold, and no other")
    func pairsMatchNaiveScan() throws {
        useTwoThreads()
        let base = smallIntegerVectors(rows: 1500, dimension: 5, seed: 7)
        let queries = smallIntegerVectors(rows: 300, dimension: 5, seed: 8)
        let threshold: Float = 9
        for (a, b) in [(queries, base), (base, queries)] {
            let pairs = try ExactIndex.pairs(a, b, atLeast: threshold)
            var expected: [ScorePair] = []
            for q in 0..<a.rows {
                for row in 0..<b.rows {
                    let score = Float(innerProduct(a.row(q), b.row(row), 5))
                    if score >= threshold {
                        expected.append(ScorePair(query: q, row: row, score: score))
                    }
                }
            }
            #expect(!expected.isEmpty)
            #expect(pairs == expected)
        }
    }

    @Test("queries of another dimension and a k of zero are errors, not traps")
    func badInputThrows() throws {
        let index = ExactIndex(randomUnitVectors(rows: 10, dimension: 4, seed: 9))
        #expect(throws: RetrievalError.self) {
            try index.search(randomUnitVectors(rows: 2, dimension: 5, seed: 1), k: 1)
        }
        #expect(throws: RetrievalError.self) {
            try index.search(randomUnitVectors(rows: 2, dimension: 4, seed: 1), k: 0)
        }
    }
}
