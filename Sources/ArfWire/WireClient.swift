// The client runtime: a connection to the daemon with synchronous calls, made for a command
// line tool. One client may be shared by many threads (each call waits only for its own
// reply), or each thread may connect its own. Server streams are read either with a callback
// (`stream`) or pulled one event at a time (`openStream`), which also lets another thread
// cancel them.
import ArfSupport
import Foundation

/// A connection to a `WireServer`; thread-safe, closed on `close()` or when released.
public final class WireClient: @unchecked Sendable {
    public let socketPath: String
    private let connection: ClientConnection

    private init(socketPath: String, connection: ClientConnection) {
        self.socketPath = socketPath
        self.connection = connection
    }

    deinit { connection.close() }

    /// Connects to `socketPath`, or to `SocketPath.resolve()` when it is nil.
    public static func connect(
        socketPath: String? = nil, maxFrameBytes: Int = Frame.defaultMaxFrameBytes
    ) throws -> WireClient {
        let path = try socketPath ?? SocketPath.resolve(createDirectory: false)
        let fd = try UnixSocket.connect(to: path)
        let connection = ClientConnection(fd: fd, maxFrameBytes: maxFrameBytes)
        connection.start()
        return WireClient(socketPath: path, connection: connection)
    }

    /// Ends the connection; calls still waiting fail with `connectionClosed`.
    public func close() { connection.close() }

    /// Calls a unary method and waits for its reply, at most `timeout` seconds when given
    /// (the call is then cancelled and `timedOut` thrown). A failed call throws `.status`.
    public func call<Request, Response>(
        _ method: UnaryMethod<Request, Response>, _ request: Request, timeout: Double? = nil
    ) throws -> Response {
        let descriptor = method.descriptor
        let (id, pending) = try connection.begin(method: descriptor, body: request.encoded())
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        guard let frame = try pending.next(until: deadline) else {
            connection.cancel(id, method: descriptor)
            throw WireError.timedOut(method: descriptor.name, seconds: timeout ?? 0)
        }
        switch frame.flags {
        case .response:
            return try Response(decoding: frame.body)
        case .error:
            throw Self.failure(frame)
        default:
            connection.finish(id)
            throw WireError.malformedFrame("\(frame.flags) frame answering unary \(descriptor)")
        }
    }

    /// Calls a streaming method and hands each event to `onEvent` until the stream ends.
    /// When `onEvent` throws, the stream is cancelled and the error rethrown; `timeout` bounds
    /// the wait for each event.
    public func stream<Request, Event>(
        _ method: StreamMethod<Request, Event>, _ request: Request, timeout: Double? = nil,
        onEvent: (Event) throws -> Void
    ) throws {
        let stream = try openStream(method, request)
        defer { stream.cancel() }
        while let event = try stream.next(timeout: timeout) {
            try onEvent(event)
        }
    }

    /// Starts a streaming call whose events are read with `next()`.
    public func openStream<Request, Event>(
        _ method: StreamMethod<Request, Event>, _ request: Request
    ) throws -> WireStream<Event> {
        let descriptor = method.descriptor
        let (id, pending) = try connection.begin(method: descriptor, body: request.encoded())
        return WireStream(
            callID: id, method: descriptor, pending: pending, connection: connection)
    }

    /// The error a server's error frame stands for.
    static func failure(_ frame: Frame) -> WireError {
        guard let status = try? CallStatus(decoding: frame.body) else {
            return .status(.internal, "the server sent an unreadable error")
        }
        return WireError(status)
    }
}

/// The events of one server-streaming call; `cancel()` may be called from any thread.
public final class WireStream<Event: WireMessage>: @unchecked Sendable {
    /// The call id on the wire, for logs.
    public let callID: UInt32
    public let method: MethodDescriptor
    private let pending: PendingCall
    private let connection: ClientConnection
    private let lock = NSLock()
    private var finished = false
    private var cancelled = false

    init(
        callID: UInt32, method: MethodDescriptor, pending: PendingCall, connection: ClientConnection
    ) {
        self.callID = callID
        self.method = method
        self.pending = pending
        self.connection = connection
    }

    deinit { cancel() }

    /// The next event, or nil once the stream has ended normally. Throws the call's error,
    /// `cancelled` after `cancel()`, or `timedOut` when no event came within `timeout`
    /// seconds (the stream is then cancelled).
    public func next(timeout: Double? = nil) throws -> Event? {
        lock.lock()
        let (done, wasCancelled) = (finished, cancelled)
        lock.unlock()
        if wasCancelled { throw WireError.status(.cancelled, "\(method) was cancelled") }
        if done { return nil }

        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        let frame: Frame?
        do {
            frame = try pending.next(until: deadline)
        } catch {
            markFinished()
            throw error
        }
        guard let frame else {
            cancel()
            throw WireError.timedOut(method: method.name, seconds: timeout ?? 0)
        }
        switch frame.flags {
        case .event:
            return try Event(decoding: frame.body)
        case .end:
            markFinished()
            return nil
        case .error:
            markFinished()
            throw WireClient.failure(frame)
        default:
            markFinished()
            throw WireError.malformedFrame("\(frame.flags) frame in the stream of \(method)")
        }
    }

    /// Stops the stream: tells the server and wakes a thread blocked in `next()`.
    public func cancel() {
        lock.lock()
        let active = !finished
        finished = true
        if active { cancelled = true }
        lock.unlock()
        guard active else { return }
        connection.cancel(callID, method: method)
        pending.fail(.status(.cancelled, "\(method) was cancelled"))
    }

    private func markFinished() {
        lock.lock()
        finished = true
        lock.unlock()
    }
}
