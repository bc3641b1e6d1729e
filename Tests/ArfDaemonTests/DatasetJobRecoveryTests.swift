// The dataset job kinds across crashes: kill -9 in the middle of an embed job or a caption job
// leaves a store that opens with every committed embedding or caption as it was, and the
// restarted daemon resumes the job without redoing what was committed. Embed results are also
// checked against the Embed call, and text embeddings of a pair list against the text tower.
import ArfWire
import Foundation
import Testing

@Suite("Dataset jobs across crashes")
struct DatasetJobRecoveryTests {
    @Test("kill -9 during an embed job keeps committed embeddings bit for bit and it resumes")
    func embedJobSurvivesKill() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        var client = try daemon.client()
        try loadTiny(client)
        let root = try classFolder(daemon.folder, classes: [("a", 150), ("b", 150)])
        #expect(daemon.arf("data", "add", "big", root, "--role", "finetune").code == 0)
        let job = try client.call(
            Methods.submitJob,
            SubmitJobRequest(
                kind: "embed",
                paramsJSON: #"{"model": "tiny", "dataset": "big", "batch": 10, "max_rate": 150}"#)
        ).job
        let seen = try watchJob(client, job.id) { $0.step >= 60 }
        #expect(seen.state == .running, "\(seen)")
        let page = ListDatasetEmbeddingsRequest(name: "big", model: "tiny", limit: 20)
        let early = try client.call(Methods.listDatasetEmbeddings, page)
        try #require(early.embeddings.count == 20)
        try daemon.killHard()

        try daemon.start()
        client = try daemon.client()
        let after = try client.call(Methods.listDatasetEmbeddings, page)
        #expect(after.indices == early.indices)
        #expect(after.embeddings.map(\.values) == early.embeddings.map(\.values))

        let end = try watchJob(client, job.id)
        #expect(end.state == .succeeded, "\(end)")
        let counts = try result(end)
        let skipped = counts["skipped"] as? Int ?? 0
        #expect(skipped >= Int(seen.step), "committed before the kill: \(skipped)")
        #expect((counts["embedded"] as? Int ?? 0) + skipped == 300, "\(counts)")
        #expect(daemon.log.contains("job started job=\(job.id) kind=embed run=2"))
        let stored = try client.call(Methods.listDatasetEmbeddings, page)
        #expect(stored.total == 300)

        // What the job stored is what Embed computes for the same files.
        let direct = try client.call(
            Methods.embed,
            EmbedRequest(
                model: "tiny",
                inputs: stored.embeddings.prefix(5).map { .imagePath(root + "/" + $0.input) }))
        for (kept, fresh) in zip(stored.embeddings, direct.embeddings) {
            let error = relativeError(kept.values, fresh.values)
            #expect(error.largest < 1e-6, "\(kept.input): largest difference \(error.largest)")
        }
    }

    @Test("a pair list's captions are embedded by the text tower as Embed computes them")
    func textEmbeddings() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)
        let captions = ["a red square", "two blue circles", "a photo of a cat"]
        let list = try pairList(daemon.folder, captions: captions)
        #expect(daemon.arf("data", "add", "pool", list, "--role", "pool").code == 0)
        let run = daemon.arf("data", "embed", "pool", "--model", "tiny", "--json")
        #expect(run.code == 0, "\(run)")

        let stored = try client.call(
            Methods.listDatasetEmbeddings,
            ListDatasetEmbeddingsRequest(name: "pool", model: "tiny", modality: "text"))
        #expect(stored.embeddings.map(\.input) == captions)
        let direct = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: captions.map { .text($0) }))
        for (kept, fresh) in zip(stored.embeddings, direct.embeddings) {
            let error = relativeError(kept.values, fresh.values)
            #expect(error.largest < 1e-6, "\(kept.input): largest difference \(error.largest)")
        }
        let images = try client.call(
            Methods.listDatasetEmbeddings,
            ListDatasetEmbeddingsRequest(name: "pool", model: "tiny", modality: "image"))
        #expect(images.total == 3)
    }

    @Test("kill -9 during a caption job keeps committed captions and the job resumes")
    func captionJobSurvivesKill() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        var client = try daemon.client()
        let root = try classFolder(daemon.folder, classes: [("a", 24)])
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        // A slow captioner: a quarter of a second per batch of two images.
        let script = daemon.folder + "/slow.sh"
        try writeText(
            "#!/bin/sh\nsleep 0.25\n"
                + "while read -r p; do echo \"caption of $(basename \"$p\")\"; done\n",
            to: script)
        chmod(script, 0o755)
        let params =
            #"{"dataset": "pets", "captioner": "command", "batch": 2, "options": "#
            + #"{"command": "\#(script)"}}"#
        let job = try client.call(
            Methods.submitJob, SubmitJobRequest(kind: "caption", paramsJSON: params)
        ).job
        let seen = try watchJob(client, job.id) { $0.step >= 6 }
        let before = try client.call(
            Methods.showAnchors, ShowAnchorsRequest(name: "pets", sample: 100))
        try daemon.killHard()

        try daemon.start()
        client = try daemon.client()
        let after = try client.call(
            Methods.showAnchors, ShowAnchorsRequest(name: "pets", sample: 100))
        #expect(after.total >= before.total && before.total >= seen.step, "\(before.total)")
        #expect(Array(after.captions.prefix(before.captions.count)) == before.captions)

        let end = try watchJob(client, job.id)
        #expect(end.state == .succeeded, "\(end)")
        let counts = try result(end)
        #expect((counts["skipped"] as? Int ?? 0) >= Int(before.total), "\(counts)")
        #expect((counts["captioned"] as? Int ?? 0) + (counts["skipped"] as? Int ?? 0) == 24)
        let final = try client.call(
            Methods.showAnchors, ShowAnchorsRequest(name: "pets", sample: 24))
        #expect(final.total == 24)
        // Items are in byte order of their names: a-0, a-1, a-10, a-11, ...
        let names = (0..<24).map { "a-\($0).png" }.sorted()
        #expect(final.captions.map { $0.captions.first?.text } == names.map { "caption of \($0)" })
    }
}
