// Anchor retrieval: per-query quotas with each item given once to the best query that listed
// it, refilling from deeper results, provenance that matches an exact search, queries of both
// kinds together, near-duplicate removal, and exclusion of pool items that copy an
// evaluation image.
import ArfRetrieval
import ArfTensor
import Foundation
import Testing

/// A unit vector orthogonal to `v`, drawn from `seed`.
func orthogonalUnit(to v: [Float], seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    var r = v.map { _ in generator.normal() }
    let along = zip(r, v).map { $0 * $1 }.reduce(0, +)
    r = zip(r, v).map { $0 - along * $1 }
    let norm = r.map { $0 * $0 }.reduce(0, +).squareRoot()
    return r.map { $0 / norm }
}

/// cos * a + sin * b for unit, orthogonal a and b: a unit vector at cosine `cos` from a.
func rotated(_ a: [Float], towards b: [Float], cosine: Float) -> [Float] {
    let sine = (1 - cosine * cosine).squareRoot()
    return zip(a, b).map { cosine * $0 + sine * $1 }
}

/// A matrix of `base`'s rows followed by `extra` rows with the given ids.
func appending(_ extra: [[Float]], ids: [Int], to base: VectorMatrix) throws -> VectorMatrix {
    let values = Array(UnsafeBufferPointer(start: base.data, count: base.rows * base.dimension))
    return try VectorMatrix(
        values + extra.flatMap { $0 }, dimension: base.dimension, ids: base.idArray + ids)
}

@Suite("Anchors")
struct AnchorTests {
    static let source = ClusteredVectors(centres: 6, dimension: 32, spread: 1.0, seed: 91)

    @Test("with depth equal to the quota, every listed item goes once to its best query")
    func quotaAssignsBestQuery() throws {
        useTwoThreads()
        let pool = Self.source.sample(rows: 3000, seed: 92)
        // Twelve prompts around six centres: neighbouring classes compete for items.
        let prompts = Self.source.sample(rows: 12, seed: 93)
        let index = ExactIndex(pool)
        let quota = 25
        let anchors = try AnchorRetriever(index: index).retrieve(
            queries: prompts, perQueryQuota: quota, duplicateThreshold: nil)
        let lists = try index.search(prompts, k: quota)

        #expect(Set(anchors.map(\.id)).count == anchors.count)
        let listed = Set(lists.hits.map(\.id))
        #expect(Set(anchors.map(\.id)) == listed)
        var perClass = [Int](repeating: 0, count: prompts.rows)
        var largest: Float = 0
        for anchor in anchors {
            perClass[anchor.query] += 1
            #expect(anchor.source == .classPrompt)
            let own = Array(lists.hits(anchor.query))
            #expect(own[anchor.rank].id == anchor.id, "rank of \(anchor.id)")
            let exact = innerProduct(prompts.row(anchor.query), pool.row(anchor.row), 32)
            largest = max(largest, abs(anchor.score - Float(exact)))
            for other in 0..<prompts.rows {
                if let hit = lists.hits(other).first(where: { $0.id == anchor.id }) {
                    #expect(hit.score <= anchor.score, "class \(other) listed \(anchor.id) higher")
                }
            }
        }
        #expect(largest <= 1e-5, "largest score difference \(largest)")
        #expect(perClass.allSatisfy { $0 <= quota })
        #expect(perClass.contains { $0 < quota }, "no class lost an item: no competition")
        #expect(zip(anchors, anchors.dropFirst()).allSatisfy { $0.score >= $1.score })
    }

    @Test("an item two classes list goes to the class it scores higher with")
    func sharedItemGoesToBetterClass() throws {
        let classA: [Float] = [1, 0, 0, 0]
        let classB: [Float] = [0, 1, 0, 0]
        // Item 7 scores 0.6 with A and 0.8 with B; items 1 and 2 belong to A and B alone.
        let pool = try VectorMatrix(
            [0.6, 0.8, 0, 0, 0.5, 0, 0.866, 0, 0, 0.3, 0, 0.954],
            dimension: 4, ids: [7, 1, 2])
        let prompts = try VectorMatrix(classA + classB, dimension: 4)
        let anchors = try AnchorRetriever(index: ExactIndex(pool)).retrieve(
            queries: prompts, perQueryQuota: 2, duplicateThreshold: nil)
        let byID = Dictionary(uniqueKeysWithValues: anchors.map { ($0.id, $0) })
        #expect(byID[7]?.query == 1 && byID[7]?.rank == 0)
        #expect(byID[1]?.query == 0 && byID[1]?.rank == 1)
        #expect(byID[2]?.query == 1 && byID[2]?.rank == 1)
        #expect(anchors.count == 3)
    }

    @Test("a deeper search refills every class to its quota without giving an item twice")
    func depthRefillsQuota() throws {
        useTwoThreads()
        let pool = Self.source.sample(rows: 3000, seed: 94)
        let prompts = Self.source.sample(rows: 12, seed: 95)
        let anchors = try AnchorRetriever(index: ExactIndex(pool)).retrieve(
            queries: prompts, perQueryQuota: 25, depth: 75, duplicateThreshold: nil)
        #expect(anchors.count == 12 * 25)
        #expect(Set(anchors.map(\.id)).count == anchors.count)
        for query in 0..<12 {
            #expect(anchors.filter { $0.query == query }.count == 25, "class \(query)")
        }
        #expect(anchors.allSatisfy { $0.rank < 75 } && anchors.contains { $0.rank >= 25 })
    }

    @Test("prompts and images together share one pool: each item once, with its source")
    func bothSources() throws {
        useTwoThreads()
        let pool = Self.source.sample(rows: 2000, seed: 96)
        let index = ExactIndex(pool)
        let prompts = Self.source.sample(rows: 6, seed: 97)
        let images = Self.source.sample(rows: 20, seed: 98)
        let anchors = try AnchorRetriever(index: index).retrieve(
            [
                AnchorQuerySet(source: .classPrompt, vectors: prompts, quota: 10),
                AnchorQuerySet(source: .image, vectors: images, quota: 3),
            ], depth: 30, duplicateThreshold: nil)
        #expect(Set(anchors.map(\.id)).count == anchors.count)
        #expect(anchors.filter { $0.source == .classPrompt }.count == 60)
        #expect(anchors.filter { $0.source == .image }.count == 60)
        var largest: Float = 0
        for anchor in anchors {
            let queries = anchor.source == .image ? images : prompts
            let exact = innerProduct(queries.row(anchor.query), pool.row(anchor.row), 32)
            largest = max(largest, abs(anchor.score - Float(exact)))
        }
        #expect(largest <= 1e-5, "largest score difference \(largest)")
    }

    @Test("a near copy of a kept item is dropped, and the class refills from deeper results")
    func nearDuplicatesRemoved() throws {
        useTwoThreads()
        let prompt = Self.source.centres.vector(0)
        let item = rotated(prompt, towards: orthogonalUnit(to: prompt, seed: 1), cosine: 0.95)
        let copy = rotated(item, towards: orthogonalUnit(to: item, seed: 2), cosine: 0.99)
        let pool = try appending(
            [item, copy], ids: [50_000, 50_001], to: Self.source.sample(rows: 2000, seed: 99))
        let retriever = AnchorRetriever(index: ExactIndex(pool))
        let prompts = try VectorMatrix(prompt, dimension: 32)

        let kept = try retriever.retrieve(queries: prompts, perQueryQuota: 5)
        let all = try retriever.retrieve(
            queries: prompts, perQueryQuota: 5, duplicateThreshold: nil)
        let refilled = try retriever.retrieve(queries: prompts, perQueryQuota: 5, depth: 10)
        #expect(all.map(\.id).prefix(2) == [50_000, 50_001])
        #expect(kept.map(\.id) == [50_000] + all.map(\.id).dropFirst(2))
        #expect(refilled.count == 5 && !refilled.map(\.id).contains(50_001))

        // No two kept items are within the threshold of each other.
        for a in refilled {
            for b in refilled where a.id != b.id {
                #expect(innerProduct(pool.row(a.row), pool.row(b.row), 32) < 0.98)
            }
        }
    }

    @Test("exclusion removes a planted copy and a lightly perturbed copy of an evaluation image")
    func exclusionRemovesEvaluationCopies() throws {
        useTwoThreads()
        let source = ClusteredVectors(centres: 20, dimension: 64, spread: 1.0, seed: 101)
        let evaluation = source.sample(rows: 30, seed: 102, firstID: 0)
        let image = evaluation.vector(17)
        let perturbed = rotated(image, towards: orthogonalUnit(to: image, seed: 3), cosine: 0.99)
        let pool = try appending(
            [image, perturbed], ids: [900_001, 900_002],
            to: source.sample(rows: 5000, seed: 103, firstID: 10))
        let planted: Set<Int> = [900_001, 900_002]

        let retriever = AnchorRetriever(index: ExactIndex(pool))
        let query = try VectorMatrix(image, dimension: 64)
        let before = try retriever.retrieve(
            queries: query, source: .image, perQueryQuota: 10, duplicateThreshold: nil)
        #expect(Set(before.prefix(2).map(\.id)) == planted)

        #expect(try retriever.exclude(near: evaluation, threshold: 0.95) == planted)
        #expect(retriever.excluded == planted)
        let after = try retriever.retrieve(
            queries: query, source: .image, perQueryQuota: 10, duplicateThreshold: nil)
        #expect(after.count == 10 && after.allSatisfy { !planted.contains($0.id) })
        #expect(Array(after.map(\.id).prefix(8)) == Array(before.map(\.id).dropFirst(2)))

        // With the evaluation set larger than the pool, the scan turns round; same answer.
        let smallPool = try appending(
            [image, perturbed], ids: [900_001, 900_002],
            to: source.sample(rows: 10, seed: 104, firstID: 10))
        let largeEvaluation = try appending(
            [image], ids: [77], to: source.sample(rows: 500, seed: 105, firstID: 100))
        let found = try AnchorRetriever.items(
            of: smallPool, near: largeEvaluation, threshold: 0.95)
        #expect(found == planted)
    }

    @Test("a zero quota, a depth below the quota and a repeated source are errors")
    func badRequestsThrow() throws {
        let pool = Self.source.sample(rows: 100, seed: 106)
        let retriever = AnchorRetriever(index: ExactIndex(pool))
        let prompts = Self.source.sample(rows: 2, seed: 107)
        #expect(throws: RetrievalError.self) {
            try retriever.retrieve(queries: prompts, perQueryQuota: 0)
        }
        #expect(throws: RetrievalError.self) {
            try retriever.retrieve(queries: prompts, perQueryQuota: 5, depth: 4)
        }
        #expect(throws: RetrievalError.self) {
            try retriever.retrieve([
                AnchorQuerySet(source: .image, vectors: prompts, quota: 1),
                AnchorQuerySet(source: .image, vectors: prompts, quota: 1),
            ])
        }
    }
}
