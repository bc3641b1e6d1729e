// Store: one LMDB environment in a folder, holding named tables, read and written through
// transactions that are closures: `write` commits when its closure returns and aborts when it
// throws; `read` sees one consistent snapshot for as long as its closure runs.
//
// Durability. The environment is opened without MDB_NOSYNC, MDB_NOMETASYNC or MDB_WRITEMAP, so
// when `write` returns LMDB has written the transaction's pages, then the meta page that makes
// them current, and fsync'ed both. Pages are copy-on-write and LMDB keeps two meta pages, so
// until the new meta page is on disk the old one still points at an intact older tree. A crash
// at any moment (kill -9, a trap, or power loss on a disk that honours fsync) therefore loses
// only transactions that had not returned from `write`; each of those is entirely absent after
// a restart, never half there. Readers that a crash left behind are cleared at the next open.
// Not covered: file systems that ignore fsync, network file systems (LMDB's lock file needs
// shared memory on a local disk), and damage done to the files from outside.
//
// Concurrency. Reads run in parallel on any threads (MDB_NOTLS ties a reader slot to the
// transaction, not to the thread); writes take turns. Growing the map remaps the file, which
// would pull memory out from under running transactions, so every transaction holds a shared
// lock and growth holds it exclusively, between two write transactions. A long read therefore
// delays a write that needs a bigger map until the read ends; a read that waits for such a
// write would wait forever.
//
// Leaves out: nested transactions, duplicate-key (MDB_DUPSORT) tables, dropping tables,
// compaction, and shrinking the map.
import ArfSupport
import CLMDB
import Foundation
import Glibc

/// A named table of a store; get one with `Store.table(_:)`. It is valid only with the `Store`
/// instance that returned it: after reopening a store, get its tables again.
public struct Table: Hashable, Sendable, CustomStringConvertible {
    /// The name the table was opened with.
    public let name: String
    let dbi: MDB_dbi
    let storeID: Int

    public var description: String { name }
}

/// An LMDB environment in a folder: named tables, transactions, and a map that grows as needed.
public final class Store: @unchecked Sendable {
    /// How a store is opened.
    public struct Options: Sendable {
        /// The map size to start with; the map grows when a write needs more.
        public var initialMapSize: Int
        /// The largest map the store may grow to.
        public var maxMapSize: Int
        /// How many named tables the store can hold.
        public var maxTables: Int
        /// How many read transactions may be open at once, across all processes.
        public var maxReaders: Int

        public init(
            initialMapSize: Int = 64 << 20, maxMapSize: Int = 1 << 40, maxTables: Int = 64,
            maxReaders: Int = 126
        ) {
            self.initialMapSize = initialMapSize
            self.maxMapSize = maxMapSize
            self.maxTables = maxTables
            self.maxReaders = maxReaders
        }
    }

    /// The store's folder, with symbolic links resolved.
    public let path: String
    /// The options the store was opened with.
    public let options: Options
    let id: Int
    let maxKeySize: Int
    private(set) var sequences: Table! = nil

    private var env: OpaquePointer?
    private let writerLock = NSLock()
    private let mapLock: UnsafeMutablePointer<pthread_rwlock_t>
    private let stateLock = NSLock()
    private var tables: [String: Table] = [:]
    private var currentMapSize: Int
    private var threadsInTransaction: Set<pthread_t> = []

    private static let registry = Registry()
    static let sequencesName = "_sequences"

    /// Opens the store in `directory`, creating the folder and its files when they are missing.
    public static func open(directory: String, options: Options = Options()) throws -> Store {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.directory(path: directory, reason: "\(error)")
        }
        let path = URL(fileURLWithPath: directory).standardizedFileURL
            .resolvingSymlinksInPath().path
        guard let id = registry.claim(path) else { throw StoreError.alreadyOpen(path: path) }
        do {
            let env = try openEnvironment(path: path, options: options)
            let store = Store(path: path, options: options, id: id, env: env)
            store.sequences = try store.openTable(sequencesName)
            log.info(
                "store opened", ("path", path), ("map_mib", store.mapSize >> 20),
                ("max_tables", options.maxTables))
            return store
        } catch {
            registry.release(path)
            throw error
        }
    }

    /// Opens the store in the folder at `directory`.
    public static func open(directory: URL, options: Options = Options()) throws -> Store {
        try open(directory: directory.path, options: options)
    }

    private static func openEnvironment(path: String, options: Options) throws -> OpaquePointer {
        guard options.initialMapSize > 0, options.maxMapSize >= options.initialMapSize,
            (1...32_000).contains(options.maxTables), (1...100_000).contains(options.maxReaders)
        else {
            throw StoreError.invalidOptions(
                reason: "map sizes must be positive and ordered (initial "
                    + "\(options.initialMapSize), max \(options.maxMapSize)); tables "
                    + "\(options.maxTables) and readers \(options.maxReaders) must be positive")
        }
        var created: OpaquePointer?
        try check(mdb_env_create(&created), "env_create")
        guard let env = created else { throw StoreError.lmdb(ENOMEM, "env_create") }
        do {
            // One more table than asked for: the store keeps its sequences in a table of its own.
            try check(mdb_env_set_maxdbs(env, MDB_dbi(options.maxTables + 1)), "env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, UInt32(options.maxReaders)), "env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, options.initialMapSize), "env_set_mapsize")
            try check(mdb_env_open(env, path, UInt32(MDB_NOTLS), 0o644), "env_open \(path)")
        } catch {
            mdb_env_close(env)
            throw error
        }

        // A process killed while reading leaves its reader slot behind; free such slots now.
        var dead: Int32 = 0
        if mdb_reader_check(env, &dead) == 0, dead > 0 {
            log.info("store cleared stale readers", ("path", path), ("readers", dead))
        }
        return env
    }

    private init(path: String, options: Options, id: Int, env: OpaquePointer) {
        self.path = path
        self.options = options
        self.id = id
        self.env = env
        maxKeySize = Int(mdb_env_get_maxkeysize(env))
        currentMapSize = Store.mapSize(of: env)

        // Writers first: a growing map must not wait behind an endless stream of readers.
        mapLock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(
            &attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(mapLock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        close()
        pthread_rwlock_destroy(mapLock)
        mapLock.deallocate()
    }

    /// Closes the store; later calls throw `StoreError.closed`. Closing twice does nothing.
    public func close() {
        precondition(!isInsideTransaction, "close() called inside a transaction of this store")
        writerLock.lock()
        pthread_rwlock_wrlock(mapLock)
        defer {
            pthread_rwlock_unlock(mapLock)
            writerLock.unlock()
        }
        guard let env else { return }
        mdb_env_close(env)
        self.env = nil
        Store.registry.release(path)
        log.info("store closed", ("path", path))
    }

    /// The current size of the memory map, which bounds the size of the data file.
    public var mapSize: Int {
        stateLock.withLock { currentMapSize }
    }

    /// The table called `name`, created on first use.
    ///
    /// Names are 1 to 255 bytes of UTF-8 without a 0 byte and must not start with `_`, which is
    /// kept for the store's own tables. Creating a table is a write: ask for tables before
    /// opening a transaction.
    public func table(_ name: String) throws -> Table {
        if name.isEmpty || name.utf8.count > 255 || name.utf8.contains(0) {
            throw StoreError.invalidTableName(
                name: name, reason: "names take 1 to 255 bytes and no 0 byte")
        }
        if name.hasPrefix("_") {
            throw StoreError.invalidTableName(name: name, reason: "names starting with _ are kept")
        }
        return try openTable(name)
    }

    private func openTable(_ name: String) throws -> Table {
        if let table = stateLock.withLock({ tables[name] }) { return table }
        let dbi = try write { txn in try txn.openDatabase(name) }
        let table = Table(name: name, dbi: dbi, storeID: id)
        stateLock.withLock { tables[name] = table }
        return table
    }

    /// Runs `body` in a read transaction that sees the last commit made before it started.
    ///
    /// Getters return copies, which may be kept; buffers given to closures may not. Do not wait
    /// inside `body` for a write on another thread: a write that must grow the map waits for
    /// every read to end.
    @discardableResult
    public func read<R>(_ body: (ReadTransaction) throws -> R) throws -> R {
        enterTransaction()
        defer { leaveTransaction() }
        while true {
            pthread_rwlock_rdlock(mapLock)
            guard let env else {
                pthread_rwlock_unlock(mapLock)
                throw StoreError.closed(path: path)
            }
            var handle: OpaquePointer?
            let code = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &handle)
            guard code == 0, let handle else {
                pthread_rwlock_unlock(mapLock)
                if code == MDB_MAP_RESIZED {
                    try adoptMapSize()
                    continue
                }
                throw StoreError.lmdb(code, "begin read transaction")
            }
            let txn = ReadTransaction(store: self, handle: handle)
            defer {
                txn.finish()
                mdb_txn_abort(handle)
                pthread_rwlock_unlock(mapLock)
            }
            let result = try body(txn)
            if let failure = txn.failure { throw failure }
            return result
        }
    }

    /// Runs `body` in the write transaction, committing when it returns and aborting when it
    /// throws; when `write` returns, the changes are on disk.
    ///
    /// When the map fills up, the transaction is aborted, the map grown, and `body` run again
    /// from the start: keep its side effects inside the transaction.
    @discardableResult
    public func write<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        enterTransaction()
        defer { leaveTransaction() }
        writerLock.lock()
        defer { writerLock.unlock() }
        while true {
            pthread_rwlock_rdlock(mapLock)
            guard let env else {
                pthread_rwlock_unlock(mapLock)
                throw StoreError.closed(path: path)
            }
            var handle: OpaquePointer?
            let code = mdb_txn_begin(env, nil, 0, &handle)
            guard code == 0, let handle else {
                pthread_rwlock_unlock(mapLock)
                if code == MDB_MAP_RESIZED {
                    try adoptMapSize()
                    continue
                }
                throw StoreError.lmdb(code, "begin write transaction")
            }

            let txn = WriteTransaction(store: self, handle: handle)
            let outcome = Result { try body(txn) }
            txn.finish()
            var commitCode: Int32 = 0
            if case .success = outcome, txn.failure == nil, !txn.mapFull {
                commitCode = mdb_txn_commit(handle)
            } else {
                mdb_txn_abort(handle)
            }
            pthread_rwlock_unlock(mapLock)

            if txn.mapFull || commitCode == MDB_MAP_FULL {
                try grow()
                continue
            }
            let result = try outcome.get()
            if let failure = txn.failure { throw failure }
            try check(commitCode, "commit")
            return result
        }
    }

    /// Doubles the map (by at most 1 GiB at a time); called between write transactions.
    private func grow() throws {
        pthread_rwlock_wrlock(mapLock)
        defer { pthread_rwlock_unlock(mapLock) }
        guard let env else { throw StoreError.closed(path: path) }
        let current = Store.mapSize(of: env)
        let page = max(Int(sysconf(Int32(_SC_PAGESIZE))), 1)
        let limit = options.maxMapSize / page * page
        guard current < limit else {
            throw StoreError.mapSizeLimit(size: current, limit: options.maxMapSize)
        }
        let mebibyte = 1 << 20
        let step = min(max(current, mebibyte), 1 << 30)
        let target = min((current + step + mebibyte - 1) / mebibyte * mebibyte, limit)
        try check(mdb_env_set_mapsize(env, target), "env_set_mapsize")
        let grown = Store.mapSize(of: env)
        stateLock.withLock { currentMapSize = grown }
        log.info(
            "store map grown", ("path", path), ("from_mib", current >> 20),
            ("to_mib", grown >> 20))
    }

    /// Takes up the larger map another process has set, after LMDB reported MDB_MAP_RESIZED.
    private func adoptMapSize() throws {
        pthread_rwlock_wrlock(mapLock)
        defer { pthread_rwlock_unlock(mapLock) }
        guard let env else { throw StoreError.closed(path: path) }
        try check(mdb_env_set_mapsize(env, 0), "env_set_mapsize")
        let adopted = Store.mapSize(of: env)
        stateLock.withLock { currentMapSize = adopted }
    }

    private static func mapSize(of env: OpaquePointer) -> Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    private var isInsideTransaction: Bool {
        stateLock.withLock { threadsInTransaction.contains(pthread_self()) }
    }

    // A transaction opened inside another on the same thread can deadlock (a write inside a
    // write on the writer lock, a growing write inside a read on the map lock), so it is
    // caught every time as the programming mistake it is.
    private func enterTransaction() {
        let entered = stateLock.withLock { threadsInTransaction.insert(pthread_self()).inserted }
        precondition(
            entered, "a transaction of store \(path) is already open on this thread; use that one")
    }

    private func leaveTransaction() {
        _ = stateLock.withLock { threadsInTransaction.remove(pthread_self()) }
    }
}

/// The folders this process has open, since LMDB forbids opening one environment twice.
private final class Registry: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: Set<String> = []
    private var lastID = 0

    /// Marks `path` open and returns a new store id, or nil when it is open already.
    func claim(_ path: String) -> Int? {
        lock.withLock {
            guard paths.insert(path).inserted else { return nil }
            lastID += 1
            return lastID
        }
    }

    func release(_ path: String) {
        lock.withLock { _ = paths.remove(path) }
    }
}
