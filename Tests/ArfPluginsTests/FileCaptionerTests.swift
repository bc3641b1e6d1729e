// The file captioner: TSV and JSONL caption files keyed by paths relative to the dataset's
// root or absolute, several captions per image in file order, images the file leaves out
// failing alone, and malformed lines or unreadable files failing with the line or path.
import ArfPluginAPI
import FileCaptioner
import Foundation
import Testing

@Suite("file captioner")
struct FileCaptionerTests {
    static let view = makeView(
        "pets", root: "/data/pets", paths: ["cat/1.jpg", "dog/2.jpg", "dog/3.jpg"])

    func write(_ text: String, _ name: String) throws -> String {
        let folder = try temporaryFolder("arf-file-captions")
        let path = folder + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func caption(_ path: String, options: [String: String] = [:]) throws -> [CaptionOutcome] {
        let captioner = try FileCaptioner.make(["path": path].merging(options) { $1 })
        return try captioner.caption(
            CaptionRequest(dataset: Self.view, items: Self.view.items), context: MemoryContext())
    }

    @Test("a TSV with a header, relative and absolute paths, and two captions for one image")
    func readsTSV() throws {
        let path = try write(
            "filepath\tcaption\n"
                + "cat/1.jpg\ta cat on a sofa\n"
                + "/data/pets/dog/2.jpg\ta dog in the snow\n"
                + "cat/1.jpg\ta sleeping cat\r\n"
                + "\n"
                + "other/9.jpg\tnot in the dataset\n",
            "captions.tsv")
        let outcomes = try caption(path)
        #expect(texts(outcomes[0]) == ["a cat on a sofa", "a sleeping cat"])
        #expect(texts(outcomes[1]) == ["a dog in the snow"])
        guard case .failed(let reason) = outcomes[2] else {
            Issue.record("dog/3.jpg is not in the file: \(outcomes[2])")
            return
        }
        #expect(reason.contains("dog/3.jpg") && reason.contains(path))
    }

    @Test("a JSONL file with the path and caption under any of the accepted keys")
    func readsJSONL() throws {
        let path = try write(
            #"{"filepath": "cat/1.jpg", "caption": "a cat"}"# + "\n"
                + #"{"image": "/data/pets/dog/2.jpg", "text": "a dog", "score": 0.9}"# + "\n"
                + #"{"path": "dog/3.jpg", "caption": "another dog"}"# + "\n",
            "blip2.jsonl")
        #expect(try caption(path).map(texts) == [["a cat"], ["a dog"], ["another dog"]])
    }

    @Test("the format option overrides the extension")
    func formatOption() throws {
        let path = try write(#"{"path": "cat/1.jpg", "caption": "a cat"}"# + "\n", "c.txt")
        #expect(throws: PluginAPIError.self) { try caption(path) }
        #expect(texts(try caption(path, options: ["format": "jsonl"])[0]) == ["a cat"])
    }

    @Test("a malformed line fails the job naming the file and the line")
    func malformedLine() throws {
        let tsv = try write("cat/1.jpg\ta cat\ndog/2.jpg without a tab\n", "bad.tsv")
        let error = #expect(throws: PluginAPIError.self) { try caption(tsv) }
        #expect("\(error!)".contains("\(tsv) line 2"), "\(error!)")

        let jsonl = try write(#"{"path": "cat/1.jpg"}"# + "\n", "bad.jsonl")
        let missing = #expect(throws: PluginAPIError.self) { try caption(jsonl) }
        #expect("\(missing!)".contains("line 1: no caption/text"), "\(missing!)")
    }

    @Test("a missing file and a relative path are refused")
    func missingFile() throws {
        let error = #expect(throws: PluginAPIError.self) { try caption("/nonexistent/c.tsv") }
        #expect("\(error!)".contains("cannot read /nonexistent/c.tsv"))
        #expect(throws: PluginAPIError.self) { try FileCaptioner.make(["path": "c.tsv"]) }
    }
}
