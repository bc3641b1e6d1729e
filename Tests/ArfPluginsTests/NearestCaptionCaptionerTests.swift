// The nearest-caption captioner on vectors the test chooses: each image gets the bank caption
// nearest it, repeated captions are one bank entry, MMR trades similarity for variety, seeded
// sampling repeats itself, unreadable images fail alone, and a missing or ambiguous bank is
// refused with a clear message.
import ArfPluginAPI
import Foundation
import NearestCaptionCaptioner
import Testing

@Suite("nearest-caption captioner")
struct NearestCaptionCaptionerTests {
    /// A bank of five captions along axes 1-5, the last a repeat of the first text; images
    /// near axes 3, 1 and 5.
    func context() -> MemoryContext {
        let context = MemoryContext()
        let bank = makeView(
            "pool", role: "pool", paths: (0..<6).map { "p\($0).png" },
            captions: ["one", "two", "three", "four", "five", "one"])
        context.add(bank, texts: [unit(1), unit(2), unit(3), unit(4), unit(5), unit(1)])
        let images = makeView("pets", paths: ["a.png", "b.png", "c.png"])
        context.add(images, images: [unit(3, tilt: 0.2), unit(1, tilt: 0.1), unit(5)])
        return context
    }

    @Test("each image gets the caption nearest it, scored by cosine similarity")
    func picksNearest() throws {
        let context = context()
        let captioner = try NearestCaptionCaptioner.make([:])
        let view = try context.dataset(named: "pets")
        let outcomes = try captioner.caption(
            CaptionRequest(dataset: view, items: view.items), context: context)
        #expect(outcomes.map(texts) == [["three"], ["one"], ["five"]])
        guard case .captions(let first) = outcomes[0] else { return }
        let expected = Double(zip(unit(3, tilt: 0.2), unit(3)).map(*).reduce(0, +))
        let score = try #require(first[0].score)
        #expect(abs(score - expected) < 1e-6, "score \(score), cosine \(expected)")
        // The repeated "one" is embedded once: five unique captions were asked for.
        #expect(context.requests["pool/text"] == 5)
    }

    @Test("top_k gives the k nearest, best first, without repeating a caption")
    func topK() throws {
        let context = context()
        let bank = try context.dataset(named: "pool")
        // A bank where two captions sit near the image's axis, "three" nearer than "two".
        context.add(
            bank, texts: [unit(1), unit(3, tilt: -0.3), unit(3), unit(4), unit(5), unit(1)])
        let captioner = try NearestCaptionCaptioner.make(["top_k": "3"])
        let view = try context.dataset(named: "pets")
        let outcomes = try captioner.caption(
            CaptionRequest(dataset: view, items: [view.items[0]]), context: context)
        #expect(outcomes.map(texts) == [["three", "two", "one"]])
    }

    @Test("mmr skips a near-copy of a caption it already picked")
    func maximalMarginalRelevance() throws {
        let context = MemoryContext()
        // Captions "a" and "a'" are nearly the same vector and the nearest to the image;
        // "b" is farther from the image but unlike "a".
        let bank = makeView(
            "pool", role: "pool", paths: ["1", "2", "3"], captions: ["a", "a'", "b"])
        context.add(bank, texts: [unit(1), unit(1, tilt: 0.02), unit(2)])
        var image = unit(1)
        image[2] = 0.6
        let norm = image.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let images = makeView("pets", paths: ["x"])
        context.add(images, images: [image.map { $0 / norm }])
        let view = try context.dataset(named: "pets")

        let plain = try NearestCaptionCaptioner.make(["top_k": "2"])
        let diverse = try NearestCaptionCaptioner.make(["top_k": "2", "diversity": "mmr"])
        let request = CaptionRequest(dataset: view, items: view.items)
        #expect(try plain.caption(request, context: context).map(texts) == [["a", "a'"]])
        #expect(try diverse.caption(request, context: context).map(texts) == [["a", "b"]])
    }

    @Test("sampling with a seed gives the same captions every time, and others with another seed")
    func seededSampling() throws {
        let context = MemoryContext()
        let captions = (0..<7).map { "caption \($0)" }
        let bank = makeView("pool", role: "pool", paths: captions, captions: captions)
        context.add(bank, texts: (1...7).map { unit($0) })
        let images = makeView("pets", paths: (0..<20).map { "i\($0)" })
        context.add(images, images: (0..<20).map { _ in unit(0) })
        let view = try context.dataset(named: "pets")
        let request = CaptionRequest(dataset: view, items: view.items)

        // All captions are equally near, so only the seed decides.
        func run(_ seed: Int) throws -> [[String]?] {
            let captioner = try NearestCaptionCaptioner.make(
                ["top_k": "2", "diversity": "sample", "temperature": "1", "seed": "\(seed)"])
            return try captioner.caption(request, context: context).map(texts)
        }
        let first = try run(7)
        #expect(try run(7) == first)
        #expect(try run(8) != first)
        #expect(first.allSatisfy { Set($0 ?? []).count == 2 }, "two different captions each")
        #expect(Set(first.compactMap { $0?.first }).count > 2, "images get different captions")
    }

    @Test("an image without an embedding fails alone; the others are captioned")
    func unreadableImageFailsAlone() throws {
        let context = context()
        context.vectors["pets/image"]?[1] = nil
        let captioner = try NearestCaptionCaptioner.make([:])
        let view = try context.dataset(named: "pets")
        let outcomes = try captioner.caption(
            CaptionRequest(dataset: view, items: view.items), context: context)
        #expect(texts(outcomes[0]) == ["three"] && texts(outcomes[2]) == ["five"])
        #expect(texts(outcomes[1]) == nil)
    }

    @Test("no pool, several pools, a bank without captions, and no model are refused clearly")
    func bankErrors() throws {
        let view = makeView("pets", paths: ["a.png"])
        let request = CaptionRequest(dataset: view, items: view.items)

        let none = MemoryContext()
        none.add(view, images: [unit(1)])
        let captioner = try NearestCaptionCaptioner.make([:])
        let noPool = #expect(throws: PluginAPIError.self) {
            try captioner.caption(request, context: none)
        }
        #expect("\(noPool!)".contains("no pool dataset"))

        let two = context()
        two.add(makeView("pool2", role: "pool", paths: ["x"], captions: ["x"]), texts: [unit(1)])
        let several = #expect(throws: PluginAPIError.self) {
            try captioner.caption(request, context: two)
        }
        #expect("\(several!)".contains("pool, pool2"))

        let folderBank = try NearestCaptionCaptioner.make(["bank": "pets"])
        let noCaptions = #expect(throws: PluginAPIError.self) {
            try folderBank.caption(request, context: context())
        }
        #expect("\(noCaptions!)".contains("bank pets has no captions"))

        let noModel = #expect(throws: PluginAPIError.self) {
            try captioner.caption(request, context: MemoryContext(model: ""))
        }
        #expect("\(noModel!)".contains("--model"))

        #expect(throws: PluginAPIError.self) { try NearestCaptionCaptioner.make(["top_k": "0"]) }
    }
}
