// Reading a pool of embeddings out of an ArfStore table into a VectorMatrix: one entry per
// item, the value a float vector as `WriteTransaction.putVector` stores it, the item id
// taken from the key. Entries are read in key order, in ranges, so that a pool of millions can
// be indexed in batches (`IVFIndex.add`) without holding it twice.
import ArfStore
import Foundation

extension VectorMatrix {
    /// The id a key ends with when its last part is `Key.appending(_: UInt64)`'s 8 bytes.
    public static func trailingInteger(_ key: Key) -> Int? {
        guard key.bytes.count >= 8 else { return nil }
        let value = key.bytes.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return value <= UInt64(Int.max) ? Int(value) : nil
    }

    /// The vectors stored under keys starting with `prefix`, at most `limit` of them from
    /// `start` on (inclusive), with ids read from each key by `id`.
    ///
    /// Returns the matrix and the key after the last one read, to start the next batch from
    /// (nil when the prefix is exhausted).
    public static func read(
        _ table: Table, in txn: ReadTransaction, prefix: Key = .empty, from start: Key? = nil,
        limit: Int = .max, dimension: Int, id: (Key) -> Int? = trailingInteger
    ) throws -> (vectors: VectorMatrix, next: Key?) {
        var ids: [Int] = []
        var values: [Float] = []
        var next: Key?
        let lower = start ?? prefix
        let scan = lower.bytes.isEmpty
            ? try txn.scan(table, prefix: prefix)
            : try txn.scan(table, from: lower, to: nil)
        for (key, value) in scan {
            guard key.hasPrefix(prefix) else { break }
            if ids.count == limit {
                next = key
                break
            }
            guard let itemID = id(key) else {
                throw RetrievalError.corruptIndex(
                    name: table.name, reason: "key \(key) does not hold an item id")
            }
            guard value.count == dimension * MemoryLayout<Float>.size else {
                throw RetrievalError.shape(
                    what: "stored vector at \(key)", expected: "\(dimension) floats",
                    found: "\(value.count) bytes")
            }
            ids.append(itemID)
            value.withUnsafeBytes { raw in
                for j in 0..<dimension {
                    let bits = raw.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)
                    values.append(Float(bitPattern: UInt32(littleEndian: bits)))
                }
            }
        }
        return (try VectorMatrix(values, dimension: dimension, ids: ids), next)
    }
}
