// External plugins: the example plugin package (Plugins/ExamplePlugin) is built here as its
// own package, loaded with `arfd --plugins DIR`, listed by `arf plugins list` with the file
// it came from, and used: its captioner by a caption job, its loss by a finetune run (and,
// loaded in this process, checked against finite differences). Broken libraries beside it
// are refused with clear reasons while the daemon runs on; a missing plugins folder stops
// arfd at start with a message naming it.
import ArfPluginAPI
import ArfPlugins
import ArfWire
import Foundation
import Testing

@Suite("Plugin loading")
struct PluginLoadingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// Builds the example plugin package into `scratch`; returns the library's path.
    static func buildExamplePlugin(scratch: String) throws -> String {
        let swift = Process()
        swift.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        swift.arguments = [
            "swift", "build", "--package-path", root + "/Plugins/ExamplePlugin",
            "--scratch-path", scratch,
        ]
        let output = Pipe()
        swift.standardOutput = output
        swift.standardError = output
        try swift.run()
        let log = output.fileHandleForReading.readDataToEndOfFile()
        swift.waitUntilExit()
        guard swift.terminationStatus == 0 else {
            throw HarnessError(
                "building Plugins/ExamplePlugin failed:\n" + String(decoding: log, as: UTF8.self))
        }
        return scratch + "/debug/libArfExamplePlugins.so"
    }

    /// The example library, built once per test process. The build folder is kept between
    /// runs (rebuilt incrementally, one per checkout and user) rather than left behind once
    /// per run; SwiftPM's own lock on it keeps two simultaneous runs apart.
    static let examplePlugin = Result {
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in root.utf8 { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return try buildExamplePlugin(
            scratch: FileManager.default.temporaryDirectory.path
                + "/arf-example-plugin-\(getuid())-\(String(digest, radix: 16))")
    }

    /// A folder inside `daemon`'s holding a copy of the example library.
    static func pluginsFolder(_ daemon: DaemonProcess) throws -> String {
        let plugins = daemon.folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: try examplePlugin.get(), toPath: plugins + "/libexample.so")
        return plugins
    }

    @Test(
        "an external plugin loads, is listed with its file, and captions; broken ones are refused")
    func externalPlugin() throws {
        let daemon = try DaemonProcess(start: false)
        defer { daemon.cleanup() }
        let plugins = try Self.pluginsFolder(daemon)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: plugins + "/broken.so"))
        try daemon.start(extraArguments: ["--plugins", plugins])

        let listed = daemon.arf("plugins", "list", "--json")
        #expect(listed.code == 0, "\(listed)")
        let reply = try jsonObject(listed)
        let entries = reply["plugins"] as? [[String: Any]] ?? []
        let sidecar = try #require(entries.first { $0["name"] as? String == "sidecar-text" })
        #expect(sidecar["kind"] as? String == "captioner")
        #expect(sidecar["version"] as? String == "1.0.0")
        #expect(sidecar["source"] as? String == plugins + "/libexample.so")
        let options = (sidecar["options"] as? [[String: Any]] ?? []).map { $0["name"] as? String }
        #expect(options == ["extension", "max_chars"])
        #expect(entries.contains { $0["name"] as? String == "nearest-caption" })
        let loss = try #require(entries.first { $0["name"] as? String == "prompt-cosine" })
        #expect(
            loss["kind"] as? String == "loss"
                && loss["source"] as? String == sidecar["source"] as? String)
        let refused = reply["refused"] as? [[String: Any]] ?? []
        #expect(refused.map { $0["path"] as? String } == [plugins + "/broken.so"])
        #expect((refused.first?["reason"] as? String)?.contains("does not load") == true)
        #expect(daemon.log.contains("plugin refused path=\(plugins)/broken.so"))
        let text = daemon.arf("plugins", "list")
        #expect(text.output.contains("sidecar-text") && text.error.contains("refused"), "\(text)")

        // The plugin works: captions come from the text files beside the images.
        let images = try classFolder(daemon.folder, classes: [("cat", 2)])
        try writeText("  a cat\non a   mat\n", to: images + "/cat/cat-0.txt")
        #expect(daemon.arf("data", "add", "pets", images, "--role", "finetune").code == 0)
        let run = daemon.arf("anchors", "caption", "pets", "--captioner", "sidecar-text")
        #expect(run.code == 0, "\(run)")
        #expect(run.output.contains("skipped cat/cat-1.png: no caption file"), "\(run)")
        let shown = try jsonObject(daemon.arf("anchors", "show", "pets", "--json"))
        let captions = shown["captions"] as? [[String: Any]] ?? []
        #expect(
            ((captions.first?["captions"] as? [[String: Any]])?.first?["text"] as? String)
                == "a cat on a mat")
        #expect(
            (shown["caption_sets"] as? [[String: Any]])?.first?["source"] as? String
                == plugins + "/libexample.so")
    }

    @Test("an external loss's gradients match finite differences, and it trains a run")
    func externalLoss() throws {
        let daemon = try DaemonProcess(start: false)
        defer { daemon.cleanup() }
        let plugins = try Self.pluginsFolder(daemon)

        // In this process: the library's loss through the plugin API, on random features.
        let catalog = try PluginCatalog(builtins: [], folder: plugins)
        #expect(catalog.refusals.isEmpty, "\(catalog.refusals)")
        let type = try #require(
            try catalog.entry(.loss, named: "prompt-cosine").type as? any LossPlugin.Type)
        let plugin = try type.make(["template": "1"])
        try plugin.prepare(
            LossSetup(
                classNames: ["cat", "dog"], templates: ["a {}.", "a photo of a {}."],
                hasPairs: false, logLogitScale: 2, embedTexts: { _ in [] }))
        let examples = LossExamples(labels: [1, 0, 1], captions: [[], [], []])
        let plan = plugin.plan(examples, random: { 0 })
        #expect(plan.texts == ["a photo of a dog.", "a photo of a cat."])
        #expect(plan.matches.map(\.text) == [0, 1, 0])
        var seed: UInt64 = 7
        func uniform() -> Float {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(seed >> 40) / Float(1 << 24) * 2 - 1
        }
        let width = 5
        // features[0] holds the 3 image rows, features[1] the 2 text rows.
        var features = [
            (0..<3 * width).map { _ in uniform() }, (0..<2 * width).map { _ in uniform() },
        ]
        func loss() throws -> LossResult {
            try plugin.compute(
                examples, plan: plan,
                features: LossFeatures(
                    images: EmbeddingMatrix(rows: 3, dimension: width, values: features[0]),
                    pairImages: EmbeddingMatrix(rows: 0, dimension: width, values: []),
                    texts: EmbeddingMatrix(rows: 2, dimension: width, values: features[1]),
                    logLogitScale: 2))
        }
        let analytic = try loss()
        #expect(analytic.value > 0 && analytic.value < 2)
        // Central differences in Float: step 1e-3 leaves errors near 1e-4 on gradients of
        // order 0.1, so 2e-3 absolute is a tight bound that a wrong sign or factor exceeds.
        let h: Float = 1e-3
        var worst: Float = 0
        let gradients = [
            try #require(analytic.imageGradient), try #require(analytic.textGradient),
        ]
        for (which, gradient) in gradients.enumerated() {
            try #require(gradient.count == features[which].count)
            for k in features[which].indices {
                let kept = features[which][k]
                features[which][k] = kept + h
                let up = try loss().value
                features[which][k] = kept - h
                let down = try loss().value
                features[which][k] = kept
                // max() would pass a NaN over, so a NaN counts as the worst difference.
                let difference = abs((up - down) / (2 * h) - gradient[k])
                worst = difference.isNaN ? .infinity : max(worst, difference)
            }
        }
        #expect(worst < 2e-3, "largest gradient difference \(worst)")

        // Through arfd: a finetune run with the loaded loss lowers it.
        try daemon.start(extraArguments: ["--plugins", plugins])
        try loadTiny(try daemon.client())
        let pictures = try classFolder(daemon.folder, classes: [("cat", 4), ("dog", 4)])
        #expect(daemon.arf("data", "add", "pets", pictures, "--role", "finetune").code == 0)
        let run = daemon.arf(
            "--json", "finetune", "--model", "tiny", "--data", "pets", "--method", "flyp", "--loss",
            "prompt-cosine",
            "--steps", "12", "--batch", "8", "--lr", "1e-2", "--run", "pc")
        #expect(run.code == 0, "\(run)")
        let losses = try run.jsonLines().compactMap { $0["loss"] as? Double }.filter { $0 > 0 }
        #expect(losses.count >= 2, "\(run)")
        #expect((losses.last ?? 1) < (losses.first ?? 0), "losses \(losses)")
    }

    @Test("a plugin built against another API version is refused and arfd keeps running")
    func incompatiblePlugin() throws {
        let daemon = try DaemonProcess(start: false)
        defer { daemon.cleanup() }
        let plugins = daemon.folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        let source = plugins + "/old.c"
        try writeText("int arf_plugin_api_version(void) { return 0; }\n", to: source)
        let clang = Process()
        clang.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        clang.arguments = ["clang", "-shared", "-fPIC", "-o", plugins + "/libold.so", source]
        try clang.run()
        clang.waitUntilExit()
        try #require(clang.terminationStatus == 0)
        try daemon.start(extraArguments: ["--plugins", plugins])

        let reply = try daemon.client().call(Methods.listPlugins, ListPluginsRequest())
        #expect(reply.refused.map(\.path) == [plugins + "/libold.so"])
        let reason = reply.refused.first?.reason ?? ""
        #expect(reason.contains("built against plugin API version 0"), "\(reason)")
        #expect(reason.contains("this arfd has API version"), "\(reason)")
        #expect(reply.plugins.map(\.name).contains("file"), "built-ins still load")
        #expect(try daemon.client().call(Methods.status, StatusRequest()).pid > 0)
    }

    @Test("a plugins folder that does not exist stops arfd at start, naming it")
    func missingPluginsFolder() throws {
        let daemon = try DaemonProcess(start: false)
        defer { daemon.cleanup() }
        let process = try daemon.launch([
            "--socket", daemon.socket, "--data", daemon.data, "--plugins",
            daemon.folder + "/nope",
        ])
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(daemon.log.contains("no plugins folder at \(daemon.folder)/nope"), "\(daemon.log)")
    }
}
