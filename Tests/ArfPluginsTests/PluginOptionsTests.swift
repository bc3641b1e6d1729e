// Typed plugin options against a schema: defaults fill in, values parse to their types from
// key=value text and from JSON, and every mistake (an unknown key, a missing required option,
// a value of the wrong type, a value outside the choices) is refused naming the option.
import ArfPluginAPI
import Foundation
import Testing

@Suite("Plugin options")
struct PluginOptionsTests {
    static let schema = [
        OptionSpec("path", .path, help: "required"),
        OptionSpec("top_k", .int, default: "1", help: "an int"),
        OptionSpec("penalty", .double, default: "0.5", help: "a double"),
        OptionSpec("verbose", .bool, default: "false", help: "a bool"),
        OptionSpec("mode", .string, default: "none", help: "a choice", choices: ["none", "mmr"]),
    ]

    @Test("defaults fill in and text values parse to their types")
    func parsesText() throws {
        let options = try PluginOptions(
            ["path": "/x", "top_k": "3", "verbose": "yes"], schema: Self.schema, plugin: "p")
        #expect(options.string("path") == "/x")
        #expect(options.int("top_k") == 3)
        #expect(options.double("penalty") == 0.5)
        #expect(options.bool("verbose"))
        #expect(options.string("mode") == "none")
    }

    @Test("JSON numbers, booleans and strings parse like their text forms")
    func parsesJSON() throws {
        let json = #"{"path": "/x", "top_k": 4, "penalty": 0.25, "verbose": true, "mode": "mmr"}"#
        let options = try PluginOptions(json: json, schema: Self.schema, plugin: "p")
        let text = try PluginOptions(
            ["path": "/x", "top_k": "4", "penalty": "0.25", "verbose": "true", "mode": "mmr"],
            schema: Self.schema, plugin: "p")
        #expect(options == text)
    }

    @Test("the canonical JSON has sorted keys and parses back to the same options")
    func canonicalJSONRoundTrips() throws {
        let options = try PluginOptions(["path": "/a \"b\""], schema: Self.schema, plugin: "p")
        let canonical = options.canonicalJSON
        #expect(canonical.hasPrefix(#"{"mode":"none","path":"/a \"b\"","penalty":0.5,"#))
        #expect(try PluginOptions(json: canonical, schema: Self.schema, plugin: "p") == options)
    }

    @Test("mistakes are refused naming the option and what it takes")
    func refusesMistakes() {
        #expect(throws: PluginAPIError.missingOption(plugin: "p", name: "path")) {
            try PluginOptions([:], schema: Self.schema, plugin: "p")
        }
        #expect(
            throws: PluginAPIError.unknownOption(
                plugin: "p", name: "topk", known: Self.schema.map(\.name))
        ) {
            try PluginOptions(["path": "/x", "topk": "2"], schema: Self.schema, plugin: "p")
        }
        #expect(
            throws: PluginAPIError.badOptionValue(
                plugin: "p", name: "top_k", value: "two", expected: "a whole number")
        ) {
            try PluginOptions(["path": "/x", "top_k": "two"], schema: Self.schema, plugin: "p")
        }
        #expect(
            throws: PluginAPIError.badOptionValue(
                plugin: "p", name: "mode", value: "fast", expected: "one of none, mmr")
        ) {
            try PluginOptions(["path": "/x", "mode": "fast"], schema: Self.schema, plugin: "p")
        }
        #expect(throws: PluginAPIError.self) {
            try PluginOptions(json: "[1, 2]", schema: Self.schema, plugin: "p")
        }
        #expect(throws: PluginAPIError.self) {
            try PluginOptions(json: #"{"path": ["/x"]}"#, schema: Self.schema, plugin: "p")
        }
    }

    @Test("an error message names the plugin, the option and the expected type")
    func messagesAreClear() {
        let error = PluginAPIError.badOptionValue(
            plugin: "nearest-caption", name: "top_k", value: "x", expected: "a whole number")
        #expect(error.description == "option top_k of nearest-caption takes a whole number, not x")
    }
}
