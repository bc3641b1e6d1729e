// The client's side of one connection: a reader thread that routes each incoming frame to the
// call waiting for it (replies of concurrent calls interleave), a write lock so that frames
// from many threads go out whole, and per-call queues that callers block on with an optional
// deadline. When the connection ends, every waiting call fails at once.
//
// Events of a stream queue up unbounded until read; progress streams are small, and a
// consumer that stops reading should cancel.
import ArfSupport
import Foundation

/// The frames that have arrived for one call, and whether it can still get more.
final class PendingCall: @unchecked Sendable {
    private let condition = NSCondition()
    private var frames: [Frame] = []
    private var failure: WireError?

    func deliver(_ frame: Frame) {
        condition.lock()
        frames.append(frame)
        condition.signal()
        condition.unlock()
    }

    func fail(_ error: WireError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// The next frame, or nil when `deadline` passes first; throws when the connection ended.
    func next(until deadline: Date?) throws -> Frame? {
        condition.lock()
        defer { condition.unlock() }
        while frames.isEmpty {
            if let failure { throw failure }
            if let deadline {
                if !condition.wait(until: deadline) && frames.isEmpty {
                    if let failure { throw failure }
                    return nil
                }
            } else {
                condition.wait()
            }
        }
        return frames.removeFirst()
    }
}

/// One client connection shared by every thread that calls through it.
final class ClientConnection: @unchecked Sendable {
    let maxFrameBytes: Int
    private let fd: Int32
    private let lock = NSLock()
    private let writeLock = NSLock()
    private var pending: [UInt32: PendingCall] = [:]
    private var nextCallID: UInt32 = 0
    private var ended: WireError?
    private var closing = false
    /// Guarded by the write lock.
    private var descriptorClosed = false
    private var reader: WorkerThread?

    init(fd: Int32, maxFrameBytes: Int) {
        self.fd = fd
        self.maxFrameBytes = maxFrameBytes
    }

    func start() {
        reader = WorkerThread(name: "arf-client-reader") { [self] in
            let reason = readLoop()
            end(reason)
        }
    }

    /// Ends the connection and fails the calls still waiting; safe to call more than once.
    func close() {
        lock.lock()
        if ended == nil { ended = .connectionClosed("the client closed the connection") }
        let first = !closing
        closing = true
        lock.unlock()
        guard first else { return }
        // shutdown, not close, wakes the reader and any blocked sender; the descriptor is
        // closed once the reader has stopped, under the write lock, so no thread can use a
        // reused descriptor number.
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        reader?.join()
        writeLock.lock()
        descriptorClosed = true
        Glibc.close(fd)
        writeLock.unlock()
    }

    /// Registers a new call and sends its request.
    func begin(method: MethodDescriptor, body: [UInt8]) throws -> (UInt32, PendingCall) {
        guard Frame.headerSize + body.count <= maxFrameBytes else {
            throw WireError.frameTooLarge(
                bytes: Frame.headerSize + body.count, limit: maxFrameBytes)
        }
        let call = PendingCall()
        lock.lock()
        if let ended {
            lock.unlock()
            throw ended
        }
        repeat { nextCallID &+= 1 } while nextCallID == 0 || pending[nextCallID] != nil
        let id = nextCallID
        pending[id] = call
        lock.unlock()

        do {
            try send(Frame(flags: .request, methodID: method.id, callID: id, body: body))
        } catch {
            finish(id)
            throw error
        }
        return (id, call)
    }

    /// Forgets a call; frames that still arrive for it are dropped.
    func finish(_ id: UInt32) {
        lock.lock()
        pending[id] = nil
        lock.unlock()
    }

    /// Asks the server to stop a call and forgets it.
    func cancel(_ id: UInt32, method: MethodDescriptor) {
        finish(id)
        try? send(Frame(flags: .cancel, methodID: method.id, callID: id))
    }

    private func send(_ frame: Frame) throws {
        let bytes = frame.encoded()
        writeLock.lock()
        defer { writeLock.unlock() }
        do {
            if descriptorClosed { throw WireError.connectionClosed("the client closed it") }
            try UnixSocket.sendAll(fd, bytes)
        } catch let error as WireError {
            // Part of the frame may have gone out, so the stream is out of step: end it, and
            // the reader fails every waiting call.
            if !descriptorClosed { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
            lock.lock()
            let reason = ended
            lock.unlock()
            throw reason ?? error
        }
    }

    /// Reads until the connection ends; returns why it ended.
    private func readLoop() -> WireError {
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            do {
                while let frame = try decoder.next() {
                    if let reason = route(frame) { return reason }
                }
                let count = try chunk.withUnsafeMutableBytes {
                    try UnixSocket.receive(fd, into: $0)
                }
                if count == 0 { return .connectionClosed("the server closed the connection") }
                chunk.withUnsafeBytes {
                    decoder.append(UnsafeRawBufferPointer(rebasing: $0[..<count]))
                }
            } catch let error as WireError {
                return error
            } catch {
                return .connectionClosed("\(error)")
            }
        }
    }

    /// Hands a frame to its call; returns a reason when the frame ends the connection.
    private func route(_ frame: Frame) -> WireError? {
        switch frame.flags {
        case .request, .cancel:
            return .malformedFrame("server sent a \(frame.flags) frame")
        case .error where frame.callID == 0:
            // The server is closing the connection and says why.
            let status =
                (try? CallStatus(decoding: frame.body))
                ?? CallStatus(
                    .internal, "the server closed the connection with an unreadable error")
            return WireError(status)
        default:
            let terminal = frame.flags != .event
            lock.lock()
            let call = pending[frame.callID]
            if terminal { pending[frame.callID] = nil }
            lock.unlock()
            call?.deliver(frame)
            return nil
        }
    }

    private func end(_ reason: WireError) {
        lock.lock()
        if ended == nil { ended = reason }
        let waiting = Array(pending.values)
        let error = ended!
        pending.removeAll()
        lock.unlock()
        for call in waiting { call.fail(error) }
    }
}
