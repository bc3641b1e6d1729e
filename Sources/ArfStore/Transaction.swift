// Transactions: the only way to read or change a store. A `ReadTransaction` gets values as
// copies (bytes, JSON-decoded values, float vectors); a `WriteTransaction` also puts and deletes
// them and hands out sequence numbers. Both are valid only inside the closure given to
// `Store.read` or `Store.write`. Scans over key ranges live in Scan.swift.
//
// Value formats: raw bytes as given; Codable values as JSON with sorted keys; float vectors as
// their IEEE 754 bits, little-endian, with no header. LMDB stores a value right after its key,
// so a value can sit at any address (an odd one after an odd-length key): vectors are copied
// out byte for byte rather than read in place as floats.
import CLMDB
import Foundation

/// A read-only view of the store as of the transaction's start.
public class ReadTransaction {
    let store: Store
    let handle: OpaquePointer
    private(set) var isOpen = true
    /// The first error met while iterating a scan; it fails the enclosing `read` or `write`.
    private(set) var failure: StoreError?
    private var cursors: [WeakCursor] = []
    private lazy var decoder = JSONDecoder()

    init(store: Store, handle: OpaquePointer) {
        self.store = store
        self.handle = handle
    }

    /// Closes the cursors still open; LMDB frees a write transaction's cursors at commit, so
    /// they must be closed before it, and a read transaction's must be closed explicitly.
    func finish() {
        for entry in cursors { entry.cursor?.close() }
        cursors = []
        isOpen = false
    }

    func register(_ cursor: Cursor) {
        if cursors.count >= 32 { cursors.removeAll { $0.cursor == nil } }
        cursors.append(WeakCursor(cursor))
    }

    func record(_ error: Error) {
        guard failure == nil else { return }
        failure = error as? StoreError ?? StoreError.lmdb(EIO, "scan")
    }

    func requireOpen(_ table: Table) {
        precondition(isOpen, "a transaction was used after its closure returned")
        precondition(
            table.storeID == store.id, "table \(table.name) belongs to another store or handle")
    }

    func validate(_ key: Key, in table: Table) throws {
        guard (1...store.maxKeySize).contains(key.bytes.count) else {
            throw StoreError.keyLength(
                table: table.name, key: key, length: key.bytes.count, limit: store.maxKeySize)
        }
    }

    /// Calls `body` with the value stored at `key` as it lies in the map, or returns nil.
    ///
    /// The buffer is valid only during the call and may sit at any alignment.
    public func withBytes<R>(
        in table: Table, at key: Key, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        requireOpen(table)
        try validate(key, in: table)
        var value = MDB_val()
        let code = key.bytes.withUnsafeBytes { raw -> Int32 in
            var keyValue = MDB_val(
                mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return mdb_get(handle, table.dbi, &keyValue, &value)
        }
        if code == MDB_NOTFOUND { return nil }
        try check(code, "get", table: table.name, key: key)
        return try body(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    /// The bytes stored at `key`, or nil.
    public func data(in table: Table, at key: Key) throws -> Data? {
        try withBytes(in: table, at: key) { Data($0) }
    }

    /// The bytes stored at `key` as an array, or nil.
    public func bytes(in table: Table, at key: Key) throws -> [UInt8]? {
        try withBytes(in: table, at: key) { Array($0) }
    }

    /// Whether a value is stored at `key`.
    public func contains(in table: Table, at key: Key) throws -> Bool {
        try withBytes(in: table, at: key) { _ in true } ?? false
    }

    /// The JSON value stored at `key` decoded as `type`, or nil when there is none.
    public func json<T: Decodable>(_ type: T.Type, in table: Table, at key: Key) throws -> T? {
        guard let data = try data(in: table, at: key) else { return nil }
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw StoreError.decoding(
                table: table.name, key: key, type: "\(T.self)", reason: "\(error)")
        }
    }

    /// The float vector stored at `key`, or nil.
    public func vector(in table: Table, at key: Key) throws -> [Float]? {
        try withBytes(in: table, at: key) { raw in
            try ReadTransaction.floats(from: raw, table: table, key: key)
        }
    }

    /// How many entries `table` holds.
    public func count(_ table: Table) throws -> Int {
        requireOpen(table)
        var stat = MDB_stat()
        try check(mdb_stat(handle, table.dbi, &stat), "stat", table: table.name)
        return stat.ms_entries
    }

    /// The last number `nextSequence` handed out for `table`, or 0.
    public func currentSequence(_ table: Table) throws -> UInt64 {
        requireOpen(table)
        let key = Key(table.name)
        return try withBytes(in: store.sequences, at: key) { raw in
            guard raw.count == 8 else {
                throw StoreError.decoding(
                    table: Store.sequencesName, key: key, type: "UInt64",
                    reason: "\(raw.count) bytes, expected 8")
            }
            return raw.reduce(0) { $0 << 8 | UInt64($1) }
        } ?? 0
    }

    /// Copies little-endian floats out of `raw`, which may sit at any alignment.
    static func floats(from raw: UnsafeRawBufferPointer, table: Table, key: Key) throws
        -> [Float]
    {
        guard raw.count % MemoryLayout<Float>.size == 0 else {
            throw StoreError.vectorLength(table: table.name, key: key, byteCount: raw.count)
        }
        let count = raw.count / MemoryLayout<Float>.size
        var floats = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            initialized = count
        }
        #if _endian(big)
            for index in floats.indices {
                floats[index] = Float(bitPattern: UInt32(littleEndian: floats[index].bitPattern))
            }
        #endif
        return floats
    }
}

/// The store's one write transaction: reads see its own changes.
public final class WriteTransaction: ReadTransaction {
    /// Set when LMDB ran out of map; the store then grows the map and runs the closure again.
    private(set) var mapFull = false
    private lazy var encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// Records a full map before the error reaches the caller, who might catch it.
    private func check(_ code: Int32, _ operation: String, _ table: Table, _ key: Key?) throws {
        if code == MDB_MAP_FULL { mapFull = true }
        try ArfStore.check(code, operation, table: table.name, key: key)
    }

    /// Reserves `byteCount` bytes at `key` and lets `fill` write them in place; returns false
    /// when the key exists and `overwrite` is false.
    private func put(
        in table: Table, at key: Key, byteCount: Int, overwrite: Bool,
        fill: (UnsafeMutableRawBufferPointer) -> Void
    ) throws -> Bool {
        requireOpen(table)
        try validate(key, in: table)
        var flags = UInt32(MDB_RESERVE)
        if !overwrite { flags |= UInt32(MDB_NOOVERWRITE) }
        var value = MDB_val(mv_size: byteCount, mv_data: nil)
        let code = key.bytes.withUnsafeBytes { raw -> Int32 in
            var keyValue = MDB_val(
                mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return mdb_put(handle, table.dbi, &keyValue, &value, flags)
        }
        if code == MDB_KEYEXIST, !overwrite { return false }
        try check(code, "put", table, key)
        fill(UnsafeMutableRawBufferPointer(start: value.mv_data, count: byteCount))
        return true
    }

    /// Stores `data` at `key`; returns false, storing nothing, when the key exists and
    /// `overwrite` is false.
    @discardableResult
    public func put(_ data: Data, in table: Table, at key: Key, overwrite: Bool = true) throws
        -> Bool
    {
        try put(in: table, at: key, byteCount: data.count, overwrite: overwrite) { destination in
            data.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
    }

    /// Stores `bytes` at `key`; returns false when the key exists and `overwrite` is false.
    @discardableResult
    public func put(_ bytes: [UInt8], in table: Table, at key: Key, overwrite: Bool = true)
        throws -> Bool
    {
        try put(in: table, at: key, byteCount: bytes.count, overwrite: overwrite) { destination in
            bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
    }

    /// Stores `value` as JSON at `key`; returns false when the key exists and `overwrite` is
    /// false.
    @discardableResult
    public func putJSON<T: Encodable>(
        _ value: T, in table: Table, at key: Key, overwrite: Bool = true
    ) throws -> Bool {
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw StoreError.encoding(
                table: table.name, key: key, type: "\(T.self)", reason: "\(error)")
        }
        return try put(data, in: table, at: key, overwrite: overwrite)
    }

    /// Stores `vector` as little-endian floats at `key`.
    @discardableResult
    public func putVector(
        _ vector: UnsafeBufferPointer<Float>, in table: Table, at key: Key,
        overwrite: Bool = true
    ) throws -> Bool {
        let byteCount = vector.count * MemoryLayout<Float>.size
        return try put(in: table, at: key, byteCount: byteCount, overwrite: overwrite) {
            destination in
            #if _endian(big)
                for (index, float) in vector.enumerated() {
                    destination.storeBytes(
                        of: float.bitPattern.littleEndian,
                        toByteOffset: index * MemoryLayout<Float>.size, as: UInt32.self)
                }
            #else
                destination.copyMemory(from: UnsafeRawBufferPointer(vector))
            #endif
        }
    }

    /// Stores `vector` as little-endian floats at `key`.
    @discardableResult
    public func putVector(_ vector: [Float], in table: Table, at key: Key, overwrite: Bool = true)
        throws -> Bool
    {
        try vector.withUnsafeBufferPointer { buffer in
            try putVector(buffer, in: table, at: key, overwrite: overwrite)
        }
    }

    /// Deletes the value at `key`; returns whether there was one.
    @discardableResult
    public func delete(in table: Table, at key: Key) throws -> Bool {
        requireOpen(table)
        try validate(key, in: table)
        let code = key.bytes.withUnsafeBytes { raw -> Int32 in
            var keyValue = MDB_val(
                mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return mdb_del(handle, table.dbi, &keyValue, nil)
        }
        if code == MDB_NOTFOUND { return false }
        try check(code, "delete", table, key)
        return true
    }

    /// Deletes every entry whose key starts with `prefix`; returns how many there were.
    @discardableResult
    public func deleteAll(in table: Table, prefix: Key) throws -> Int {
        requireOpen(table)
        let bounds = try Bounds(prefix: prefix, table: table, maxKeySize: store.maxKeySize)
        let cursor = try Cursor(transaction: self, table: table)
        defer { cursor.close() }

        // After a delete LMDB leaves the cursor on the following entry, and the next
        // MDB_NEXT returns that entry rather than skipping it.
        var deleted = 0
        var entry = try cursor.start(in: bounds, reverse: false)
        while entry != nil {
            let code = cursor.deleteCurrent()
            try check(code, "cursor_del", table, prefix)
            deleted += 1
            entry = try cursor.advance(in: bounds, reverse: false)
        }
        return deleted
    }

    /// Deletes every entry of `table`, keeping the table.
    public func removeAll(in table: Table) throws {
        requireOpen(table)
        try check(mdb_drop(handle, table.dbi, 0), "drop", table, nil)
    }

    /// The next number of `table`'s sequence: 1, 2, 3, ... across commits and restarts.
    ///
    /// A number handed out in a transaction that aborts is handed out again, which is safe
    /// because nothing that used it was committed.
    public func nextSequence(_ table: Table) throws -> UInt64 {
        let current = try currentSequence(table)
        guard current < .max else {
            throw StoreError.decoding(
                table: Store.sequencesName, key: Key(table.name), type: "UInt64",
                reason: "the sequence of \(table.name) is exhausted")
        }
        let next = current + 1
        try put(Key(next).bytes, in: store.sequences, at: Key(table.name))
        return next
    }

    /// Opens (creating if needed) the LMDB database behind a table.
    func openDatabase(_ name: String) throws -> MDB_dbi {
        var dbi = MDB_dbi()
        let code = mdb_dbi_open(handle, name, UInt32(MDB_CREATE), &dbi)
        if code == MDB_MAP_FULL { mapFull = true }
        try ArfStore.check(code, "dbi_open", table: name)
        return dbi
    }
}

/// A cursor the transaction can close at its end without keeping it alive until then.
private final class WeakCursor {
    weak var cursor: Cursor?

    init(_ cursor: Cursor) {
        self.cursor = cursor
    }
}
