// One accepted client connection on the server: a reader thread that cuts the byte stream into
// frames and starts each call on a thread of its own, a write lock so that replies of
// concurrent calls interleave as whole frames, and the bookkeeping that closes the socket only
// once the reader has stopped and every call has answered (so no thread ever writes to a
// descriptor number that has been reused).
//
// A broken header or an oversized frame gets an error frame with call id 0 and closes the
// connection, since the stream cannot be resynchronised; an unknown method, a duplicate call
// id or too many calls get an error for that call and the connection goes on.
import ArfSupport
import Foundation

final class ServerConnection: FrameSink, @unchecked Sendable {
    let serial: Int
    let peer: PeerCredentials
    let maxFrameBytes: Int

    private let fd: Int32
    private let handlers: WireHandlers
    private let maxCalls: Int
    private let budget: CallBudget
    private let onClose: @Sendable (ServerConnection) -> Void

    private let stateLock = NSLock()
    private let writeLock = NSLock()
    private var calls: [UInt32: CallContext] = [:]
    private var readerDone = false
    private var closed = false

    init(
        fd: Int32, serial: Int, peer: PeerCredentials, handlers: WireHandlers,
        options: WireServerOptions, budget: CallBudget,
        onClose: @escaping @Sendable (ServerConnection) -> Void
    ) {
        self.fd = fd
        self.serial = serial
        self.peer = peer
        self.handlers = handlers
        self.maxFrameBytes = options.maxFrameBytes
        self.maxCalls = options.maxCallsPerConnection
        self.budget = budget
        self.onClose = onClose
    }

    /// Starts the reader thread.
    func start() {
        _ = WorkerThread(name: "arf-conn-\(serial)") { [self] in
            readLoop()
            finishReading()
        }
    }

    /// Ends the connection from the server's side: the reader sees end of file, calls are
    /// cancelled, and the socket closes when the last of them has answered.
    func shutdown() {
        stateLock.lock()
        defer { stateLock.unlock() }
        if !closed { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    func send(_ frame: Frame) throws {
        let bytes = frame.encoded()
        writeLock.lock()
        defer { writeLock.unlock() }
        do {
            try UnixSocket.sendAll(fd, bytes)
        } catch {
            // A send that timed out may have written part of a frame; nothing after it could
            // be parsed, so the connection ends here.
            shutdown()
            throw error
        }
    }

    private func readLoop() {
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            do {
                while let frame = try decoder.next() {
                    guard handle(frame) else { return }
                }
            } catch {
                // The header was bad or too large: say why, then stop listening to this peer.
                log.warning(
                    "closing connection", ("conn", serial), ("peer", peer.pid),
                    ("error", error))
                try? send(Frame.error(CallStatus(error), callID: 0))
                shutdown()
                return
            }
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { try UnixSocket.receive(fd, into: $0) }
            } catch {
                log.debug("connection read failed", ("conn", serial), ("error", error))
                return
            }
            if count == 0 {
                if decoder.bufferedBytes > 0 {
                    log.debug(
                        "connection dropped mid-frame", ("conn", serial),
                        ("bytes", decoder.bufferedBytes))
                }
                return
            }
            chunk.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }

    /// Acts on one frame from the client; returns false when the connection must end.
    private func handle(_ frame: Frame) -> Bool {
        switch frame.flags {
        case .request:
            start(frame)
            return true
        case .cancel:
            stateLock.lock()
            let call = calls[frame.callID]
            stateLock.unlock()
            call?.cancel("was cancelled by the client")
            return true
        default:
            let status = CallStatus(
                .invalidArgument, "a client may send request and cancel frames, not \(frame.flags)")
            log.warning("closing connection", ("conn", serial), ("error", status.message))
            try? send(Frame.error(status, callID: 0))
            shutdown()
            return false
        }
    }

    private func start(_ frame: Frame) {
        let id = frame.callID
        guard let entry = handlers.entry(for: frame.methodID) else {
            reject(
                frame,
                CallStatus(
                    .notFound, "unknown method id \(frame.methodID)",
                    hint: "the client may be newer than the daemon"))
            return
        }
        let context = CallContext(callID: id, method: entry.method, peer: peer)
        stateLock.lock()
        let problem: CallStatus? =
            if calls[id] != nil {
                CallStatus(.invalidArgument, "call id \(id) is already in flight")
            } else if calls.count >= maxCalls {
                CallStatus(.resourceExhausted, "more than \(maxCalls) calls in flight")
            } else if !budget.take() {
                CallStatus(
                    .resourceExhausted, "the server has \(budget.limit) calls in flight",
                    hint: "retry when running calls have finished")
            } else {
                nil
            }
        if problem == nil { calls[id] = context }
        stateLock.unlock()
        if let problem {
            reject(frame, problem)
            return
        }

        log.debug("call", ("conn", serial), ("call", id), ("method", entry.method.name))
        let body = frame.body
        _ = WorkerThread(name: "arf-call-\(serial)-\(id)") { [self] in
            entry.run(body, context, self)
            finishCall(id)
        }
    }

    private func reject(_ frame: Frame, _ status: CallStatus) {
        log.debug("call refused", ("conn", serial), ("call", frame.callID), ("why", status))
        try? send(Frame.error(status, callID: frame.callID, methodID: frame.methodID))
    }

    private func finishCall(_ id: UInt32) {
        budget.give()
        stateLock.lock()
        calls[id] = nil
        let close = readerDone && calls.isEmpty && !closed
        if close { closed = true }
        stateLock.unlock()
        if close { closeSocket() }
    }

    private func finishReading() {
        stateLock.lock()
        readerDone = true
        let inFlight = Array(calls.values)
        let close = calls.isEmpty && !closed
        if close { closed = true }
        stateLock.unlock()
        for call in inFlight { call.cancel("lost its client") }
        if close { closeSocket() }
    }

    private func closeSocket() {
        Glibc.close(fd)
        log.debug("connection closed", ("conn", serial), ("peer", peer.pid))
        onClose(self)
    }
}
