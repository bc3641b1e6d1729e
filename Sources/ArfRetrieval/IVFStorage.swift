// Keeping an IVF index in an ArfStore table, under keys that start with the index's name:
//   name "meta"                     JSON: format, dimension, lists, count, nprobe, chunks per
//                                   list, and the caller's note of what the index was built from
//   name "centroids"                lists x D floats
//   name "list" <list> <chunk>      a run of one list's rows: n ids (Int64), then n x D floats
// Keys sort by list, then chunk, so one scan reads the lists back in order straight into the
// index's matrix. Numbers are little-endian, as in ArfStore's vectors, so files move only
// between little-endian machines.
//
// `save` writes a whole index in transactions of about 64 MB (one transaction would retry from
// the start each time the map grows), deleting the old entries first and writing "meta" last:
// until "meta" is there, the index does not exist. `add(_:savingTo:name:)` appends one chunk
// per touched list and the new "meta" in a single transaction, so it is all or nothing.
import ArfStore
import Foundation

extension IVFIndex {
    /// The table indexes are kept in unless the caller names another.
    public static let defaultTable = "ivf-indexes"

    struct Meta: Codable, Equatable {
        static let currentFormat = 1
        var format: Int
        var dimension: Int
        var lists: Int
        var count: Int
        var nprobe: Int
        /// How many chunks each list has stored; the next chunk of list l is chunks[l].
        var chunks: [Int]
        /// What the index was built from, as the caller described it; nil if not said.
        var source: String?
    }

    /// Writes the whole index under `name`, replacing any index stored under that name.
    /// `source` describes what the index was built from (settings, a digest of the rows), so
    /// that a later caller can tell whether the stored index is the one it would build.
    public func save(
        to store: Store, name: String, table tableName: String = defaultTable,
        source: String? = nil
    ) throws {
        let table = try store.table(tableName)
        let d = vectors.dimension
        try store.write { txn in try txn.deleteAll(in: table, prefix: Key(name)) }

        var list = 0
        let budget = 64 << 20
        while list < lists {
            var end = list + 1
            var bytes = (offsets[end] - offsets[list]) * (8 + 4 * d)
            while end < lists, bytes + (offsets[end + 1] - offsets[end]) * (8 + 4 * d) <= budget {
                bytes += (offsets[end + 1] - offsets[end]) * (8 + 4 * d)
                end += 1
            }
            try store.write { txn in
                for l in list..<end where offsets[l + 1] > offsets[l] {
                    try txn.put(
                        chunk(offsets[l]..<offsets[l + 1]), in: table,
                        at: IVFIndex.chunkKey(name, list: l, chunk: 0))
                }
            }
            list = end
        }

        let meta = Meta(
            format: Meta.currentFormat, dimension: d, lists: lists, count: count,
            nprobe: nprobe, chunks: (0..<lists).map { offsets[$0 + 1] > offsets[$0] ? 1 : 0 },
            source: source)
        try store.write { txn in
            try txn.putVector(
                UnsafeBufferPointer(start: centroids.data, count: lists * d), in: table,
                at: Key(name, "centroids"))
            try txn.putJSON(meta, in: table, at: Key(name, "meta"))
        }
    }

    /// The `source` the index stored under `name` was saved with; nil when there is no index
    /// of that name or it was saved without one.
    public static func storedSource(
        in store: Store, name: String, table tableName: String = defaultTable
    ) throws -> String? {
        let table = try store.table(tableName)
        return try store.read { txn in
            try txn.json(Meta.self, in: table, at: Key(name, "meta"))?.source
        }
    }

    /// Deletes the index stored under `name`, if there is one; returns whether there was.
    @discardableResult
    public static func remove(
        from store: Store, name: String, table tableName: String = defaultTable
    ) throws -> Bool {
        let table = try store.table(tableName)
        return try store.write { txn in try txn.deleteAll(in: table, prefix: Key(name)) } > 0
    }

    /// Deletes every index whose name starts with `prefix`; returns how many entries went.
    @discardableResult
    public static func removeAll(
        from store: Store, namesStartingWith prefix: String, table tableName: String = defaultTable
    ) throws -> Int {
        let table = try store.table(tableName)
        // A string part's bytes without the 0 that ends it match every longer name.
        let bytes = Key(prefix).bytes.dropLast()
        return try store.write { txn in
            try txn.deleteAll(in: table, prefix: Key(bytes: Array(bytes)))
        }
    }

    /// Reads the index stored under `name`.
    public static func load(from store: Store, name: String, table tableName: String = defaultTable)
        throws -> IVFIndex
    {
        let table = try store.table(tableName)
        return try store.read { txn in
            guard let meta = try txn.json(Meta.self, in: table, at: Key(name, "meta")) else {
                throw RetrievalError.indexNotFound(name: name, table: tableName)
            }
            let d = meta.dimension
            guard meta.format == Meta.currentFormat, d > 0, meta.lists > 0, meta.count >= 0,
                meta.chunks.count == meta.lists
            else {
                throw RetrievalError.corruptIndex(
                    name: name, reason: "meta \(meta.format)/\(d)/\(meta.lists)/\(meta.count)")
            }
            guard let flat = try txn.vector(in: table, at: Key(name, "centroids")),
                flat.count == meta.lists * d
            else {
                throw RetrievalError.corruptIndex(
                    name: name, reason: "centroids missing or not \(meta.lists) x \(d)")
            }
            let centroids = try VectorMatrix(flat, dimension: d)
            let vectors = VectorMatrix(rows: meta.count, dimension: d)
            var sizes = [Int](repeating: 0, count: meta.lists)
            var filled = 0
            try txn.visit(table, prefix: Key(name, "list")) { key, value in
                var reader = key.reader()
                _ = reader.readString()
                _ = reader.readString()
                let rowBytes = 8 + 4 * d
                guard let list = reader.readUInt64().map(Int.init), list < meta.lists,
                    reader.readUInt64() != nil, reader.isAtEnd, value.count % rowBytes == 0
                else {
                    throw RetrievalError.corruptIndex(
                        name: name, reason: "entry \(key) of \(value.count) bytes")
                }
                let n = value.count / rowBytes
                guard filled + n <= meta.count else {
                    throw RetrievalError.corruptIndex(
                        name: name, reason: "more rows stored than the \(meta.count) in meta")
                }
                for i in 0..<n {
                    let raw = value.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)
                    vectors.ids[filled + i] = Int(Int64(littleEndian: raw))
                }
                UnsafeMutableRawPointer(vectors.row(filled)).copyMemory(
                    from: value.baseAddress! + 8 * n, byteCount: 4 * n * d)
                sizes[list] += n
                filled += n
            }
            guard filled == meta.count else {
                throw RetrievalError.corruptIndex(
                    name: name, reason: "\(filled) rows stored, meta says \(meta.count)")
            }
            var offsets = [0]
            for size in sizes { offsets.append(offsets.last! + size) }
            return IVFIndex(
                centroids: centroids, vectors: vectors, offsets: offsets,
                nprobe: Swift.max(1, Swift.min(meta.nprobe, meta.lists)))
        }
    }

    /// Adds rows as `add` does and appends them to the copy stored under `name` in one
    /// transaction; if writing fails, the index in memory is left as it was.
    public func add(
        _ batch: VectorMatrix, savingTo store: Store, name: String,
        table tableName: String = defaultTable
    ) throws {
        try requireSameDimension(batch, centroids, "added vectors")
        let table = try store.table(tableName)
        let (oldVectors, oldOffsets) = (vectors, offsets)
        let fresh = insert(batch)
        do {
            try store.write { txn in
                guard var meta = try txn.json(Meta.self, in: table, at: Key(name, "meta")) else {
                    throw RetrievalError.indexNotFound(name: name, table: tableName)
                }
                guard meta.lists == lists, meta.dimension == vectors.dimension,
                    meta.count == oldVectors.rows, meta.chunks.count == lists
                else {
                    throw RetrievalError.corruptIndex(
                        name: name,
                        reason: "the stored index (\(meta.count) rows, "
                            + "\(meta.lists) lists) is not the one in memory")
                }
                for (list, rows) in fresh.enumerated() where !rows.isEmpty {
                    try txn.put(
                        chunk(rows), in: table,
                        at: IVFIndex.chunkKey(name, list: list, chunk: meta.chunks[list]))
                    meta.chunks[list] += 1
                }
                meta.count = count
                try txn.putJSON(meta, in: table, at: Key(name, "meta"))
            }
        } catch {
            vectors = oldVectors
            offsets = oldOffsets
            throw error
        }
    }

    static func chunkKey(_ name: String, list: Int, chunk: Int) -> Key {
        Key(name, "list").appending(UInt64(list)).appending(UInt64(chunk))
    }

    /// The stored form of some rows: their ids as Int64, then their floats.
    private func chunk(_ rows: Range<Int>) -> Data {
        let d = vectors.dimension
        var data = Data(count: rows.count * (8 + 4 * d))
        data.withUnsafeMutableBytes { raw in
            for (i, row) in rows.enumerated() {
                raw.storeBytes(
                    of: Int64(vectors.ids[row]).littleEndian, toByteOffset: 8 * i, as: Int64.self)
            }
            (raw.baseAddress! + 8 * rows.count).copyMemory(
                from: vectors.row(rows.lowerBound), byteCount: 4 * rows.count * d)
        }
        return data
    }
}
