// The class-embedding cache of zero-shot classification, in process: a repeated request is
// answered without computing, label lists that join to the same text stay apart, another
// pipeline under the same model name (a model loaded again) computes afresh, and the least
// recently used entry is the one dropped.
import ArfCLIP
import Foundation
import Testing

@testable import ArfDaemon

@Suite("Class embedding cache")
struct ClassEmbeddingCacheTests {
    @Test("hits, keys, pipeline identity and least-recently-used eviction")
    func cache() throws {
        let first = try CLIPPipeline(directory: URL(fileURLWithPath: Fixture.checkpoint))
        let second = try CLIPPipeline(directory: URL(fileURLWithPath: Fixture.checkpoint))
        let cache = ClassEmbeddingCache(capacity: 2)
        var computed = 0
        func ask(_ labels: [String], _ pipeline: CLIPPipeline, templates: [String] = ["{}"])
            throws -> [[Float]]
        {
            try cache.classes(
                model: "m", pipeline: pipeline, labels: labels, templates: templates
            ) {
                computed += 1
                return try pipeline.classEmbeddings(labels: labels, templates: templates)
            }
        }

        let fresh = try ask(["cat", "dog"], first)
        #expect(try ask(["cat", "dog"], first) == fresh && computed == 1)
        #expect(cache.hits == 1 && cache.misses == 1)
        _ = try ask(["cat,dog"], first)
        #expect(computed == 2, "one label with a comma is not two labels")
        _ = try ask(["cat", "dog"], first, templates: ["a photo of a {}."])
        #expect(computed == 3, "other templates are another entry")

        // Capacity 2: the first entry was used least recently and went; the other two stay.
        _ = try ask(["cat,dog"], first)
        _ = try ask(["cat", "dog"], first, templates: ["a photo of a {}."])
        #expect(computed == 3)
        #expect(try ask(["cat", "dog"], first) == fresh && computed == 4)

        // Using the older of the two kept entries makes the other the one to go, although it
        // came in later: least recently used, not first in.
        _ = try ask(["cat", "dog"], first, templates: ["a photo of a {}."])
        _ = try ask(["eel"], first)
        #expect(computed == 5)
        _ = try ask(["cat", "dog"], first, templates: ["a photo of a {}."])
        #expect(computed == 5, "kept: it was used just before the new entry came")
        _ = try ask(["cat", "dog"], first)
        #expect(computed == 6, "dropped: the least recently used when the new entry came")

        // The same name served by another pipeline computes again.
        _ = try ask(["cat", "dog"], second)
        #expect(computed == 7)
    }
}
