// Scans: walking a table's entries in key order, forwards or backwards, over a key prefix or a
// half-open key range. `scan` is a lazy sequence of copied (key, value) pairs that can be left
// with `break`; `visit` hands the value to a closure in place, without a copy, which suits
// reading millions of vectors. Both use an LMDB cursor that is closed when the walk ends or,
// at the latest, with the transaction.
//
// A sequence cannot throw, so an LMDB error in the middle of a scan (which means a damaged
// file) ends the sequence and is thrown by the enclosing `read` or `write`, which then does not
// commit.
import CLMDB
import Foundation

/// A half-open key range `[lower, upper)`; no upper bound means the end of the table.
struct Bounds {
    var lower: [UInt8]
    var upper: [UInt8]?

    /// The keys that start with `prefix`.
    init(prefix: Key, table: Table, maxKeySize: Int) throws {
        try Bounds.validate(prefix, table: table, maxKeySize: maxKeySize)
        lower = prefix.bytes
        upper = Key.successor(ofPrefix: prefix.bytes)
    }

    /// The keys from `lower` (included) up to `upper` (excluded).
    init(from lower: Key, to upper: Key?, table: Table, maxKeySize: Int) throws {
        try Bounds.validate(lower, table: table, maxKeySize: maxKeySize)
        if let upper { try Bounds.validate(upper, table: table, maxKeySize: maxKeySize) }
        self.lower = lower.bytes
        self.upper = upper?.bytes
    }

    var isEmpty: Bool {
        guard let upper else { return false }
        return !lower.lexicographicallyPrecedes(upper)
    }

    func isBelowUpper(_ key: UnsafeRawBufferPointer) -> Bool {
        guard let upper else { return true }
        return key.lexicographicallyPrecedes(upper)
    }

    func isBelowLower(_ key: UnsafeRawBufferPointer) -> Bool {
        key.lexicographicallyPrecedes(lower)
    }

    private static func validate(_ key: Key, table: Table, maxKeySize: Int) throws {
        guard key.bytes.count <= maxKeySize else {
            throw StoreError.keyLength(
                table: table.name, key: key, length: key.bytes.count, limit: maxKeySize)
        }
    }
}

/// An LMDB cursor over one table of an open transaction.
final class Cursor {
    typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    let transaction: ReadTransaction
    let table: Table
    private var handle: OpaquePointer?

    init(transaction: ReadTransaction, table: Table) throws {
        transaction.requireOpen(table)
        var opened: OpaquePointer?
        try check(
            mdb_cursor_open(transaction.handle, table.dbi, &opened), "cursor_open",
            table: table.name)
        self.transaction = transaction
        self.table = table
        handle = opened
        transaction.register(self)
    }

    deinit { close() }

    func close() {
        guard let handle else { return }
        mdb_cursor_close(handle)
        self.handle = nil
    }

    /// Moves the cursor; returns the entry it lands on, or nil when there is none.
    func move(_ operation: MDB_cursor_op, to key: [UInt8]? = nil) throws -> Entry? {
        precondition(transaction.isOpen, "a scan was used after its transaction ended")
        guard let handle else { return nil }
        var keyValue = MDB_val()
        var value = MDB_val()
        let code: Int32
        if let key {
            // LMDB overwrites keyValue with the found key's address inside the map.
            code = key.withUnsafeBytes { raw in
                keyValue = MDB_val(
                    mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
                return mdb_cursor_get(handle, &keyValue, &value, operation)
            }
        } else {
            code = mdb_cursor_get(handle, &keyValue, &value, operation)
        }
        if code == MDB_NOTFOUND { return nil }
        try check(code, "cursor_get", table: table.name)
        return (
            UnsafeRawBufferPointer(start: keyValue.mv_data, count: keyValue.mv_size),
            UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
        )
    }

    /// Positions the cursor on the first entry of `bounds` in walking order.
    func start(in bounds: Bounds, reverse: Bool) throws -> Entry? {
        if bounds.isEmpty { return nil }
        let entry: Entry?
        if !reverse, bounds.lower.isEmpty {
            entry = try move(MDB_FIRST)
        } else if !reverse {
            entry = try move(MDB_SET_RANGE, to: bounds.lower)
        } else if let upper = bounds.upper {
            // The last entry below `upper` is the one before the first at or above it.
            entry = try move(MDB_SET_RANGE, to: upper) != nil ? move(MDB_PREV) : move(MDB_LAST)
        } else {
            entry = try move(MDB_LAST)
        }
        return admitted(entry, by: bounds, reverse: reverse)
    }

    /// Moves to the next entry of `bounds` in walking order.
    func advance(in bounds: Bounds, reverse: Bool) throws -> Entry? {
        admitted(try move(reverse ? MDB_PREV : MDB_NEXT), by: bounds, reverse: reverse)
    }

    func deleteCurrent() -> Int32 {
        guard let handle else { return EINVAL }
        return mdb_cursor_del(handle, 0)
    }

    private func admitted(_ entry: Entry?, by bounds: Bounds, reverse: Bool) -> Entry? {
        guard let entry else { return nil }
        if reverse ? bounds.isBelowLower(entry.key) : !bounds.isBelowUpper(entry.key) {
            return nil
        }
        return entry
    }
}

/// A lazy walk over a table's entries, yielding copies of each key and value.
public struct Scan: Sequence {
    let transaction: ReadTransaction
    let table: Table
    let bounds: Bounds
    let reverse: Bool

    public func makeIterator() -> Iterator {
        Iterator(scan: self)
    }

    /// Yields entries until the range ends; its cursor closes when it is done or discarded.
    public struct Iterator: IteratorProtocol {
        private let scan: Scan
        private var cursor: Cursor?
        private var done = false

        init(scan: Scan) {
            self.scan = scan
        }

        public mutating func next() -> (key: Key, value: Data)? {
            guard !done else { return nil }
            do {
                let entry: Cursor.Entry?
                if let cursor {
                    entry = try cursor.advance(in: scan.bounds, reverse: scan.reverse)
                } else {
                    let opened = try Cursor(transaction: scan.transaction, table: scan.table)
                    cursor = opened
                    entry = try opened.start(in: scan.bounds, reverse: scan.reverse)
                }
                if let entry { return (Key(bytes: Array(entry.key)), Data(entry.value)) }
            } catch {
                scan.transaction.record(error)
            }
            done = true
            cursor?.close()
            cursor = nil
            return nil
        }
    }
}

extension ReadTransaction {
    /// The entries whose keys start with `prefix`, in key order (or reversed).
    public func scan(_ table: Table, prefix: Key = .empty, reverse: Bool = false) throws -> Scan {
        requireOpen(table)
        let bounds = try Bounds(prefix: prefix, table: table, maxKeySize: store.maxKeySize)
        return Scan(transaction: self, table: table, bounds: bounds, reverse: reverse)
    }

    /// The entries with keys from `lower` (included) up to `upper` (excluded; nil for the end).
    public func scan(_ table: Table, from lower: Key, to upper: Key?, reverse: Bool = false)
        throws -> Scan
    {
        requireOpen(table)
        let bounds = try Bounds(from: lower, to: upper, table: table, maxKeySize: store.maxKeySize)
        return Scan(transaction: self, table: table, bounds: bounds, reverse: reverse)
    }

    /// Calls `body` with each entry whose key starts with `prefix`; the value buffer is valid
    /// only during the call and may sit at any alignment.
    public func visit(
        _ table: Table, prefix: Key = .empty, reverse: Bool = false,
        _ body: (Key, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        requireOpen(table)
        let bounds = try Bounds(prefix: prefix, table: table, maxKeySize: store.maxKeySize)
        try walk(table, bounds, reverse) { key, value in try body(Key(bytes: Array(key)), value) }
    }

    /// Calls `body` with each entry from `lower` (included) up to `upper` (excluded).
    public func visit(
        _ table: Table, from lower: Key, to upper: Key?, reverse: Bool = false,
        _ body: (Key, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        requireOpen(table)
        let bounds = try Bounds(from: lower, to: upper, table: table, maxKeySize: store.maxKeySize)
        try walk(table, bounds, reverse) { key, value in try body(Key(bytes: Array(key)), value) }
    }

    /// How many entries of `table` have keys starting with `prefix`.
    public func count(_ table: Table, prefix: Key) throws -> Int {
        requireOpen(table)
        let bounds = try Bounds(prefix: prefix, table: table, maxKeySize: store.maxKeySize)
        var count = 0
        try walk(table, bounds, false) { _, _ in count += 1 }
        return count
    }

    private func walk(
        _ table: Table, _ bounds: Bounds, _ reverse: Bool,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let cursor = try Cursor(transaction: self, table: table)
        defer { cursor.close() }
        var entry = try cursor.start(in: bounds, reverse: reverse)
        while let current = entry {
            try body(current.key, current.value)
            entry = try cursor.advance(in: bounds, reverse: reverse)
        }
    }
}
