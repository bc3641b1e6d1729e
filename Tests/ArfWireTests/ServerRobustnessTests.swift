// The server facing bytes no well-behaved client sends: broken headers, frames cut short,
// oversized frames, unknown methods, undecodable bodies, duplicate call ids, too many calls,
// and a client that vanishes mid-stream. Each must cost only that connection (or that call)
// while another client keeps working.
import Foundation
import Testing

@testable import ArfWire

@Suite("WireServer robustness")
struct ServerRobustnessTests {
    /// Checks that a well-behaved client on its own connection still gets answers.
    func expectServing(_ server: TestServer, _ client: WireClient) throws {
        #expect(try client.call(Methods.status, StatusRequest(), timeout: 5).version == "test")
    }

    /// Reads an error frame and returns its call id and status.
    func readError(_ raw: RawConnection) throws -> (UInt32, CallStatus)? {
        guard let frame = try raw.read(), frame.flags == .error else { return nil }
        return (frame.callID, try CallStatus(decoding: frame.body))
    }

    func request(_ method: MethodDescriptor, call: UInt32, _ body: [UInt8]) -> Frame {
        Frame(flags: .request, methodID: method.id, callID: call, body: body)
    }

    @Test("a header with a wrong magic byte gets a connection error and a close")
    func malformedHeader() throws {
        let server = try TestServer()
        defer { server.stop() }
        let good = try server.client()
        let raw = try RawConnection(path: server.path)

        var bytes = request(Methods.status.descriptor, call: 1, []).encoded()
        bytes[0] = 0x42
        try raw.send(bytes)

        let error = try readError(raw)
        #expect(error?.0 == 0)
        #expect(error?.1.code == .invalidArgument)
        #expect(try raw.read() == nil, "the server closes the connection")
        try expectServing(server, good)
    }

    @Test("a frame cut short by a disconnect is dropped without harm")
    func truncatedFrame() throws {
        let server = try TestServer()
        defer { server.stop() }
        let good = try server.client()
        let raw = try RawConnection(path: server.path)
        #expect(server.waitForConnections(2))

        let whole = request(Methods.embed.descriptor, call: 7, [UInt8](repeating: 0x0A, count: 100))
        try raw.send(Array(whole.encoded().prefix(40)))
        shutdown(raw.fd, Int32(SHUT_RDWR))

        #expect(server.waitForConnections(1))
        try expectServing(server, good)
    }

    @Test("a frame above the limit is refused from its header, without reading the body")
    func oversizedFrame() throws {
        var options = WireServerOptions()
        options.maxFrameBytes = 1 << 20
        let server = try TestServer(options: options)
        defer { server.stop() }
        let good = try server.client()
        let raw = try RawConnection(path: server.path)

        // The header claims 4 GiB; only the header is ever sent.
        var header = request(Methods.status.descriptor, call: 3, []).encoded()
        header.replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0xF0])
        try raw.send(header)

        let error = try readError(raw)
        #expect(error?.1.code == .resourceExhausted)
        #expect(try raw.read() == nil)
        try expectServing(server, good)
    }

    @Test("an unknown method is answered not-found and the connection stays usable")
    func unknownMethod() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try RawConnection(path: server.path)

        try raw.send(Frame(flags: .request, methodID: 999, callID: 5, body: [1, 2, 3]))
        let error = try readError(raw)
        #expect(error?.0 == 5)
        #expect(error?.1.code == .notFound)

        try raw.send(request(Methods.status.descriptor, call: 6, []))
        let reply = try raw.read()
        #expect(reply?.flags == .response)
        #expect(reply?.callID == 6)
        #expect(try StatusReply(decoding: reply?.body ?? []).version == "test")
    }

    @Test("an undecodable body is answered invalid-argument naming the message")
    func undecodableBody() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try RawConnection(path: server.path)

        // Field 1 as a length-delimited value that runs past the end of the body.
        try raw.send(request(Methods.loadModel.descriptor, call: 9, [0x0A, 0x50, 0x41]))
        let error = try readError(raw)
        #expect(error?.0 == 9)
        #expect(
            error?.1
                == CallStatus(
                    .invalidArgument, "cannot decode 3 bytes as arf.v1.LoadModelRequest"))

        // An embed input without a source decodes as protobuf but breaks the protocol.
        let sourceless = EmbedRequest(model: "m").encoded() + [0x12, 0x00]
        try raw.send(request(Methods.embed.descriptor, call: 10, sourceless))
        #expect(try readError(raw)?.1.code == .invalidArgument)

        try raw.send(request(Methods.status.descriptor, call: 11, []))
        #expect(try raw.read()?.flags == .response)
    }

    @Test("a client that sends server-side frames is disconnected")
    func wrongDirectionFrame() throws {
        let server = try TestServer()
        defer { server.stop() }
        let good = try server.client()
        let raw = try RawConnection(path: server.path)

        try raw.send(Frame(flags: .response, methodID: 1, callID: 1))
        #expect(try readError(raw)?.0 == 0)
        #expect(try raw.read() == nil)
        try expectServing(server, good)
    }

    @Test("a second call with an id still in flight is refused, the first goes on")
    func duplicateCallID() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try RawConnection(path: server.path)
        let watch = WatchJobRequest(jobID: "forever").encoded()

        try raw.send(request(Methods.watchJob.descriptor, call: 4, watch))
        #expect(try raw.read()?.flags == .event)
        try raw.send(request(Methods.watchJob.descriptor, call: 4, watch))

        var refused = false
        for _ in 0..<1000 where !refused {
            guard let frame = try raw.read() else { break }
            if frame.flags == .error {
                refused = (try CallStatus(decoding: frame.body)).code == .invalidArgument
            }
        }
        #expect(refused)
        try raw.send(Frame(flags: .cancel, methodID: Methods.watchJob.descriptor.id, callID: 4))
        #expect(server.probe.wait(for: "forever cancelled"))
    }

    @Test("calls beyond the per-connection limit get resource-exhausted")
    func tooManyCalls() throws {
        var options = WireServerOptions()
        options.maxCallsPerConnection = 2
        let server = try TestServer(options: options)
        defer { server.stop() }
        let client = try server.client()

        let first = try client.openStream(Methods.watchJob, WatchJobRequest(jobID: "forever"))
        let second = try client.openStream(Methods.watchJob, WatchJobRequest(jobID: "forever"))
        _ = try first.next(timeout: 5)
        _ = try second.next(timeout: 5)

        #expect(throws: WireError.status(.resourceExhausted, "more than 2 calls in flight")) {
            try client.call(Methods.status, StatusRequest(), timeout: 5)
        }
        first.cancel()
        second.cancel()
    }

    @Test("calls beyond the server-wide limit get resource-exhausted on any connection")
    func serverWideCallLimit() throws {
        var options = WireServerOptions()
        options.maxCalls = 2
        let server = try TestServer(options: options)
        defer { server.stop() }
        let first = try server.client()
        let second = try server.client()
        let third = try server.client()

        let streams = try [first, second].map {
            try $0.openStream(Methods.watchJob, WatchJobRequest(jobID: "forever"))
        }
        for stream in streams { _ = try stream.next(timeout: 5) }

        #expect(
            throws: WireError.status(
                .resourceExhausted, "the server has 2 calls in flight",
                hint: "retry when running calls have finished")
        ) {
            try third.call(Methods.status, StatusRequest(), timeout: 5)
        }
        // The share comes back once the cancelled handler has returned and answered.
        streams[0].cancel()
        let deadline = Date(timeIntervalSinceNow: 5)
        var reply: StatusReply?
        while reply == nil && Date() < deadline {
            reply = try? third.call(Methods.status, StatusRequest(), timeout: 5)
            if reply == nil { usleep(10_000) }
        }
        #expect(reply?.version == "test")
        streams[1].cancel()
    }

    @Test("a client that stops reading is dropped after the send timeout")
    func clientThatStopsReading() throws {
        var options = WireServerOptions()
        options.sendTimeoutSeconds = 0.2
        let server = try TestServer(options: options)
        defer { server.stop() }
        let good = try server.client()
        let raw = try RawConnection(path: server.path)
        #expect(server.waitForConnections(2))

        // Far more events than the socket buffers hold, and nobody reading them.
        try raw.send(
            request(
                Methods.watchJob.descriptor, call: 1,
                WatchJobRequest(jobID: "count:1000000").encoded()))

        #expect(server.waitForConnections(1, timeout: 10))
        try expectServing(server, good)
    }

    @Test("a client killed mid-stream leaves the server serving the others")
    func clientKilledMidStream() throws {
        let server = try TestServer()
        defer { server.stop() }
        let good = try server.client()
        let raw = try RawConnection(path: server.path)
        #expect(server.waitForConnections(2))

        try raw.send(
            request(
                Methods.watchJob.descriptor, call: 1, WatchJobRequest(jobID: "forever").encoded()))
        #expect(try raw.read()?.flags == .event)
        // Abrupt: no cancel frame, no shutdown, just the descriptor going away.
        raw.kill()

        #expect(server.probe.wait(for: "forever cancelled"))
        #expect(server.waitForConnections(1))
        try expectServing(server, good)
    }
}
