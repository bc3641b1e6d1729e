// What a server handler gets besides its request: the call's identity, the peer, and a
// cancellation flag that a cancel frame, a disconnect or the server's stop sets; and, for
// streaming methods, a sink that sends events. Cancellation is cooperative: a handler polls
// `isCancelled` or waits on it between steps, and a send on a cancelled call throws.
import Foundation

/// One call in flight on the server.
public final class CallContext: @unchecked Sendable {
    public let callID: UInt32
    public let method: MethodDescriptor
    /// The process that made the call.
    public let peer: PeerCredentials

    private let condition = NSCondition()
    private var cancelled = false
    private var reason = ""

    init(callID: UInt32, method: MethodDescriptor, peer: PeerCredentials) {
        self.callID = callID
        self.method = method
        self.peer = peer
    }

    /// Whether the client cancelled, went away, or the server is stopping.
    public var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Throws a `cancelled` status when the call has been cancelled.
    public func checkCancellation() throws {
        condition.lock()
        defer { condition.unlock() }
        if cancelled { throw WireError.status(.cancelled, "\(method.name) \(reason)") }
    }

    /// Sleeps until the call is cancelled or `seconds` pass; returns whether it was cancelled.
    @discardableResult
    public func waitForCancellation(timeout seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !cancelled {
            if !condition.wait(until: deadline) { break }
        }
        return cancelled
    }

    func cancel(_ why: String) {
        condition.lock()
        if !cancelled {
            cancelled = true
            reason = why
        }
        condition.broadcast()
        condition.unlock()
    }
}

/// Where a frame for the peer goes; the server connection implements it.
protocol FrameSink: AnyObject, Sendable {
    var maxFrameBytes: Int { get }
    func send(_ frame: Frame) throws
}

/// Sends the events of one server-streaming call.
public final class StreamSink<Event: WireMessage>: @unchecked Sendable {
    public let context: CallContext
    private let output: FrameSink

    init(context: CallContext, output: FrameSink) {
        self.context = context
        self.output = output
    }

    /// Whether the client cancelled, went away, or the server is stopping.
    public var isCancelled: Bool { context.isCancelled }

    /// Sends one event; throws `cancelled` once the call is cancelled, and `frameTooLarge`
    /// for an event above the frame limit (the stream stays usable).
    public func send(_ event: Event) throws {
        try context.checkCancellation()
        let body = event.encoded()
        guard Frame.headerSize + body.count <= output.maxFrameBytes else {
            throw WireError.frameTooLarge(
                bytes: Frame.headerSize + body.count, limit: output.maxFrameBytes)
        }
        let frame = Frame(
            flags: .event, methodID: context.method.id, callID: context.callID, body: body)
        do {
            try output.send(frame)
        } catch {
            context.cancel("lost its client: \(error)")
            throw WireError.status(.cancelled, "\(context.method.name) lost its client: \(error)")
        }
    }
}
