// Tests of Store and its transactions: round trips of each kind of value, commit and abort,
// reopening, sequences, growing the map past its initial size, and the errors bad input gets.
import ArfStore
import Foundation
import Testing

/// A registry record like the daemon's, to check JSON round trips.
struct JobRecord: Codable, Equatable {
    var name: String
    var state: String
    var steps: Int
    var learningRate: Double
    var tags: [String]
    var parent: String?
}

@Suite("Store")
struct StoreTests {
    @Test("raw bytes round-trip as Data and as arrays, including an empty value")
    func rawBytesRoundTrip() throws {
        try withTemporaryStore("raw") { store in
            let blobs = try store.table("blobs")
            let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            try store.write { txn in
                try txn.put(Data(payload), in: blobs, at: "data")
                try txn.put(payload, in: blobs, at: "array")
                try txn.put([UInt8](), in: blobs, at: "empty")
            }
            try store.read { txn throws in
                #expect(try txn.data(in: blobs, at: "data") == Data(payload))
                #expect(try txn.bytes(in: blobs, at: "array") == payload)
                #expect(try txn.bytes(in: blobs, at: "empty") == [])
                #expect(try txn.bytes(in: blobs, at: "missing") == nil)
                #expect(try txn.contains(in: blobs, at: "data"))
                #expect(try !txn.contains(in: blobs, at: "missing"))
            }
        }
    }

    @Test("Codable values round-trip as JSON")
    func jsonRoundTrip() throws {
        try withTemporaryStore("json") { store in
            let jobs = try store.table("jobs")
            let job = JobRecord(
                name: "finetune \"vit\" ✓", state: "running", steps: 1200, learningRate: 1e-5,
                tags: ["clip", "wise-ft"], parent: nil)
            try store.write { txn in try txn.putJSON(job, in: jobs, at: Key("job", "7")) }
            let back = try store.read { txn in
                try txn.json(JobRecord.self, in: jobs, at: Key("job", "7"))
            }
            #expect(back == job)
        }
    }

    @Test("float vectors round-trip bit for bit, including odd values and odd offsets")
    func vectorRoundTrip() throws {
        try withTemporaryStore("vectors") { store in
            let vectors = try store.table("embeddings")
            let special: [Float] = [
                0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude,
                .greatestFiniteMagnitude, Float(bitPattern: 0x7fc0_1234), 3.14159,
            ]
            var generator = SystemRandomNumberGenerator()
            let random = (0..<512).map { _ in Float.random(in: -4...4, using: &generator) }

            // LMDB puts a value right after its key, so an odd-length key leaves it at an odd
            // address.
            try store.write { txn in
                try txn.putVector(special, in: vectors, at: Key(bytes: [1, 2, 3]))
                try txn.putVector(random, in: vectors, at: Key(bytes: [1, 2, 3, 4, 5]))
                try txn.put([9, 9, 9], in: vectors, at: Key(bytes: [1, 2]))
                try txn.putVector([], in: vectors, at: "empty")
            }
            try store.read { txn in
                let specialBack = try #require(
                    try txn.vector(in: vectors, at: Key(bytes: [1, 2, 3])))
                let randomBack = try #require(
                    try txn.vector(in: vectors, at: Key(bytes: [1, 2, 3, 4, 5])))
                #expect(sameBits(specialBack, special), "bits differ: \(specialBack)")
                let largest = zip(randomBack, random).map { abs($0 - $1) }.max() ?? .infinity
                #expect(sameBits(randomBack, random), "tolerance 0, largest difference \(largest)")
                #expect(try txn.vector(in: vectors, at: "empty") == [])
                let address = try txn.withBytes(in: vectors, at: Key(bytes: [1, 2, 3])) {
                    Int(bitPattern: $0.baseAddress)
                }
                #expect(
                    (address ?? 0) % 4 != 0, "this value was meant to sit off a 4-byte boundary")
                let raw = try #require(try txn.bytes(in: vectors, at: Key(bytes: [1, 2, 3])))
                #expect(Array(raw[4..<8]) == [0, 0, 0, 0x80], "-0.0 is stored little-endian")
            }
        }
    }

    @Test("reading a vector from a value that is not whole floats throws, naming the key")
    func vectorOfWrongLength() throws {
        try withTemporaryStore("bad-vector") { store in
            let vectors = try store.table("embeddings")
            try store.write { txn in try txn.put([1, 2, 3, 4, 5], in: vectors, at: "odd") }
            let expected = StoreError.vectorLength(table: "embeddings", key: "odd", byteCount: 5)
            #expect(throws: expected) {
                try store.read { txn in try txn.vector(in: vectors, at: "odd") }
            }
        }
    }

    @Test("decoding JSON as the wrong type throws a decoding error")
    func jsonOfWrongType() throws {
        try withTemporaryStore("bad-json") { store in
            let jobs = try store.table("jobs")
            try store.write { txn in try txn.putJSON(["a": 1], in: jobs, at: "x") }
            do {
                _ = try store.read { txn in try txn.json(JobRecord.self, in: jobs, at: "x") }
                Issue.record("decoding a dictionary as JobRecord succeeded")
            } catch let StoreError.decoding(table, key, type, _) {
                #expect(table == "jobs" && key == "x" && type == "JobRecord")
            }
        }
    }

    @Test("put without overwrite keeps the old value; delete reports whether a value was there")
    func overwriteAndDelete() throws {
        try withTemporaryStore("overwrite") { store in
            let table = try store.table("t")
            try store.write { txn throws in
                #expect(try txn.put([1], in: table, at: "k"))
                #expect(try !txn.put([2], in: table, at: "k", overwrite: false))
                #expect(try txn.bytes(in: table, at: "k") == [1])
                #expect(try txn.put([3], in: table, at: "k"))
            }
            try store.write { txn throws in
                #expect(try txn.bytes(in: table, at: "k") == [3])
                #expect(try txn.delete(in: table, at: "k"))
                #expect(try !txn.delete(in: table, at: "k"))
            }
            #expect(try store.read { txn in try txn.count(table) } == 0)
        }
    }

    @Test("a write whose closure throws leaves nothing behind, sequences included")
    func abortOnThrow() throws {
        struct Refused: Error {}
        try withTemporaryStore("abort") { store in
            let table = try store.table("t")
            try store.write { txn in try txn.put([1], in: table, at: "kept") }
            #expect(throws: Refused.self) {
                try store.write { txn in
                    try txn.put([2], in: table, at: "kept")
                    try txn.put([3], in: table, at: "new")
                    _ = try txn.nextSequence(table)
                    throw Refused()
                }
            }
            try store.read { txn throws in
                #expect(try txn.bytes(in: table, at: "kept") == [1])
                #expect(try txn.bytes(in: table, at: "new") == nil)
                #expect(try txn.count(table) == 1)
                #expect(try txn.currentSequence(table) == 0)
            }
        }
    }

    @Test("committed data and sequences survive closing and reopening")
    func reopen() throws {
        let directory = temporaryDirectory("reopen")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var store = try Store.open(directory: directory)
        var jobs = try store.table("jobs")
        let results = try store.table("results")
        let first = try store.write { txn in
            let ids = try (0..<3).map { _ in try txn.nextSequence(jobs) }
            try txn.put([7], in: jobs, at: Key(ids[2]))
            return ids
        }
        #expect(first == [1, 2, 3])
        #expect(try store.write { txn in try txn.nextSequence(results) } == 1)
        store.close()
        #expect(throws: StoreError.closed(path: store.path)) {
            try store.read { txn in try txn.count(jobs) }
        }

        store = try Store.open(directory: directory)
        defer { store.close() }
        jobs = try store.table("jobs")
        try store.write { txn throws in
            #expect(try txn.bytes(in: jobs, at: Key(3)) == [7])
            #expect(try txn.nextSequence(jobs) == 4)
        }
    }

    @Test("the map grows from 1 MiB to hold 20 MiB, in one transaction and in many")
    func mapGrowth() throws {
        let options = Store.Options(initialMapSize: 1 << 20)
        try withTemporaryStore("growth", options: options) { store in
            let vectors = try store.table("vectors")
            #expect(store.mapSize <= 2 << 20)
            let vector = (0..<512).map { Float($0) }
            let perMiB = (1 << 20) / (512 * 4)

            // 20 MiB in a single transaction: it is run again after each growth.
            var attempts = 0
            try store.write { txn in
                attempts += 1
                for index in 0..<(20 * perMiB) {
                    try txn.putVector(vector, in: vectors, at: Key(UInt64(index)))
                }
            }
            #expect(attempts > 1)
            #expect(store.mapSize >= 20 << 20)

            // Another 20 MiB, one mebibyte per transaction.
            for mebibyte in 20..<40 {
                try store.write { txn in
                    for index in (mebibyte * perMiB)..<((mebibyte + 1) * perMiB) {
                        try txn.putVector(vector, in: vectors, at: Key(UInt64(index)))
                    }
                }
            }
            try store.read { txn in
                #expect(try txn.count(vectors) == 40 * perMiB)
                var mismatches = 0
                try txn.visit(vectors) { key, value in
                    let back = try txn.vector(in: vectors, at: key) ?? []
                    if !sameBits(back, vector) || value.count != 2048 { mismatches += 1 }
                }
                #expect(mismatches == 0)
            }
            #expect(store.mapSize >= 40 << 20)
        }
    }

    @Test("a write that swallows the map-full error is still grown and run again")
    func swallowedMapFull() throws {
        let options = Store.Options(initialMapSize: 1 << 20)
        try withTemporaryStore("swallowed", options: options) { store in
            let blobs = try store.table("blobs")
            let big = [UInt8](repeating: 0xab, count: 3 << 20)
            try store.write { txn in _ = try? txn.put(big, in: blobs, at: "big") }
            #expect(try store.read { txn in try txn.bytes(in: blobs, at: "big") } == big)
        }
    }

    @Test("a write that needs more than the map limit throws and commits nothing")
    func mapLimit() throws {
        let options = Store.Options(initialMapSize: 1 << 20, maxMapSize: 2 << 20)
        try withTemporaryStore("limit", options: options) { store in
            let blobs = try store.table("blobs")
            let big = [UInt8](repeating: 1, count: 4 << 20)
            #expect(throws: StoreError.mapSizeLimit(size: 2 << 20, limit: 2 << 20)) {
                try store.write { txn in
                    try txn.put([1], in: blobs, at: "small")
                    try txn.put(big, in: blobs, at: "big")
                }
            }
            #expect(try store.read { txn in try txn.count(blobs) } == 0)
        }
    }

    @Test("keys that are empty or too long throw instead of reaching LMDB")
    func keyLength() throws {
        try withTemporaryStore("keys") { store in
            let table = try store.table("t")
            let long = Key(bytes: [UInt8](repeating: 0x61, count: 512))
            #expect(throws: StoreError.keyLength(table: "t", key: long, length: 512, limit: 511)) {
                try store.write { txn in try txn.put([1], in: table, at: long) }
            }
            #expect(throws: StoreError.keyLength(table: "t", key: .empty, length: 0, limit: 511)) {
                try store.read { txn in try txn.bytes(in: table, at: .empty) }
            }
        }
    }

    @Test("bad names, options, a second open and too many tables give errors that explain them")
    func errors() throws {
        try withTemporaryStore("errors", options: Store.Options(maxTables: 2)) { store in
            #expect(throws: StoreError.self) { try store.table("") }
            #expect(throws: StoreError.self) { try store.table("_sequences") }
            #expect(throws: StoreError.alreadyOpen(path: store.path)) {
                try Store.open(directory: store.path)
            }

            let unusable = Store.Options(initialMapSize: 1 << 20, maxTables: -1, maxReaders: -5)
            #expect(throws: StoreError.self) {
                try Store.open(directory: store.path + "-other", options: unusable)
            }
            try? FileManager.default.removeItem(atPath: store.path + "-other")

            _ = try store.table("one")
            _ = try store.table("two")
            do {
                _ = try store.table("three")
                Issue.record("a third table opened with maxTables 2")
            } catch let error as StoreError {
                #expect(error.lmdbCode == -30791)
                let text = error.description
                #expect(text.contains("dbi_open") && text.contains("three"), "\(text)")
                #expect(text.contains("MDB_DBS_FULL") && text.contains("-30791"), "\(text)")
            }
        }
    }

    @Test("opening a transaction inside another on the same thread stops the process")
    func nestedTransactionTraps() async {
        let directory = temporaryDirectory("nested")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        await #expect(processExitsWith: .signal(SIGILL)) { [directory = directory as String] in
            let store = try Store.open(directory: directory)
            let table = try store.table("t")
            try store.read { _ in
                try store.write { txn in try txn.put([1], in: table, at: "k") }
            }
        }
    }
}
