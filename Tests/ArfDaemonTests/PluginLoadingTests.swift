// External plugins through a real arfd: the example plugin package (Plugins/ExamplePlugin) is
// built here as its own package, loaded with `arfd --plugins DIR`, listed by
// `arf plugins list` with the file it came from, and used by a caption job; broken libraries
// beside it are refused with clear reasons while the daemon runs on; a missing plugins
// folder stops arfd at start with a message naming it.
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
        return scratch + "/debug/libSidecarTextCaptioner.so"
    }

    @Test(
        "an external plugin loads, is listed with its file, and captions; broken ones are refused")
    func externalPlugin() throws {
        let daemon = try DaemonProcess(start: false)
        defer { daemon.cleanup() }
        let library = try Self.buildExamplePlugin(scratch: daemon.folder + "/build")
        let plugins = daemon.folder + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: library, toPath: plugins + "/libsidecar.so")
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: plugins + "/broken.so"))
        try daemon.start(extraArguments: ["--plugins", plugins])

        let listed = daemon.arf("plugins", "list", "--json")
        #expect(listed.code == 0, "\(listed)")
        let reply = try jsonObject(listed)
        let entries = reply["plugins"] as? [[String: Any]] ?? []
        let sidecar = try #require(entries.first { $0["name"] as? String == "sidecar-text" })
        #expect(sidecar["kind"] as? String == "captioner")
        #expect(sidecar["version"] as? String == "1.0.0")
        #expect(sidecar["source"] as? String == plugins + "/libsidecar.so")
        let options = (sidecar["options"] as? [[String: Any]] ?? []).map { $0["name"] as? String }
        #expect(options == ["extension", "max_chars"])
        #expect(entries.contains { $0["name"] as? String == "nearest-caption" })
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
                == plugins + "/libsidecar.so")
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
