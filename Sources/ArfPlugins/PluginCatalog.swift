// The plugins a daemon can use: the built-in ones and those loaded from its plugins folder,
// each under a (kind, name) that must be unique. A loaded plugin that takes a name already in
// use is refused, so a file dropped into the folder can never silently replace a built-in.
// The catalog is fixed once built; plugins are instantiated per job from parsed options.
import ArfPluginAPI
import ArfSupport
import Foundation

/// Why a plugin could not be found, loaded or built.
public enum PluginError: Error, CustomStringConvertible, Equatable {
    case folderNotFound(path: String)
    case notAFolder(path: String)
    case folderUnreadable(path: String, reason: String)
    /// A plugin library was not loaded.
    case refused(path: String, reason: String)
    case unknownPlugin(kind: PluginKind, name: String, known: [String])

    public var description: String {
        switch self {
        case .folderNotFound(let path):
            "no plugins folder at \(path)"
        case .notAFolder(let path):
            "the plugins path \(path) is not a folder"
        case .folderUnreadable(let path, let reason):
            "cannot list the plugins folder \(path): \(reason)"
        case .refused(let path, let reason):
            "plugin \(path) refused: \(reason)"
        case .unknownPlugin(let kind, let name, let known):
            "no \(kind.rawValue) plugin named \(name)"
                + (known.isEmpty ? "" : "; \(kind.rawValue)s: \(known.joined(separator: ", "))")
        }
    }
}

/// One usable plugin.
public struct PluginEntry {
    public let type: any ArfPlugin.Type
    /// "built-in", or the path of the library it came from.
    public let source: String

    public var kind: PluginKind { type.kind }
    public var name: String { type.name }
    public var version: String { type.version }
    public var summary: String { type.summary }
    public var options: [OptionSpec] { type.options }
}

/// Built-in and loaded plugins by kind and name.
public final class PluginCatalog: @unchecked Sendable {
    /// What `source` says for a plugin compiled into arf.
    public static let builtinSource = "built-in"

    /// Every usable plugin: kinds in declaration order, then names in order.
    public let entries: [PluginEntry]
    /// Libraries of the plugins folder that were not loaded.
    public let refusals: [PluginRefusal]

    /// The built-in plugins, and those of every library in `folder` when given. A folder
    /// that is missing throws; a library that does not load is refused and logged.
    public init(builtins: [any ArfPlugin.Type] = BuiltinPlugins.all, folder: String? = nil)
        throws
    {
        var entries: [PluginEntry] = []
        var refusals: [PluginRefusal] = []
        func taken(_ type: any ArfPlugin.Type) -> PluginEntry? {
            entries.first { $0.kind == type.kind && $0.name == type.name }
        }
        for type in builtins {
            precondition(taken(type) == nil, "two built-in plugins are named \(type.name)")
            precondition(Self.conformsToItsKind(type), "\(type.name) does not match its kind")
            entries.append(PluginEntry(type: type, source: Self.builtinSource))
        }

        for path in try folder.map(PluginLoader.libraries(in:)) ?? [] {
            do {
                let types = try PluginLoader.load(path)
                if let clash = types.lazy.compactMap(taken).first {
                    throw PluginError.refused(
                        path: path,
                        reason: "its \(clash.kind.rawValue) \(clash.name) has the name of one "
                            + "already loaded from \(clash.source)")
                }
                for type in types {
                    entries.append(PluginEntry(type: type, source: path))
                    log.info(
                        "plugin loaded", ("kind", type.kind.rawValue), ("name", type.name),
                        ("version", type.version), ("path", path))
                }
            } catch let PluginError.refused(path, reason) {
                refusals.append(PluginRefusal(path: path, reason: reason))
                log.error("plugin refused", ("path", path), ("reason", reason))
            }
        }
        let order = PluginKind.allCases
        self.entries = entries.sorted {
            let (a, b) = (order.firstIndex(of: $0.kind)!, order.firstIndex(of: $1.kind)!)
            return a != b ? a < b : $0.name < $1.name
        }
        self.refusals = refusals
    }

    /// The plugin of `kind` named `name`.
    public func entry(_ kind: PluginKind, named name: String) throws -> PluginEntry {
        guard let entry = entries.first(where: { $0.kind == kind && $0.name == name }) else {
            throw PluginError.unknownPlugin(kind: kind, name: name, known: names(of: kind))
        }
        return entry
    }

    /// Names of the plugins of one kind, in order.
    public func names(of kind: PluginKind) -> [String] {
        entries.filter { $0.kind == kind }.map(\.name)
    }

    /// A new captioner from options as a JSON object.
    public func captioner(named name: String, optionsJSON: String) throws -> any Captioner {
        let type = try entry(.captioner, named: name).type as! any Captioner.Type
        return try type.make(json: optionsJSON)
    }

    /// A new retriever from options as a JSON object.
    public func retriever(named name: String, optionsJSON: String) throws -> any Retriever {
        let type = try entry(.retriever, named: name).type as! any Retriever.Type
        return try type.make(json: optionsJSON)
    }

    /// Whether a plugin type conforms to the protocol of the kind it declares.
    static func conformsToItsKind(_ type: any ArfPlugin.Type) -> Bool {
        switch type.kind {
        case .captioner: type is any Captioner.Type
        case .retriever: type is any Retriever.Type
        case .loss: type is any LossPlugin.Type
        }
    }
}
