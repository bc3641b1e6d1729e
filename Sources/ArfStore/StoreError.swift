// The storage layer's one error type. An LMDB failure keeps LMDB's code and text together with
// the operation, table and key that failed, so that a log line alone says what went wrong.
// Nothing here retries; the store itself retries only a full map, by growing it.
import CLMDB
import Foundation

/// Everything that can go wrong in the store.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// An LMDB call returned `code`; `message` is LMDB's own text for it.
    case lmdb(operation: String, code: Int32, message: String, table: String?, key: Key?)
    /// The store's folder could not be created.
    case directory(path: String, reason: String)
    /// This process already has the store in `path` open; LMDB forbids a second handle.
    case alreadyOpen(path: String)
    /// `Store.Options` hold values LMDB cannot use.
    case invalidOptions(reason: String)
    /// The store was closed before the call.
    case closed(path: String)
    /// A table name is empty, too long or reserved for the store's own bookkeeping.
    case invalidTableName(name: String, reason: String)
    /// A key is empty or longer than LMDB accepts.
    case keyLength(table: String, key: Key, length: Int, limit: Int)
    /// A value could not be encoded as JSON.
    case encoding(table: String, key: Key, type: String, reason: String)
    /// A stored value could not be decoded as the requested type.
    case decoding(table: String, key: Key, type: String, reason: String)
    /// A stored value's size is not a whole number of floats.
    case vectorLength(table: String, key: Key, byteCount: Int)
    /// A write needs a bigger map than the store may grow to.
    case mapSizeLimit(size: Int, limit: Int)

    public var description: String {
        switch self {
        case .lmdb(let operation, let code, let message, let table, let key):
            var text = "lmdb \(operation) failed"
            if let table { text += " in table \(table)" }
            if let key { text += " at key \"\(key)\"" }
            return text + ": \(message) (code \(code))"
        case .directory(let path, let reason):
            return "cannot create store folder \(path): \(reason)"
        case .alreadyOpen(let path):
            return "store \(path) is already open in this process"
        case .invalidOptions(let reason):
            return "invalid store options: \(reason)"
        case .closed(let path):
            return "store \(path) is closed"
        case .invalidTableName(let name, let reason):
            return "invalid table name \"\(name)\": \(reason)"
        case .keyLength(let table, let key, let length, let limit):
            return "key \"\(key)\" in table \(table) has \(length) bytes; keys take 1 to \(limit)"
        case .encoding(let table, let key, let type, let reason):
            return "cannot encode \(type) for table \(table) at key \"\(key)\": \(reason)"
        case .decoding(let table, let key, let type, let reason):
            return "cannot decode \(type) from table \(table) at key \"\(key)\": \(reason)"
        case .vectorLength(let table, let key, let byteCount):
            return "value in table \(table) at key \"\(key)\" has \(byteCount) bytes, "
                + "not a whole number of floats"
        case .mapSizeLimit(let size, let limit):
            return "store needs a map larger than \(size) bytes; the limit is \(limit)"
        }
    }

    /// LMDB's code when this is an LMDB failure.
    public var lmdbCode: Int32? {
        if case .lmdb(_, let code, _, _, _) = self { return code }
        return nil
    }

    /// Builds the error for a failed LMDB call.
    static func lmdb(_ code: Int32, _ operation: String, table: String? = nil, key: Key? = nil)
        -> StoreError
    {
        .lmdb(
            operation: operation, code: code, message: String(cString: mdb_strerror(code)),
            table: table, key: key)
    }
}

/// Throws the LMDB error for `code` unless it is success.
@inline(__always)
func check(_ code: Int32, _ operation: String, table: String? = nil, key: Key? = nil) throws {
    if code != 0 { throw StoreError.lmdb(code, operation, table: table, key: key) }
}
