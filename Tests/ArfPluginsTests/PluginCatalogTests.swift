// The plugin catalog and loader: the built-in plugins are there in kind and name order, and
// every broken library in a plugins folder (not a shared library, no arf symbols, another API
// version, a provider that is missing) is refused with a reason naming the file, while the
// catalog still loads. The libraries are tiny C files compiled by the toolchain's clang.
import ArfPluginAPI
import ArfPlugins
import Foundation
import Testing

@Suite("Plugin catalog")
struct PluginCatalogTests {
    @Test("the built-in plugins are listed by kind, then name, with their options")
    func builtins() throws {
        let catalog = try PluginCatalog()
        #expect(catalog.names(of: .captioner) == ["command", "file", "nearest-caption"])
        #expect(catalog.entries.allSatisfy { $0.source == PluginCatalog.builtinSource })
        let kinds = catalog.entries.map(\.kind)
        let order = PluginKind.allCases
        #expect(kinds == kinds.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! })
        let file = try catalog.entry(.captioner, named: "file")
        #expect(file.options.map(\.name) == ["path", "format"])
        #expect(file.options[0].defaultValue == nil, "path is required")
    }

    @Test("plugins are made from JSON options and unknown names are refused listing the known")
    func making() throws {
        let catalog = try PluginCatalog()
        let captioner = try catalog.captioner(
            named: "nearest-caption", optionsJSON: #"{"top_k": 2}"#)
        #expect(captioner.name == "nearest-caption")
        #expect(
            throws: PluginError.unknownPlugin(
                kind: .captioner, name: "blip", known: ["command", "file", "nearest-caption"])
        ) {
            try catalog.captioner(named: "blip", optionsJSON: "{}")
        }
    }

    @Test("a missing plugins folder is an error, not an empty catalog")
    func missingFolder() {
        #expect(throws: PluginError.folderNotFound(path: "/nonexistent/plugins")) {
            try PluginCatalog(folder: "/nonexistent/plugins")
        }
    }

    @Test("broken plugin libraries are refused with the file and the reason; the rest loads")
    func refusesBrokenLibraries() throws {
        let folder = try temporaryFolder("arf-plugins")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let version = PluginAPI.version
        try Data("not a library".utf8).write(to: URL(fileURLWithPath: folder + "/text.so"))
        try compile("int unrelated(void) { return 1; }", to: folder + "/nosymbols.so")
        try compile(
            "int arf_plugin_api_version(void) { return \(version + 1); }",
            to: folder + "/newer.so")
        try compile(
            "int arf_plugin_api_version(void) { return \(version); }", to: folder + "/noentry.so")
        try compile(
            """
            int arf_plugin_api_version(void) { return \(version); }
            void *arf_plugin_entry(void) { return 0; }
            """, to: folder + "/noprovider.so")
        try Data("ignored".utf8).write(to: URL(fileURLWithPath: folder + "/README.txt"))

        let catalog = try PluginCatalog(folder: folder)
        #expect(catalog.entries.count == BuiltinPlugins.all.count)
        let reasons = Dictionary(
            uniqueKeysWithValues: catalog.refusals.map {
                (($0.path as NSString).lastPathComponent, $0.reason)
            })
        #expect(
            reasons.keys.sorted() == [
                "newer.so", "noentry.so", "noprovider.so", "nosymbols.so", "text.so",
            ])
        #expect(reasons["text.so"]?.contains("does not load") == true)
        #expect(reasons["nosymbols.so"]?.contains("no arf_plugin_api_version symbol") == true)
        #expect(
            reasons["newer.so"]
                == "it was built against plugin API version \(version + 1), but this arfd has "
                + "API version \(version); rebuild it against this arf's PluginAPI")
        #expect(reasons["noentry.so"]?.contains("no arf_plugin_entry symbol") == true)
        #expect(reasons["noprovider.so"]?.contains("returned no provider") == true)
        #expect(catalog.refusals.allSatisfy { $0.path.hasPrefix(folder + "/") })
        let message = PluginError.refused(path: folder + "/newer.so", reason: reasons["newer.so"]!)
        #expect(message.description.hasPrefix("plugin \(folder)/newer.so refused: it was built"))
    }

    /// Compiles C source into a shared library with the toolchain's clang.
    func compile(_ source: String, to library: String) throws {
        let file = library + ".c"
        try Data(source.utf8).write(to: URL(fileURLWithPath: file))
        let clang = Process()
        clang.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        clang.arguments = ["clang", "-shared", "-fPIC", "-o", library, file]
        try clang.run()
        clang.waitUntilExit()
        try FileManager.default.removeItem(atPath: file)
        try #require(clang.terminationStatus == 0, "clang could not build \(library)")
    }
}
