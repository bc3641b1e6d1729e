// The server runtime: binds a Unix socket (mode 0600, stale file removed), accepts on a thread
// of its own, admits only peers whose uid is allowed (SO_PEERCRED), and hands each connection
// to a `ServerConnection` with its own reader thread. `stop()` shuts the listening socket down
// (which unblocks accept), cancels every call and waits for the connections to close.
//
// Left out: TLS or any transport but Unix sockets, per-method authorisation, and a thread pool
// (each call gets a thread; the per-connection and connection limits bound how many).
import ArfSupport
import Foundation

/// Limits and policy of a `WireServer`.
public struct WireServerOptions: Sendable {
    /// The largest frame, header included, accepted or sent.
    public var maxFrameBytes = Frame.defaultMaxFrameBytes
    /// The uids admitted; others are disconnected at once. Defaults to the server's own uid.
    public var allowedUIDs: Set<UInt32> = [getuid()]
    /// Connections beyond this are told `unavailable` and closed.
    public var maxConnections = 256
    /// Calls in flight on one connection beyond this are answered `resourceExhausted`.
    public var maxCallsPerConnection = 64
    /// Calls in flight on the whole server beyond this are answered `resourceExhausted`; each
    /// call holds a thread, so this bounds the server's thread count.
    public var maxCalls = 256
    /// How long a send may block on a client that does not read before that client is dropped.
    public var sendTimeoutSeconds = 30.0
    /// The listen backlog.
    public var backlog: Int32 = 64

    public init() {}
}

/// Serves `WireHandlers` on a Unix socket; safe to use from any thread.
public final class WireServer: @unchecked Sendable {
    public let socketPath: String
    public let options: WireServerOptions
    private let handlers: WireHandlers

    private enum State { case idle, running, stopped }

    private let lock = NSCondition()
    private var state = State.idle
    private var listenFD: Int32 = -1
    private var socketInode: UInt64 = 0
    private var acceptThread: WorkerThread?
    private var connections: [ObjectIdentifier: ServerConnection] = [:]
    private var nextSerial = 1
    private let budget: CallBudget

    public init(socketPath: String, handlers: WireHandlers, options: WireServerOptions = .init()) {
        precondition(options.maxFrameBytes >= Frame.headerSize, "frame limit below header size")
        self.socketPath = socketPath
        self.handlers = handlers
        self.options = options
        self.budget = CallBudget(limit: options.maxCalls)
    }

    deinit { stop() }

    /// Binds the socket and starts accepting; when it returns, clients can connect.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        guard state == .idle else { throw WireError.notRunning("a server starts only once") }
        let (fd, inode) = try UnixSocket.listen(on: socketPath, backlog: options.backlog)
        listenFD = fd
        socketInode = inode
        state = .running
        acceptThread = WorkerThread(name: "arf-accept") { [self] in acceptLoop(fd) }
        log.info(
            "listening", ("socket", socketPath), ("methods", handlers.methods.count),
            ("uids", options.allowedUIDs.sorted().map(String.init).joined(separator: ",")))
    }

    /// Connections currently open.
    public var connectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections.count
    }

    /// Stops accepting, cancels every call, and waits up to `timeout` seconds for handlers to
    /// return and connections to close. Removes the socket file if it is still this server's.
    public func stop(timeout: Double = 5) {
        lock.lock()
        guard state == .running else {
            state = .stopped
            lock.unlock()
            return
        }
        state = .stopped
        let fd = listenFD
        lock.unlock()

        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        acceptThread?.join()
        Glibc.close(fd)
        // Another server may have replaced the file since; only remove our own.
        if (try? UnixSocket.inode(of: socketPath)) == socketInode {
            unlink(socketPath)
        }

        lock.lock()
        let open = Array(connections.values)
        lock.unlock()
        for connection in open { connection.shutdown() }

        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        while !connections.isEmpty {
            if !lock.wait(until: deadline) { break }
        }
        let left = connections.count
        lock.unlock()
        if left > 0 {
            log.warning("stopped with calls still running", ("connections", left))
        }
        log.info("stopped", ("socket", socketPath))
    }

    private var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return state == .running
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                let code = errno
                if !isRunning { return }
                switch code {
                case EINTR, ECONNABORTED:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: back off rather than spin; the pending
                    // clients wait in the backlog.
                    log.error("accept failed", ("error", String(cString: strerror(code))))
                    usleep(100_000)
                    continue
                default:
                    log.error("accept stopped", ("error", String(cString: strerror(code))))
                    return
                }
            }
            admit(fd)
        }
    }

    /// Checks a new connection and starts serving it, or closes it.
    private func admit(_ fd: Int32) {
        let peer: PeerCredentials
        do {
            try UnixSocket.setCloseOnExec(fd)
            try UnixSocket.setSendTimeout(fd, seconds: options.sendTimeoutSeconds)
            peer = try UnixSocket.peerCredentials(fd)
        } catch {
            log.warning("connection dropped", ("error", error))
            Glibc.close(fd)
            return
        }
        guard options.allowedUIDs.contains(peer.uid) else {
            log.warning("connection refused", ("peer", peer.pid), ("uid", peer.uid))
            Glibc.close(fd)
            return
        }

        lock.lock()
        guard state == .running, connections.count < options.maxConnections else {
            let count = connections.count
            lock.unlock()
            let status = CallStatus(.unavailable, "server has \(count) connections, the limit")
            try? UnixSocket.sendAll(fd, Frame.error(status, callID: 0).encoded())
            Glibc.close(fd)
            return
        }
        let serial = nextSerial
        nextSerial += 1
        let connection = ServerConnection(
            fd: fd, serial: serial, peer: peer, handlers: handlers, options: options,
            budget: budget
        ) { [weak self] closed in self?.remove(closed) }
        connections[ObjectIdentifier(connection)] = connection
        lock.unlock()

        log.debug("connection accepted", ("conn", serial), ("peer", peer.pid))
        connection.start()
    }

    private func remove(_ connection: ServerConnection) {
        lock.lock()
        connections[ObjectIdentifier(connection)] = nil
        lock.broadcast()
        lock.unlock()
    }
}

/// Counts calls in flight across every connection of a server.
final class CallBudget: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var used = 0

    init(limit: Int) { self.limit = limit }

    /// Takes one call's share; false when the server is at its limit.
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard used < limit else { return false }
        used += 1
        return true
    }

    func give() {
        lock.lock()
        used -= 1
        lock.unlock()
    }
}
