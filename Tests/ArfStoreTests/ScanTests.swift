// Tests of scans: prefix and range walks in key order and in reverse, the in-place `visit`
// form, counting, deleting by prefix, and scans that stop early or see uncommitted writes.
import ArfStore
import Foundation
import Testing

@Suite("Scan")
struct ScanTests {
    /// Keys of results for two models over a few datasets, written in shuffled order.
    static func fillResults(_ store: Store, _ table: Table) throws -> [Key] {
        var keys: [Key] = []
        for model in ["vit-b32", "vit-b32-ft", "rn50"] {
            for dataset in ["imagenet", "cifar10"] {
                for item in [0, 1, 2, 255, 256, 70_000] as [UInt64] {
                    keys.append(Key(model, dataset).appending(item))
                }
            }
        }
        try store.write { txn in
            for key in keys.shuffled() {
                try txn.put(key.bytes, in: table, at: key)
            }
        }
        return keys
    }

    @Test("a prefix scan yields exactly the matching entries in key order")
    func prefixScanInOrder() throws {
        try withTemporaryStore("prefix") { store in
            let results = try store.table("results")
            let keys = try Self.fillResults(store, results)
            let expected = keys.filter { $0.hasPrefix(Key("vit-b32", "imagenet")) }.sorted()
            #expect(expected.count == 6)
            try store.read { txn in
                let entries = try Array(txn.scan(results, prefix: Key("vit-b32", "imagenet")))
                #expect(entries.map(\.key) == expected)
                #expect(entries.allSatisfy { Data($0.key.bytes) == $0.value })
                let items = entries.map { entry -> UInt64? in
                    var reader = entry.key.reader()
                    _ = reader.readString()
                    _ = reader.readString()
                    return reader.readUInt64()
                }
                #expect(items == [0, 1, 2, 255, 256, 70_000])

                // "vit-b32" must not pick up "vit-b32-ft": string parts end with a 0 byte.
                #expect(try txn.count(results, prefix: Key("vit-b32")) == 12)
                #expect(try Array(txn.scan(results)).map(\.key) == keys.sorted())
            }
        }
    }

    @Test("a reverse prefix scan yields the same entries from last to first")
    func reversePrefixScan() throws {
        try withTemporaryStore("reverse") { store in
            let results = try store.table("results")
            let keys = try Self.fillResults(store, results)
            try store.read { txn in
                for prefix in [Key("rn50"), Key("vit-b32-ft", "cifar10"), .empty, Key("zzz")] {
                    let forward = try Array(txn.scan(results, prefix: prefix)).map(\.key)
                    let backward = try Array(txn.scan(results, prefix: prefix, reverse: true))
                    #expect(backward.map(\.key) == forward.reversed(), "prefix \(prefix)")
                    #expect(forward == keys.filter { $0.hasPrefix(prefix) }.sorted())
                }
            }
        }
    }

    /// The integer keys a scan yields.
    func ids(_ scan: Scan) -> [UInt64] {
        scan.map { entry in
            var reader = entry.key.reader()
            return reader.readUInt64() ?? .max
        }
    }

    @Test("a range scan covers from its lower key up to but excluding its upper key")
    func rangeScan() throws {
        try withTemporaryStore("range") { store in
            let jobs = try store.table("jobs")
            try store.write { txn in
                for id in stride(from: 10, through: 300, by: 10) as StrideThrough<UInt64> {
                    try txn.put([UInt8(id / 10)], in: jobs, at: Key(id))
                }
            }
            try store.read { txn in
                let middle = try ids(txn.scan(jobs, from: Key(100), to: Key(150)))
                #expect(middle == [100, 110, 120, 130, 140])
                let backwards = try ids(txn.scan(jobs, from: Key(95), to: Key(130), reverse: true))
                #expect(backwards == [120, 110, 100])
                #expect(try ids(txn.scan(jobs, from: Key(280), to: nil)) == [280, 290, 300])
                let tail = try ids(txn.scan(jobs, from: Key(285), to: nil, reverse: true))
                #expect(tail == [300, 290])
                #expect(try ids(txn.scan(jobs, from: Key(150), to: Key(100))).isEmpty)
                #expect(try ids(txn.scan(jobs, from: .empty, to: Key(30))) == [10, 20])
            }
        }
    }

    @Test("prefixes of 0xff bytes, which have no successor, still bound the scan")
    func prefixWithoutSuccessor() throws {
        try withTemporaryStore("ff") { store in
            let table = try store.table("t")
            try store.write { txn in
                for key in [
                    [0xfe, 0xff], [0xff], [0xff, 0x00], [0xff, 0xff], [0xff, 0xff, 0x01],
                ] {
                    try txn.put([1], in: table, at: Key(bytes: key.map { UInt8($0) }))
                }
            }
            try store.read { txn in
                let prefix = Key(bytes: [0xff, 0xff])
                let forward = try Array(txn.scan(table, prefix: prefix)).map(\.key.bytes)
                let backward = try Array(txn.scan(table, prefix: prefix, reverse: true))
                #expect(forward == [[0xff, 0xff], [0xff, 0xff, 0x01]])
                #expect(backward.map(\.key.bytes) == forward.reversed())
                #expect(try txn.count(table, prefix: Key(bytes: [0xff])) == 4)
            }
        }
    }

    @Test("visit sees every vector in place, in the same order as scan")
    func visitInPlace() throws {
        try withTemporaryStore("visit") { store in
            let vectors = try store.table("vectors")
            let expected = (0..<200).map { row in (0..<512).map { Float(row * 512 + $0) } }
            try store.write { txn in
                for (row, vector) in expected.enumerated() {
                    try txn.putVector(vector, in: vectors, at: Key("emb").appending(UInt64(row)))
                }
            }
            try store.read { txn in
                var sums: [Double] = []
                var keys: [Key] = []
                try txn.visit(vectors, prefix: Key("emb")) { key, value in
                    // The buffer may sit at an odd address: read it with unaligned loads.
                    var sum = 0.0
                    for index in 0..<(value.count / 4) {
                        let offset = index * 4
                        sum += Double(value.loadUnaligned(fromByteOffset: offset, as: Float.self))
                    }
                    sums.append(sum)
                    keys.append(key)
                }
                let expectedSums = expected.map { $0.reduce(0.0) { $0 + Double($1) } }
                let largest = zip(sums, expectedSums).map { abs($0 - $1) }.max() ?? .infinity
                #expect(sums.count == 200 && largest == 0, "tolerance 0, largest \(largest)")
                #expect(try keys == Array(txn.scan(vectors, prefix: Key("emb"))).map(\.key))
            }
        }
    }

    @Test("deleting by prefix removes exactly the matching entries, across many pages")
    func deleteByPrefix() throws {
        try withTemporaryStore("delete") { store in
            let cache = try store.table("cache")
            let payload = [UInt8](repeating: 7, count: 300)
            try store.write { txn in
                for group in ["a", "b", "c"] {
                    for item in 0..<3000 as Range<UInt64> {
                        try txn.put(payload, in: cache, at: Key(group).appending(item))
                    }
                }
            }
            let deleted = try store.write { txn in try txn.deleteAll(in: cache, prefix: Key("b")) }
            #expect(deleted == 3000)
            try store.read { txn throws in
                #expect(try txn.count(cache) == 6000)
                #expect(try txn.count(cache, prefix: Key("a")) == 3000)
                #expect(try txn.count(cache, prefix: Key("b")) == 0)
                #expect(try txn.count(cache, prefix: Key("c")) == 3000)
            }
            try store.write { txn in try txn.removeAll(in: cache) }
            #expect(try store.read { txn in try txn.count(cache) } == 0)
        }
    }

    @Test("a write transaction's scan sees its own uncommitted puts and deletes")
    func scanSeesOwnWrites() throws {
        try withTemporaryStore("own-writes") { store in
            let table = try store.table("t")
            try store.write { txn in try txn.put([1], in: table, at: "a") }
            try store.write { txn in
                try txn.put([2], in: table, at: "b")
                try txn.delete(in: table, at: "a")
                #expect(try Array(txn.scan(table)).map(\.key) == ["b"])
            }
        }
    }

    @Test("leaving scans early and starting many in one transaction closes their cursors")
    func earlyExit() throws {
        try withTemporaryStore("early") { store in
            let table = try store.table("t")
            try store.write { txn in
                for id in 0..<100 as Range<UInt64> {
                    try txn.put([UInt8(id)], in: table, at: Key(id))
                }
            }
            let firsts = try store.read { txn in
                try (0..<500).map { _ -> UInt8? in
                    for entry in try txn.scan(table, reverse: true) { return entry.value.first }
                    return nil
                }
            }
            #expect(firsts.allSatisfy { $0 == 99 })
            try store.write { txn in
                let scan = try txn.scan(table)
                var iterator = scan.makeIterator()
                #expect(iterator.next()?.key == Key(0))
                try txn.put([1], in: table, at: Key(1000))
            }
            #expect(try store.read { txn in try txn.count(table) } == 101)
        }
    }
}
