// The crash test: a child process (the arf-store-crash-writer executable, built beside this
// test binary) writes numbered batches, one transaction each, and prints each batch number
// once its commit has returned. The test kills it with SIGKILL at a random moment, reopens the
// store, and checks that every reported batch is there and whole, and that no batch is half
// there. It repeats this on the same store, so later rounds also recover from earlier kills.
import ArfStore
import ArfSupport
import Foundation
import Testing

/// Element `index` of record `record` of batch `batch`, as arf-store-crash-writer writes it.
private func element(batch: UInt64, record: Int, index: Int) -> Float {
    Float((batch &* 7919 &+ UInt64(record) &* 131 &+ UInt64(index)) % (1 << 24))
}

/// The writer's summary of a batch.
private struct BatchSummary: Codable {
    var batch: UInt64
    var records: Int
    var floats: Int
}

/// The crash writer executable, which SwiftPM puts next to the test binary.
private func crashWriterPath() throws -> String {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let writer = testBinary.deletingLastPathComponent()
        .appendingPathComponent("arf-store-crash-writer").path
    try #require(
        FileManager.default.isExecutableFile(atPath: writer),
        "\(writer) is missing: build the package (swift build) before running this test")
    return writer
}

/// Starts the writer, kills it with SIGKILL after it has reported `batches` commits and a
/// random few milliseconds more, and returns every batch number it reported.
private func runAndKill(writer: String, directory: String, batches: Int) throws -> [UInt64] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: writer)
    process.arguments = [directory, "64", "512"]
    let output = Pipe()
    process.standardOutput = output
    let errorLog = directory + ".stderr"
    _ = FileManager.default.createFile(atPath: errorLog, contents: nil)
    process.standardError = FileHandle(forWritingAtPath: errorLog)
    try process.run()

    var text = ""
    let reported = { text.split(separator: "\n").filter { $0.hasPrefix("committed ") }.count }
    let fd = output.fileHandleForReading.fileDescriptor
    let deadline = Date().addingTimeInterval(60)
    var buffer = [UInt8](repeating: 0, count: 4096)
    while reported() < batches, process.isRunning, Date() < deadline {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = try systemCall("poll") { poll(&poller, 1, 100) }
        if ready == 0 { continue }
        let count = try systemCall("read") { read(fd, &buffer, buffer.count) }
        if count == 0 { break }
        text += String(decoding: buffer[..<count], as: UTF8.self)
    }
    usleep(UInt32.random(in: 0..<20_000))
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()

    // Lines written between the last read and the kill are still in the pipe.
    text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let stderrText = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
    #expect(
        process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL,
        "writer ended by itself: \(process.terminationStatus)\n\(stderrText.suffix(2000))")
    return text.split(separator: "\n").compactMap { line in
        line.hasPrefix("committed ") ? UInt64(line.dropFirst("committed ".count)) : nil
    }
}

/// Checks the store after a kill and returns the highest batch it holds.
private func verify(directory: String, reportedThrough reported: UInt64) throws -> UInt64 {
    let store = try Store.open(directory: directory)
    defer { store.close() }
    let batches = try store.table("batches")
    let records = try store.table("records")
    return try store.read { txn in
        var summaries: [UInt64: BatchSummary] = [:]
        for (key, _) in try txn.scan(batches) {
            var reader = key.reader()
            guard let batch = reader.readUInt64() else {
                Issue.record("batch key \(key) holds no number")
                continue
            }
            summaries[batch] = try txn.json(BatchSummary.self, in: batches, at: key)
        }
        let highest = summaries.keys.max() ?? 0
        #expect(Set(summaries.keys) == Set(1...max(highest, 1)).intersection(summaries.keys))
        #expect(summaries.count == Int(highest), "batches present: \(summaries.keys.sorted())")

        // A commit can return and the process die before printing, so one more batch than
        // reported may be there; never fewer.
        #expect(highest == reported || highest == reported + 1, "reported \(reported)")
        #expect(try txn.currentSequence(batches) == highest)

        // Every record belongs to a committed batch, and every committed batch is whole.
        var recordCounts: [UInt64: Int] = [:]
        var wrongValues = 0
        var largest: Float = 0
        try txn.visit(records) { key, _ in
            var reader = key.reader()
            guard let batch = reader.readUInt64(), let record = reader.readUInt64() else {
                wrongValues += 1
                return
            }
            recordCounts[batch, default: 0] += 1
            let vector = try txn.vector(in: records, at: key) ?? []
            let expected = (0..<512).map {
                element(batch: batch, record: Int(record), index: $0)
            }
            if !sameBits(vector, expected) {
                wrongValues += 1
                if vector.count == expected.count {
                    largest = max(largest, zip(vector, expected).map { abs($0 - $1) }.max() ?? 0)
                }
            }
        }
        #expect(Set(recordCounts.keys) == Set(summaries.keys), "half-written batches")
        for (batch, summary) in summaries {
            #expect(recordCounts[batch] == summary.records, "batch \(batch)")
        }
        #expect(wrongValues == 0, "tolerance 0, largest difference \(largest)")
        return highest
    }
}

@Suite("Crash")
struct CrashTests {
    @Test("after kill -9 every batch the writer reported is whole and none is half there")
    func killedWriterLosesNothingCommitted() throws {
        let writer = try crashWriterPath()
        let directory = temporaryDirectory("crash")
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + ".stderr")
        }

        var highest: UInt64 = 0
        for round in 1...4 {
            let reported = try runAndKill(
                writer: writer, directory: directory, batches: Int.random(in: 3...15))
            try #require(!reported.isEmpty, "round \(round): the writer reported no batch")

            // A restarted writer continues the sequence where the last commit left it.
            #expect(reported == Array((highest + 1)...(highest + UInt64(reported.count))))
            highest = try verify(directory: directory, reportedThrough: reported.last ?? 0)
        }
    }
}
