// Caption jobs through a real arfd and the real client: nearest-caption gives each image the
// bank caption the model itself puts nearest (checked against CLIPPipeline run here on the
// same checkpoint), the file captioner reads captions made elsewhere and a second run only
// redoes what is missing, and the command captioner survives one failing image but not a
// program that dies.
import ArfCLIP
import ArfImage
import ArfWire
import Foundation
import Testing

@Suite("Caption jobs")
struct CaptionJobTests {
    @Test("nearest-caption picks the caption the model puts nearest each image, with its cosine")
    func nearestCaptionMatchesTheModel() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        try loadTiny(try daemon.client())
        let root = try classFolder(daemon.folder, classes: [("cat", 3), ("dog", 3)])
        let colours = ["red", "green", "blue", "striped", "dark", "bright"]
        let captions = (0..<24).map { "a \(colours[$0 % 6]) picture number \($0)" }
        let pool = try pairList(daemon.folder, captions: captions)
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        #expect(daemon.arf("data", "add", "pool", pool, "--role", "pool").code == 0)

        // The expected captions, computed here with the same checkpoint.
        let pipeline = try CLIPPipeline(directory: URL(fileURLWithPath: Fixture.checkpoint))
        let paths = [
            "cat/cat-0.png", "cat/cat-1.png", "cat/cat-2.png", "dog/dog-0.png",
            "dog/dog-1.png", "dog/dog-2.png",
        ]
        let images = try pipeline.embed(
            images: try paths.map {
                try ImageCodec.decode(file: URL(fileURLWithPath: root + "/" + $0))
            })
        let texts = try pipeline.embed(texts: captions)
        let ranked = images.map { image in
            texts.indices.map { (index: $0, cosine: zip(image, texts[$0]).map(*).reduce(0, +)) }
                .sorted { $0.cosine > $1.cosine }
        }
        // Two captions nearly tied for an image would make the check a coin toss.
        for (path, order) in zip(paths, ranked) {
            try #require(
                order[0].cosine - order[1].cosine > 1e-4,
                "\(path): the two nearest captions are within 1e-4 (\(order[0]), \(order[1]))")
        }

        let run = daemon.arf(
            "anchors", "caption", "pets", "--captioner", "nearest-caption", "--model", "tiny",
            "--option", "top_k=3")
        #expect(run.code == 0, "\(run)")
        let shown = try jsonObject(daemon.arf("anchors", "show", "pets", "--sample", "6", "--json"))
        let anchors = try #require(shown["captions"] as? [[String: Any]])
        #expect(anchors.map { $0["path"] as? String } == paths)
        var largest = 0.0
        for (anchor, order) in zip(anchors, ranked) {
            let got = anchor["captions"] as? [[String: Any]] ?? []
            #expect(
                got.map { $0["text"] as? String } == order.prefix(3).map { captions[$0.index] },
                "\(anchor["path"] ?? "?")")
            for (caption, expected) in zip(got, order) {
                largest = max(
                    largest, abs((caption["score"] as? Double ?? 9) - Double(expected.cosine)))
            }
        }
        #expect(largest < 1e-5, "scores differ from the cosines by up to \(largest)")
        let set = (shown["caption_sets"] as? [[String: Any]])?.first
        #expect(
            set?["captioner"] as? String == "nearest-caption" && set?["model"] as? String == "tiny")
        #expect((set?["options"] as? [String: Any])?["top_k"] as? Int == 3)
    }

    @Test("the file captioner stores captions made elsewhere; a rerun redoes only what is missing")
    func fileCaptioner() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let root = try classFolder(daemon.folder, classes: [("cat", 2), ("dog", 2)])
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        let file = daemon.folder + "/blip2.jsonl"
        try writeText(
            #"{"path": "cat/cat-0.png", "caption": "a cat on a mat"}"# + "\n"
                + #"{"path": "cat/cat-1.png", "caption": "a cat"}"# + "\n"
                + #"{"path": "\#(root)/dog/dog-0.png", "caption": "a dog"}"# + "\n",
            to: file)
        let params = #"{"dataset": "pets", "captioner": "file", "options": {"path": "\#(file)"}}"#
        let first = try runJob(daemon, kind: "caption", params: params)
        #expect(first.state == .succeeded, "\(first)")
        let counts = try result(first)
        #expect(counts["captioned"] as? Int == 3 && counts["failed"] as? Int == 1, "\(counts)")
        let failures = counts["failures"] as? [[String: Any]]
        #expect(failures?.first?["path"] as? String == "dog/dog-1.png")

        let shown = daemon.arf("anchors", "show", "pets")
        #expect(shown.code == 0, "\(shown)")
        #expect(shown.output.contains("3 images captioned by file 1.0.0 (built-in)"), "\(shown)")
        #expect(shown.output.contains("a cat on a mat"))

        // The missing caption is added; a second run captions only that image.
        try writeText(
            (try String(contentsOfFile: file, encoding: .utf8))
                + #"{"path": "dog/dog-1.png", "caption": "another dog"}"# + "\n",
            to: file)
        let second = try result(try runJob(daemon, kind: "caption", params: params))
        #expect(second["captioned"] as? Int == 1 && second["skipped"] as? Int == 3, "\(second)")
        #expect(second["caption_set"] as? String == counts["caption_set"] as? String)
        let all = try jsonObject(daemon.arf("anchors", "show", "pets", "--sample", "4", "--json"))
        #expect(all["total"] as? Int == 4)
    }

    @Test("the command captioner reports the image its program fails on and captions the rest")
    func commandCaptioner() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let root = try classFolder(daemon.folder, classes: [("cat", 2), ("dog", 2)])
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        let script = daemon.folder + "/captioner.sh"
        try writeText(
            """
            #!/bin/sh
            while read -r path; do
              case "$path" in
                *cat-1*) echo "error: no cat detector" ;;
                *) echo "a photo of $(basename "$path" .png)" ;;
              esac
            done
            """, to: script)
        chmod(script, 0o755)

        let run = daemon.arf(
            "anchors", "caption", "pets", "--captioner", "command", "--option",
            "command=\(script)", "--option", "timeout=20")
        #expect(run.code == 0, "\(run)")
        #expect(run.output.contains("captioned 3 images"), "\(run)")
        #expect(run.output.contains("skipped cat/cat-1.png: no cat detector"), "\(run)")
        let shown = try jsonObject(daemon.arf("anchors", "show", "pets", "--json"))
        let texts = (shown["captions"] as? [[String: Any]] ?? []).compactMap {
            (($0["captions"] as? [[String: Any]])?.first?["text"]) as? String
        }
        #expect(texts == ["a photo of cat-0", "a photo of dog-0", "a photo of dog-1"])

        // A program that dies fails the job, naming the program.
        try writeText("#!/bin/sh\necho 'out of memory' >&2\nexit 9\n", to: script)
        let died = daemon.arf(
            "anchors", "caption", "pets", "--captioner", "command", "--option",
            "command=\(script) --fresh")
        #expect(died.code == 1, "\(died)")
        #expect(died.error.contains("\(script) --fresh` exited with status 9"), "\(died.error)")
        #expect(died.error.contains("out of memory"), "\(died.error)")
        #expect(try daemon.client().call(Methods.status, StatusRequest()).pid > 0)
    }

    @Test("captioner options are checked when the job is submitted")
    func optionsCheckedAtSubmit() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let root = try classFolder(daemon.folder, classes: [("cat", 1)])
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        let typo = daemon.arf(
            "anchors", "caption", "pets", "--captioner", "nearest-caption", "--option", "topk=2")
        #expect(typo.code == 1 && typo.error.contains("nearest-caption has no option topk"))
        let unknown = daemon.arf("anchors", "caption", "pets", "--captioner", "blip")
        #expect(unknown.error.contains("no captioner plugin named blip"), "\(unknown)")
        #expect(unknown.error.contains("command, file, nearest-caption"))
        let missing = daemon.arf("anchors", "caption", "pets", "--captioner", "file")
        #expect(missing.error.contains("file needs the option path"), "\(missing)")
        #expect(try jsonArray(daemon.arf("jobs", "list", "--json")).isEmpty, "nothing was queued")
    }
}
