// The frame format and the incremental decoder: the exact header layout, round trips of every
// kind, frames split and joined arbitrarily, and each way a header can be refused.
import Foundation
import Testing

@testable import ArfWire

@Suite("Frame")
struct FrameTests {
    @Test("the header is magic, flags, method, call and length in big-endian order")
    func headerLayout() {
        let frame = Frame(flags: .request, methodID: 0x0102, callID: 0x0304_0506, body: [9, 8])

        #expect(frame.encoded() == [0xA1, 0x01, 0x01, 0x02, 3, 4, 5, 6, 0, 0, 0, 2, 9, 8])
    }

    @Test("every frame kind survives encoding and decoding")
    func roundTripEveryKind() throws {
        let frames = [
            Frame(flags: .request, methodID: 10, callID: 1, body: [1, 2, 3]),
            Frame(flags: .response, methodID: 10, callID: 1, body: Array(0..<200)),
            Frame(flags: .event, methodID: 31, callID: 2, body: []),
            Frame(flags: .end, methodID: 31, callID: 2),
            Frame(flags: .cancel, methodID: 31, callID: .max),
            Frame.error(CallStatus(.notFound, "no model x", hint: "load it"), callID: 0),
        ]
        var decoder = FrameDecoder()
        decoder.append(frames.flatMap { $0.encoded() })

        var decoded: [Frame] = []
        while let frame = try decoder.next() { decoded.append(frame) }

        #expect(decoded == frames)
        #expect(decoder.bufferedBytes == 0)
    }

    @Test("frames fed one byte at a time come out whole and in order")
    func byteByByte() throws {
        let frames = (1...20).map {
            Frame(
                flags: .event, methodID: 31, callID: UInt32($0),
                body: Array(repeating: UInt8($0), count: $0 * 7))
        }
        var decoder = FrameDecoder()
        var decoded: [Frame] = []
        for byte in frames.flatMap({ $0.encoded() }) {
            decoder.append([byte])
            while let frame = try decoder.next() { decoded.append(frame) }
        }

        #expect(decoded == frames)
    }

    @Test("a header announcing more than the limit is refused before the body arrives")
    func oversizedHeader() throws {
        var decoder = FrameDecoder(maxFrameBytes: 1 << 20)
        let header = [0xA1, 0x01, 0, 1, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF] as [UInt8]
        decoder.append(header)

        #expect(throws: WireError.frameTooLarge(bytes: 12 + 0xFFFF_FFFF, limit: 1 << 20)) {
            try decoder.next()
        }
        #expect(decoder.bufferedBytes == 12)
    }

    @Test("a frame exactly at the limit is accepted")
    func frameAtLimit() throws {
        var decoder = FrameDecoder(maxFrameBytes: 112)
        let frame = Frame(
            flags: .response, methodID: 1, callID: 1, body: Array(repeating: 1, count: 100))
        decoder.append(frame.encoded())

        #expect(try decoder.next() == frame)
    }

    @Test(
        "each malformed header is refused with a reason",
        arguments: [
            ([0x42, 0x01, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0], "magic/version byte is 0x42"),
            ([0xA2, 0x01, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0], "magic/version byte is 0xa2"),
            ([0xA1, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0], "flags 0x0 do not name"),
            ([0xA1, 0x03, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0], "flags 0x3 do not name"),
            ([0xA1, 0x80, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0], "flags 0x80 do not name"),
            ([0xA1, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], "request without a method id"),
            ([0xA1, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], "call id 0 on a request frame"),
            ([0xA1, 0x10, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], "cancel frame with a 1-byte body"),
            ([0xA1, 0x08, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2], "end frame with a 2-byte body"),
        ] as [([UInt8], String)])
    func malformedHeaders(header: [UInt8], reason: String) throws {
        var decoder = FrameDecoder()
        decoder.append(header + [0, 0])

        do {
            _ = try decoder.next()
            Issue.record("accepted \(header)")
        } catch WireError.malformedFrame(let message) {
            #expect(message.hasPrefix(reason), "reason was: \(message)")
        }
    }

    @Test("after one bad header the decoder keeps refusing, since the stream is out of step")
    func staysFailed() throws {
        var decoder = FrameDecoder()
        decoder.append([0x00] + Array(repeating: 0, count: 11))
        #expect(throws: (any Error).self) { try decoder.next() }

        decoder.append(Frame(flags: .end, callID: 1).encoded())
        #expect(throws: (any Error).self) { try decoder.next() }
    }

    @Test("an incomplete frame waits for more bytes without consuming any")
    func incompleteFrameWaits() throws {
        let bytes = Frame(flags: .response, methodID: 1, callID: 9, body: [1, 2, 3, 4]).encoded()
        var decoder = FrameDecoder()
        decoder.append(Array(bytes.prefix(14)))

        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedBytes == 14)
        decoder.append(Array(bytes.dropFirst(14)))
        #expect(try decoder.next()?.body == [1, 2, 3, 4])
    }
}
