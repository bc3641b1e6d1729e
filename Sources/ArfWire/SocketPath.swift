// Where the daemon listens and the client connects when no path is given: `ARF_SOCKET`, else
// `$XDG_RUNTIME_DIR/arf/arfd.sock`, else `~/.arf/arfd.sock`. The two derived locations get
// their parent folder created with mode 0700; a path from `ARF_SOCKET` is used as given.
import ArfSupport
import Foundation

/// The default socket path logic shared by `arfd` and `arf`.
public enum SocketPath {
    /// The environment variable that overrides the socket path.
    public static let environmentKey = "ARF_SOCKET"

    /// The longest path, in UTF-8 bytes, that a Unix socket address holds.
    public static var maxBytes: Int { UnixSocket.maxPathBytes }

    /// The socket path for this environment; creates the parent folder (mode 0700) of a
    /// derived path when `createDirectory` is set, and checks that the path fits.
    public static func resolve(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        createDirectory: Bool = true
    ) throws -> String {
        if let explicit = environment[environmentKey], !explicit.isEmpty {
            _ = try UnixSocket.address(explicit)
            return explicit
        }
        let folder: String
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            folder = (runtime as NSString).appendingPathComponent("arf")
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            folder = (home as NSString).appendingPathComponent(".arf")
        }
        let path = (folder as NSString).appendingPathComponent("arfd.sock")
        _ = try UnixSocket.address(path)
        if createDirectory {
            try makePrivateDirectory(folder)
        }
        return path
    }

    /// Creates `path` with mode 0700 unless it exists; the folder above must exist.
    static func makePrivateDirectory(_ path: String) throws {
        if mkdir(path, 0o700) == 0 { return }
        let code = errno
        var info = stat()
        if code == EEXIST, stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return }
        throw WireError.system(SystemError(call: "mkdir", errno: code, context: path))
    }
}
