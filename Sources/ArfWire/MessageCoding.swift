// The bridge between Swift message values and protobuf-c: a protocol each message type
// implements with its generated `__init` function and two field mappings, an arena that owns
// the C memory while a message is packed, and helpers that copy decoded C data back into Swift
// values. protobuf-c does the wire encoding; this layer only moves fields across. Strings stop
// at the first NUL byte, since protobuf-c's strings are NUL-terminated C strings.
//
// Adding a message: declare it in proto/arf/v1, run scripts/generate-proto.sh, then add a
// public struct (or enum, for a oneof) conforming to `WireMessage` and an extension conforming
// to `ProtobufCMapped`, as in the *Messages.swift files.
import ArfProto
import Foundation

/// A Swift value that crosses the wire as one arf.v1 protobuf message.
public protocol WireMessage: Sendable {
    /// Decodes a message from its protobuf encoding; throws `WireError` on bad input.
    init(decoding bytes: [UInt8]) throws
    /// The protobuf encoding.
    func encoded() -> [UInt8]
}

/// A message type backed by a protobuf-c generated struct. Only the generated `__init` function
/// is needed per type: it stamps the message descriptor into the struct, and protobuf-c's
/// generic functions take everything else from that descriptor.
protocol ProtobufCMapped: WireMessage {
    associatedtype CMessage
    /// Runs the generated `__init` function (the `__INIT` macros do not import into Swift).
    static func cInit(_ message: UnsafeMutablePointer<CMessage>)
    /// Copies a decoded C message into Swift; throws when it breaks a protocol rule.
    init(c: CMessage) throws
    /// Writes the fields into an initialised C message, allocating from `arena`.
    func fill(_ c: inout CMessage, _ arena: CArena)
}

extension ProtobufCMapped {
    public init(decoding bytes: [UInt8]) throws {
        let descriptor = Self.descriptor
        // A non-null pointer even for an empty body: protobuf-c only reads `length` bytes.
        let padded = bytes.isEmpty ? [0] : bytes
        let decoded = padded.withUnsafeBufferPointer { buffer in
            protobuf_c_message_unpack(descriptor, nil, bytes.count, buffer.baseAddress!)
        }
        guard let decoded else {
            throw WireError.undecodable(message: Self.protoName, bytes: bytes.count)
        }
        defer { protobuf_c_message_free_unpacked(decoded, nil) }
        let typed = UnsafeMutableRawPointer(decoded).assumingMemoryBound(to: CMessage.self)
        self = try Self(c: typed.pointee)
    }

    public func encoded() -> [UInt8] {
        let arena = CArena()
        let message = UnsafeRawPointer(allocate(in: arena))
            .assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(message)
        return [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
            count = protobuf_c_message_pack(message, buffer.baseAddress!)
        }
    }

    /// The generated descriptor, read from a freshly initialised message.
    static var descriptor: UnsafePointer<ProtobufCMessageDescriptor> {
        let scratch = UnsafeMutablePointer<CMessage>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        cInit(scratch)
        // Every protobuf-c message struct starts with its ProtobufCMessage base.
        return UnsafeRawPointer(scratch).assumingMemoryBound(to: ProtobufCMessage.self)
            .pointee.descriptor
    }

    /// The full proto name, for example "arf.v1.StatusReply".
    static var protoName: String { String(cString: descriptor.pointee.name) }

    /// A C copy of this message that lives as long as `arena`.
    func allocate(in arena: CArena) -> UnsafeMutablePointer<CMessage> {
        let message = arena.allocate(CMessage.self, count: 1)
        Self.cInit(message)
        fill(&message.pointee, arena)
        return message
    }

    /// A nested message field: decoded, or the default value when the field is absent.
    static func nested(_ pointer: UnsafeMutablePointer<CMessage>?, or empty: Self) throws -> Self {
        guard let pointer else { return empty }
        return try Self(c: pointer.pointee)
    }

    /// A repeated message field.
    static func repeated(
        _ items: UnsafeMutablePointer<UnsafeMutablePointer<CMessage>?>?, _ count: Int
    ) throws -> [Self] {
        guard let items, count > 0 else { return [] }
        return try (0..<count).map { index in
            guard let item = items[index] else {
                throw WireError.invalidMessage(message: protoName, reason: "null element \(index)")
            }
            return try Self(c: item.pointee)
        }
    }
}

extension Array where Element: ProtobufCMapped {
    /// The C pointer array for a repeated message field.
    func cArray(_ arena: CArena) -> UnsafeMutablePointer<UnsafeMutablePointer<Element.CMessage>?>? {
        arena.array(map { Optional($0.allocate(in: arena)) })
    }
}

/// Owns the C memory of one message being packed, and frees all of it at once.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in blocks { free(block) }
    }

    /// Uninitialised room for `count` values of a trivial C type.
    func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(1, MemoryLayout<T>.stride * count)
        guard let raw = malloc(bytes) else { fatalError("out of memory packing a message") }
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// A C copy of `items`, or nil for an empty array (protobuf-c's own empty value).
    func array<T>(_ items: [T]) -> UnsafeMutablePointer<T>? {
        guard !items.isEmpty else { return nil }
        let pointer = allocate(T.self, count: items.count)
        pointer.initialize(from: items, count: items.count)
        return pointer
    }

    /// A NUL-terminated copy of `text`.
    func string(_ text: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(text.utf8.prefix { $0 != 0 })
        let pointer = allocate(CChar.self, count: utf8.count + 1)
        utf8.withUnsafeBufferPointer { source in
            pointer.withMemoryRebound(to: UInt8.self, capacity: utf8.count + 1) { target in
                if let base = source.baseAddress { target.update(from: base, count: utf8.count) }
                target[utf8.count] = 0
            }
        }
        return pointer
    }

    /// The C pointer array for a repeated string field.
    func strings(_ texts: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        array(texts.map { Optional(string($0)) })
    }

    /// A protobuf-c bytes value copied into the arena.
    func bytes(_ data: [UInt8]) -> ProtobufCBinaryData {
        guard !data.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        return ProtobufCBinaryData(len: data.count, data: array(data))
    }
}

/// Copies of decoded C fields into Swift values.
enum CField {
    /// A C string, or "" for null; invalid UTF-8 is repaired rather than trusted.
    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        let count = strlen(pointer)
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    /// A repeated string field.
    static func strings(
        _ items: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ count: Int
    ) -> [String] {
        guard let items, count > 0 else { return [] }
        return (0..<count).map { string(items[$0]) }
    }

    /// A bytes field.
    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard let base = data.data, data.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    /// A packed repeated scalar field.
    static func scalars<T>(_ items: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
        guard let items, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: items, count: count))
    }
}
