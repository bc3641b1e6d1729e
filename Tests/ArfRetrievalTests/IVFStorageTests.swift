// Keeping IVF indexes in a store: a saved index reopened from disk answers exactly as before,
// batches added and saved incrementally survive a reopen, a second index of another name is
// left alone, the note of what an index was built from is kept, removal by name and by name
// prefix takes exactly the indexes named, and missing or damaged indexes are reported by
// name.
import ArfRetrieval
import ArfStore
import ArfTensor
import Foundation
import Testing

@Suite("IVF storage")
struct IVFStorageTests {
    static let source = ClusteredVectors(centres: 40, dimension: 24, spread: 0.8, seed: 61)

    /// Opens the store at `directory`, runs `body`, and closes it again.
    func withStore<R>(_ directory: String, _ body: (Store) throws -> R) throws -> R {
        let store = try Store.open(directory: directory)
        defer { store.close() }
        return try body(store)
    }

    @Test("an index saved, closed and reopened gives bit-identical search results")
    func roundTrip() throws {
        useTwoThreads()
        let queries = Self.source.sample(rows: 40, seed: 62)
        let index = try IVFIndex.build(
            taking: Self.source.sample(rows: 6000, seed: 63), options: .init(lists: 48, seed: 64))
        index.nprobe = 5
        let before = try index.search(queries, k: 12)

        try withTemporaryDirectory("round-trip") { directory in
            try withStore(directory) { store in
                try index.save(to: store, name: "pool")
                let other = try IVFIndex.build(
                    taking: Self.source.sample(rows: 300, seed: 65), options: .init(lists: 4))
                try other.save(to: store, name: "pool-small")
            }
            let loaded = try withStore(directory) { try IVFIndex.load(from: $0, name: "pool") }

            #expect(loaded.nprobe == 5 && loaded.offsets == index.offsets)
            #expect(loaded.vectors.idArray == index.vectors.idArray)
            let count = index.count * index.vectors.dimension
            #expect(memcmp(loaded.vectors.data, index.vectors.data, count * 4) == 0)
            let after = try loaded.search(queries, k: 12)
            #expect(after.hits == before.hits && after.distances == before.distances)
        }
    }

    @Test("batches added with savingTo are stored atomically and reload in order")
    func incrementalSave() throws {
        useTwoThreads()
        let queries = Self.source.sample(rows: 30, seed: 66)
        let index = try IVFIndex.train(
            on: Self.source.sample(rows: 2000, seed: 67), options: .init(lists: 16, seed: 68))
        try withTemporaryDirectory("incremental") { directory in
            try withStore(directory) { store in
                try index.save(to: store, name: "grown")
                for batch in 0..<3 {
                    let rows = Self.source.sample(
                        rows: 700, seed: 70 + UInt64(batch), firstID: 10_000 * batch)
                    try index.add(rows, savingTo: store, name: "grown")
                }
            }
            let loaded = try withStore(directory) { try IVFIndex.load(from: $0, name: "grown") }
            #expect(loaded.count == 2100 && index.count == 2100)
            #expect(loaded.offsets == index.offsets)
            #expect(loaded.vectors.idArray == index.vectors.idArray)
            #expect(try loaded.search(queries, k: 8).hits == index.search(queries, k: 8).hits)
        }
    }

    @Test("a failed incremental save leaves the index in memory unchanged")
    func failedAddRollsBack() throws {
        useTwoThreads()
        let index = try IVFIndex.train(
            on: Self.source.sample(rows: 500, seed: 71), options: .init(lists: 8))
        try withTemporaryDirectory("rollback") { directory in
            try withStore(directory) { store in
                #expect(
                    throws: RetrievalError.indexNotFound(
                        name: "never-saved", table: IVFIndex.defaultTable)
                ) {
                    try index.add(
                        Self.source.sample(rows: 50, seed: 72), savingTo: store,
                        name: "never-saved")
                }
            }
        }
        #expect(index.count == 0 && index.offsets.allSatisfy { $0 == 0 })
    }

    @Test("a missing index and one with a lost chunk are reported by name")
    func missingAndDamaged() throws {
        useTwoThreads()
        let index = try IVFIndex.build(
            taking: Self.source.sample(rows: 1000, seed: 73), options: .init(lists: 8))
        try withTemporaryDirectory("damaged") { directory in
            try withStore(directory) { store in
                #expect(
                    throws: RetrievalError.indexNotFound(
                        name: "nothing", table: IVFIndex.defaultTable)
                ) {
                    try IVFIndex.load(from: store, name: "nothing")
                }
                try index.save(to: store, name: "cut")
                let table = try store.table(IVFIndex.defaultTable)
                let lost = Key("cut", "list").appending(UInt64(3)).appending(UInt64(0))
                let deleted = try store.write { txn in try txn.delete(in: table, at: lost) }
                #expect(deleted)
                do {
                    _ = try IVFIndex.load(from: store, name: "cut")
                    Issue.record("a damaged index loaded")
                } catch let error as RetrievalError {
                    guard case .corruptIndex(let name, _) = error else {
                        Issue.record("unexpected error \(error)")
                        return
                    }
                    #expect(name == "cut")
                }
            }
        }
    }

    @Test("the source note is kept; remove and removeAll take only the indexes they name")
    func sourcesAndRemoval() throws {
        let index = try IVFIndex.build(
            taking: Self.source.sample(rows: 200, seed: 66), options: .init(lists: 4))
        try withTemporaryDirectory("removal") { directory in
            try withStore(directory) { store in
                for name in ["m\na", "m\nb", "mm\na", "n\na"] {
                    try index.save(to: store, name: name, source: "built for \(name)")
                }
                try index.save(to: store, name: "plain")
                #expect(try IVFIndex.storedSource(in: store, name: "m\nb") == "built for m\nb")
                #expect(try IVFIndex.storedSource(in: store, name: "plain") == nil)
                #expect(try IVFIndex.storedSource(in: store, name: "absent") == nil)

                #expect(try IVFIndex.remove(from: store, name: "n\na"))
                #expect(try !IVFIndex.remove(from: store, name: "n\na"))
                #expect(try IVFIndex.removeAll(from: store, namesStartingWith: "m\n") > 0)
                for gone in ["m\na", "m\nb", "n\na"] {
                    #expect(throws: RetrievalError.self) {
                        try IVFIndex.load(from: store, name: gone)
                    }
                }
                for kept in ["mm\na", "plain"] {
                    #expect(try IVFIndex.load(from: store, name: kept).count == 200)
                }
            }
        }
    }
}
