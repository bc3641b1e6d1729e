// arfd's life across stops: SIGTERM during a job stops it cleanly at a step that is committed,
// and the next start resumes it without recomputing stored items; kill -9 during a job leaves
// a store that opens with every committed embedding, and the job is resumed as interrupted.
// Also: the socket is private (mode 0600), a data folder serves one daemon, the job registry
// survives restarts, and the config file is read and checked.
import ArfWire
import Foundation
import Testing

@Suite("Restarts and shutdown")
struct RestartTests {
    @Test("SIGTERM during a job stops cleanly, and the restarted daemon resumes it")
    func sigtermThenResume() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        var client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 300, in: daemon.folder)
        let id = try submitEmbedFolder(client, folder: folder, batch: 10, maxRate: 150)
        let seen = try watchJob(client, id) { $0.step >= 60 }
        #expect(seen.state == .running)

        let status = try daemon.terminate()
        #expect(status == 0, "arfd exit status after SIGTERM:\n\(daemon.log)")
        #expect(daemon.log.contains("because arfd was shutting down"))
        #expect(daemon.log.contains("store closed"))

        try daemon.start()
        client = try daemon.client()
        let end = try watchJob(client, id)
        #expect(end.state == .succeeded, "\(end)")
        let result = try FolderResult(end.resultJSON)
        #expect(result.skipped >= Int(seen.step), "stored before the stop: \(result.skipped)")
        #expect(result.embedded > 0, "the job stopped before finishing")
        #expect(result.skipped + result.embedded == 300)
        let stored = try client.call(
            Methods.listStored, ListStoredRequest(model: "tiny", folder: folder, limit: 1))
        #expect(stored.total == 300)
    }

    @Test("after kill -9 during a job the store opens, keeps its commits, and the job resumes")
    func killNineThenResume() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        var client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 300, in: daemon.folder)
        let id = try submitEmbedFolder(client, folder: folder, batch: 10, maxRate: 150)
        let seen = try watchJob(client, id) { $0.step >= 60 }
        let early = try client.call(
            Methods.listStored, ListStoredRequest(model: "tiny", folder: folder, limit: 10))
        try daemon.killHard()

        try daemon.start()
        client = try daemon.client()
        let recovered = try #require(
            try client.call(Methods.listJobs, ListJobsRequest()).jobs.first { $0.id == id })
        #expect(recovered.state != .failed, "\(recovered)")

        // Embeddings committed before the kill are there, bit for bit.
        let after = try client.call(
            Methods.listStored, ListStoredRequest(model: "tiny", folder: folder, limit: 10))
        #expect(after.embeddings.map(\.input) == early.embeddings.map(\.input))
        #expect(after.embeddings.map(\.values) == early.embeddings.map(\.values))

        let end = try watchJob(client, id)
        #expect(end.state == .succeeded, "\(end)")
        let result = try FolderResult(end.resultJSON)
        #expect(result.skipped >= Int(seen.step), "committed before the kill: \(result.skipped)")
        #expect(result.embedded > 0 && result.skipped + result.embedded == 300, "\(end)")
        #expect(daemon.log.contains("interrupted=1"), "recovery counted the interrupted job")
        #expect(daemon.log.contains("job started job=\(id) kind=embed-folder run=2"))
    }

    @Test("the job registry survives a restart with states, parameters and results")
    func jobRegistrySurvivesRestart() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        var client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 12, in: daemon.folder)
        let id = try submitEmbedFolder(client, folder: folder)
        let end = try watchJob(client, id)
        let before = try client.call(Methods.listJobs, ListJobsRequest()).jobs
        #expect(try daemon.terminate() == 0)

        try daemon.start()
        client = try daemon.client()
        let after = try client.call(Methods.listJobs, ListJobsRequest()).jobs
        #expect(after == before)
        #expect(after.first?.state == .succeeded)
        #expect(after.first?.resultJSON == end.resultJSON)
        #expect(after.first?.paramsJSON.contains(folder) == true)
        let next = try submitEmbedFolder(client, folder: folder)
        #expect(next != id, "job ids are not reused after a restart")
    }

    @Test("jobs prune forgets ended jobs beyond the newest kept, never a live one, for good")
    func pruneEndedJobs() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        var client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 12, in: daemon.folder)
        let done = try (0..<3).map { _ in try submitEmbedFolder(client, folder: folder) }
        for id in done { #expect(try watchJob(client, id).state == .succeeded) }
        let slow = try imageFolder(count: 200, in: daemon.folder + "/slow")
        let running = try submitEmbedFolder(client, folder: slow, batch: 4, maxRate: 20)
        _ = try watchJob(client, running) { $0.step >= 4 }

        let young = daemon.arf("jobs", "prune", "--older-than", "1d", "--keep", "0", "--json")
        #expect(try jsonObject(young)["removed"] as? [String] == [], "\(young)")
        let pruned = daemon.arf("jobs", "prune", "--keep", "1", "--json")
        #expect(pruned.code == 0, "\(pruned)")
        #expect(try jsonObject(pruned)["removed"] as? [String] == Array(done.prefix(2)))
        #expect(try jsonObject(pruned)["remaining"] as? Int == 2)
        let bad = daemon.arf("jobs", "prune", "--older-than", "7x")
        #expect(bad.code == 2 && bad.error.contains("such as 90s"), "\(bad)")

        #expect(try daemon.terminate() == 0)
        try daemon.start()
        client = try daemon.client()
        let ids = try client.call(Methods.listJobs, ListJobsRequest()).jobs.map(\.id)
        #expect(ids == [done[2], running], "pruned jobs stay gone after a restart")
        _ = try client.call(Methods.cancelJob, CancelJobRequest(jobID: running))
    }

    @Test("the socket is private to its owner: mode 0600")
    func socketIsPrivate() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        var info = stat()
        #expect(stat(daemon.socket, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test("a second daemon on the same data folder is refused")
    func dataFolderServesOneDaemon() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let second = try daemon.launch([
            "--socket", daemon.folder + "/other.sock", "--data", daemon.data,
        ])
        second.waitUntilExit()
        #expect(second.terminationStatus == 1)
        #expect(daemon.log.contains("another arfd is using the data folder"))
        #expect(try daemon.client().call(Methods.status, StatusRequest()).pid > 0)
    }

    @Test("the config file sets threads and is checked for unknown keys")
    func configFile() throws {
        let daemon = try DaemonProcess(start: false)
        defer { daemon.cleanup() }
        let config = daemon.folder + "/arfd.json"
        try Data(#"{"allowed_uids": [4242], "threads": 1, "inference_slots": 3}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        try daemon.start(extraArguments: ["--config", config])
        #expect(try daemon.client().call(Methods.status, StatusRequest()).threads == 1)
        let listening = daemon.log.split(separator: "\n").first { $0.contains(" listening ") }
        #expect(listening?.contains("4242") == true, "\(String(describing: listening))")
        #expect(try daemon.terminate() == 0)

        try Data(#"{"thread": 2}"#.utf8).write(to: URL(fileURLWithPath: config))
        let refused = try daemon.launch([
            "--data", daemon.data, "--socket", daemon.socket, "--config", config,
        ])
        refused.waitUntilExit()
        #expect(refused.terminationStatus == 2)
        #expect(daemon.log.contains("unknown key thread"))
    }
}
