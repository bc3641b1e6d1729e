// The embed-folder job through a real arfd: every image is stored exactly as Embed computes
// it, corrupt files are reported and skipped, a second run computes nothing, cancel works for
// queued and running jobs, and a watching client killed mid-stream leaves the job running for
// `arf jobs watch` to pick up again.
import ArfWire
import Foundation
import Testing

@Suite("Embed-folder jobs")
struct EmbedFolderJobTests {
    @Test("stores every image as Embed computes it, and skips corrupt files naming them")
    func storesEmbeddingsAndSkipsCorruptFiles() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 60, in: daemon.folder)
        try Data("this is not an image".utf8).write(
            to: URL(fileURLWithPath: folder + "/broken.png"))
        let jpeg = try Data(
            contentsOf: URL(fileURLWithPath: Fixture.checkpoint + "/images/stripes.jpg"))
        try jpeg.prefix(200).write(to: URL(fileURLWithPath: folder + "/nested/cut.jpg"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: folder + "/readme.txt"))

        let id = try submitEmbedFolder(client, folder: folder)
        let end = try watchJob(client, id)
        #expect(end.state == .succeeded, "\(end)")
        let result = try FolderResult(end.resultJSON)
        #expect(result.total == 62, "the text file is not an image")
        #expect(result.embedded == 60 && result.skipped == 0 && result.failed == 2)
        #expect(Set(result.failures.map(\.path)) == ["broken.png", "nested/cut.jpg"])
        #expect(result.failures.allSatisfy { $0.error.contains(folder) }, "errors name the file")

        // The stored vectors are what Embed computes for the same files.
        let stored = try client.call(
            Methods.listStored, ListStoredRequest(model: "tiny", folder: folder, limit: 5))
        #expect(stored.total == 60 && stored.embeddings.count == 5)
        let direct = try client.call(
            Methods.embed,
            EmbedRequest(
                model: "tiny",
                inputs: stored.embeddings.map { .imagePath(folder + "/" + $0.input) }))
        for (kept, fresh) in zip(stored.embeddings, direct.embeddings) {
            let error = relativeError(kept.values, fresh.values)
            #expect(error.largest < 1e-6, "\(kept.input): largest difference \(error.largest)")
        }

        // Paging continues after the last item of the previous page.
        let next = try client.call(
            Methods.listStored,
            ListStoredRequest(
                model: "tiny", folder: folder, limit: 100, after: stored.embeddings.last!.input))
        #expect(next.embeddings.count == 55)
        #expect(Set(next.embeddings.map(\.input)).isDisjoint(with: stored.embeddings.map(\.input)))

        // A second run finds everything stored and computes nothing.
        let again = try watchJob(client, try submitEmbedFolder(client, folder: folder))
        let second = try FolderResult(again.resultJSON)
        #expect(second.embedded == 0 && second.skipped == 60 && second.failed == 2, "\(again)")

        // Forgetting the model drops what was stored under it; the folder stays.
        let removed = try client.call(Methods.removeModel, RemoveModelRequest(name: "tiny"))
        #expect(removed.embeddings == 60)
        #expect(try client.call(Methods.listModels, ListModelsRequest()).models.isEmpty)
        #expect(FileManager.default.fileExists(atPath: Fixture.checkpoint + "/config.json"))
        try loadTiny(client)
        let fresh = try client.call(
            Methods.listStored, ListStoredRequest(model: "tiny", folder: folder, limit: 5))
        #expect(fresh.total == 0, "a model loaded again under the name starts with nothing")
    }

    @Test("a second run embeds changed and new files again and drops the gone ones")
    func changedFilesAreEmbeddedAgain() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 12, in: daemon.folder)
        let first = try FolderResult(
            try watchJob(client, try submitEmbedFolder(client, folder: folder)).resultJSON)
        #expect(first.embedded == 12 && first.changed == 0 && first.removed == 0)

        // img1.png takes img2.png's picture (another size), img3.png goes, img99.png comes.
        let fm = FileManager.default
        try fm.removeItem(atPath: folder + "/img1.png")
        try fm.copyItem(atPath: folder + "/img2.png", toPath: folder + "/img1.png")
        try fm.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: folder + "/img1.png")
        try fm.removeItem(atPath: folder + "/img3.png")
        try fm.copyItem(atPath: folder + "/img4.png", toPath: folder + "/img99.png")

        let second = try FolderResult(
            try watchJob(client, try submitEmbedFolder(client, folder: folder)).resultJSON)
        #expect(second.total == 12 && second.embedded == 2, "the changed file and the new one")
        #expect(second.changed == 1 && second.removed == 1 && second.skipped == 10)

        let stored = try client.call(
            Methods.listStored, ListStoredRequest(model: "tiny", folder: folder, limit: 100))
        #expect(stored.total == 12)
        #expect(!stored.embeddings.contains { $0.input == "img3.png" })
        let vectors = Dictionary(
            uniqueKeysWithValues: stored.embeddings.map { ($0.input, $0.values) })
        let error = relativeError(vectors["img1.png"] ?? [], vectors["img2.png"] ?? [])
        #expect(error.largest < 1e-6, "img1.png holds img2.png's picture now: \(error.largest)")

        let third = try FolderResult(
            try watchJob(client, try submitEmbedFolder(client, folder: folder)).resultJSON)
        #expect(third.embedded == 0 && third.skipped == 12 && third.changed == 0)

        // A file that changes into something unreadable loses its old embedding.
        try Data("not a picture any more".utf8).write(
            to: URL(fileURLWithPath: folder + "/img5.png"))
        let fourth = try FolderResult(
            try watchJob(client, try submitEmbedFolder(client, folder: folder)).resultJSON)
        #expect(fourth.changed == 1 && fourth.failed == 1 && fourth.embedded == 0, "\(fourth)")
        let after = try client.call(
            Methods.listStored, ListStoredRequest(model: "tiny", folder: folder, limit: 100))
        #expect(after.total == 11 && !after.embeddings.contains { $0.input == "img5.png" })
    }

    @Test("cancel stops a running job at its next step and drops a queued one at once")
    func cancelRunningAndQueuedJobs() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 200, in: daemon.folder)

        let running = try submitEmbedFolder(client, folder: folder, batch: 8, maxRate: 100)
        let queued = try submitEmbedFolder(client, folder: folder)
        let seen = try watchJob(client, running) { $0.step >= 16 }
        #expect(seen.state == .running)

        let queuedState = try client.call(Methods.cancelJob, CancelJobRequest(jobID: queued)).state
        #expect(queuedState == .cancelled)
        let runningState = try client.call(Methods.cancelJob, CancelJobRequest(jobID: running))
            .state
        #expect(runningState == .cancelled)

        let jobs = try client.call(Methods.listJobs, ListJobsRequest()).jobs
        let stopped = try #require(jobs.first { $0.id == running })
        #expect(stopped.state == .cancelled && stopped.step < 200, "\(stopped)")
        #expect(jobs.first { $0.id == queued }?.state == .cancelled)

        // What the cancelled job stored is kept, and a new job only does the rest.
        let rest = try FolderResult(
            try watchJob(client, try submitEmbedFolder(client, folder: folder)).resultJSON)
        #expect(rest.skipped >= 16 && rest.skipped + rest.embedded == 200, "\(rest)")
        let unknown = failure { try client.call(Methods.cancelJob, CancelJobRequest(jobID: "999")) }
        #expect(unknown?.code == .notFound)
    }

    @Test("a watcher killed mid-stream leaves the job running, and jobs watch re-attaches")
    func killedWatcherLeavesTheJobRunning() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)
        let folder = try imageFolder(count: 300, in: daemon.folder)

        // The real arf program watches the job it submitted, printing events as JSON lines.
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: try builtExecutable("arf"))
        watcher.arguments = [
            "--socket", daemon.socket, "--json", "embed-folder", "--model", "tiny", folder,
            "--batch", "10", "--max-rate", "150",
        ]
        let output = Pipe()
        watcher.standardOutput = output
        watcher.standardError = FileHandle.nullDevice
        try watcher.run()
        var text = ""
        var id: String?
        let deadline = Date(timeIntervalSinceNow: 30)
        while id == nil, Date() < deadline, watcher.isRunning {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            for line in text.split(separator: "\n") {
                guard
                    let event = try? JSONSerialization.jsonObject(with: Data(line.utf8))
                        as? [String: Any], let step = event["step"] as? Int, step >= 30
                else { continue }
                id = event["job"] as? String
            }
        }
        kill(watcher.processIdentifier, SIGKILL)
        watcher.waitUntilExit()
        let jobID = try #require(id, "the watcher printed no progress:\n\(text)")

        // The daemon is unharmed and the job keeps going without its watcher.
        let status = try client.call(Methods.status, StatusRequest())
        #expect(status.runningJobs == 1)
        let before = try #require(
            try client.call(Methods.listJobs, ListJobsRequest()).jobs.first { $0.id == jobID })
        usleep(400_000)
        let later = try #require(
            try client.call(Methods.listJobs, ListJobsRequest()).jobs.first { $0.id == jobID })
        #expect(later.step > before.step || later.state == .succeeded, "\(before) then \(later)")

        let resumed = daemon.arf("--json", "jobs", "watch", jobID)
        #expect(resumed.code == 0, "\(resumed)")
        let events = try resumed.jsonLines()
        #expect(events.first.flatMap { $0["step"] as? Int } ?? 0 >= 30, "re-attached mid-way")
        let last = try #require(events.last)
        #expect(last["state"] as? String == "succeeded")
        let result = try #require(last["result"] as? [String: Any])
        #expect(result["embedded"] as? Int == 300)
    }
}
