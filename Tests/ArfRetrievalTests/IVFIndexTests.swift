// The IVF index: recall against exact search on clustered data with far fewer inner products,
// rows kept with their ids through the in-place reordering, probing every list being exact,
// and training then adding in batches giving the same index as building in one go.
import ArfRetrieval
import ArfTensor
import Foundation
import Testing

@Suite("IVF index")
struct IVFIndexTests {
    @Test("recall@16 is at least 0.95 against exact search with at least 5x fewer products")
    func recallAndWork() throws {
        useTwoThreads()
        let source = ClusteredVectors(centres: 1000, dimension: 64, spread: 0.8, seed: 11)
        let base = source.sample(rows: 100_000, seed: 12)
        let queries = source.sample(rows: 200, seed: 13)
        let exact = try ExactIndex(base).search(queries, k: 16)

        let index = try IVFIndex.build(taking: base, options: .init(lists: 512, seed: 14))
        let result = try index.search(queries, k: 16, nprobe: 16)
        let found = recall(result, against: exact)
        let ratio = exact.meanDistances / result.meanDistances
        #expect(found >= 0.95, "recall@16 \(found)")
        #expect(ratio >= 5, "only \(ratio)x fewer inner products than exact")

        // Each query's count is every centroid plus the rows of the lists it probed.
        #expect(result.distances.allSatisfy { $0 > index.lists && $0 < base.rows })
    }

    @Test("building reorders rows by list in place, each row keeping its id and values")
    func buildKeepsRowsWithIDs() throws {
        useTwoThreads()
        let source = ClusteredVectors(centres: 50, dimension: 16, spread: 0.8, seed: 21)
        let original = source.sample(rows: 5000, seed: 22, firstID: 1000)
        let pool = original.gathering(Array(0..<original.rows))
        let index = try IVFIndex.build(taking: pool, options: .init(lists: 40, seed: 23))

        #expect(index.vectors === pool)
        #expect(index.offsets.first == 0 && index.offsets.last == original.rows)
        #expect(zip(index.offsets, index.offsets.dropFirst()).allSatisfy { $0 <= $1 })
        var seen = Set<Int>()
        var moved = 0
        for row in 0..<pool.rows {
            let id = pool.ids[row]
            seen.insert(id)
            if row != id - 1000 { moved += 1 }
            #expect(pool.vector(row) == original.vector(id - 1000), "row \(row), id \(id)")
        }
        #expect(seen.count == original.rows && moved > 0)

        // Every row sits in the list of its nearest centroid.
        let nearest = try ExactIndex(index.centroids).search(pool, k: 1)
        var wrong = 0
        for list in 0..<index.lists {
            for row in index.offsets[list]..<index.offsets[list + 1]
            where nearest.hits(row).first?.id != list {
                wrong += 1
            }
        }
        #expect(wrong == 0, "\(wrong) rows in another list than their nearest centroid's")
    }

    @Test("probing every list returns exactly the exact index's results")
    func probingAllListsIsExact() throws {
        useTwoThreads()
        let source = ClusteredVectors(centres: 30, dimension: 24, spread: 0.9, seed: 31)
        let base = source.sample(rows: 6000, seed: 32)
        let queries = source.sample(rows: 300, seed: 33)
        let exact = try ExactIndex(base).search(queries, k: 20)
        let index = try IVFIndex.build(taking: base, options: .init(lists: 64, seed: 34))
        let result = try index.search(queries, k: 20, nprobe: 64)
        var largest: Float = 0
        for q in 0..<queries.rows {
            #expect(result.hits(q).map(\.id) == exact.hits(q).map(\.id), "query \(q)")
            for (a, b) in zip(result.hits(q), exact.hits(q)) {
                largest = max(largest, abs(a.score - b.score))
            }
        }
        #expect(largest <= 1e-6, "largest score difference \(largest)")
        #expect(result.distances.allSatisfy { $0 == base.rows + 64 })
    }

    @Test("training then adding in batches gives the same lists and results as one build")
    func incrementalEqualsBuild() throws {
        useTwoThreads()
        let source = ClusteredVectors(centres: 40, dimension: 16, spread: 0.8, seed: 41)
        let data = source.sample(rows: 8000, seed: 42)
        let queries = source.sample(rows: 50, seed: 43)
        let options = IVFIndex.Options(lists: 32, iterations: 6, seed: 44)

        let built = try IVFIndex.build(
            taking: data.gathering(Array(0..<data.rows)), options: options)
        let grown = try IVFIndex.train(on: data, options: options)
        #expect(grown.count == 0)
        for batch in [0..<3000, 3000..<3001, 3001..<8000] {
            try grown.add(data.gathering(Array(batch)))
        }

        #expect(grown.offsets == built.offsets)
        #expect(grown.vectors.idArray == built.vectors.idArray)
        let a = try built.search(queries, k: 10, nprobe: 4)
        let b = try grown.search(queries, k: 10, nprobe: 4)
        #expect(a.hits == b.hits && a.distances == b.distances)
    }

    @Test("impossible options and mismatched queries are errors, not traps")
    func badInputThrows() throws {
        let data = randomUnitVectors(rows: 20, dimension: 8, seed: 51)
        #expect(throws: RetrievalError.self) {
            try IVFIndex.train(on: data, options: .init(lists: 21))
        }
        #expect(throws: RetrievalError.self) {
            try IVFIndex.train(on: data, options: .init(lists: 4, trainingSize: 3))
        }
        let index = try IVFIndex.train(on: data, options: .init(lists: 4))
        #expect(throws: RetrievalError.self) {
            try index.search(randomUnitVectors(rows: 1, dimension: 9, seed: 1), k: 3)
        }
        #expect(throws: RetrievalError.self) {
            try index.search(data, k: 3, nprobe: 0)
        }
        #expect(try index.search(data, k: 3).counts.allSatisfy { $0 == 0 })
    }
}
