// `arf data` through a real arfd: image folders register with classes in byte order and
// images in torchvision's order, pair lists with quoting and configurable columns and
// separators, every kind of bad input is refused with its reason while nothing is stored, a
// dataset survives a restart, and `rm` removes it with its embeddings and captions.
import ArfWire
import Foundation
import Testing

@Suite("Datasets")
struct DatasetTests {
    @Test("an image folder registers with byte-ordered classes and torchvision's image order")
    func imageFolderOrder() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let root = try classFolder(
            daemon.folder, classes: [("b", 1), ("B", 1), ("a_x", 1), ("10", 1), ("9", 1)])
        // Class "a": files at two depths, extensions in both cases, and a file that is not
        // an image.
        for name in ["y.jpeg", "x.PNG", "c.webp", "sub/z.png", "sub/deeper/w.png", "b-dir/v.png"] {
            try writePNG("\(root)/a/\(name)", seed: name.count)
        }
        try writeText("not an image", to: root + "/a/notes.txt")

        let added = daemon.arf("data", "add", "train", root, "--role", "finetune", "--json")
        #expect(added.code == 0, "\(added)")
        let info = try jsonObject(added)
        #expect(info["classes"] as? [String] == ["10", "9", "B", "a", "a_x", "b"])
        #expect(info["items"] as? Int == 11)

        let shown = daemon.arf("data", "show", "train", "--sample", "11", "--json")
        let sample = try #require(try jsonObject(shown)["sample"] as? [[String: Any]])
        let paths = sample.map { $0["path"] as? String ?? "" }
        #expect(
            paths == [
                "10/10-0.png", "9/9-0.png", "B/B-0.png",
                // The folder's own files first, then folders in byte order of their paths.
                "a/c.webp", "a/x.PNG", "a/y.jpeg", "a/b-dir/v.png", "a/sub/z.png",
                "a/sub/deeper/w.png", "a_x/a_x-0.png", "b/b-0.png",
            ])
        #expect(sample.map { $0["class"] as? String ?? "" }[3] == "a")
        let counts = try jsonObject(shown)["class_counts"] as? [Int]
        #expect(counts == [1, 1, 1, 6, 1, 1])
    }

    @Test("a pair list reads quoted fields and takes its columns and separator from options")
    func pairLists() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let folder = daemon.folder + "/cc"
        try writeText(
            "id,title,file\n"
                + "1,\"a cat, sitting \"\"happily\"\"\",img/0.png\n"
                + "\n"
                + "2,\"two\nlines\",/abs/1.png\r\n"
                + "3,a dog,img/2.png\n",
            to: folder + "/list.csv")
        let added = daemon.arf(
            "data", "add", "cc", folder + "/list.csv", "--role", "pool", "--filepath-column",
            "file", "--caption-column", "title", "--json")
        #expect(added.code == 0, "\(added)")
        #expect(try jsonObject(added)["format"] as? String == "pairs")
        #expect(try jsonObject(added)["root"] as? String == folder)

        let shown = daemon.arf("data", "show", "cc", "--sample", "3", "--json")
        let sample = try #require(try jsonObject(shown)["sample"] as? [[String: Any]])
        #expect(sample.map { $0["path"] as? String } == ["img/0.png", "/abs/1.png", "img/2.png"])
        #expect(
            sample.map { $0["caption"] as? String }
                == ["a cat, sitting \"happily\"", "two\nlines", "a dog"])

        // A TSV with the default columns, given the separator explicitly.
        try writeText("caption\tfilepath\na bird\tb.png\n", to: folder + "/list.txt")
        let tsv = daemon.arf(
            "data", "add", "tsv", folder + "/list.txt", "--role", "pool", "--separator", "tab")
        #expect(tsv.code == 0, "\(tsv)")
        #expect(tsv.output.contains("registered tsv (pool, pairs): 1 items"))
    }

    @Test("pretraining reads a registered pool as stored, with the columns it was added with")
    func pretrainOnRegisteredPool() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let list = try pairList(daemon.folder, captions: (0..<16).map { "picture \($0 % 4)" })
        let text = try String(contentsOfFile: list, encoding: .utf8)
        try writeText(
            text.replacingOccurrences(of: "filepath\tcaption", with: "image\ttext"), to: list)
        #expect(
            daemon.arf(
                "data", "add", "web", list, "--role", "pool", "--filepath-column", "image",
                "--caption-column", "text"
            ).code == 0)
        let out = daemon.folder + "/pretrained"
        let run = daemon.arf(
            "pretrain", "--data", "web", "--out", out, "--steps", "2", "--warmup", "1", "--batch",
            "8",
            "--merges", "20", "--vision-width", "16", "--vision-layers", "1", "--vision-heads",
            "2", "--text-width", "16", "--text-layers", "1", "--text-heads", "2",
            "--projection", "8")
        #expect(run.code == 0, "\(run)")
        #expect(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
    }

    @Test("bad input is refused with the reason, and nothing is stored")
    func badInputIsRefused() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let base = daemon.folder
        try FileManager.default.createDirectory(
            atPath: base + "/flat", withIntermediateDirectories: true)
        try writePNG(base + "/flat/loose.png", seed: 1)
        let emptyClass = try classFolder(base, name: "some", classes: [("full", 2)])
        try FileManager.default.createDirectory(
            atPath: emptyClass + "/empty", withIntermediateDirectories: true)
        try writeText("only text", to: emptyClass + "/empty/readme.txt")
        try writeText("path\tcaption\na.png\ta\n", to: base + "/nocolumn.tsv")
        try writeText("filepath\tcaption\na.png\ta\nb.png\n", to: base + "/short.tsv")
        try writeText("filepath,caption\na.png,\"never closed\n", to: base + "/quote.csv")
        try writeText("filepath\tcaption\n", to: base + "/header.tsv")
        try writeText("filepath\tcaption\na.png\t \n", to: base + "/blank.tsv")

        let cases: [([String], String)] = [
            (["x", base + "/missing", "--role", "pool"], "nothing is there"),
            (["x", base + "/flat", "--role", "finetune"], "holds no class folders"),
            (["x", emptyClass, "--role", "finetune"], "no images in class folder empty"),
            (
                ["x", base + "/nocolumn.tsv", "--role", "pool"],
                "no column filepath in the header (columns: path, caption; separated by tab)"
            ),
            (["x", base + "/short.tsv", "--role", "pool"], "line 3: expected 2 fields, found 1"),
            (
                ["x", base + "/quote.csv", "--role", "pool"],
                "line 2: a quoted field is never closed"
            ),
            (["x", base + "/header.tsv", "--role", "pool"], "a header but no pairs"),
            (
                ["x", base + "/blank.tsv", "--role", "pool"],
                "line 2: the caption of a.png is empty"
            ),
            (["x", base + "/header.tsv", "--role", "train"], "role train is not one of"),
            (["x", base + "/flat", "--role", "pool", "--format", "pairs"], "not a folder"),
        ]
        for (arguments, reason) in cases {
            let refused = daemon.arf(["data", "add"] + arguments)
            #expect(refused.code == 1, "\(arguments): \(refused)")
            #expect(refused.error.contains(reason), "\(arguments): \(refused.error)")
        }

        // Nothing was stored; a good dataset still registers, once.
        #expect(try jsonArray(daemon.arf("data", "list", "--json")).isEmpty)
        let good = try classFolder(base, name: "good", classes: [("a", 1)])
        #expect(daemon.arf("data", "add", "x", good, "--role", "eval-id").code == 0)
        let again = daemon.arf("data", "add", "x", good, "--role", "eval-id")
        #expect(again.code == 1 && again.error.contains("already registered"), "\(again)")
        let unknown = daemon.arf("data", "show", "y")
        #expect(unknown.code == 1 && unknown.error.contains("no dataset named y"), "\(unknown)")
        #expect(unknown.error.contains("datasets: x"), "the hint lists the datasets")
    }

    @Test("datasets survive a restart, and rm removes one with its embeddings and captions")
    func removeAndRestart() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        try loadTiny(try daemon.client())
        let root = try classFolder(daemon.folder, classes: [("cat", 3), ("dog", 2)])
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        let pool = try pairList(daemon.folder, captions: ["a", "b", "c"])
        #expect(daemon.arf("data", "add", "pool", pool, "--role", "pool").code == 0)

        let embedded = daemon.arf("data", "embed", "pets", "--model", "tiny")
        #expect(embedded.code == 0 && embedded.output.contains("embedded 5 items"), "\(embedded)")
        try writeText(
            "cat/cat-0.png\ta cat\ndog/dog-1.png\ta dog\n", to: daemon.folder + "/captions.tsv")
        let captioned = daemon.arf(
            "anchors", "caption", "pets", "--captioner", "file", "--option",
            "path=\(daemon.folder)/captions.tsv")
        #expect(captioned.code == 0, "\(captioned)")

        #expect(try daemon.terminate() == 0)
        try daemon.start()
        let listed = try jsonArray(daemon.arf("data", "list", "--json"))
        #expect(listed.map { $0["name"] as? String } == ["pets", "pool"])
        let shown = try jsonObject(daemon.arf("data", "show", "pets", "--json"))
        let stored = shown["embeddings"] as? [[String: Any]]
        #expect(stored?.first?["count"] as? Int == 5)
        #expect((shown["caption_sets"] as? [[String: Any]])?.first?["count"] as? Int == 2)

        let removed = daemon.arf("data", "rm", "pets", "--json")
        #expect(removed.code == 0, "\(removed)")
        let counts = try jsonObject(removed)
        #expect(counts["items"] as? Int == 5)
        #expect(counts["embeddings"] as? Int == 5 && counts["captions"] as? Int == 2)
        #expect(daemon.arf("data", "show", "pets").code == 1)
        #expect(daemon.arf("anchors", "show", "pets").code == 1)

        // Registered again, it starts with nothing stored.
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        let fresh = try jsonObject(daemon.arf("data", "show", "pets", "--json"))
        #expect((fresh["embeddings"] as? [Any])?.isEmpty == true)
        #expect((fresh["caption_sets"] as? [Any])?.isEmpty == true)
    }

    @Test("add --replace reads a changed folder again in place and drops what was stored")
    func replaceInPlace() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        try loadTiny(try daemon.client())
        let root = try classFolder(daemon.folder, classes: [("cat", 2), ("dog", 2)])
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        #expect(daemon.arf("data", "embed", "pets", "--model", "tiny").code == 0)
        let evaluated = daemon.arf("eval", "--model", "tiny", "--data", "pets")
        #expect(evaluated.code == 0, "\(evaluated)")
        #expect(try jsonArray(daemon.arf("results", "--json")).count == 1)

        _ = try classFolder(daemon.folder, classes: [("cat", 3), ("dog", 2), ("eel", 1)])
        let taken = daemon.arf("data", "add", "pets", root, "--role", "finetune")
        #expect(taken.code == 1 && taken.error.contains("--replace"), "\(taken)")
        let replaced = daemon.arf(
            "data", "add", "pets", root, "--role", "finetune", "--replace", "--json")
        #expect(replaced.code == 0, "\(replaced)")
        #expect(try jsonObject(replaced)["items"] as? Int == 6)
        let shown = try jsonObject(daemon.arf("data", "show", "pets", "--json"))
        #expect(shown["class_counts"] as? [Int] == [3, 2, 1], "\(shown)")
        #expect((shown["embeddings"] as? [Any])?.isEmpty == true, "old embeddings are dropped")
        #expect(daemon.log.contains("dataset replaced name=pets"), "\(daemon.log)")
        #expect(
            try jsonArray(daemon.arf("results", "--json")).isEmpty,
            "results of the old snapshot are not reused")

        // A bad replacement changes nothing.
        let missing = daemon.arf(
            "data", "add", "pets", daemon.folder + "/nope", "--role", "finetune", "--replace")
        #expect(missing.code == 1 && missing.error.contains("nothing is there"), "\(missing)")
        let kept = try jsonObject(daemon.arf("data", "show", "pets", "--json"))
        #expect((kept["dataset"] as? [String: Any])?["items"] as? Int == 6, "\(kept)")
    }

    @Test("a dataset that a queued or running job reads cannot be removed or replaced")
    func removeRefusedWhileUsed() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)
        let root = try classFolder(daemon.folder, classes: [("a", 60)])
        #expect(daemon.arf("data", "add", "slow", root, "--role", "finetune").code == 0)
        let job = try client.call(
            Methods.submitJob,
            SubmitJobRequest(
                kind: "embed",
                paramsJSON: #"{"model": "tiny", "dataset": "slow", "batch": 4, "max_rate": 20}"#)
        ).job
        let refused = daemon.arf("data", "rm", "slow")
        #expect(refused.code == 1, "\(refused)")
        #expect(refused.error.contains("used by job \(job.id)"), "\(refused.error)")
        #expect(refused.error.contains("arf jobs cancel \(job.id)"))
        let model = daemon.arf("model", "rm", "tiny")
        #expect(model.code == 1 && model.error.contains("model tiny is used by job"), "\(model)")

        // An evaluation queued behind it names its datasets in a list.
        let other = try classFolder(daemon.folder, name: "other", classes: [("b", 4)])
        #expect(daemon.arf("data", "add", "held", other, "--role", "eval-id").code == 0)
        let eval = try client.call(
            Methods.submitJob,
            SubmitJobRequest(kind: "eval", paramsJSON: #"{"model": "tiny", "datasets": ["held"]}"#)
        ).job
        let held = daemon.arf("data", "rm", "held")
        #expect(held.code == 1 && held.error.contains("used by job \(eval.id)"), "\(held)")

        let replacing = daemon.arf("data", "add", "held", other, "--role", "eval-id", "--replace")
        #expect(replacing.code == 1 && replacing.error.contains("used by job"), "\(replacing)")

        _ = try client.call(Methods.cancelJob, CancelJobRequest(jobID: eval.id))
        _ = try client.call(Methods.cancelJob, CancelJobRequest(jobID: job.id))
        #expect(daemon.arf("data", "rm", "slow").code == 0)
        #expect(daemon.arf("data", "rm", "held").code == 0)
        #expect(daemon.arf("model", "rm", "tiny").code == 0, "no job uses it any more")
    }
}
