// Swift values for arf/v1/plugins.proto (listing the daemon's plugins with their options,
// and the plugin libraries it refused) and their mapping onto the protobuf-c structs.
import ArfProto

/// One option of a plugin.
public struct PluginOption: WireMessage, Equatable {
    public var name: String
    /// string, int, double, bool or path.
    public var type: String
    public var defaultValue: String
    /// Whether the option has no default and must be given.
    public var required: Bool
    public var help: String
    /// The values allowed, when the option is a choice.
    public var choices: [String]

    public init(
        name: String = "", type: String = "", defaultValue: String = "", required: Bool = false,
        help: String = "", choices: [String] = []
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.required = required
        self.help = help
        self.choices = choices
    }
}

extension PluginOption: ProtobufCMapped {
    typealias CMessage = Arf__V1__PluginOption

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__plugin_option__init(message)
    }

    init(c: CMessage) {
        self.init(
            name: CField.string(c.name), type: CField.string(c.type),
            defaultValue: CField.string(c.default_value), required: c.required != 0,
            help: CField.string(c.help), choices: CField.strings(c.choices, c.n_choices))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.type = arena.string(type)
        c.default_value = arena.string(defaultValue)
        c.required = required ? 1 : 0
        c.help = arena.string(help)
        c.n_choices = choices.count
        c.choices = arena.strings(choices)
    }
}

/// A plugin the daemon can use.
public struct PluginInfo: WireMessage, Equatable {
    /// captioner, retriever or loss.
    public var kind: String
    public var name: String
    public var version: String
    /// built-in, or the path of the library it came from.
    public var source: String
    public var summary: String
    public var options: [PluginOption]

    public init(
        kind: String = "", name: String = "", version: String = "", source: String = "",
        summary: String = "", options: [PluginOption] = []
    ) {
        self.kind = kind
        self.name = name
        self.version = version
        self.source = source
        self.summary = summary
        self.options = options
    }
}

extension PluginInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__PluginInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__plugin_info__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            kind: CField.string(c.kind), name: CField.string(c.name),
            version: CField.string(c.version), source: CField.string(c.source),
            summary: CField.string(c.summary),
            options: try PluginOption.repeated(c.options, c.n_options))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.kind = arena.string(kind)
        c.name = arena.string(name)
        c.version = arena.string(version)
        c.source = arena.string(source)
        c.summary = arena.string(summary)
        c.n_options = options.count
        c.options = options.cArray(arena)
    }
}

/// A plugin library the daemon did not load, and why.
public struct PluginRefusalInfo: WireMessage, Equatable {
    public var path: String
    public var reason: String

    public init(path: String = "", reason: String = "") {
        self.path = path
        self.reason = reason
    }
}

extension PluginRefusalInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__PluginRefusal

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__plugin_refusal__init(message)
    }

    init(c: CMessage) { self.init(path: CField.string(c.path), reason: CField.string(c.reason)) }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.path = arena.string(path)
        c.reason = arena.string(reason)
    }
}

/// Asks for the daemon's plugins.
public struct ListPluginsRequest: WireMessage, Equatable {
    public init() {}
}

extension ListPluginsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListPluginsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_plugins_request__init(message)
    }

    init(c: CMessage) {}

    func fill(_ c: inout CMessage, _ arena: CArena) {}
}

/// The daemon's plugins, and the libraries it refused.
public struct ListPluginsReply: WireMessage, Equatable {
    public var plugins: [PluginInfo]
    public var refused: [PluginRefusalInfo]

    public init(plugins: [PluginInfo] = [], refused: [PluginRefusalInfo] = []) {
        self.plugins = plugins
        self.refused = refused
    }
}

extension ListPluginsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListPluginsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_plugins_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            plugins: try PluginInfo.repeated(c.plugins, c.n_plugins),
            refused: try PluginRefusalInfo.repeated(c.refused, c.n_refused))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_plugins = plugins.count
        c.plugins = plugins.cArray(arena)
        c.n_refused = refused.count
        c.refused = refused.cArray(arena)
    }
}
