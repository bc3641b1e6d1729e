// `arf demo` shrunken to a test: a small world, a tiny model pretrained on its pool by the
// pretrain job, then the whole demonstration through a real arfd. The table and the JSON have
// every method and measure, finetuning beats chance in distribution, the report has its
// chart, and a second run (on a daemon the demo starts itself, over the same data folder)
// reuses everything and reports the same numbers.
import ArfClient
import ArfWire
import ArfWorld
import Foundation
import Testing

@Suite("Demo", .serialized)
struct DemoTests {
    static let tinyModel = [
        "--steps", "300", "--batch", "64", "--lr", "0.002", "--warmup", "20", "--merges", "300",
        "--vision-width", "32", "--vision-layers", "2", "--vision-heads", "2",
        "--text-width", "32", "--text-layers", "1", "--text-heads", "2", "--projection", "32",
    ]

    @Test("a shrunken demo prints the table, writes JSON and a report, and reruns from store")
    func shrunkenDemo() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let world = daemon.folder + "/world"
        try WorldGenerator.generate(
            out: URL(fileURLWithPath: world), seed: 0,
            scale: WorldScale(pool: 2000, finetune: 400, evaluation: 80))

        let model = daemon.folder + "/tiny-pretrained"
        let pretrained = daemon.arf(
            ["--json", "pretrain", "--pairs", world + "/pool/pairs.tsv", "--out", model]
                + Self.tinyModel)
        #expect(pretrained.code == 0, "\(pretrained)")
        let events = try pretrained.jsonLines()
        #expect(
            events.contains {
                ($0["loss"] as? Double ?? 0) > 0 && ($0["learning_rate"] as? Double ?? 0) > 0
            })
        #expect(events.last?["steps"] as? Int == 300, "\(events.last ?? [:])")

        let demo = [
            "demo", "--work", daemon.folder, "--world", world, "--model", model, "--quick",
            "--steps", "300", "--lr", "0.003", "--json",
        ]
        let first = daemon.arf(demo + [daemon.folder + "/first.json"])
        #expect(first.code == 0, "\(first)\n\(daemon.log.suffix(3000))")
        let labels = first.lines.dropFirst().prefix(7).map { $0.split(separator: " ").first ?? "" }
        #expect(first.lines.first?.hasPrefix("METHOD") == true, "\(first.output)")
        #expect(
            labels == [
                "zeroshot", "ft", "ft+wise0.5", "flyp", "flyp+wise0.5", "arf", "arf+wise0.5",
            ], "\(first.output)")

        let json = try Self.methods(daemon.folder + "/first.json")
        for name in ["zeroshot", "ft", "flyp", "arf", "ft+wise0.25", "arf+wise0.5", "flyp+wise0.75"]
        {
            let method = try #require(json[name], "\(name) is missing")
            let domains = method["domains"] as? [String: Double] ?? [:]
            #expect(Set(domains.keys) == Set(DemoOutcomeKeys.domains), "\(name): \(domains)")
            for key in ["id", "id_decorrelated", "shift_avg", "zeroshot_avg"] {
                let value = method[key] as? Double ?? -1
                #expect((0...1).contains(value), "\(name).\(key) = \(value)")
            }
            let shift = ["sketch", "cartoon", "painting"].compactMap { domains[$0] }
            let mean = shift.reduce(0, +) / 3
            #expect(abs((method["shift_avg"] as? Double ?? -1) - mean) < 1e-12)
        }
        // Eight classes: chance is 0.125; the colour shortcut alone is worth far more in
        // distribution, and ft learns it within 300 steps.
        let ft = json["ft"]?["id"] as? Double ?? 0
        #expect(ft > 0.25, "ft in-distribution accuracy \(ft)")
        for name in ["flyp", "arf"] {
            let id = json[name]?["id"] as? Double ?? 0
            #expect(id > 0.125, "\(name) in-distribution accuracy \(id)")
        }
        let report = try String(contentsOfFile: daemon.folder + "/report.html", encoding: .utf8)
        #expect(report.contains("<svg") && report.contains("<td>arf</td>"))

        // Without a daemon on the socket the demo starts one over the same data folder, finds
        // every job's work done, and stops it again.
        try daemon.terminate()
        let (console, captured) = Console.capturing()
        let started = Date()
        let code = ArfCLI.run(
            ["--socket", daemon.socket] + demo + [daemon.folder + "/second.json"],
            console: console)
        #expect(code == 0, "\(captured.error)")
        #expect(captured.error.contains("started arfd"), "\(captured.error)")
        #expect(Date().timeIntervalSince(started) < 60, "the rerun trained or evaluated again")
        let second = try Self.methods(daemon.folder + "/second.json")
        #expect(NSDictionary(dictionary: second).isEqual(to: json), "the rerun's numbers differ")
        #expect(
            (try? WireClient.connect(socketPath: daemon.socket)) == nil,
            "the demo's own daemon is stopped")
    }

    /// The "methods" object of a demo JSON file.
    static func methods(_ path: String) throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return object?["methods"] as? [String: [String: Any]] ?? [:]
    }
}

/// The evaluation sets the demo's JSON names.
enum DemoOutcomeKeys {
    static let domains = [
        "id", "id_decorrelated", "sketch", "cartoon", "painting", "unseen_photo",
        "unseen_sketch", "unseen_cartoon", "unseen_painting",
    ]
}
