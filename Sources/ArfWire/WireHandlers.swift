// The server's method table: typed handlers registered against `Methods` entries, stored
// behind one untyped signature that decodes the request, runs the handler and answers. Every
// error a handler throws becomes an error frame through `CallStatus(error)`; nothing a handler
// does can take down the connection or the server, short of a crash inside it.
import ArfSupport
import Foundation

/// The handlers a `WireServer` answers with, one per method id.
public struct WireHandlers: Sendable {
    typealias Run = @Sendable (_ body: [UInt8], _ context: CallContext, _ output: FrameSink) -> Void

    struct Entry: Sendable {
        let method: MethodDescriptor
        let run: Run
    }

    private(set) var entries: [UInt16: Entry] = [:]

    public init() {}

    /// The methods that have a handler.
    public var methods: [MethodDescriptor] { entries.values.map(\.method).sorted { $0.id < $1.id } }

    /// Answers `method` with `handler`, which runs on a thread of its own and may block.
    public mutating func unary<Request, Response>(
        _ method: UnaryMethod<Request, Response>,
        _ handler: @escaping @Sendable (Request, CallContext) throws -> Response
    ) {
        let descriptor = method.descriptor
        register(descriptor) { body, context, output in
            var frame: Frame
            do {
                let request = try Request(decoding: body)
                let reply = try handler(request, context).encoded()
                frame = Frame(
                    flags: .response, methodID: descriptor.id, callID: context.callID, body: reply)
                if Frame.headerSize + reply.count > output.maxFrameBytes {
                    let error = WireError.frameTooLarge(
                        bytes: Frame.headerSize + reply.count, limit: output.maxFrameBytes)
                    frame = Self.errorFrame(error, context)
                }
            } catch {
                frame = Self.errorFrame(error, context)
            }
            try? output.send(frame)
        }
    }

    /// Answers `method` with `handler`, which sends events through its sink and returns when
    /// the stream is complete; it runs on a thread of its own and may block.
    public mutating func stream<Request, Event>(
        _ method: StreamMethod<Request, Event>,
        _ handler: @escaping @Sendable (Request, StreamSink<Event>) throws -> Void
    ) {
        let descriptor = method.descriptor
        register(descriptor) { body, context, output in
            var frame = Frame(flags: .end, methodID: descriptor.id, callID: context.callID)
            do {
                let request = try Request(decoding: body)
                try handler(request, StreamSink(context: context, output: output))
                // A handler that noticed the cancel and returned quietly still ends as cancelled.
                try context.checkCancellation()
            } catch {
                frame = Self.errorFrame(error, context)
            }
            try? output.send(frame)
        }
    }

    func entry(for id: UInt16) -> Entry? { entries[id] }

    private mutating func register(_ method: MethodDescriptor, _ run: @escaping Run) {
        precondition(entries[method.id] == nil, "two handlers for \(method.name)")
        entries[method.id] = Entry(method: method, run: run)
    }

    /// The error frame for a failed call; internal errors are logged, since only the log
    /// keeps them once the client has shown its message.
    static func errorFrame(_ error: Error, _ context: CallContext) -> Frame {
        let status = CallStatus(error)
        if status.code == .internal {
            log.error(
                "call failed", ("method", context.method.name), ("peer", context.peer.pid),
                ("error", status.message))
        } else {
            log.debug(
                "call ended", ("method", context.method.name), ("code", status.code),
                ("message", status.message))
        }
        return Frame.error(status, callID: context.callID, methodID: context.method.id)
    }
}
