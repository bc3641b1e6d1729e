// What the daemon keeps in its data folder, in one place. The folder holds an LMDB store
// (ArfStore) with three tables, and a lock file that keeps a second daemon out:
//
//   models      Key(name)                          -> ModelRecord as JSON
//   jobs        Key(id: UInt64)                    -> JobRecord as JSON
//   embeddings  Key(model, folder, relative path)  -> normalised float vector
//
// Model names, folders and item paths are string key parts, so one model's embeddings of one
// folder are a key prefix: they can be counted, listed in item order, or dropped together.
import ArfStore
import ArfSupport
import Foundation

/// The tables and keys of the daemon's store.
enum StoreLayout {
    static let models = "models"
    static let jobs = "jobs"
    static let embeddings = "embeddings"

    /// LMDB's default limit on key length; items whose key would be longer are not stored.
    static let maxKeyBytes = 511

    static func modelKey(_ name: String) -> Key { Key(name) }

    static func jobKey(_ id: UInt64) -> Key { Key(id) }

    /// Every embedding of one model's items in one folder.
    static func embeddingPrefix(model: String, folder: String) -> Key { Key(model, folder) }

    static func embeddingKey(model: String, folder: String, item: String) -> Key {
        Key(model, folder, item)
    }
}

/// The exclusive lock on a data folder, held for the daemon's lifetime. The kernel drops it
/// when the process dies, so a crash never leaves the folder locked.
final class DataFolderLock {
    private var fd: Int32

    /// Takes the lock on `folder`'s lock file, creating the folder and file as needed.
    init(folder: String) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw DaemonError.dataFolderUnusable(path: folder, reason: error.localizedDescription)
        }
        let path = (folder as NSString).appendingPathComponent("arfd.lock")
        do {
            fd = try systemCall("open", path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        } catch {
            throw DaemonError.dataFolderUnusable(path: folder, reason: "\(error)")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            fd = -1
            if code == EWOULDBLOCK { throw DaemonError.dataFolderInUse(path: folder) }
            throw SystemError(call: "flock", errno: code, context: path)
        }
    }

    deinit { release() }

    /// Drops the lock; the daemon does this last, after the store is closed.
    func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }
}
