// The command captioner with real programs (shell scripts): captions come back in order, an
// image the program reports as failed fails alone, and a program that exits badly, answers
// the wrong number of lines, or overruns its time is an error naming the program and quoting
// its standard error, with the program killed.
import ArfPluginAPI
import CommandCaptioner
import Foundation
import Testing

@Suite("command captioner")
struct CommandCaptionerTests {
    static let view = makeView(
        "pets", root: "/data", paths: ["cat.jpg", "broken.jpg", "dog.jpg", "bird.jpg"])

    init() {
        // A program that exits before reading its input must not kill the test process.
        signal(SIGPIPE, SIG_IGN)
    }

    func script(_ body: String) throws -> String {
        let path = try temporaryFolder("arf-command") + "/captioner.sh"
        try Data(("#!/bin/sh\n" + body).utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        return path
    }

    func caption(_ command: String, options: [String: String] = [:]) throws -> [CaptionOutcome] {
        let captioner = try CommandCaptioner.make(["command": command].merging(options) { $1 })
        return try captioner.caption(
            CaptionRequest(dataset: Self.view, items: Self.view.items), context: MemoryContext())
    }

    @Test("captions come back in order, and the image the program fails on fails alone")
    func failsOneImage() throws {
        let program = try script(
            """
            while read -r path; do
              case "$path" in
                *broken*) echo "error: cannot decode $path"; echo "decoder failed" >&2 ;;
                *) echo "a photo of $(basename "$path" .jpg)" ;;
              esac
            done
            """)
        let outcomes = try caption(program)
        #expect(texts(outcomes[0]) == ["a photo of cat"])
        #expect(outcomes[1] == .failed("cannot decode /data/broken.jpg"))
        #expect(
            texts(outcomes[2]) == ["a photo of dog"] && texts(outcomes[3]) == ["a photo of bird"])
    }

    @Test("a batch option runs the program once per batch with the same result")
    func batches() throws {
        let log = try temporaryFolder("arf-command") + "/runs"
        let program = try script(
            """
            echo run >> \(log)
            while read -r path; do echo "caption of $(basename "$path")"; done
            """)
        let outcomes = try caption(program, options: ["batch": "3"])
        #expect(outcomes.map(texts) == Self.view.items.map { ["caption of \($0.path)"] })
        let runs = try String(contentsOfFile: log, encoding: .utf8)
        #expect(runs == "run\nrun\n", "four images in batches of three: two runs")
    }

    @Test("a program that dies is an error naming it with its standard error")
    func programDies() throws {
        let program = try script("read -r first\necho 'model weights missing' >&2\nexit 3\n")
        let error = #expect(throws: PluginAPIError.self) { try caption(program) }
        let text = "\(error!)"
        #expect(text.contains(program) && text.contains("exited with status 3"), "\(text)")
        #expect(text.contains("model weights missing"), "\(text)")
    }

    @Test("too few answer lines is an error, not a shifted set of captions")
    func tooFewLines() throws {
        let program = try script("cat > /dev/null\necho one\necho two\n")
        let error = #expect(throws: PluginAPIError.self) { try caption(program) }
        #expect("\(error!)".contains("answered 2 lines for 4 images"), "\(error!)")
    }

    @Test("a program slower than its timeout is killed and named")
    func timeout() throws {
        let program = try script("sleep 30\n")
        let start = Date()
        let error = #expect(throws: PluginAPIError.self) {
            try caption(program, options: ["timeout": "0.1"])
        }
        let seconds = Date().timeIntervalSince(start)
        #expect("\(error!)".contains("timed out after 0.4 s for 4 images"), "\(error!)")
        #expect(seconds < 5, "the program was killed after \(seconds) s")
    }

    @Test("a command that cannot run at all fails naming it")
    func missingProgram() throws {
        let error = #expect(throws: PluginAPIError.self) {
            try caption("/nonexistent/captioner --beam 3")
        }
        #expect("\(error!)".contains("/nonexistent/captioner --beam 3"), "\(error!)")
    }
}
