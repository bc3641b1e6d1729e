// Reading pool embeddings from a store table in batches: ids from keys, values bit for bit,
// batches that join up exactly, an index grown batch by batch from the store, and entries of
// the wrong length reported.
import ArfRetrieval
import ArfStore
import ArfTensor
import Foundation
import Testing

@Suite("Stored vectors")
struct StoredVectorsTests {
    @Test("batches read from a table cover every entry once, ids and bits intact")
    func batchedReading() throws {
        useTwoThreads()
        let source = ClusteredVectors(centres: 10, dimension: 12, spread: 0.8, seed: 111)
        let pool = source.sample(rows: 2500, seed: 112, firstID: 40)
        try withTemporaryDirectory("stored") { directory in
            let store = try Store.open(directory: directory)
            defer { store.close() }
            let table = try store.table("embeddings")
            try store.write { txn in
                for row in 0..<pool.rows {
                    let key = Key("pool").appending(UInt64(pool.ids[row]))
                    try txn.putVector(pool.vector(row), in: table, at: key)
                }
                try txn.putVector([1, 2], in: table, at: Key("other").appending(UInt64(1)))
            }

            let index = try IVFIndex.train(on: pool, options: .init(lists: 8, seed: 113))
            var start: Key?
            var batches = 0
            repeat {
                let (batch, next) = try store.read { txn in
                    try VectorMatrix.read(
                        table, in: txn, prefix: Key("pool"), from: start, limit: 1000,
                        dimension: 12)
                }
                for row in 0..<batch.rows {
                    #expect(batch.vector(row) == pool.vector(batch.ids[row] - 40))
                }
                try index.add(batch)
                start = next
                batches += 1
            } while start != nil
            #expect(batches == 3 && index.count == pool.rows)
            #expect(Set(index.vectors.idArray) == Set(pool.idArray))

            let built = try IVFIndex.build(
                taking: pool.gathering(Array(0..<pool.rows)),
                options: .init(lists: 8, seed: 113))
            #expect(built.vectors.idArray == index.vectors.idArray)

            #expect(throws: RetrievalError.self) {
                try store.read { txn in
                    try VectorMatrix.read(table, in: txn, prefix: Key("other"), dimension: 12)
                }
            }
        }
    }
}
