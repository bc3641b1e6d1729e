// Typed plugin options: a schema (name, type, default, help) that each plugin declares, and
// the parsed values, read from `key=value` pairs as the command line gives them or from a
// JSON object as a job's parameters keep them. Unknown keys are refused, so a misspelt option
// never silently falls back to its default. `canonicalJSON` gives the resolved values (with
// defaults filled in) in one spelling, which is what provenance records.
import Foundation

/// The type of an option's value.
public enum OptionType: String, Sendable, Codable {
    case string, int, double, bool
    /// A file or folder path; relative paths are left for the plugin to resolve.
    case path
}

/// One option a plugin takes.
public struct OptionSpec: Sendable, Equatable, Codable {
    public var name: String
    public var type: OptionType
    /// The value used when none is given, as text; nil makes the option required.
    public var defaultValue: String?
    public var help: String
    /// The values allowed, when the option is a choice; empty means any value of the type.
    public var choices: [String]

    public init(
        _ name: String, _ type: OptionType, default defaultValue: String? = nil, help: String,
        choices: [String] = []
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.help = help
        self.choices = choices
    }
}

/// A parsed option value.
public enum OptionValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
}

/// Options parsed against a plugin's schema; every option of the schema that has a default
/// or was given has a value.
public struct PluginOptions: Sendable, Equatable {
    public let values: [String: OptionValue]

    /// Parses text values, as `--option key=value` gives them.
    public init(_ given: [String: String], schema: [OptionSpec], plugin: String) throws {
        let known = schema.map(\.name)
        if let unknown = given.keys.sorted().first(where: { !known.contains($0) }) {
            throw PluginAPIError.unknownOption(plugin: plugin, name: unknown, known: known)
        }
        var values: [String: OptionValue] = [:]
        for spec in schema {
            guard let text = given[spec.name] ?? spec.defaultValue else {
                throw PluginAPIError.missingOption(plugin: plugin, name: spec.name)
            }
            values[spec.name] = try Self.parse(text, spec, plugin)
        }
        self.values = values
    }

    /// Parses a JSON object whose values are strings, numbers or booleans.
    public init(json: String, schema: [OptionSpec], plugin: String) throws {
        let text = json.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            try self.init([:], schema: schema, plugin: plugin)
            return
        }
        let fields: [String: JSONScalar]
        do {
            fields = try JSONDecoder().decode([String: JSONScalar].self, from: Data(text.utf8))
        } catch {
            throw PluginAPIError.badOptionsJSON(plugin: plugin, reason: "\(error)")
        }
        let given = fields.mapValues(\.text)
        try self.init(given, schema: schema, plugin: plugin)
    }

    /// The value of a string or path option ("" when absent).
    public func string(_ name: String) -> String {
        switch values[name] {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case nil: ""
        }
    }

    /// The value of an int option (0 when absent).
    public func int(_ name: String) -> Int {
        if case .int(let number) = values[name] { return number }
        return 0
    }

    /// The value of a double or int option (0 when absent).
    public func double(_ name: String) -> Double {
        switch values[name] {
        case .double(let number): number
        case .int(let number): Double(number)
        default: 0
        }
    }

    /// The value of a bool option (false when absent).
    public func bool(_ name: String) -> Bool {
        if case .bool(let flag) = values[name] { return flag }
        return false
    }

    /// The resolved values as one JSON object with sorted keys.
    public var canonicalJSON: String {
        let parts = values.keys.sorted().map { key -> String in
            let value: String
            switch values[key]! {
            case .string(let text): value = Self.quoted(text)
            case .int(let number): value = String(number)
            case .double(let number): value = number.isFinite ? "\(number)" : "null"
            case .bool(let flag): value = flag ? "true" : "false"
            }
            return "\(Self.quoted(key)):\(value)"
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    private static func parse(_ text: String, _ spec: OptionSpec, _ plugin: String) throws
        -> OptionValue
    {
        func bad(_ expected: String) -> PluginAPIError {
            .badOptionValue(plugin: plugin, name: spec.name, value: text, expected: expected)
        }
        if !spec.choices.isEmpty, !spec.choices.contains(text) {
            throw bad("one of \(spec.choices.joined(separator: ", "))")
        }
        switch spec.type {
        case .string, .path:
            return .string(text)
        case .int:
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw bad("a whole number")
            }
            return .int(number)
        case .double:
            guard let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite
            else { throw bad("a number") }
            return .double(number)
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1", "on": return .bool(true)
            case "false", "no", "0", "off": return .bool(false)
            default: throw bad("true or false")
            }
        }
    }

    private static func quoted(_ text: String) -> String {
        let data =
            (try? JSONSerialization.data(
                withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

/// A JSON string, number or boolean, kept as the text an option parses.
private struct JSONScalar: Decodable {
    let text: String

    init(from decoder: Decoder) throws {
        let value = try decoder.singleValueContainer()
        // Whole numbers before doubles, so that an int option given as 16 reads as 16.
        if let flag = try? value.decode(Bool.self) {
            text = flag ? "true" : "false"
        } else if let number = try? value.decode(Int.self) {
            text = String(number)
        } else if let number = try? value.decode(Double.self) {
            text = String(number)
        } else {
            text = try value.decode(String.self)
        }
    }
}
