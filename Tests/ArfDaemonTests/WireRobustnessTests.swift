// Hostile bytes against a real arfd while a well-behaved client keeps working: an unknown
// method and an undecodable request are answered with errors and the connection goes on; a
// malformed header and an oversized frame are answered on call 0 and the connection closes; a
// truncated frame followed by a hang-up costs nothing. The wire tests cover the frame layer
// itself; here the point is that the daemon, its model and its jobs do not notice.
import ArfWire
import Foundation
import Testing

/// A Unix socket that sends raw bytes and reads frames back.
final class RawSocket {
    private var fd: Int32
    private var decoder = FrameDecoder()

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw HarnessError("connect \(path): errno \(errno)")
        }
    }

    deinit { hangUp() }

    func hangUp() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw HarnessError("send: errno \(errno)") }
            offset += sent
        }
    }

    /// The next frame, or nil when the daemon closed the connection.
    func read(timeout: Double = 10) throws -> Frame? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let frame = try decoder.next() { return frame }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            guard poll(&poller, 1, wait) > 0 else {
                throw HarnessError("no frame within \(timeout) s")
            }
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { return nil }
            decoder.append(Array(chunk[..<count]))
        }
    }
}

/// The status in an error frame.
func status(of frame: Frame?) throws -> CallStatus {
    let frame = try #require(frame, "the daemon closed the connection instead of answering")
    #expect(frame.flags == .error, "expected an error frame, got \(frame.flags)")
    return try CallStatus(decoding: frame.body)
}

@Suite("Hostile frames against arfd")
struct WireRobustnessTests {
    @Test("bad frames are answered with errors while another client keeps embedding")
    func badFramesWhileAnotherClientWorks() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        try loadTiny(try daemon.client())

        // A well-behaved client embeds in a loop the whole time.
        final class Worker: @unchecked Sendable {
            let lock = NSLock()
            var calls = 0
            var errors: [String] = []
            var stop = false
        }
        let worker = Worker()
        let done = DispatchSemaphore(value: 0)
        let socket = daemon.socket
        Thread {
            defer { done.signal() }
            do {
                let client = try WireClient.connect(socketPath: socket)
                while !worker.lock.withLock({ worker.stop }) {
                    let reply = try client.call(
                        Methods.embed, EmbedRequest(model: "tiny", inputs: [.text("a dog")]),
                        timeout: 30)
                    guard reply.embeddings.first?.values.count == 32 else {
                        throw HarnessError("a reply without its embedding")
                    }
                    worker.lock.withLock { worker.calls += 1 }
                }
            } catch {
                worker.lock.withLock { worker.errors.append("\(error)") }
            }
        }.start()

        let calls = { worker.lock.withLock { worker.calls } }
        let started = Date()
        while calls() == 0, Date().timeIntervalSince(started) < 30 { usleep(5_000) }
        let before = calls()
        #expect(before > 0, "the well-behaved client got no answer")

        // An unknown method id: an error for that call, and the connection goes on.
        let raw = try RawSocket(path: daemon.socket)
        try raw.send(Frame(flags: .request, methodID: 999, callID: 1).encoded())
        let unknown = try status(of: raw.read())
        #expect(unknown.code == .notFound && unknown.message.contains("999"))

        // A body that is not protobuf for the method: an error for that call.
        try raw.send(
            Frame(
                flags: .request, methodID: Methods.embed.descriptor.id, callID: 2,
                body: [0xFF, 0xFF, 0xFF, 0x0F, 0x01]
            ).encoded())
        #expect(try status(of: raw.read()).code == .invalidArgument)

        // The same connection still answers a good call.
        try raw.send(
            Frame(
                flags: .request, methodID: Methods.status.descriptor.id, callID: 3,
                body: StatusRequest().encoded()
            ).encoded())
        let answer = try #require(try raw.read())
        #expect(answer.flags == .response && answer.callID == 3)
        #expect(try StatusReply(decoding: answer.body).pid > 0)

        // A header announcing more than the frame limit: call 0 error, then the daemon hangs up.
        var huge = Frame(flags: .request, methodID: 1, callID: 4).encoded()
        huge.replaceSubrange(8..<12, with: [0x7F, 0xFF, 0xFF, 0xFF])
        try raw.send(huge)
        let tooLarge = try #require(try raw.read())
        #expect(tooLarge.callID == 0)
        #expect(try status(of: tooLarge).code == .resourceExhausted)
        #expect(try raw.read() == nil, "the connection is closed after an oversized frame")

        // A header with a wrong magic byte: the same.
        let garbage = try RawSocket(path: daemon.socket)
        try garbage.send(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let malformed = try #require(try garbage.read())
        #expect(malformed.callID == 0)
        #expect(try status(of: malformed).code == .invalidArgument)
        #expect(try garbage.read() == nil)

        // Half a frame, then the client vanishes.
        let truncated = try RawSocket(path: daemon.socket)
        let request = Frame(
            flags: .request, methodID: Methods.embed.descriptor.id, callID: 1,
            body: EmbedRequest(model: "tiny", inputs: [.text("never finished")]).encoded())
        try truncated.send(Array(request.encoded().prefix(20)))
        truncated.hangUp()

        // Many connections that each send a few bad bytes and leave.
        for index in 0..<20 {
            let quick = try RawSocket(path: daemon.socket)
            try quick.send([0xA1, UInt8(index), 0, 1])
            quick.hangUp()
        }

        // The well-behaved client is still answered after all of that.
        let after = Date()
        while calls() < before + 3, Date().timeIntervalSince(after) < 30 { usleep(5_000) }
        worker.lock.withLock { worker.stop = true }
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(worker.errors.isEmpty, "\(worker.errors)")
        #expect(calls() >= before + 3)
        let status = try daemon.client().call(Methods.status, StatusRequest())
        #expect(status.loadedModels == ["tiny"])
    }
}
