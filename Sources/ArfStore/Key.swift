// Keys: byte strings that LMDB orders bytewise (memcmp, then the shorter first). `Key` builds
// composite keys whose byte order is the order of their parts, so a table can be scanned by
// prefix ("all results of this model") or by range ("jobs 100 to 200"):
//   - a string part is its UTF-8 bytes followed by a 0 byte, so "model\0dataset\0item\0";
//     the bytes 0 and 1 inside a string are escaped as 1 1 and 1 2, which keeps the order
//     and means a 0 always ends a string;
//   - an unsigned integer part is 8 bytes big-endian, a signed one the same with its sign bit
//     flipped, so that negative numbers sort first.
// A key does not record the types of its parts: whoever reads one knows its layout and walks
// it with `Key.Reader`.
import Foundation

/// A store key: bytes compared lexicographically, built from parts that keep their order.
public struct Key: Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The key's bytes exactly as LMDB stores them.
    public var bytes: [UInt8]

    /// A key made of raw bytes, taken as they are.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A key made of string parts, each ended by a 0 byte: `Key("model", "dataset")`.
    public init(_ parts: String...) {
        bytes = []
        for part in parts { Key.appendString(part, to: &bytes) }
    }

    /// A key of one unsigned integer part, 8 bytes big-endian.
    public init(_ value: UInt64) {
        bytes = []
        Key.appendInteger(value, to: &bytes)
    }

    /// A string literal is a one-part key.
    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// The empty key; as a scan prefix it matches every key of a table.
    public static let empty = Key(bytes: [])

    /// This key followed by a string part.
    public func appending(_ string: String) -> Key {
        var copy = self
        Key.appendString(string, to: &copy.bytes)
        return copy
    }

    /// This key followed by an unsigned integer part (8 bytes big-endian).
    public func appending(_ value: UInt64) -> Key {
        var copy = self
        Key.appendInteger(value, to: &copy.bytes)
        return copy
    }

    /// This key followed by a signed integer part that sorts negative numbers first.
    public func appending(signed value: Int64) -> Key {
        appending(UInt64(bitPattern: value) ^ (1 << 63))
    }

    /// This key followed by raw bytes, taken as they are.
    public func appending(bytes more: [UInt8]) -> Key {
        Key(bytes: bytes + more)
    }

    /// Whether this key starts with the bytes of `prefix`.
    public func hasPrefix(_ prefix: Key) -> Bool {
        bytes.count >= prefix.bytes.count && bytes.starts(with: prefix.bytes)
    }

    /// A reader that walks the key's parts from the start.
    public func reader() -> Reader {
        Reader(bytes: bytes)
    }

    /// The parts of a key made only of string parts, or nil when it is not one.
    public var strings: [String]? {
        var reader = reader()
        var parts: [String] = []
        while !reader.isAtEnd {
            guard let part = reader.readString() else { return nil }
            parts.append(part)
        }
        return parts
    }

    public static func < (a: Key, b: Key) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes)
    }

    /// Printable ASCII as it is, every other byte as `\0` or `\xNN`.
    public var description: String {
        var text = ""
        for byte in bytes {
            switch byte {
            case 0: text += "\\0"
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x20..<0x7f: text.append(Character(UnicodeScalar(byte)))
            default: text += String(format: "\\x%02x", byte)
            }
        }
        return text
    }

    /// The smallest byte string greater than every key that starts with `prefix`, or nil when
    /// there is none (an empty prefix, or one made only of 0xff bytes).
    static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }

    private static func appendString(_ string: String, to bytes: inout [UInt8]) {
        for byte in string.utf8 {
            switch byte {
            case 0: bytes += [1, 1]
            case 1: bytes += [1, 2]
            default: bytes.append(byte)
            }
        }
        bytes.append(0)
    }

    private static func appendInteger(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}

extension Key {
    /// Walks a key's parts in order; each read returns nil when the bytes do not hold that part.
    public struct Reader: Sendable {
        private let bytes: [UInt8]
        private var offset = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        /// Whether every part has been read.
        public var isAtEnd: Bool { offset == bytes.count }

        /// The bytes not read yet.
        public var remaining: [UInt8] { Array(bytes[offset...]) }

        /// Reads a string part up to and including its 0 byte.
        public mutating func readString() -> String? {
            var utf8: [UInt8] = []
            var index = offset
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0 {
                    guard let string = String(validating: utf8, as: UTF8.self) else { return nil }
                    offset = index + 1
                    return string
                }
                if byte == 1 {
                    guard index + 1 < bytes.count else { return nil }
                    switch bytes[index + 1] {
                    case 1: utf8.append(0)
                    case 2: utf8.append(1)
                    default: return nil
                    }
                    index += 2
                } else {
                    utf8.append(byte)
                    index += 1
                }
            }
            return nil
        }

        /// Reads an unsigned integer part of 8 big-endian bytes.
        public mutating func readUInt64() -> UInt64? {
            guard bytes.count - offset >= 8 else { return nil }
            var value: UInt64 = 0
            for byte in bytes[offset..<offset + 8] {
                value = value << 8 | UInt64(byte)
            }
            offset += 8
            return value
        }

        /// Reads a signed integer part written by `appending(signed:)`.
        public mutating func readInt64() -> Int64? {
            guard let raw = readUInt64() else { return nil }
            return Int64(bitPattern: raw ^ (1 << 63))
        }
    }
}
