// The embed-folder job: every JPEG and PNG under a folder (by file name extension, at any
// depth, in path order) goes through a model's image tower, and the normalised embeddings are
// stored keyed by (model, folder, relative path). Each batch is one transaction that also
// records the job's step, so an interrupted job resumes by skipping what is stored and never
// embeds an item twice. A file that does not decode is counted, named in the job's notes and
// result, and skipped; it is tried again when the job is run again.
//
// Each stored embedding has a stamp beside it: the file's size and modification time when it
// was read. Running the job again embeds files whose stamp changed, and drops the embeddings
// of files that are gone (that the system says do not exist: a folder that cannot be read
// keeps its embeddings); the rest is skipped. An embedding stored without a stamp is kept and
// stamped with the file as it is now, and one whose file no longer decodes is dropped.
//
// Parameters (JSON): "model", "folder" (absolute), optional "batch" (items per commit, 32)
// and "max_rate" (images per second; 0, the default, means as fast as possible), which keeps
// a background indexing job from taking the machine.
//
// Left out: noticing a change that keeps a file's size and modification time (a copy with
// `cp -p` of another file of the same size, say).
import ArfCLIP
import ArfImage
import ArfStore
import ArfSupport
import Foundation

/// The parameters of an embed-folder job.
struct EmbedFolderParams: Codable, Equatable {
    var model: String
    var folder: String
    var batch: Int?
    var maxRate: Double?

    enum CodingKeys: String, CodingKey {
        case model, folder, batch
        case maxRate = "max_rate"
    }

    static let defaultBatch = 32
}

/// What an embed-folder run did, returned as the job's result.
struct EmbedFolderResult: Codable, Equatable {
    struct Failure: Codable, Equatable {
        var path: String
        var error: String
    }

    var model: String
    var folder: String
    var total: Int
    /// Items embedded and stored by this run.
    var embedded: Int
    /// Items that were already stored when this run started.
    var skipped: Int
    /// Items embedded again because their file changed since it was stored.
    var changed: Int
    /// Stored items whose file is gone, dropped by this run.
    var removed: Int
    /// Items that could not be read or decoded.
    var failed: Int
    /// The first of them, with the reason.
    var failures: [Failure]
    var seconds: Double
    var imagesPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case model, folder, total, embedded, skipped, changed, removed, failed, failures, seconds
        case imagesPerSecond = "images_per_second"
    }

    static let maxFailuresListed = 100
}

/// Embeds every image under a folder with a registered model and stores the vectors.
struct EmbedFolderJob: JobKind {
    let name = "embed-folder"

    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String {
        var params = try decode(paramsJSON)
        guard models.contains(params.model) else {
            throw DaemonError.unknownModel(name: params.model, known: models.names)
        }
        guard params.folder.hasPrefix("/") else {
            throw DaemonError.badJobParams(
                kind: name, reason: "folder \(params.folder) is not an absolute path")
        }
        params.folder = URL(fileURLWithPath: params.folder).standardizedFileURL.path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: params.folder, isDirectory: &isFolder) else {
            throw DaemonError.folderNotFound(path: params.folder)
        }
        guard isFolder.boolValue else { throw DaemonError.notADirectory(path: params.folder) }
        let batch = params.batch ?? EmbedFolderParams.defaultBatch
        guard (1...1024).contains(batch) else {
            throw DaemonError.badJobParams(kind: name, reason: "batch \(batch) is not 1 to 1024")
        }
        params.batch = batch
        let rate = params.maxRate ?? 0
        guard rate.isFinite, rate >= 0 else {
            throw DaemonError.badJobParams(kind: name, reason: "max_rate \(rate) is negative")
        }
        params.maxRate = rate
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(params), as: UTF8.self)
    }

    func run(_ job: JobContext) throws -> String {
        let params = try decode(job.paramsJSON)
        let pipeline = try job.models.pipeline(named: params.model)
        let table = try job.store.table(StoreLayout.embeddings)
        let stampTable = try job.store.table(StoreLayout.embeddingStamps)
        let items = try Self.images(under: params.folder)
        let total = UInt64(items.count)
        let keys = items.map { item -> Key? in
            let key = StoreLayout.embeddingKey(
                model: params.model, folder: params.folder, item: item)
            return key.bytes.count <= StoreLayout.maxKeyBytes ? key : nil
        }
        let stamps = items.map {
            Self.stamp(of: (params.folder as NSString).appendingPathComponent($0))
        }

        // What is stored with the file's current stamp is skipped: that is how an interrupted
        // job resumes. Embeddings of files that are gone go now, and embeddings stored without
        // a stamp get the file's.
        let prefix = StoreLayout.embeddingPrefix(model: params.model, folder: params.folder)
        let present = Set(items)
        let (pending, removed, changed) = try job.store.write { txn -> ([Int], Int, Int) in
            var gone: [Key] = []
            try txn.visit(table, prefix: prefix) { key, _ in
                var reader = key.reader()
                _ = (reader.readString(), reader.readString())
                if let item = reader.readString(), !present.contains(item),
                    Self.isGone((params.folder as NSString).appendingPathComponent(item))
                {
                    gone.append(key)
                }
            }
            for key in gone {
                try txn.delete(in: table, at: key)
                try txn.delete(in: stampTable, at: key)
            }
            var pending: [Int] = []
            var changed = 0
            for index in items.indices {
                guard let key = keys[index], try txn.contains(in: table, at: key) else {
                    pending.append(index)
                    continue
                }
                let stored = try txn.data(in: stampTable, at: key)
                if let stamp = stamps[index], stored == nil {
                    try txn.put(stamp, in: stampTable, at: key)
                } else if stored != stamps[index] {
                    pending.append(index)
                    changed += 1
                }
            }
            return (pending, gone.count, changed)
        }
        let skipped = items.count - pending.count
        var step = UInt64(skipped)
        let start = Date()
        var embedded = 0
        var failures: [EmbedFolderResult.Failure] = []
        var failed = 0
        try job.report(
            step: step, total: total,
            message: skipped > 0
                ? "\(skipped) of \(total) images already stored; embedding the rest"
                    + (changed > 0 ? " (\(changed) changed since)" : "")
                : "embedding \(total) images")

        let batch = params.batch ?? EmbedFolderParams.defaultBatch
        for first in stride(from: 0, to: pending.count, by: batch) {
            try job.checkStop()
            let chunk = Array(pending[first..<min(first + batch, pending.count)])
            let urls = chunk.map {
                URL(fileURLWithPath: params.folder).appendingPathComponent(items[$0])
            }
            let decoded = Self.pixelRows(urls, pipeline.preprocessor)

            var rows: [[Float]] = []
            var rowKeys: [Key] = []
            var rowStamps: [Data?] = []
            // A file that changed and no longer decodes loses the embedding of its old content.
            var staleKeys: [Key] = []
            for (index, result) in zip(chunk, decoded) {
                switch (result, keys[index]) {
                case (.success(let row), .some(let key)):
                    rows.append(row)
                    rowKeys.append(key)
                    rowStamps.append(stamps[index])
                case (.failure(let error), let key):
                    failed += 1
                    if let key { staleKeys.append(key) }
                    let reason = "\(error)"
                    if failures.count < EmbedFolderResult.maxFailuresListed {
                        failures.append(.init(path: items[index], error: reason))
                    }
                    job.note("skipped \(items[index]): \(reason)")
                case (.success, .none):
                    failed += 1
                    let reason = "its path is too long for a store key"
                    if failures.count < EmbedFolderResult.maxFailuresListed {
                        failures.append(.init(path: items[index], error: reason))
                    }
                    job.note("skipped \(items[index]): \(reason)")
                }
            }
            let vectors = try pipeline.embed(pixelRows: rows)
            embedded += vectors.count
            step += UInt64(chunk.count)

            let elapsed = max(Date().timeIntervalSince(start), 1e-6)
            let rate = Double(embedded) / elapsed
            let left = Double(total - step)
            try job.report(
                step: step, total: total, rate: rate, etaSeconds: rate > 0 ? left / rate : 0
            ) { txn in
                for key in staleKeys {
                    try txn.delete(in: table, at: key)
                    try txn.delete(in: stampTable, at: key)
                }
                for ((key, vector), stamp) in zip(zip(rowKeys, vectors), rowStamps) {
                    try txn.putVector(vector, in: table, at: key)
                    if let stamp {
                        try txn.put(stamp, in: stampTable, at: key)
                    } else {
                        try txn.delete(in: stampTable, at: key)
                    }
                }
            }
            try Self.pace(embedded: embedded, since: start, maxRate: params.maxRate ?? 0, job)
        }

        let seconds = Date().timeIntervalSince(start)
        let result = EmbedFolderResult(
            model: params.model, folder: params.folder, total: items.count, embedded: embedded,
            skipped: skipped, changed: changed, removed: removed, failed: failed,
            failures: failures, seconds: seconds,
            imagesPerSecond: seconds > 0 ? Double(embedded) / seconds : 0)
        job.finish(
            message: "embedded \(embedded) images (\(changed) changed since stored), "
                + "\(skipped) already stored, \(removed) dropped as gone, "
                + "\(failed) skipped as unreadable")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(result), as: UTF8.self)
    }

    private func decode(_ json: String) throws -> EmbedFolderParams {
        do {
            return try JSONDecoder().decode(EmbedFolderParams.self, from: Data(json.utf8))
        } catch {
            throw DaemonError.badJobParams(
                kind: name, reason: "expected {\"model\": ..., \"folder\": ...}: \(error)")
        }
    }

    /// Paths, relative to `folder` and sorted, of the files under it named as JPEG or PNG.
    static func images(under folder: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw DaemonError.folderNotFound(path: folder)
        }
        guard isFolder.boolValue else { throw DaemonError.notADirectory(path: folder) }
        guard let walk = FileManager.default.enumerator(atPath: folder) else {
            throw DaemonError.folderNotFound(path: folder)
        }
        var found: [String] = []
        while let relative = walk.nextObject() as? String {
            let ext = (relative as NSString).pathExtension.lowercased()
            guard imageExtensions.contains(ext) else { continue }
            var isDirectory: ObjCBool = false
            let path = (folder as NSString).appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                found.append(relative)
            }
        }
        return found.sorted()
    }

    /// A file's size and modification time in nanoseconds, 16 little-endian bytes; nil when
    /// the file cannot be examined (the decode then reports why).
    static func stamp(of path: String) -> Data? {
        var info = stat()
        guard (try? systemCall("stat", path) { stat(path, &info) }) != nil else { return nil }
        let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        var data = Data(count: 16)
        data.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(info.st_size).littleEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: nanoseconds.littleEndian, toByteOffset: 8, as: Int64.self)
        }
        return data
    }

    /// Whether the system says nothing is at `path` (not merely that it cannot be read).
    static func isGone(_ path: String) -> Bool {
        var info = stat()
        do {
            _ = try systemCall("stat", path) { stat(path, &info) }
            return false
        } catch let error as SystemError {
            return error.errno == ENOENT || error.errno == ENOTDIR
        } catch {
            return false
        }
    }

    /// Decodes and preprocesses the files on Dispatch's worker threads, one result per file.
    static func pixelRows(_ urls: [URL], _ preprocessor: ImagePreprocessor)
        -> [Result<[Float], Error>]
    {
        var results = [Result<[Float], Error>](
            repeating: .failure(DaemonError.badRequest("not decoded")), count: urls.count)
        results.withUnsafeMutableBufferPointer { slots in
            guard let base = slots.baseAddress else { return }
            DispatchQueue.concurrentPerform(iterations: urls.count) { index in
                base[index] = Result {
                    preprocessor.pixelValues(try ImageCodec.decode(file: urls[index]))
                }
            }
        }
        return results
    }

    /// Sleeps, in slices that notice a stop, until `embedded` images fit under `maxRate`.
    static func pace(embedded: Int, since start: Date, maxRate: Double, _ job: JobContext) throws {
        guard maxRate > 0 else { return }
        let due = start.addingTimeInterval(Double(embedded) / maxRate)
        while Date() < due {
            try job.checkStop()
            Thread.sleep(forTimeInterval: min(0.05, due.timeIntervalSinceNow))
        }
    }
}
