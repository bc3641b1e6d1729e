// Inference through a real arfd: embeddings of texts and images against the reference the
// fixture's transformers run saved, argument order kept across interleaved inputs, zero-shot
// classification against probabilities recomputed here from the daemon's own embeddings, and
// 32 classify calls at once answered exactly like a single one.
import ArfWire
import Foundation
import Testing

@Suite("Inference through arfd")
struct InferenceTests {
    @Test("text embeddings match the reference within 1e-4 relative")
    func textEmbeddingsMatchReference() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)

        let texts = try Fixture.texts()
        let expected = try Fixture.expected("text_embeds")
        try #require(texts.count == expected.count && !texts.isEmpty)
        let reply = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: texts.map(EmbedInput.text)))
        #expect(reply.embeddings.count == texts.count)
        for (index, (embedding, reference)) in zip(reply.embeddings, expected).enumerated() {
            let error = relativeError(embedding.values, reference)
            #expect(
                error.relative < 1e-4,
                "text \(index): relative \(error.relative), largest difference \(error.largest)")
            #expect(embedding.kind == .text && embedding.input == texts[index])
        }
    }

    @Test("image embeddings of files match the reference within 2e-2 relative")
    func imageEmbeddingsMatchReference() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)

        let images = try Fixture.images()
        let expected = try Fixture.expected("image_embeds")
        try #require(images.count == expected.count && !images.isEmpty)
        let reply = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: images.map(EmbedInput.imagePath)))
        for (index, (embedding, reference)) in zip(reply.embeddings, expected).enumerated() {
            let error = relativeError(embedding.values, reference)
            #expect(
                error.relative < 2e-2,
                "image \(images[index]): relative \(error.relative), largest \(error.largest)")
        }

        // The same image sent as bytes embeds exactly as by path.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: images[0])))
        let byBytes = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: [.imageBytes(bytes)]))
        let error = relativeError(byBytes.embeddings[0].values, reply.embeddings[0].values)
        #expect(error.largest < 1e-6, "bytes against path: largest \(error.largest)")
    }

    @Test("arf embed --json prints one line per input in argument order, interleaved")
    func embedKeepsArgumentOrder() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        try loadTiny(try daemon.client())
        let images = try Fixture.images()
        let texts = try Fixture.texts()

        let result = daemon.arf(
            "embed", "--model", "tiny", "--text", texts[0], "--image", images[1], "--text",
            texts[2], "--image", images[0], "--json")
        #expect(result.code == 0, "\(result)")
        let lines = try result.jsonLines()
        let kinds = lines.map { $0["kind"] as? String ?? "" }
        let inputs = lines.map { $0["input"] as? String ?? "" }
        #expect(kinds == ["text", "image", "text", "image"])
        #expect(inputs == [texts[0], images[1], texts[2], images[0]])

        let expectedTexts = try Fixture.expected("text_embeds")
        let first = (lines[0]["embedding"] as? [Double] ?? []).map(Float.init)
        let error = relativeError(first, expectedTexts[0])
        #expect(error.relative < 1e-4, "text 0 via the CLI: relative \(error.relative)")
    }

    @Test("classify ranks labels with the probabilities the embeddings imply")
    func classifyMatchesEmbeddings() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)
        let images = try Fixture.images()
        let labels = ["dog", "striped pattern", "red disc", "noise"]
        let templates = ["a photo of a {}.", "a drawing of a {}"]

        let reply = try client.call(
            Methods.classify,
            ClassifyRequest(
                model: "tiny", labels: labels, templates: templates,
                images: images.map(ImageInput.path), topK: 0))

        // Recompute: class embedding = normalised mean over templates, softmax of scaled cosines.
        let prompts = labels.flatMap { label in
            templates.map { $0.replacingOccurrences(of: "{}", with: label) }
        }
        let textRows = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: prompts.map(EmbedInput.text))
        ).embeddings.map(\.values)
        let imageRows = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: images.map(EmbedInput.imagePath))
        ).embeddings.map(\.values)
        let classes = labels.indices.map { index -> [Float] in
            let group = textRows[(index * templates.count)..<((index + 1) * templates.count)]
            var mean = [Float](repeating: 0, count: group.first!.count)
            for row in group { for k in mean.indices { mean[k] += row[k] } }
            let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return mean.map { $0 / norm }
        }
        let scale = exp(Double(try Fixture.logitScale()))
        #expect(reply.results.count == images.count)
        for (result, image) in zip(reply.results, imageRows) {
            let logits = classes.map { c in
                scale * Double(zip(image, c).reduce(0) { $0 + $1.0 * $1.1 })
            }
            let peak = logits.max()!
            let exps = logits.map { exp($0 - peak) }
            let sum = exps.reduce(0, +)
            var largest = 0.0
            for score in result.ranked {
                let index = labels.firstIndex(of: score.label)!
                largest = max(largest, abs(Double(score.probability) - exps[index] / sum))
            }
            #expect(largest < 1e-4, "\(result.input): largest probability difference \(largest)")
            let probabilities = result.ranked.map(\.probability)
            #expect(probabilities == probabilities.sorted(by: >), "ranked most probable first")
            #expect(Set(result.ranked.map(\.label)) == Set(labels))
        }
    }

    @Test("32 concurrent classify calls all get the answer a single call gets")
    func concurrentClassify() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        try loadTiny(try daemon.client())
        let request = ClassifyRequest(
            model: "tiny", labels: ["dog", "cat", "disc", "stripes", "noise"],
            images: try Fixture.images().map(ImageInput.path), topK: 3)
        let single = try daemon.client().call(Methods.classify, request)

        final class Answers: @unchecked Sendable {
            let lock = NSLock()
            var replies: [ClassifyReply] = []
            var errors: [String] = []
        }
        let answers = Answers()
        let group = DispatchGroup()
        for index in 0..<32 {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let reply = try WireClient.connect(socketPath: daemon.socket)
                        .call(Methods.classify, request, timeout: 60)
                    answers.lock.withLock { answers.replies.append(reply) }
                } catch {
                    answers.lock.withLock { answers.errors.append("call \(index): \(error)") }
                }
            }.start()
        }
        group.wait()

        #expect(answers.errors.isEmpty, "\(answers.errors)")
        #expect(answers.replies.count == 32)
        for reply in answers.replies {
            #expect(
                reply.results.map { $0.ranked.map(\.label) }
                    == single.results.map { $0.ranked.map(\.label) })
            var largest: Float = 0
            for (a, b) in zip(reply.results, single.results) {
                for (x, y) in zip(a.ranked, b.ranked) {
                    largest = max(largest, abs(x.probability - y.probability))
                }
            }
            #expect(largest <= 1e-6, "probabilities differ from a single call by \(largest)")
        }
    }

    @Test("a bad input is an error naming it, and the daemon keeps answering")
    func badInputsAreErrors() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)

        let missing = daemon.folder + "/missing.png"
        let notFound = failure {
            try client.call(
                Methods.embed, EmbedRequest(model: "tiny", inputs: [.imagePath(missing)]))
        }
        #expect(notFound?.code == .notFound, "\(String(describing: notFound))")
        #expect(notFound?.message.contains(missing) == true)

        let garbage = failure {
            try client.call(
                Methods.embed, EmbedRequest(model: "tiny", inputs: [.imageBytes([1, 2, 3])]))
        }
        #expect(garbage?.code == .invalidArgument, "\(String(describing: garbage))")

        let unknown = failure {
            try client.call(Methods.embed, EmbedRequest(model: "nope", inputs: [.text("x")]))
        }
        #expect(unknown?.code == .notFound, "\(String(describing: unknown))")
        #expect(unknown?.hint.contains("tiny") == true, "the hint names the loaded models")

        let image = try Fixture.images()[0]
        let noLabels = failure {
            try client.call(
                Methods.classify, ClassifyRequest(model: "tiny", images: [.path(image)]))
        }
        #expect(noLabels?.code == .invalidArgument)
        let reply = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: [.text("ok")]))
        #expect(reply.embeddings.count == 1)
    }
}
