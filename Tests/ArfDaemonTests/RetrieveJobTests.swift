// Retrieve jobs through a real arfd and the real client: with room for the whole pool every
// pair is retrieved once, with at most the quota per class; evaluation images keep their
// copies out of the anchors; near-duplicates are dropped; ivf probing every list agrees with
// exact and keeps its trained index for the next job of the same settings; and
// `arf anchors show` gives the pairs with scores and provenance.
import ArfWire
import Foundation
import Testing

@Suite("Retrieve jobs")
struct RetrieveJobTests {
    /// A finetune folder, a pool of 21 pairs (item 20 a copy of item 1's image) and an
    /// evaluation folder holding a copy of pool item 0's image.
    func prepare(_ daemon: DaemonProcess) throws -> (pool: String, evalImage: String) {
        try loadTiny(try daemon.client())
        let root = try classFolder(daemon.folder, classes: [("cat", 3), ("dog", 3)])
        let captions = (0..<21).map { "pool caption \($0)" }
        let list = try pairList(daemon.folder, captions: captions)
        let images = (list as NSString).deletingLastPathComponent + "/images"
        try FileManager.default.removeItem(atPath: images + "/20.png")
        try FileManager.default.copyItem(atPath: images + "/1.png", toPath: images + "/20.png")
        let eval = daemon.folder + "/eval/thing/copy.png"
        try FileManager.default.createDirectory(
            atPath: daemon.folder + "/eval/thing", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: images + "/0.png", toPath: eval)
        #expect(daemon.arf("data", "add", "pets", root, "--role", "finetune").code == 0)
        #expect(daemon.arf("data", "add", "pool", list, "--role", "pool").code == 0)
        #expect(
            daemon.arf("data", "add", "eval", daemon.folder + "/eval", "--role", "eval-id").code
                == 0)
        return (list, eval)
    }

    func pairs(_ daemon: DaemonProcess, _ task: String) throws -> [[String: Any]] {
        let shown = daemon.arf("anchors", "show", task, "--sample", "100", "--json")
        return try jsonObject(shown)["pairs"] as? [[String: Any]] ?? []
    }

    /// The stored image embedding of each pool item.
    func poolVectors(_ daemon: DaemonProcess) throws -> [Int: [Float]] {
        let reply = try daemon.client().call(
            Methods.listDatasetEmbeddings,
            ListDatasetEmbeddingsRequest(name: "pool", model: "tiny", limit: 100))
        return Dictionary(
            uniqueKeysWithValues: zip(reply.indices.map { Int($0) }, reply.embeddings.map(\.values))
        )
    }

    func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map(*).reduce(0, +) }

    @Test("with room for the whole pool every pair is retrieved once, within the class quota")
    func wholePool() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let (list, _) = try prepare(daemon)
        let run = daemon.arf(
            "anchors", "retrieve", "all", "--pool", "pool", "--finetune", "pets", "--model", "tiny",
            "--retriever", "exact", "--per-class", "11")
        #expect(run.code == 0, "\(run)")
        let got = try pairs(daemon, "all")
        #expect(got.count == 21)
        #expect(Set(got.compactMap { $0["pool_index"] as? Int }) == Set(0..<21))
        for name in ["cat", "dog"] {
            #expect(got.filter { $0["class"] as? String == name }.count <= 11)
        }
        // Provenance: the pool item's path and caption, the class, the score and query kind.
        let first = try #require(got.first)
        let index = first["pool_index"] as? Int ?? -1
        #expect(first["path"] as? String == "images/\(index).png")
        #expect(first["caption"] as? String == "pool caption \(index)")
        #expect(first["query"] as? String == "text")
        let lines = try String(contentsOfFile: list, encoding: .utf8)
        #expect(lines.contains("images/\(index).png\tpool caption \(index)"))

        let shown = try jsonObject(daemon.arf("anchors", "show", "all", "--json"))
        let task = try #require(shown["task"] as? [String: Any])
        #expect(task["pool"] as? String == "pool" && task["finetune"] as? String == "pets")
        #expect(task["retriever"] as? String == "exact" && task["model"] as? String == "tiny")
        #expect(task["per_class"] as? Int == 11 && task["count"] as? Int == 21)
        let text = daemon.arf("anchors", "show", "all", "--sample", "3")
        #expect(text.output.contains("all: 21 pairs from pool for pets by exact"), "\(text)")
    }

    @Test("evaluation copies and near-duplicates are kept out of the anchors")
    func exclusionAndDedup() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        _ = try prepare(daemon)
        let run = daemon.arf(
            "anchors", "retrieve", "clean", "--pool", "pool", "--finetune", "pets", "--model",
            "tiny", "--retriever", "exact", "--per-class", "11", "--exclude-eval", "--dedup",
            "0.99", "--query", "both")
        #expect(run.code == 0, "\(run)")
        let got = try pairs(daemon, "clean")
        let chosen = got.compactMap { $0["pool_index"] as? Int }
        #expect(!chosen.contains(0), "pool item 0 is a copy of an evaluation image")
        #expect(!(chosen.contains(1) && chosen.contains(20)), "items 1 and 20 are the same image")
        #expect(Set(got.compactMap { $0["query"] as? String }) == ["text", "image"])

        // What exclusion and dedup promise, checked on the stored embeddings themselves.
        let vectors = try poolVectors(daemon)
        for a in chosen {
            #expect(cosine(vectors[a]!, vectors[0]!) < 0.95, "item \(a) is near the eval copy")
            for b in chosen where b > a {
                #expect(cosine(vectors[a]!, vectors[b]!) < 0.99, "items \(a) and \(b) duplicate")
            }
        }
        let shown = try jsonObject(daemon.arf("anchors", "show", "clean", "--json"))
        let task = shown["task"] as? [String: Any]
        #expect(task?["exclude_eval"] as? Bool == true && task?["dedup"] as? Double == 0.99)
    }

    @Test("ivf probing every list retrieves what exact retrieves; bad requests are refused")
    func ivfAndErrors() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        _ = try prepare(daemon)
        let common = [
            "--pool", "pool", "--finetune", "pets", "--model", "tiny", "--per-class", "4",
        ]
        #expect(
            daemon.arf(["anchors", "retrieve", "e"] + common + ["--retriever", "exact"]).code == 0)
        let ivf = daemon.arf(
            ["anchors", "retrieve", "i"] + common
                + ["--retriever", "ivf", "--option", "lists=3", "--option", "nprobe=3"])
        #expect(ivf.code == 0, "\(ivf)")
        let exact = try pairs(daemon, "e").map { $0["pool_index"] as? Int }
        #expect(try pairs(daemon, "i").map { $0["pool_index"] as? Int } == exact)
        #expect(exact.count == 8)

        // The trained index is kept: the same request loads it, other settings rebuild it.
        func builds() -> Int { daemon.log.components(separatedBy: "building ivf index").count - 1 }
        #expect(builds() == 1 && daemon.log.contains("ivf index stored"), "\(daemon.log)")
        let ivfOptions = ["--retriever", "ivf", "--option", "nprobe=3"]
        let again = daemon.arf(
            ["anchors", "retrieve", "i2"] + common + ivfOptions + ["--option", "lists=3"])
        #expect(again.code == 0, "\(again)")
        #expect(builds() == 1 && daemon.log.contains("ivf index loaded"), "\(daemon.log)")
        #expect(try pairs(daemon, "i2").map { $0["pool_index"] as? Int } == exact)
        let other = daemon.arf(
            ["anchors", "retrieve", "i3"] + common + ivfOptions + ["--option", "lists=2"])
        #expect(other.code == 0 && builds() == 2, "\(other)")

        let notPool = daemon.arf(
            [
                "anchors", "retrieve", "x", "--pool", "pets", "--finetune", "pets", "--model",
                "tiny",
                "--per-class", "4", "--retriever", "exact",
            ])
        #expect(notPool.error.contains("a pool is a pair list"), "\(notPool)")
        let taken = daemon.arf(
            ["anchors", "retrieve", "pool"] + common + ["--retriever", "exact"])
        #expect(taken.error.contains("has the name of a dataset"), "\(taken)")
        let unknown = daemon.arf(["anchors", "retrieve", "x"] + common + ["--retriever", "hnsw"])
        #expect(unknown.error.contains("no retriever plugin named hnsw"), "\(unknown)")
        #expect(unknown.error.contains("exact, ivf"), "\(unknown)")
    }
}
