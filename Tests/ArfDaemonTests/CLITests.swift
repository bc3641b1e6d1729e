// The arf command line against a real arfd: exit codes (0 success, 1 failure, 2 usage), an
// error as one "arf:" line plus a "hint:" line, --json output that scripts can parse for
// every command, --help everywhere, and a clear message when no daemon is running.
import ArfClient
import ArfWire
import Foundation
import Testing

@Suite("arf command line")
struct CLITests {
    @Test("without a daemon: cannot reach arfd, with the way to start it, exit 1")
    func noDaemon() throws {
        let folder = try temporaryFolder("arfcli")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (console, captured) = Console.capturing()
        let code = ArfCLI.run(["--socket", folder + "/none.sock", "status"], console: console)
        #expect(code == 1)
        let lines = captured.error.split(separator: "\n")
        #expect(lines.count == 2, "\(captured.error)")
        #expect(
            lines.first
                == "arf: cannot reach arfd at \(folder)/none.sock: No such file or directory")
        #expect(lines.last == "hint: start it with: arfd --data DIR")
        #expect(captured.output.isEmpty)
    }

    @Test("usage mistakes exit 2 with a hint, before anything is sent")
    func usageMistakes() throws {
        let (console, captured) = Console.capturing()
        // No daemon at this socket: a usage error must be found without connecting.
        let socket = "/tmp/arf-no-daemon-\(getpid()).sock"
        let cases: [[String]] = [
            [], ["bogus"], ["model"], ["model", "load", "onlyname"], ["embed", "--text", "x"],
            ["embed", "--model", "m"], ["classify", "--model", "m", "a.png"],
            ["classify", "--model", "m", "--labels", "a", "--top", "zero", "a.png"],
            ["jobs", "watch"], ["status", "--frobnicate"], ["embed-folder", "--model", "m"],
            ["status", "--json=yes"],
        ]
        for words in cases {
            let code = ArfCLI.run(["--socket", socket] + words, console: console)
            #expect(code == 2, "arf \(words.joined(separator: " ")) exited \(code)")
        }
        #expect(!captured.error.contains("cannot reach"), "\(captured.error)")
        let errors = captured.error.split(separator: "\n").filter { $0.hasPrefix("arf: ") }
        #expect(errors.count == cases.count - 1, "the bare 'arf' prints usage instead")
    }

    @Test("--help works on every command and subcommand and exits 0")
    func helpEverywhere() {
        let commands: [[String]] = [
            [], ["status"], ["model"], ["model", "load"], ["model", "list"], ["embed"],
            ["classify"], ["embed-folder"], ["jobs"], ["jobs", "list"], ["jobs", "watch"],
            ["jobs", "cancel"], ["embeddings", "list"],
        ]
        for words in commands {
            let (console, captured) = Console.capturing()
            #expect(ArfCLI.run(words + ["--help"], console: console) == 0)
            let expected = "usage: arf " + (words.first.map { $0 } ?? "")
            #expect(captured.output.contains(expected), "help for \(words): \(captured.output)")
        }
        let (console, captured) = Console.capturing()
        #expect(ArfCLI.run(["model", "load", "-h"], console: console) == 0)
        #expect(captured.output.contains("--replace"))
    }

    @Test("every command prints JSON that parses, and failures exit 1 with arf: and hint:")
    func jsonOutputsAndFailures() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }

        let status = daemon.arf("status", "--json")
        #expect(status.code == 0, "\(status)")
        let state = try #require(try status.jsonLines().first)
        #expect(state["version"] as? String == "0.1.0")
        #expect(state["threads"] as? Int == 1)

        let load = daemon.arf("--json", "model", "load", "tiny", Fixture.checkpoint)
        #expect(load.code == 0, "\(load)")
        let loaded = try #require(try load.jsonLines().first)
        #expect(loaded["name"] as? String == "tiny" && loaded["loaded"] as? Bool == true)
        let again = daemon.arf("model", "load", "tiny", Fixture.checkpoint)
        #expect(again.code == 1)
        #expect(again.error.hasPrefix("arf: a model named tiny is already registered"))
        #expect(again.error.contains("\nhint: pass --replace"))

        let list = daemon.arf("model", "list", "--json")
        let models = try #require(
            try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]])
        #expect(models.count == 1 && models[0]["directory"] as? String == Fixture.checkpoint)
        let table = daemon.arf("model", "list")
        #expect(table.lines.first?.hasPrefix("NAME") == true && table.lines.count == 2, "\(table)")

        let images = try Fixture.images()
        let classify = daemon.arf(
            ["--json", "classify", "--model", "tiny", "--labels", "dog, cat ,disc", "--top", "2"]
                + images)
        #expect(classify.code == 0, "\(classify)")
        let ranked = try classify.jsonLines()
        #expect(ranked.count == images.count)
        #expect(ranked.map { $0["input"] as? String ?? "" } == images)
        for line in ranked {
            let scores = try #require(line["ranked"] as? [[String: Any]])
            #expect(scores.count == 2)
            #expect(
                scores.allSatisfy { ["dog", "cat", "disc"].contains($0["label"] as? String ?? "") })
        }
        let readable = daemon.arf(["classify", "--model", "tiny", "--labels", "dog,cat"] + images)
        #expect(readable.code == 0 && readable.lines.count == images.count * 3, "\(readable)")

        let missing = daemon.arf("embed", "--model", "tiny", "--image", daemon.folder + "/no.png")
        #expect(missing.code == 1)
        #expect(missing.error.hasPrefix("arf: cannot read \(daemon.folder)/no.png"), "\(missing)")
        #expect(missing.error.contains("hint: "))

        let folder = try imageFolder(count: 10, in: daemon.folder)
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: folder + "/broken.png"))
        let detached = daemon.arf("--json", "embed-folder", "--model", "tiny", folder, "--detach")
        #expect(detached.code == 0, "\(detached)")
        let job = try #require(try detached.jsonLines().first)
        let id = try #require(job["id"] as? String)
        #expect(job["kind"] as? String == "embed-folder")
        let watched = daemon.arf("jobs", "watch", id)
        #expect(watched.code == 0, "\(watched)")
        #expect(watched.output.contains("job \(id) succeeded: embedded 10 images"))
        #expect(watched.output.contains("  skipped broken.png: \(folder)/broken.png is neither"))

        let jobs = daemon.arf("jobs", "list", "--json")
        let listed = try #require(
            try JSONSerialization.jsonObject(with: Data(jobs.output.utf8)) as? [[String: Any]])
        #expect(listed.first?["state"] as? String == "succeeded")
        #expect((listed.first?["params"] as? [String: Any])?["folder"] as? String == folder)
        let cancel = daemon.arf("--json", "jobs", "cancel", id)
        #expect(cancel.code == 0 && cancel.output.contains("\"state\": \"succeeded\""), "\(cancel)")
        let unknownJob = daemon.arf("jobs", "watch", "77")
        #expect(unknownJob.code == 1 && unknownJob.error.hasPrefix("arf: no job with id 77"))

        let stored = daemon.arf("--json", "embeddings", "list", "--model", "tiny", folder)
        #expect(stored.code == 0 && stored.lines.count == 10, "\(stored)")
    }

    @Test("a failed or cancelled job makes jobs watch exit 1")
    func failedJobExitsOne() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 100, in: daemon.folder)
        let id = try submitEmbedFolder(client, folder: folder, batch: 5, maxRate: 50)
        try watchJob(client, id) { $0.step >= 5 }
        _ = try client.call(Methods.cancelJob, CancelJobRequest(jobID: id))

        let watched = daemon.arf("jobs", "watch", id)
        #expect(watched.code == 1, "\(watched)")
        let lines = watched.error.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("arf: job \(id) cancelled") }, "\(watched)")
        #expect(lines.last?.hasPrefix("hint: ") == true)
    }
}
