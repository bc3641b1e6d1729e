// The exact and ivf retrievers on pools the test builds: each class gets the pool items
// nearest its query, at most its quota, no item twice; text and image queries split the
// quota; evaluation images and near-duplicates are kept out; and ivf scanning every list
// finds exactly what exact finds.
import ArfPluginAPI
import ExactRetriever
import Foundation
import IVFRetriever
import Testing

@Suite("Retrievers")
struct RetrieverTests {
    /// A pool of 40 items: item i lies near axis (i % 4) + 1, tilted by its number, so that
    /// within an axis lower numbers are nearer.
    func request(
        perClass: Int, queries: [RetrievalQuery]? = nil, excluded: [[Float]] = [],
        dedup: Double? = nil, extra: [[Float]] = []
    ) -> RetrievalRequest {
        var vectors = (0..<40).map { unit($0 % 4 + 1, dimension: 8, tilt: Float($0 / 4) * 0.05) }
        vectors += extra
        let pool = makeView(
            "pool", role: "pool", paths: vectors.indices.map { "\($0).png" },
            captions: vectors.indices.map { "caption \($0)" })
        return RetrievalRequest(
            pool: pool, poolImages: EmbeddingMatrix(vectors), poolRows: Array(vectors.indices),
            classes: ["one", "two"],
            queries: queries ?? [
                RetrievalQuery(classIndex: 0, modality: .text, vector: unit(1, dimension: 8)),
                RetrievalQuery(classIndex: 1, modality: .text, vector: unit(2, dimension: 8)),
            ],
            perClass: perClass, excluded: excluded.isEmpty ? nil : EmbeddingMatrix(excluded),
            excludeThreshold: 0.999, dedupThreshold: dedup)
    }

    func retrieve(_ name: String, _ request: RetrievalRequest, _ options: [String: String] = [:])
        throws -> [RetrievedPair]
    {
        let retriever: any Retriever =
            name == "exact" ? try ExactRetriever.make(options) : try IVFRetriever.make(options)
        return try retriever.retrieve(request, context: MemoryContext())
    }

    @Test("each class gets its nearest pool items up to its quota, best first")
    func perClassQuota() throws {
        let pairs = try retrieve("exact", request(perClass: 3))
        #expect(pairs.map(\.classIndex) == [0, 0, 0, 1, 1, 1])
        // Axis 1 holds items 0, 4, 8, ...; axis 2 holds 1, 5, 9, ...
        #expect(pairs.map(\.poolIndex) == [0, 4, 8, 1, 5, 9])
        #expect(pairs.allSatisfy { $0.query == .text })
        #expect(abs(pairs[0].score - 1) < 1e-6, "item 0 lies on the axis: \(pairs[0].score)")
        #expect(pairs[0].score > pairs[1].score && pairs[1].score > pairs[2].score)
    }

    @Test("text and image queries of a class split its quota, text taking the larger half")
    func splitQuota() throws {
        let queries = [
            RetrievalQuery(classIndex: 0, modality: .text, vector: unit(1, dimension: 8)),
            RetrievalQuery(classIndex: 0, modality: .image, vector: unit(3, dimension: 8)),
        ]
        let pairs = try retrieve("exact", request(perClass: 3, queries: queries))
        #expect(pairs.filter { $0.query == .text }.map(\.poolIndex) == [0, 4])
        #expect(pairs.filter { $0.query == .image }.map(\.poolIndex) == [2])
        #expect(pairs.allSatisfy { $0.classIndex == 0 })
    }

    @Test("pool items near an evaluation image, and near-duplicates, are left out")
    func exclusionAndDedup() throws {
        let excluded = try retrieve(
            "exact", request(perClass: 2, excluded: [unit(1, dimension: 8)]))
        #expect(excluded.filter { $0.classIndex == 0 }.map(\.poolIndex) == [4, 8])

        // Item 40 is a copy of item 0: without dedup both are taken, with it only one.
        let copy = unit(1, dimension: 8)
        let kept = try retrieve("exact", request(perClass: 2, extra: [copy]))
        #expect(kept.filter { $0.classIndex == 0 }.map(\.poolIndex).sorted() == [0, 40])
        let deduped = try retrieve("exact", request(perClass: 2, dedup: 0.999, extra: [copy]))
        let first = deduped.filter { $0.classIndex == 0 }.map(\.poolIndex)
        #expect(first.count == 2 && Set(first).intersection([0, 40]).count == 1, "\(first)")
        #expect(first.contains(4), "the place of the duplicate is refilled")
    }

    @Test("ivf probing every list finds exactly what exact finds")
    func ivfMatchesExact() throws {
        let request = request(perClass: 5)
        let exact = try retrieve("exact", request)
        let ivf = try retrieve("ivf", request, ["lists": "4", "nprobe": "4"])
        #expect(ivf.map(\.poolIndex) == exact.map(\.poolIndex))
        let largest = zip(ivf, exact).map { abs($0.score - $1.score) }.max() ?? 0
        #expect(largest < 1e-5, "scores differ by up to \(largest)")
        #expect(throws: PluginAPIError.self) { try IVFRetriever.make(["nprobe": "0"]) }
    }
}
