// arf-store-crash-writer: the child process of ArfStore's crash test. It writes numbered
// batches into a store, one write transaction per batch, and prints "committed N" after each
// commit until it is killed. A batch is `records` float vectors whose contents follow from the
// batch and record numbers, plus a JSON summary; the test kills this process with SIGKILL and
// then checks that every batch it reported is there, whole, and that no batch is half there.
// The store starts with a 1 MiB map, so the map also grows while the process may be killed.
//
// Usage: arf-store-crash-writer <directory> [records-per-batch] [floats-per-record]
import ArfStore
import ArfSupport
import Foundation

/// What the writer stores beside each batch's vectors.
struct BatchSummary: Codable {
    var batch: UInt64
    var records: Int
    var floats: Int
}

/// Element `index` of record `record` in batch `batch`: whole numbers below 2^24, so that a
/// Float holds them exactly. The test computes the same values.
func element(batch: UInt64, record: Int, index: Int) -> Float {
    Float((batch &* 7919 &+ UInt64(record) &* 131 &+ UInt64(index)) % (1 << 24))
}

let arguments = CommandLine.arguments
guard arguments.count >= 2, arguments.count <= 4,
    let records = arguments.count > 2 ? Int(arguments[2]) : 64,
    let floats = arguments.count > 3 ? Int(arguments[3]) : 512,
    records > 0, floats > 0
else {
    FileHandle.standardError.write(
        Data("usage: arf-store-crash-writer <directory> [records] [floats]\n".utf8))
    exit(2)
}

do {
    let store = try Store.open(
        directory: arguments[1], options: Store.Options(initialMapSize: 1 << 20))
    let batches = try store.table("batches")
    let vectors = try store.table("records")
    var vector = [Float](repeating: 0, count: floats)
    while true {
        let batch = try store.write { txn -> UInt64 in
            let batch = try txn.nextSequence(batches)
            for record in 0..<records {
                for index in 0..<floats {
                    vector[index] = element(batch: batch, record: record, index: index)
                }
                try txn.putVector(vector, in: vectors, at: Key(batch).appending(UInt64(record)))
            }
            let summary = BatchSummary(batch: batch, records: records, floats: floats)
            try txn.putJSON(summary, in: batches, at: Key(batch))
            return batch
        }
        print("committed \(batch)")
        fflush(stdout)
    }
} catch {
    log.error("crash writer failed", ("error", error))
    exit(1)
}
