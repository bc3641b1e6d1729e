// The client runtime: one client shared by many threads, timeouts that cancel on the server,
// calls failing promptly when the connection ends, cancel from another thread, and limits
// checked before anything is sent.
import Foundation
import Testing

@testable import ArfWire

@Suite("WireClient")
struct WireClientTests {
    @Test("one client shared by 16 threads routes every reply to its own caller")
    func sharedClient() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()

        let errors = onThreads(16) { index in
            for round in 0..<25 {
                let bytes = (0..<(index + round + 1)).map { UInt8(truncatingIfNeeded: $0 * index) }
                let reply = try client.call(
                    Methods.embed, EmbedRequest(model: "m", inputs: [.imageBytes(bytes)]))
                guard reply.embeddings == [TestServer.echo(.imageBytes(bytes))] else {
                    throw WireError.status(.internal, "thread \(index) round \(round) mixed up")
                }
            }
        }

        #expect(errors == [])
    }

    @Test("a call that outlives its timeout throws timed-out and is cancelled on the server")
    func timeoutCancels() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()

        let started = Date()
        #expect(throws: WireError.timedOut(method: "arf.v1.Jobs/Cancel", seconds: 0.2)) {
            try client.call(Methods.cancelJob, CancelJobRequest(jobID: "slow"), timeout: 0.2)
        }
        let seconds = Date().timeIntervalSince(started)

        #expect(seconds < 2, "the timed-out call took \(seconds) s")
        #expect(server.probe.wait(for: "slow cancelled"))
        // The late reply to the forgotten call must not confuse the next one.
        #expect(
            try client.call(Methods.cancelJob, CancelJobRequest(jobID: "j")).state == .cancelled)
    }

    @Test("a stream cancelled from another thread wakes the thread waiting for its next event")
    func cancelFromAnotherThread() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        // An unknown job id answers not-found; "forever" keeps the stream open.
        let stream = try client.openStream(Methods.watchJob, WatchJobRequest(jobID: "forever"))
        _ = try stream.next(timeout: 5)

        let errors = onThreads(2) { index in
            if index == 0 {
                usleep(100_000)
                stream.cancel()
            } else {
                while try stream.next(timeout: 5) != nil {}
            }
        }

        #expect(errors == ["thread 1: cancelled: arf.v1.Jobs/Watch was cancelled"])
        #expect(server.probe.wait(for: "forever cancelled"))
    }

    @Test("calls in flight fail with unavailable when the server goes away")
    func serverGoesAway() throws {
        let server = try TestServer()
        let client = try server.client()
        let stream = try client.openStream(Methods.watchJob, WatchJobRequest(jobID: "forever"))
        _ = try stream.next(timeout: 5)

        server.stop()

        var failure: Error?
        do {
            while try stream.next(timeout: 5) != nil {}
        } catch {
            failure = error
        }
        // Either the handler's cancelled status arrives first, or the connection just closes.
        let code = (failure as? WireError)?.callStatus.code
        #expect(code == .cancelled || code == .unavailable, "got \(String(describing: failure))")
        #expect(throws: (any Error).self) { try client.call(Methods.status, StatusRequest()) }
    }

    @Test("connecting to a socket nobody serves fails as unavailable")
    func connectToNothing() throws {
        do {
            _ = try WireClient.connect(socketPath: "/tmp/arf-no-such-dir/arfd.sock")
            Issue.record("connect succeeded")
        } catch let error as WireError {
            #expect(error.callStatus.code == .unavailable)
            #expect(error.description.contains("connect /tmp/arf-no-such-dir/arfd.sock"))
        }
    }

    @Test("a request above the client's frame limit is refused before it is sent")
    func requestAboveLimit() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client(maxFrameBytes: 1024)

        let big = EmbedRequest(
            model: "m", inputs: [.imageBytes([UInt8](repeating: 7, count: 2000))])
        let bytes = Frame.headerSize + big.encoded().count
        #expect(bytes > 2000)
        #expect(throws: WireError.frameTooLarge(bytes: bytes, limit: 1024)) {
            try client.call(Methods.embed, big)
        }
        #expect(try client.call(Methods.status, StatusRequest()).threads == 2)
    }

    @Test("a reply above the server's frame limit becomes a resource-exhausted error")
    func replyAboveLimit() throws {
        var options = WireServerOptions()
        options.maxFrameBytes = 4096
        let server = try TestServer(options: options)
        defer { server.stop() }
        let client = try server.client()

        // 2000 bytes in, 8000 bytes of float embedding out.
        let bytes = [UInt8](repeating: 1, count: 2000)
        let request = EmbedRequest(model: "m", inputs: [.imageBytes(bytes)])
        do {
            _ = try client.call(Methods.embed, request)
            Issue.record("the oversized reply was sent")
        } catch let error as WireError {
            #expect(error.callStatus.code == .resourceExhausted)
        }
    }

    @Test("a closed client fails new calls at once")
    func closedClient() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        client.close()

        #expect(throws: WireError.connectionClosed("the client closed the connection")) {
            try client.call(Methods.status, StatusRequest())
        }
        #expect(server.waitForConnections(0))
    }
}
