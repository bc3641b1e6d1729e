// Tests of the store under threads: readers in parallel with each other and with the writer,
// snapshot isolation, and readers that keep going while the writer grows the map. Threads are
// plain `Thread`s because transactions block, and the cooperative pool has only two threads.
import ArfStore
import Foundation
import Testing

/// Runs `body(index)` on `count` new threads and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    group.wait()
}

/// Values shared between test threads, behind a lock.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func update<R>(_ body: (inout Value) -> R) -> R {
        lock.withLock { body(&value) }
    }
}

@Suite("Concurrency")
struct ConcurrencyTests {
    @Test("readers see only whole transactions while a writer commits and the map grows")
    func readersDuringWrites() throws {
        let options = Store.Options(initialMapSize: 1 << 20)
        try withTemporaryStore("readers", options: options) { store in
            let state = try store.table("state")
            let history = try store.table("history")
            let versions = 300
            let keysPerVersion = 50
            let writerDone = Shared(false)
            let findings = Shared((reads: 0, torn: 0, backwards: 0, missingHistory: 0, errors: 0))
            let startSize = store.mapSize

            onThreads(4) { thread in
                if thread == 0 {
                    // Every version rewrites all state keys and appends 16 KiB of history.
                    let page = [UInt8](repeating: 0x5a, count: 16 << 10)
                    for version in 1...UInt64(versions) {
                        do {
                            try store.write { txn in
                                for key in 0..<UInt64(keysPerVersion) {
                                    try txn.put(Key(version).bytes, in: state, at: Key(key))
                                }
                                try txn.put(page, in: history, at: Key(version))
                            }
                        } catch {
                            findings.update { $0.errors += 1 }
                        }
                    }
                    writerDone.update { $0 = true }
                    return
                }
                var lastSeen: UInt64 = 0
                while true {
                    let finished = writerDone.update { $0 }
                    do {
                        try store.read { txn in
                            var seen = Set<UInt64>()
                            for key in 0..<UInt64(keysPerVersion) {
                                let bytes = try txn.bytes(in: state, at: Key(key)) ?? []
                                var reader = Key(bytes: bytes).reader()
                                seen.insert(reader.readUInt64() ?? 0)
                            }
                            let version = seen.first ?? 0
                            let historyThere =
                                try txn.contains(in: history, at: Key(version)) || version == 0
                            findings.update {
                                $0.reads += 1
                                if seen.count != 1 { $0.torn += 1 }
                                if version < lastSeen { $0.backwards += 1 }
                                if !historyThere { $0.missingHistory += 1 }
                            }
                            lastSeen = max(lastSeen, version)
                        }
                    } catch {
                        findings.update { $0.errors += 1 }
                    }
                    if finished { break }
                }
                #expect(lastSeen == UInt64(versions), "reader \(thread) ended at \(lastSeen)")
            }

            let result = findings.update { $0 }
            #expect(result.errors == 0)
            #expect(result.reads >= 30, "only \(result.reads) reads")
            #expect(result.torn == 0 && result.backwards == 0 && result.missingHistory == 0)
            #expect(store.mapSize > startSize, "the map should have grown from \(startSize)")
        }
    }

    @Test("read transactions on several threads are open at the same time")
    func parallelReaders() throws {
        try withTemporaryStore("parallel") { store in
            let table = try store.table("t")
            try store.write { txn in try txn.put([1], in: table, at: "k") }
            let inside = Shared(0)
            let sawEveryone = Shared(0)
            let readers = 4

            // Each reader waits, inside its transaction, until all the others are inside theirs.
            onThreads(readers) { _ in
                _ = try? store.read { txn in
                    inside.update { $0 += 1 }
                    let deadline = Date().addingTimeInterval(10)
                    while inside.update({ $0 }) < readers, Date() < deadline {
                        usleep(1000)
                    }
                    if inside.update({ $0 }) == readers,
                        try txn.bytes(in: table, at: "k") == [1]
                    {
                        sawEveryone.update { $0 += 1 }
                    }
                }
            }
            #expect(sawEveryone.update { $0 } == readers)
        }
    }

    @Test("a read transaction keeps its snapshot while a writer on another thread commits")
    func snapshotIsolation() throws {
        try withTemporaryStore("snapshot") { store in
            let table = try store.table("t")
            try store.write { txn in try txn.put([1], in: table, at: "k") }
            let committed = DispatchSemaphore(value: 0)
            try store.read { txn throws in
                #expect(try txn.bytes(in: table, at: "k") == [1])
                Thread {
                    _ = try? store.write { txn in
                        try txn.put([2], in: table, at: "k")
                        try txn.put([2], in: table, at: "new")
                    }
                    committed.signal()
                }.start()
                #expect(committed.wait(timeout: .now() + 10) == .success)
                #expect(try txn.bytes(in: table, at: "k") == [1])
                #expect(try !txn.contains(in: table, at: "new"))
            }
            #expect(try store.read { txn in try txn.bytes(in: table, at: "k") } == [2])
        }
    }
}
