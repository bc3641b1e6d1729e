// Checks the CLIP tokenizer against ids that transformers' CLIPTokenizer gave for the fixture
// texts and for the generated cases (scripts/make-tokenizer-cases.py), and checks truncation,
// decoding, the vocabulary builder and the errors for bad files. Ids must match exactly.
import ArfCLIP
import Foundation
import Testing

@Suite("CLIP tokenizer")
struct TokenizerTests {
    var clipTiny: URL { fixtures.appendingPathComponent("clip-tiny") }

    @Test("every fixture's texts encode to the ids transformers gave")
    func fixtureCasesMatchTransformers() throws {
        let folders = try caseFolders()
        #expect(!folders.isEmpty, "no fixture folder with cases.json and vocab.json")
        for folder in folders {
            let cases = try readJSON(folder.appendingPathComponent("cases.json"))
            let texts = try #require(cases["texts"] as? [String], "\(folder.path) has no texts")
            let expected = try idRows(cases["input_ids"])
            #expect(texts.count == expected.count && !texts.isEmpty)
            let context = try #require(expected.first?.count)
            let tokenizer = try CLIPTokenizer(directory: folder, contextLength: context)
            for (text, ids) in zip(texts, expected) {
                let got = tokenizer.encode(text)
                let same = got == ids
                let name = folder.lastPathComponent
                #expect(same, "\(name) \(text.debugDescription): \(firstDifference(got, ids))")
            }
        }
    }

    @Test("generated texts encode and decode as transformers does")
    func generatedCasesMatchTransformers() throws {
        let document = try readJSON(fixtures.appendingPathComponent("tokenizer-cases.json"))
        let folder = try #require(document["vocabulary"] as? String)
        let context = try #require(document["context_length"] as? Int)
        let cases = try #require(document["cases"] as? [[String: Any]])
        #expect(cases.count >= 300)
        let tokenizer = try CLIPTokenizer(
            directory: fixtures.appendingPathComponent(folder), contextLength: context)
        var mismatches = 0
        for entry in cases {
            let text = try #require(entry["text"] as? String)
            let ids = try #require(entry["input_ids"] as? [NSNumber]).map { $0.int32Value }
            let decoded = try #require(entry["decoded"] as? String)
            let got = tokenizer.encode(text)
            let sameIds = got == ids
            let sameText = tokenizer.decode(ids) == decoded
            if !sameIds || !sameText { mismatches += 1 }
            #expect(sameIds, "\(text.debugDescription): \(firstDifference(got, ids))")
            #expect(sameText, "decoding \(text.debugDescription) gave \(tokenizer.decode(ids))")
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) cases differ")
    }

    @Test("a long text is cut to the context with the end token last")
    func truncationKeepsTheEndToken() throws {
        let text = Array(repeating: "a photo of a dog", count: 60).joined(separator: " ")
        for context in [77, 16, 2] {
            let tokenizer = try CLIPTokenizer(directory: clipTiny, contextLength: context)
            let ids = tokenizer.tokens(text)
            #expect(ids.count == context)
            #expect(ids.first == tokenizer.startToken)
            #expect(ids.last == tokenizer.endToken)
            #expect(tokenizer.encode(text) == ids)
        }
        let full = try CLIPTokenizer(directory: clipTiny, contextLength: 1000).tokens(text)
        let short = try CLIPTokenizer(directory: clipTiny, contextLength: 16).tokens(text)
        #expect(Array(full.prefix(15)) + [full.last!] == short)
    }

    @Test("a short text is padded with the pad token, the end token by default")
    func paddingFillsTheContext() throws {
        let tokenizer = try CLIPTokenizer(directory: clipTiny)
        let tokens = tokenizer.tokens("a photo of a dog")
        let ids = tokenizer.encode("a photo of a dog")
        #expect(tokens.count == 7 && ids.count == 77)
        #expect(Array(ids.prefix(7)) == tokens)
        #expect(ids.dropFirst(7).allSatisfy { $0 == tokenizer.padToken })
        #expect(tokenizer.padToken == tokenizer.endToken)
        #expect(tokenizer.encode(["a dog", "a cat"]) == [tokenizer.encode("a dog"),
            tokenizer.encode("a cat")])
    }

    @Test("decoding inverts encoding for plain lower-case text")
    func decodeInvertsEncode() throws {
        let tokenizer = try CLIPTokenizer(directory: clipTiny)
        #expect(tokenizer.vocabularySize == 49408)
        for text in [
            "a photo of a dog", "two small red stars on a striped background",
            "an extraordinarily unphotogenic hippopotamus", "x", "",
        ] {
            #expect(tokenizer.decode(tokenizer.encode(text)) == text)
        }
    }

    @Test("a trained vocabulary round-trips through its files")
    func builderRoundTrips() throws {
        let (vocab, merges) = CLIPTokenizer.train(corpus: toyCorpus, mergeCount: 10_000)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try CLIPTokenizer.write(vocab: vocab, merges: merges, to: directory)

        // Bytes, bytes ending a word, merges, then the two special tokens, as OpenAI orders.
        let byId = vocab.sorted { $0.value < $1.value }.map(\.key)
        #expect(byId.count == vocab.count && vocab.values.max() == vocab.count - 1)
        #expect(byId[0] == "!" && byId[255].unicodeScalars.count == 1)
        #expect(byId[256] == "!</w>" && byId[511].hasSuffix("</w>"))
        #expect(byId.suffix(2) == ["<|startoftext|>", "<|endoftext|>"])
        #expect(Set(merges.map { $0.0 + $0.1 }) == Set(byId[512..<(byId.count - 2)]))
        let mergesText = try String(
            contentsOf: directory.appendingPathComponent("merges.txt"), encoding: .utf8)
        #expect(mergesText.hasPrefix("#version: 0.2\n"))

        // With merges run to the end, every word of the corpus is one token.
        let tokenizer = try CLIPTokenizer(directory: directory)
        #expect(tokenizer.vocabularySize == vocab.count)
        for text in toyCorpus where !text.contains(where: \.isPunctuation) {
            let words = text.split(separator: " ").count
            #expect(tokenizer.tokens(text).count == words + 2, "\(text)")
            #expect(tokenizer.decode(tokenizer.encode(text)) == text)
        }
        let punctuated = tokenizer.tokens("the dog's toy, 3 stars!")
        #expect(punctuated.count == 8 + 2)
        #expect(tokenizer.decode(punctuated) == "the dog 's toy , 3 stars !")

        // A few merges still cover every byte: unseen text decodes intact.
        let (smallVocab, fewMerges) = CLIPTokenizer.train(corpus: toyCorpus, mergeCount: 20)
        #expect(fewMerges.count == 20 && smallVocab.count <= 512 + 20 + 2)
        try CLIPTokenizer.write(vocab: smallVocab, merges: fewMerges, to: directory)
        let small = try CLIPTokenizer(directory: directory)
        for text in toyCorpus + ["zebra \u{1F993} über"] {
            let decoded = small.decode(small.encode(text))
            #expect(decoded.filter { !$0.isWhitespace } == text.filter { !$0.isWhitespace })
        }
        #expect(CLIPTokenizer.train(corpus: toyCorpus, mergeCount: 20).merges.map { $0.0 + $0.1 }
            == fewMerges.map { $0.0 + $0.1 })
    }

    @Test("the pad token comes from the checkpoint's configs, special_tokens_map first")
    func padTokenFromConfig() throws {
        let (vocab, merges) = CLIPTokenizer.train(corpus: toyCorpus, mergeCount: 50)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try CLIPTokenizer.write(vocab: vocab, merges: merges, to: directory)
        let config = directory.appendingPathComponent("tokenizer_config.json")
        try Data(#"{"pad_token": "!", "model_max_length": 77}"#.utf8).write(to: config)
        let bang = try CLIPTokenizer(directory: directory, contextLength: 8)
        #expect(bang.padToken == Int32(vocab["!"]!))
        #expect(bang.encode("dog").suffix(5).allSatisfy { $0 == bang.padToken })
        // The pad text is a special token, so transformers matches it in the raw text too.
        let dog = bang.tokens("dog")
        #expect(bang.tokens("dog!") == Array(dog.dropLast()) + [bang.padToken, bang.endToken])

        let map = directory.appendingPathComponent("special_tokens_map.json")
        try Data(#"{"pad_token": {"content": "<|startoftext|>"}}"#.utf8).write(to: map)
        let start = try CLIPTokenizer(directory: directory)
        #expect(start.padToken == start.startToken)
        let plain = try CLIPTokenizer(
            vocabulary: directory.appendingPathComponent("vocab.json"),
            merges: directory.appendingPathComponent("merges.txt"))
        #expect(plain.padToken == plain.endToken)
    }

    @Test("a missing or malformed file gives an error naming it")
    func badFilesAreNamed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func failure(_ load: () throws -> CLIPTokenizer) -> String {
            do {
                _ = try load()
                return "no error"
            } catch {
                #expect(error is TokenizerError)
                return "\(error)"
            }
        }
        let vocabURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        let load = { try CLIPTokenizer(directory: directory) }
        #expect(failure(load).contains(vocabURL.path))

        try Data("{\"a\": 0, \"b\": ".utf8).write(to: vocabURL)
        #expect(failure(load).contains("malformed vocabulary \(vocabURL.path)"))
        try Data(#"{"a": "zero"}"#.utf8).write(to: vocabURL)
        #expect(failure(load).contains("malformed vocabulary \(vocabURL.path)"))

        let (vocab, merges) = CLIPTokenizer.train(corpus: toyCorpus, mergeCount: 5)
        try CLIPTokenizer.write(vocab: vocab, merges: merges, to: directory)
        try FileManager.default.removeItem(at: mergesURL)
        #expect(failure(load).contains(mergesURL.path))
        try Data("#version: 0.2\na </w>\nab\n".utf8).write(to: mergesURL)
        #expect(failure(load).contains("\(mergesURL.path) line 2"))
        let first = "\(merges[0].0) \(merges[0].1)"
        try Data("#version: 0.2\n\(first)\nd o g\n".utf8).write(to: mergesURL)
        #expect(failure(load).contains("\(mergesURL.path) line 3"))

        try Data("{\"pad_token\": 3}".utf8).write(
            to: directory.appendingPathComponent("tokenizer_config.json"))
        try CLIPTokenizer.write(vocab: vocab, merges: merges, to: directory)
        #expect(failure(load).contains("tokenizer_config.json"))
        #expect(throws: TokenizerError.self) {
            try CLIPTokenizer.write(vocab: vocab, merges: [("a b", "c")], to: directory)
        }
    }

    @Test("encoding from many tasks at once gives the serial ids")
    func concurrentEncodingAgrees() async throws {
        let tokenizer = try CLIPTokenizer(directory: clipTiny)
        let texts = (0..<400).map { "caption \($0 % 37): a photo of \($0 % 11) dogs, naïve" }
        let serial = tokenizer.encode(texts)
        let results = await withTaskGroup(of: [[Int32]].self) { group in
            for _ in 0..<4 { group.addTask { tokenizer.encode(texts) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 4 && results.allSatisfy { $0 == serial })
    }
}

/// Where the tests find their fixtures, and the helpers they share.
extension TokenizerTests {
    fileprivate var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    /// Folders under Tests/Fixtures with cases.json and vocab.json, and those in
    /// ARF_EXTRA_FIXTURES (colon-separated).
    fileprivate func caseFolders() throws -> [URL] {
        let manager = FileManager.default
        var folders = try manager.contentsOfDirectory(
            at: fixtures, includingPropertiesForKeys: nil
        ).sorted { $0.path < $1.path }
        let extra = ProcessInfo.processInfo.environment["ARF_EXTRA_FIXTURES"] ?? ""
        folders += extra.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        return folders.filter { folder in
            ["cases.json", "vocab.json"].allSatisfy {
                manager.fileExists(atPath: folder.appendingPathComponent($0).path)
            }
        }
    }

    fileprivate func readJSON(_ url: URL) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        return try #require(object as? [String: Any], "\(url.path) is not a JSON object")
    }

    fileprivate func idRows(_ value: Any?) throws -> [[Int32]] {
        let rows = try #require(value as? [[NSNumber]], "input_ids is not a list of lists")
        return rows.map { $0.map { $0.int32Value } }
    }

    /// Where two id lists first differ, for failure messages.
    fileprivate func firstDifference(_ a: [Int32], _ b: [Int32]) -> String {
        guard let index = zip(a, b).enumerated().first(where: { $1.0 != $1.1 })?.offset else {
            return "lengths \(a.count) and \(b.count)"
        }
        return "index \(index): \(a[index]) instead of \(b[index])"
    }

    fileprivate func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("arf-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    fileprivate var toyCorpus: [String] {
        [
            "a photo of a dog", "a photo of two cats", "two small red stars",
            "a sketch of a red star on a striped background", "the dog's toy, 3 stars!",
            "naïve café",
        ]
    }
}
