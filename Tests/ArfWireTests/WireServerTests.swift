// The server runtime end to end through the real client: unary calls, streams, cancellation,
// many clients at once, the socket file's life (mode, stale file, live server, stop), and the
// peer uid check.
import Foundation
import Testing

@testable import ArfWire

@Suite("WireServer")
struct WireServerTests {
    @Test("a unary call round-trips every field of the status reply")
    func unaryRoundTrip() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()

        let reply = try client.call(Methods.status, StatusRequest())

        #expect(
            reply
                == StatusReply(
                    version: "test", pid: getpid(), uptimeSeconds: 1.5, threads: 2,
                    loadedModels: ["a", "b"], queuedJobs: 1, runningJobs: 0))
    }

    @Test("a handler's status error reaches the client with its code, message and hint")
    func handlerErrorKeepsCodeAndHint() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()

        #expect(throws: WireError.status(.notFound, "no checkpoint at /x", hint: "check the path"))
        {
            try client.call(Methods.loadModel, LoadModelRequest(name: "missing", directory: "/x"))
        }
    }

    @Test("an error that is not status-convertible arrives as internal with its description")
    func unexpectedErrorIsInternal() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()

        #expect(throws: WireError.status(.internal, "something unexpected")) {
            try client.call(Methods.loadModel, LoadModelRequest(name: "crash"))
        }
        // The connection survives a failed call.
        let reply = try client.call(Methods.loadModel, LoadModelRequest(name: "m", directory: "/d"))
        #expect(reply.model.architecture == TestServer.architecture)
    }

    @Test("a stream delivers every event in order and then ends")
    func streamDeliversEvents() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()

        var steps: [UInt64] = []
        try client.stream(Methods.watchJob, WatchJobRequest(jobID: "count:50")) { event in
            #expect(event.total == 50)
            steps.append(event.step)
        }

        #expect(steps == Array(1...50))
    }

    @Test("a stream that fails after some events throws the handler's status")
    func streamFailureArrivesAfterEvents() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()

        var count = 0
        #expect(throws: WireError.status(.failedPrecondition, "job fail:3 failed")) {
            try client.stream(Methods.watchJob, WatchJobRequest(jobID: "fail:3")) { _ in
                count += 1
            }
        }
        #expect(count == 3)
    }

    @Test("cancelling mid-stream stops the handler and leaves the connection usable")
    func cancelMidStream() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()

        let stream = try client.openStream(Methods.watchJob, WatchJobRequest(jobID: "forever"))
        for _ in 0..<3 { #expect(try stream.next(timeout: 5) != nil) }
        stream.cancel()

        #expect(server.probe.wait(for: "forever cancelled"))
        #expect(throws: WireError.status(.cancelled, "arf.v1.Jobs/Watch was cancelled")) {
            try stream.next()
        }
        #expect(try client.call(Methods.status, StatusRequest()).version == "test")
    }

    @Test("32 clients at once each get their own replies and streams")
    func thirtyTwoConcurrentClients() throws {
        let server = try TestServer()
        defer { server.stop() }
        let path = server.path

        let errors = onThreads(32) { index in
            let client = try WireClient.connect(socketPath: path)
            for round in 0..<10 {
                let text = "client \(index) round \(round)"
                let reply = try client.call(
                    Methods.embed, EmbedRequest(model: "m\(index)", inputs: [.text(text)]))
                guard reply.model == "m\(index)", reply.embeddings == [TestServer.echo(.text(text))]
                else { throw WireError.status(.internal, "wrong reply for \(text): \(reply)") }
            }
            var steps = 0
            try client.stream(Methods.watchJob, WatchJobRequest(jobID: "count:\(index + 1)")) { _ in
                steps += 1
            }
            guard steps == index + 1 else {
                throw WireError.status(.internal, "client \(index) saw \(steps) events")
            }
        }

        #expect(errors == [])
        #expect(server.waitForConnections(0))
    }

    @Test("the socket file is readable and writable by its owner only")
    func socketModeIsOwnerOnly() throws {
        let server = try TestServer()
        defer { server.stop() }

        var info = stat()
        #expect(lstat(server.path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600, "mode is \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test("a stale socket file is replaced, a live one is refused, a regular file is kept")
    func socketFileLife() throws {
        let server = try TestServer()
        defer { server.stop() }

        // Live: a second server on the same path must not steal it.
        let second = WireServer(socketPath: server.path, handlers: WireHandlers())
        #expect(throws: WireError.socketInUse(path: server.path)) { try second.start() }

        // Stale: a socket file left behind by a process that is gone.
        let stale = server.folder + "/stale.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = try UnixSocket.address(stale)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(fd)
        let replacing = WireServer(socketPath: stale, handlers: TestServer.handlers(Probe()))
        try replacing.start()
        defer { replacing.stop() }
        #expect(
            try WireClient.connect(socketPath: stale).call(Methods.status, StatusRequest())
                .version == "test")

        // Not a socket: never deleted.
        let file = server.folder + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("keep".utf8)))
        #expect(throws: WireError.notASocket(path: file)) {
            try WireServer(socketPath: file, handlers: WireHandlers()).start()
        }
        #expect(FileManager.default.contents(atPath: file) == Data("keep".utf8))
    }

    @Test("a socket path longer than sun_path allows is rejected with its length")
    func tooLongSocketPath() throws {
        let path = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: WireError.socketPathTooLong(path: path, bytes: 125, limit: 107)) {
            try WireServer(socketPath: path, handlers: WireHandlers()).start()
        }
    }

    @Test("stop unblocks accept, cancels streams and removes the socket file promptly")
    func stopIsClean() throws {
        let server = try TestServer()
        let client = try server.client()
        let stream = try client.openStream(Methods.watchJob, WatchJobRequest(jobID: "forever"))
        _ = try stream.next(timeout: 5)

        let started = Date()
        server.server.stop()
        let seconds = Date().timeIntervalSince(started)

        #expect(seconds < 2, "stop took \(seconds) s")
        #expect(server.probe.wait(for: "forever cancelled"))
        #expect(!FileManager.default.fileExists(atPath: server.path))
        #expect(throws: (any Error).self) {
            while try stream.next(timeout: 5) != nil {}
        }
        #expect(throws: (any Error).self) { try WireClient.connect(socketPath: server.path) }
        server.stop()
    }

    @Test("a peer whose uid is not allowed is disconnected before any call")
    func disallowedUIDIsRefused() throws {
        var options = WireServerOptions()
        options.allowedUIDs = [getuid() &+ 4242]
        let server = try TestServer(options: options)
        defer { server.stop() }

        let client = try server.client()
        #expect(throws: (any Error).self) {
            try client.call(Methods.status, StatusRequest(), timeout: 5)
        }
        #expect(server.server.connectionCount == 0)
    }
}
