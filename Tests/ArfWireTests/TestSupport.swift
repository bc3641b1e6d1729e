// Shared pieces of the wire tests: a real server on a temporary socket with handlers over the
// real arf.v1 messages, a probe that handlers report to, a raw socket for sending bytes no
// well-behaved client would, and a helper that runs blocking work on many threads.
import Foundation
import Testing

@testable import ArfWire

/// Records what handlers saw, so a test can wait for a handler to notice a cancel.
final class Probe: @unchecked Sendable {
    private let condition = NSCondition()
    private var marks: [String] = []

    func record(_ mark: String) {
        condition.lock()
        marks.append(mark)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until `mark` has been recorded; returns whether it was within `timeout` seconds.
    func wait(for mark: String, timeout: Double = 5) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !marks.contains(mark) {
            if !condition.wait(until: deadline) { return marks.contains(mark) }
        }
        return true
    }
}

/// A `WireServer` with test handlers on a socket in a fresh temporary folder.
final class TestServer: @unchecked Sendable {
    let folder: String
    let path: String
    let server: WireServer
    let probe = Probe()

    init(options: WireServerOptions = .init()) throws {
        var template = Array("/tmp/arfwire.XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw WireError.notRunning("mkdtemp failed") }
        folder = String(cString: template)
        path = folder + "/s.sock"
        server = WireServer(socketPath: path, handlers: Self.handlers(probe), options: options)
        try server.start()
    }

    func client(maxFrameBytes: Int = Frame.defaultMaxFrameBytes) throws -> WireClient {
        try WireClient.connect(socketPath: path, maxFrameBytes: maxFrameBytes)
    }

    /// Stops the server and removes its folder.
    func stop() {
        server.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Waits until the server holds `count` connections; returns whether it did in time.
    func waitForConnections(_ count: Int, timeout: Double = 5) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while server.connectionCount != count {
            if Date() > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    static let architecture = ModelArchitecture(
        visionWidth: 768, textWidth: 512, visionLayers: 12, textLayers: 12, patchSize: 32,
        imageSize: 224, projectionDim: 512, parameterCount: 151_277_313)

    /// An error that is not `StatusConvertible`, to check it arrives as `internal`.
    struct Unexpected: Error, CustomStringConvertible {
        var description: String { "something unexpected" }
    }

    static func handlers(_ probe: Probe) -> WireHandlers {
        var handlers = WireHandlers()
        handlers.unary(Methods.status) { _, _ in
            StatusReply(
                version: "test", pid: getpid(), uptimeSeconds: 1.5, threads: 2,
                loadedModels: ["a", "b"], queuedJobs: 1, runningJobs: 0)
        }
        handlers.unary(Methods.loadModel) { request, _ in
            switch request.name {
            case "missing":
                throw WireError.status(
                    .notFound, "no checkpoint at \(request.directory)", hint: "check the path")
            case "crash":
                throw Unexpected()
            default:
                return LoadModelReply(
                    model: ModelInfo(
                        name: request.name, directory: request.directory,
                        architecture: architecture),
                    loadSeconds: 0.25)
            }
        }
        handlers.unary(Methods.embed) { request, _ in
            EmbedReply(model: request.model, embeddings: request.inputs.map(echo))
        }
        handlers.unary(Methods.cancelJob) { request, context in
            // "slow" waits for the client to give up, to test client timeouts.
            if request.jobID == "slow" {
                if context.waitForCancellation(timeout: 10) { probe.record("slow cancelled") }
                return CancelJobReply(state: .running)
            }
            return CancelJobReply(state: .cancelled)
        }
        handlers.stream(Methods.watchJob) { request, sink in
            try watch(request.jobID, sink, probe)
        }
        return handlers
    }

    /// A deterministic embedding of an input, so a reply can be checked against its request.
    static func echo(_ input: EmbedInput) -> Embedding {
        switch input {
        case .text(let text):
            Embedding(kind: .text, input: text, values: text.utf8.map { Float($0) })
        case .imagePath(let path):
            Embedding(kind: .image, input: path, values: [Float(path.utf8.count)])
        case .imageBytes(let bytes):
            Embedding(kind: .image, input: "\(bytes.count) bytes", values: bytes.map { Float($0) })
        }
    }

    /// Job ids: "count:N" sends N events and ends; "fail:N" sends N events and fails;
    /// "forever" sends every 10 ms until cancelled and records "forever cancelled".
    static func watch(_ id: String, _ sink: StreamSink<JobEvent>, _ probe: Probe) throws {
        let parts = id.split(separator: ":")
        let count = parts.count == 2 ? UInt64(parts[1]) ?? 0 : 0
        switch parts.first {
        case "count", "fail":
            for step in stride(from: 1, through: count, by: 1) {
                try sink.send(
                    JobEvent(
                        jobID: id, state: .running, step: step, total: count,
                        loss: 1 / Double(step), learningRate: 1e-5))
            }
            if parts.first == "fail" {
                throw WireError.status(.failedPrecondition, "job \(id) failed")
            }
        case "forever":
            var step: UInt64 = 0
            while !sink.context.waitForCancellation(timeout: 0.01) {
                step += 1
                do {
                    try sink.send(JobEvent(jobID: id, state: .running, step: step))
                } catch {
                    break
                }
            }
            probe.record("forever cancelled")
        default:
            throw WireError.status(.notFound, "no job \(id)")
        }
    }
}

/// Runs `body` on `count` threads of its own at once and returns the errors they threw.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> [String] {
    final class Errors: @unchecked Sendable {
        let lock = NSLock()
        var messages: [String] = []
    }
    let errors = Errors()
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            do {
                try body(index)
            } catch {
                errors.lock.lock()
                errors.messages.append("thread \(index): \(error)")
                errors.lock.unlock()
            }
            group.leave()
        }.start()
    }
    group.wait()
    return errors.messages.sorted()
}

/// A socket that speaks raw bytes, for frames a real client would never send.
final class RawConnection {
    private(set) var fd: Int32
    private var decoder = FrameDecoder()

    init(path: String) throws { fd = try UnixSocket.connect(to: path) }

    deinit { if fd >= 0 { close(fd) } }

    /// Closes the descriptor with no goodbye, as a killed process would.
    func kill() {
        close(fd)
        fd = -1
    }

    func send(_ bytes: [UInt8]) throws { try UnixSocket.sendAll(fd, bytes) }

    func send(_ frame: Frame) throws { try send(frame.encoded()) }

    /// The next frame from the server, or nil once it closed the connection; throws when
    /// nothing arrives within `timeout` seconds.
    func read(timeout: Double = 5) throws -> Frame? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let frame = try decoder.next() { return frame }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            guard poll(&poller, 1, wait) > 0 else {
                throw WireError.timedOut(method: "raw read", seconds: timeout)
            }
            let count = try chunk.withUnsafeMutableBytes { try UnixSocket.receive(fd, into: $0) }
            if count == 0 { return nil }
            decoder.append(Array(chunk[..<count]))
        }
    }
}
