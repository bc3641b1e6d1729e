// What every arf plugin is: a class with a kind, a name, a version and a schema of typed
// options, built from options the daemon has parsed against that schema. The three kinds
// (Captioner, Retriever, LossPlugin) add one method each, in their own files.
//
// External plugins are shared libraries that export two C symbols:
//
//   arf_plugin_api_version  () -> Int32   the API version the library was compiled against
//   arf_plugin_entry        () -> void *  a +1 retained object conforming to PluginProvider
//
// The daemon reads the version first and refuses a mismatch before touching any Swift object,
// since without library evolution a plugin built against other API source may lay out the
// same types differently. A plugin library is never unloaded: its types' metadata stays
// registered with the runtime for the life of the process.
//
// A minimal plugin library:
//
//     @_cdecl("arf_plugin_api_version")
//     public func arfPluginAPIVersion() -> Int32 { PluginAPI.version }
//
//     @_cdecl("arf_plugin_entry")
//     public func arfPluginEntry() -> UnsafeMutableRawPointer {
//         PluginAPI.export(MyProvider())
//     }
import Foundation

/// Constants of the plugin interface.
public enum PluginAPI {
    /// The version of this interface; bumped whenever a protocol or a shared type changes.
    /// Emitted into each client, so a plugin reports the version it was compiled against.
    @_alwaysEmitIntoClient
    public static var version: Int32 { 1 }

    /// The C symbol returning the API version a plugin library was built against.
    public static let versionSymbol = "arf_plugin_api_version"

    /// The C symbol returning a plugin library's provider.
    public static let entrySymbol = "arf_plugin_entry"

    /// A provider as `arf_plugin_entry` returns it: retained once, for the daemon to take.
    public static func export(_ provider: PluginProvider) -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(provider as AnyObject).toOpaque()
    }
}

/// The kinds of plugin the daemon knows.
public enum PluginKind: String, Sendable, CaseIterable, Codable {
    /// Writes captions for images (caption anchors).
    case captioner
    /// Picks image-text pairs from a pool by similarity to a task (pair anchors).
    case retriever
    /// A training loss over a batch of embeddings.
    case loss
}

/// The common part of every plugin.
public protocol ArfPlugin: AnyObject {
    /// The kind; the kind protocols provide it.
    static var kind: PluginKind { get }
    /// The name users select it by, for example "nearest-caption".
    static var name: String { get }
    /// The plugin's own version, for provenance.
    static var version: String { get }
    /// One line on what it does.
    static var summary: String { get }
    /// The options it takes, with types, defaults and help.
    static var options: [OptionSpec] { get }
    /// Builds the plugin from options already checked against `options`.
    init(options: PluginOptions) throws
}

extension ArfPlugin {
    /// The plugin's name.
    public var name: String { Self.name }

    /// The plugin's version.
    public var version: String { Self.version }

    /// Parses `values` against the schema and builds the plugin.
    public static func make(_ values: [String: String]) throws -> Self {
        try Self(options: PluginOptions(values, schema: options, plugin: name))
    }

    /// Parses a JSON object of options against the schema and builds the plugin.
    public static func make(json: String) throws -> Self {
        try Self(options: PluginOptions(json: json, schema: options, plugin: name))
    }
}

/// What a plugin library hands the daemon: the plugins it holds.
public protocol PluginProvider: AnyObject {
    /// The API version the library was compiled against; return `PluginAPI.version`.
    var apiVersion: Int32 { get }
    /// The plugin types in the library.
    var plugins: [any ArfPlugin.Type] { get }
}

/// Mistakes in options, and input a plugin cannot use.
public enum PluginAPIError: Error, CustomStringConvertible, Equatable {
    case unknownOption(plugin: String, name: String, known: [String])
    case missingOption(plugin: String, name: String)
    case badOptionValue(plugin: String, name: String, value: String, expected: String)
    case badOptionsJSON(plugin: String, reason: String)
    /// The plugin cannot work with what it was given (a missing file, an empty bank).
    case badInput(plugin: String, reason: String)
    /// The plugin failed in a way that is not the input's fault.
    case failed(plugin: String, reason: String)

    public var description: String {
        switch self {
        case .unknownOption(let plugin, let name, let known):
            "\(plugin) has no option \(name)"
                + (known.isEmpty
                    ? "; it takes none" : "; options: \(known.joined(separator: ", "))")
        case .missingOption(let plugin, let name):
            "\(plugin) needs the option \(name)"
        case .badOptionValue(let plugin, let name, let value, let expected):
            "option \(name) of \(plugin) takes \(expected), not \(value)"
        case .badOptionsJSON(let plugin, let reason):
            "options of \(plugin) are not a JSON object of values: \(reason)"
        case .badInput(let plugin, let reason):
            "\(plugin): \(reason)"
        case .failed(let plugin, let reason):
            "\(plugin) failed: \(reason)"
        }
    }
}
