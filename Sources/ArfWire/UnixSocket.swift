// The Unix stream socket calls the server and client share: addresses, listening with stale
// socket removal, connecting, whole-frame sends without SIGPIPE, reads, peer credentials and
// a few options. Every call goes through `systemCall`, so failures carry errno. Only Linux is
// handled (SO_PEERCRED, MSG_NOSIGNAL).
import ArfSupport
import Foundation

/// Who is on the other end of a Unix socket, as the kernel reports it.
public struct PeerCredentials: Equatable, Sendable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid) uid \(uid)" }
}

enum UnixSocket {
    /// `sun_path` holds 108 bytes, one of which is the terminating NUL.
    static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// The address for `path`, or `socketPathTooLong`.
    static func address(_ path: String) throws -> sockaddr_un {
        let bytes = Array(path.utf8)
        guard bytes.count <= maxPathBytes else {
            throw WireError.socketPathTooLong(path: path, bytes: bytes.count, limit: maxPathBytes)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { target in
            target.copyBytes(from: bytes)
        }
        return address
    }

    /// A new close-on-exec stream socket.
    static func make() throws -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        return try wrap { try systemCall("socket") { socket(AF_UNIX, type, 0) } }
    }

    /// Connects to `path`; the socket is closed again if that fails.
    static func connect(to path: String) throws -> Int32 {
        var address = try address(path)
        let fd = try make()
        do {
            try wrap {
                try systemCall("connect", path) {
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                        }
                    }
                }
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// Binds and listens on `path` with mode 0600, first removing a stale socket file that no
    /// server answers on. Returns the listening socket and the inode of the socket file.
    static func listen(on path: String, backlog: Int32) throws -> (fd: Int32, inode: UInt64) {
        var address = try address(path)
        try removeStaleSocket(at: path)
        let fd = try make()
        do {
            try wrap {
                try systemCall("bind", path) {
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                        }
                    }
                }
                // No client can connect before listen(), so tightening the mode here leaves
                // no window in which the umask's mode is exposed.
                try systemCall("chmod", path) { chmod(path, 0o600) }
                try systemCall("listen", path) { Glibc.listen(fd, backlog) }
            }
            return (fd, try inode(of: path) ?? 0)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// The inode of `path`, or nil when nothing is there.
    static func inode(of path: String) throws -> UInt64? {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw WireError.system(SystemError(call: "lstat", errno: errno, context: path))
        }
        return UInt64(info.st_ino)
    }

    /// Removes a socket file nobody answers on; refuses to touch a live socket or a non-socket.
    static func removeStaleSocket(at path: String) throws {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return }
            throw WireError.system(SystemError(call: "lstat", errno: errno, context: path))
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw WireError.notASocket(path: path) }
        do {
            let fd = try connect(to: path)
            Glibc.close(fd)
            throw WireError.socketInUse(path: path)
        } catch WireError.system(let error) where error.errno == ECONNREFUSED {
            try wrap { try systemCall("unlink", path) { unlink(path) } }
        }
    }

    /// Sends all of `bytes`; MSG_NOSIGNAL turns a vanished peer into EPIPE instead of SIGPIPE.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = try wrap {
                    try systemCall("send") {
                        send(
                            fd, buffer.baseAddress! + offset, buffer.count - offset,
                            Int32(MSG_NOSIGNAL))
                    }
                }
                offset += sent
            }
        }
    }

    /// Reads what is available into `buffer`; 0 means the peer closed its end.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try wrap { try systemCall("read") { read(fd, buffer.baseAddress, buffer.count) } }
    }

    /// The pid, uid and gid of the process that connected (SO_PEERCRED).
    static func peerCredentials(_ fd: Int32) throws -> PeerCredentials {
        // struct ucred does not import without _GNU_SOURCE; it is three 32-bit fields.
        var fields: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: fields))
        precondition(length == 12, "struct ucred is pid, uid, gid")
        try wrap {
            try systemCall("getsockopt", "SO_PEERCRED") {
                getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &fields, &length)
            }
        }
        return PeerCredentials(pid: fields.0, uid: fields.1, gid: fields.2)
    }

    /// Marks a descriptor close-on-exec (accept4 does not import).
    static func setCloseOnExec(_ fd: Int32) throws {
        try wrap { try systemCall("fcntl", "F_SETFD") { fcntl(fd, F_SETFD, FD_CLOEXEC) } }
    }

    /// Makes a blocked send give up after `seconds`, so a peer that stops reading cannot
    /// hold a sending thread forever.
    static func setSendTimeout(_ fd: Int32, seconds: Double) throws {
        let whole = seconds.rounded(.down)
        var value = timeval(tv_sec: Int(whole), tv_usec: Int((seconds - whole) * 1e6))
        try wrap {
            try systemCall("setsockopt", "SO_SNDTIMEO") {
                setsockopt(
                    fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
            }
        }
    }

    /// Runs a system call helper and turns its `SystemError` into this module's error.
    @discardableResult
    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SystemError {
            throw WireError.system(error)
        }
    }
}
