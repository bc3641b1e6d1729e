// A JSON value that keeps what Python's json module distinguishes: integers apart from
// floating-point numbers (`1` is not `1.0`). Hugging Face configs are validated by type, so a
// config.json that arf reads and writes back must keep `1.0` a float. Foundation's
// JSONEncoder writes 1.0 as 1, so writing is done here, by hand, with sorted keys.
import Foundation

/// Any JSON value.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses JSON text.
    public init(parsing data: Data) throws {
        self.init(any: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }

    init(any: Any) {
        switch any {
        case is NSNull:
            self = .null
        case let s as String:
            self = .string(s)
        case let a as [Any]:
            self = .array(a.map(JSONValue.init(any:)))
        case let o as [String: Any]:
            self = .object(o.mapValues(JSONValue.init(any:)))
        case let n as NSNumber:
            // The number's storage type tells how the text spelled it.
            switch UInt8(bitPattern: n.objCType.pointee) {
            case UInt8(ascii: "c"), UInt8(ascii: "B"): self = .bool(n.boolValue)
            case UInt8(ascii: "d"), UInt8(ascii: "f"): self = .number(n.doubleValue)
            default: self = .integer(n.int64Value)
            }
        default:
            self = .null
        }
    }

    /// JSON text with sorted keys, indented by two spaces, floats always with a fraction or
    /// an exponent as Python prints them.
    public func serialized(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent + 2)
        let close = String(repeating: " ", count: indent)
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return "\(i)"
        case .number(let d):
            guard d.isFinite else { return d.isNaN ? "NaN" : (d > 0 ? "Infinity" : "-Infinity") }
            let text = "\(d)"
            return text.contains(where: { $0 == "." || $0 == "e" }) ? text : text + ".0"
        case .string(let s): return Self.quote(s)
        case .array(let a):
            if a.isEmpty { return "[]" }
            return "[\n"
                + a.map { pad + $0.serialized(indent: indent + 2) }.joined(separator: ",\n")
                + "\n\(close)]"
        case .object(let o):
            if o.isEmpty { return "{}" }
            return "{\n"
                + o.keys.sorted().map {
                    pad + Self.quote($0) + ": " + o[$0]!.serialized(indent: indent + 2)
                }.joined(separator: ",\n") + "\n\(close)}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var doubleValue: Double? {
        switch self {
        case .number(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
    public var intValue: Int? {
        switch self {
        case .integer(let i): Int(i)
        case .number(let d) where d == d.rounded() && abs(d) < 1e15: Int(d)
        default: nil
        }
    }
}
