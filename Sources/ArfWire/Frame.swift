// The frame format every byte on an arf socket is cut into, and an incremental decoder that
// turns a byte stream back into frames. Both directions use the same 12-byte header, all
// integers big-endian:
//
//     0      magic and version, 0xA1 for version 1
//     1      flags: exactly one kind bit (request, response, event, end, cancel, error)
//     2...3  method id (requests; responses echo it)
//     4...7  call id, chosen by the client, unique among its calls in flight; 0 is reserved
//            for errors about the connection itself
//     8...11 body length
//
// A request's body is the method's request message, a response's the reply, an event's one
// stream message, an error's an arf.v1.Error; cancel and end frames have no body. The decoder
// checks a header as soon as its 12 bytes are in, so a frame above the limit is refused before
// any of its body is stored. Compression and other modifier bits are left for a later version.

/// The kind bits of a frame header; version 1 frames carry exactly one of them.
public struct FrameFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Client to server: start a call.
    public static let request = FrameFlags(rawValue: 0x01)
    /// Server to client: the reply that completes a unary call.
    public static let response = FrameFlags(rawValue: 0x02)
    /// Server to client: one message of a server stream.
    public static let event = FrameFlags(rawValue: 0x04)
    /// Server to client: a stream finished normally.
    public static let end = FrameFlags(rawValue: 0x08)
    /// Client to server: stop a call in flight.
    public static let cancel = FrameFlags(rawValue: 0x10)
    /// Server to client: a call (or, with call id 0, the connection) failed.
    public static let error = FrameFlags(rawValue: 0x20)

    static let kinds: [FrameFlags] = [.request, .response, .event, .end, .cancel, .error]

    public var description: String {
        let names = ["request", "response", "event", "end", "cancel", "error"]
        let set = zip(Self.kinds, names).filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "none" : set.joined(separator: "|")
    }
}

/// One unit on the wire: a header and a body.
public struct Frame: Equatable, Sendable {
    /// Bytes in the fixed header.
    public static let headerSize = 12
    /// First header byte of every version 1 frame.
    public static let magic: UInt8 = 0xA1
    /// The default limit on a whole frame, header included.
    public static let defaultMaxFrameBytes = 64 << 20

    public var flags: FrameFlags
    public var methodID: UInt16
    public var callID: UInt32
    public var body: [UInt8]

    public init(flags: FrameFlags, methodID: UInt16 = 0, callID: UInt32, body: [UInt8] = []) {
        self.flags = flags
        self.methodID = methodID
        self.callID = callID
        self.body = body
    }

    /// An error frame carrying `status` for the call `callID` (0: the whole connection).
    public static func error(_ status: CallStatus, callID: UInt32, methodID: UInt16 = 0) -> Frame {
        Frame(flags: .error, methodID: methodID, callID: callID, body: status.encoded())
    }

    /// Header and body as they go on the wire.
    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Frame.headerSize + body.count)
        out.append(Frame.magic)
        out.append(flags.rawValue)
        append(UInt32(methodID), bytes: 2, to: &out)
        append(callID, bytes: 4, to: &out)
        append(UInt32(truncatingIfNeeded: body.count), bytes: 4, to: &out)
        out.append(contentsOf: body)
        return out
    }

    private func append(_ value: UInt32, bytes: Int, to out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }
}

/// A parsed and checked frame header.
public struct FrameHeader: Equatable, Sendable {
    public var flags: FrameFlags
    public var methodID: UInt16
    public var callID: UInt32
    public var bodyLength: Int

    /// Parses the first `Frame.headerSize` bytes and checks them against the format and the
    /// frame limit; throws `malformedFrame` or `frameTooLarge`.
    public init(parsing header: UnsafeRawBufferPointer, maxFrameBytes: Int) throws {
        precondition(header.count >= Frame.headerSize, "a header needs 12 bytes")
        func number(_ range: Range<Int>) -> UInt32 {
            range.reduce(UInt32(0)) { $0 << 8 | UInt32(header[$1]) }
        }
        guard header[0] == Frame.magic else {
            let found = String(header[0], radix: 16)
            throw WireError.malformedFrame("magic/version byte is 0x\(found), expected 0xa1")
        }
        flags = FrameFlags(rawValue: header[1])
        methodID = UInt16(number(2..<4))
        callID = number(4..<8)
        bodyLength = Int(number(8..<12))

        guard Frame.headerSize + bodyLength <= maxFrameBytes else {
            throw WireError.frameTooLarge(
                bytes: Frame.headerSize + bodyLength, limit: maxFrameBytes)
        }
        guard FrameFlags.kinds.contains(flags) else {
            throw WireError.malformedFrame(
                "flags 0x\(String(flags.rawValue, radix: 16)) "
                    + "do not name exactly one frame kind")
        }
        if flags == .request && methodID == 0 {
            throw WireError.malformedFrame("request without a method id")
        }
        if callID == 0 && flags != .error {
            throw WireError.malformedFrame("call id 0 on a \(flags) frame")
        }
        if (flags == .cancel || flags == .end) && bodyLength != 0 {
            throw WireError.malformedFrame("\(flags) frame with a \(bodyLength)-byte body")
        }
    }
}

/// Cuts a byte stream into frames; feed it whatever arrives and take frames as they complete.
///
/// After it throws once the stream is out of step and it keeps throwing the same error.
public struct FrameDecoder {
    /// The limit on a whole frame, header included.
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: WireError?

    public init(maxFrameBytes: Int = Frame.defaultMaxFrameBytes) {
        precondition(maxFrameBytes >= Frame.headerSize, "the limit must fit a header")
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedBytes: Int { buffer.count - start }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        // Drop consumed bytes once they are the larger part, so memory stays near one frame.
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() throws -> Frame? {
        if let failure { throw failure }
        guard bufferedBytes >= Frame.headerSize else { return nil }
        let header: FrameHeader
        do {
            header = try buffer.withUnsafeBytes { raw in
                try FrameHeader(
                    parsing: UnsafeRawBufferPointer(
                        rebasing: raw[start..<start + Frame.headerSize]),
                    maxFrameBytes: maxFrameBytes)
            }
        } catch let error as WireError {
            failure = error
            throw error
        }
        let total = Frame.headerSize + header.bodyLength
        // No room is reserved up front: the buffer grows only with bytes that really arrive,
        // so a header alone costs nothing however large the frame it announces.
        guard bufferedBytes >= total else { return nil }
        let bodyStart = start + Frame.headerSize
        let body = Array(buffer[bodyStart..<bodyStart + header.bodyLength])
        start += total
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        }
        return Frame(
            flags: header.flags, methodID: header.methodID, callID: header.callID, body: body)
    }
}
