// The training jobs through a real arfd and the real client: a finetune run killed with
// SIGKILL mid-run resumes from its checkpoint to the weights an uninterrupted run reaches;
// eval, wise, results, report and the CLIP_benchmark export work end to end on a small
// generated world; mistakes come back as one line with a hint; `arf world generate` writes
// a world. The model is the clip-tiny fixture (random weights: no accuracy is checked here).
import ArfClient
import ArfTensor
import ArfWire
import ArfWorld
import Foundation
import Testing

/// A small world in `folder`, registered in the daemon with the fixture model as "tiny".
func prepareSmallWorld(_ daemon: DaemonProcess, splits: [String]) throws -> String {
    let world = daemon.folder + "/world"
    try WorldGenerator.generate(out: URL(fileURLWithPath: world), seed: 1, scale: .small)
    let client = try daemon.client()
    defer { client.close() }
    try loadTiny(client)
    let roles = [
        "finetune": "finetune", "id": "eval-id", "sketch": "eval-shift",
        "unseen_photo": "eval-zeroshot",
    ]
    for split in splits {
        let folder = split == "finetune" ? world + "/finetune" : world + "/eval/" + split
        _ = try client.call(
            Methods.addDataset, AddDatasetRequest(name: split, path: folder, role: roles[split]!))
    }
    return world
}

/// Largest absolute difference over every tensor of two checkpoints' weights.
func largestWeightDifference(_ a: String, _ b: String) throws -> (Float, String) {
    let first = try SafeTensorsFile(url: URL(fileURLWithPath: a + "/model.safetensors"))
    let second = try SafeTensorsFile(url: URL(fileURLWithPath: b + "/model.safetensors"))
    #expect(Set(first.names) == Set(second.names))
    var largest: Float = 0
    var worst = ""
    for name in first.names {
        let x = try first.tensor(name).values
        let y = try second.tensor(name).values
        for (u, v) in zip(x, y) where abs(u - v) > largest {
            largest = abs(u - v)
            worst = name
        }
    }
    return (largest, worst)
}

@Suite("Training jobs", .serialized)
struct TrainingJobTests {
    static let flyp =
        #"{"method": "flyp", "steps": 240, "batchSize": 16, "warmupSteps": 10, "seed": 3, "#
        + #""checkpointInterval": 20, "optimizer": {"learningRate": 0.0005}}"#

    func submitFinetune(_ client: WireClient, run: String) throws -> String {
        let params =
            #"{"run": "\#(run)", "model": "tiny", "dataset": "finetune", "config": \#(Self.flyp)}"#
        return try client.call(
            Methods.submitJob, SubmitJobRequest(kind: "finetune", paramsJSON: params)
        ).job.id
    }

    @Test("a finetune run killed mid-run resumes to the weights of an uninterrupted run")
    func killedRunResumesToTheSameWeights() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        _ = try prepareSmallWorld(daemon, splits: ["finetune"])
        var client = try daemon.client()

        let killed = try submitFinetune(client, run: "killed")
        let seen = try watchJob(client, killed, timeout: 120) { $0.step >= 50 }
        #expect(seen.state == .running && seen.loss > 0 && seen.learningRate > 0, "\(seen)")
        try daemon.killHard()
        try daemon.start()
        client = try daemon.client()
        let resumed = try watchJob(client, killed, timeout: 300)
        #expect(resumed.state == .succeeded, "\(resumed)\n\(daemon.log)")
        #expect(daemon.log.contains("finetune resumed step="), "resumed from a checkpoint")

        let whole = try watchJob(client, try submitFinetune(client, run: "whole"), timeout: 300)
        #expect(whole.state == .succeeded, "\(whole)")
        let runs = try client.call(Methods.listRuns, ListRunsRequest()).runs
        let paths = ["killed", "whole"].map { name in runs.first { $0.name == name }?.checkpoint }
        let (largest, tensor) = try largestWeightDifference(paths[0] ?? "", paths[1] ?? "")
        // Tolerance 1e-6: the same arithmetic in the same order on one thread.
        #expect(largest <= 1e-6, "largest difference \(largest) in \(tensor)")
        #expect(runs.allSatisfy { $0.state == "succeeded" && $0.step == 240 }, "\(runs)")

        // Submitting a finished run again returns it without training.
        let again = try watchJob(client, try submitFinetune(client, run: "whole"))
        #expect(again.message.contains("nothing to do"), "\(again)")
    }

    @Test("eval, wise, results, report and the benchmark export work end to end")
    func evaluationEndToEnd() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        _ = try prepareSmallWorld(daemon, splits: ["finetune", "id", "sketch", "unseen_photo"])

        let trained = daemon.arf(
            "finetune", "--model", "tiny", "--data", "finetune", "--method", "ft", "--steps",
            "20", "--batch", "16", "--run", "ft-1")
        #expect(trained.code == 0, "\(trained)")
        #expect(trained.output.contains("run ft-1: 20 steps"), "\(trained)")

        let export = daemon.folder + "/export"
        let evaluated = daemon.arf("--json", "eval", "--model", "ft-1", "--export", export)
        #expect(evaluated.code == 0, "\(evaluated)")
        let result = try #require(try evaluated.jsonLines().last)
        let rows = result["results"] as? [[String: Any]] ?? []
        let names = Set(rows.compactMap { $0["dataset"] as? String })
        #expect(names == ["id", "sketch", "unseen_photo"])
        for row in rows {
            let top1 = row["top1"] as? Double ?? -1
            #expect((0...1).contains(top1), "\(row)")
            // The ce head scores its own classes; unseen classes go through the text tower.
            #expect((row["head"] as? Bool) == (row["dataset"] as? String != "unseen_photo"))
        }
        let benchmark =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: export + "/ft-1/sketch.json")))
            as? [String: Any]
        #expect(benchmark?["task"] as? String == "zeroshot_classification")
        #expect((benchmark?["metrics"] as? [String: Any])?["acc1"] is Double)

        let wise = daemon.arf(
            "--json", "wise", "--zeroshot", "tiny", "--finetuned", "ft-1", "--alpha", "0,0.5,1",
            "--data", "id", "--data", "sketch")
        #expect(wise.code == 0, "\(wise)")
        let points = try #require(try wise.jsonLines().last)["points"] as? [[String: Any]] ?? []
        let subjects = points.map { $0["model"] as? String ?? "" }
        #expect(subjects == ["ft-1+wise0", "ft-1+wise0.5", "ft-1"])
        #expect(points.allSatisfy { ($0["results"] as? [Any])?.count == 2 })
        // α = 1 is the finetuned model itself, so its results are the eval job's.
        let ends = (points.last?["results"] as? [[String: Any]] ?? []).map { $0["reused"] as? Bool }
        #expect(ends == [true, true])

        let listed = daemon.arf("results", "--model", "ft-1+wise0.5")
        #expect(listed.code == 0 && listed.lines.count == 3, "\(listed)")

        let page = daemon.folder + "/report.html"
        let report = daemon.arf("report", "--out", page, "--curve", "ft=ft-1", "--title", "t")
        #expect(report.code == 0 && report.output.contains(page), "\(report)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("<td>ft</td>"))
        #expect(html.contains("sketch") && !html.contains("<script"))

        // A second curve with another weight replaces the stored one.
        let again = daemon.arf(
            "wise", "--zeroshot", "tiny", "--finetuned", "ft-1", "--alpha", "0.25", "--data", "id")
        #expect(again.code == 0, "\(again)")

        // Removing the run takes its models, results (of both curves), curve and files, and
        // nothing else.
        func modelNames() throws -> [String] {
            try jsonArray(daemon.arf("model", "list", "--json")).compactMap {
                $0["name"] as? String
            }
        }
        let before = try modelNames()
        let removed = daemon.arf("runs", "rm", "ft-1", "--json")
        #expect(removed.code == 0, "\(removed)")
        let gone = try jsonObject(removed)
        let goneModels = gone["models"] as? [String] ?? []
        #expect(goneModels.contains("ft-1"), "\(gone)")
        // ft-1 on three sets, the first curve's two interpolated points on two sets each, the
        // second curve's one on one.
        #expect(gone["results"] as? Int == 8, "\(gone)")
        #expect(gone["bytes"] as? Int ?? 0 > 100_000, "\(gone)")
        #expect(!FileManager.default.fileExists(atPath: daemon.data + "/runs/ft-1"))
        #expect(!FileManager.default.fileExists(atPath: daemon.data + "/wise/ft-1"))
        #expect(try modelNames() == before.filter { !goneModels.contains($0) })
        #expect(try modelNames().contains("tiny"))
        let results = try jsonArray(daemon.arf("results", "--json"))
        #expect(!results.contains { ($0["model"] as? String ?? "").hasPrefix("ft-1") })
        let twice = daemon.arf("runs", "rm", "ft-1")
        #expect(twice.code == 1 && twice.error.contains("no finetuning run named ft-1"))
    }

    @Test("mistakes are one line with a hint, and usage mistakes exit with 2")
    func mistakesAreExplained() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        _ = try prepareSmallWorld(daemon, splits: ["finetune"])

        let noData = daemon.arf(
            "finetune", "--model", "tiny", "--data", "nope", "--method", "ft")
        #expect(noData.code == 1 && noData.error.contains("no dataset named nope"), "\(noData)")
        #expect(noData.error.contains("hint: datasets: finetune"), "\(noData)")

        let noAnchors = daemon.arf(
            "finetune", "--model", "tiny", "--data", "finetune", "--method", "arf")
        #expect(noAnchors.code == 1, "\(noAnchors)")
        #expect(noAnchors.error.contains("arf anchors caption finetune"), "\(noAnchors)")

        let noMethod = daemon.arf("finetune", "--model", "tiny", "--data", "finetune")
        #expect(noMethod.code == 2 && noMethod.error.contains("--method"), "\(noMethod)")
        let noModel = daemon.arf("eval", "--data", "finetune")
        #expect(noModel.code == 2 && noModel.error.contains("--model is required"), "\(noModel)")
        let noSets = daemon.arf("eval", "--model", "tiny", "--role", "eval-shift")
        #expect(noSets.code == 1 && noSets.error.contains("no evaluation datasets"), "\(noSets)")
        let badAlpha = daemon.arf("wise", "--zeroshot", "tiny", "--finetuned", "x", "--alpha", "a")
        #expect(badAlpha.code == 2, "\(badAlpha)")
        let help = daemon.arf("demo", "--help")
        #expect(help.code == 0 && help.output.contains("usage: arf demo"))
    }

    @Test("world generate writes a world in the client and refuses a non-empty folder")
    func worldGenerate() throws {
        let folder = try temporaryFolder("arf-world")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (console, captured) = Console.capturing()
        let words = ["--json", "world", "generate", "--out", folder + "/w", "--seed", "3"]
        let code = ArfCLI.run(words + ["--scale", "small"], console: console)
        #expect(code == 0, "\(captured.error)")
        let summary =
            try JSONSerialization.jsonObject(with: Data(captured.output.utf8))
            as? [String: Any]
        let manifest = try WorldManifest.load(from: URL(fileURLWithPath: folder + "/w"))
        #expect(summary?["sha256"] as? String == manifest.sha256)
        #expect(summary?["files"] as? Int == manifest.files && manifest.seed == 3)
        #expect(captured.error.contains("world 3: 1560/1560 100%"), "\(captured.error)")

        let (again, output) = Console.capturing()
        #expect(ArfCLI.run(words, console: again) == 1)
        #expect(output.error.contains("cannot generate the world"))
        #expect(output.error.contains("hint:"))
    }
}
