// Registered datasets and anchors as the training layer reads them: a dataset's images decoded
// and preprocessed once into one buffer (in parallel, noticing a stop between chunks), its
// class names in prompt form (folder names with underscores read as spaces), the captions of
// one of its caption sets, and the pairs of a retrieval task. Evaluation sets are kept in a
// small cache, since one demonstration evaluates a dozen models on the same sets.
//
// Left out: streaming images from disk for datasets too large for memory (3 x S x S floats
// per image: 12 kB at 32 px, 600 kB at 224 px).
import ArfImage
import ArfPluginAPI
import ArfStore
import ArfTraining
import Foundation

/// Preprocessed pixels of a list of image files, one row each, in one buffer.
final class PixelBlock: @unchecked Sendable {
    let rows: Int
    let perImage: Int
    private let storage: UnsafeMutablePointer<Float>

    init(rows: Int, perImage: Int) {
        self.rows = rows
        self.perImage = perImage
        storage = .allocate(capacity: max(1, rows * perImage))
        storage.initialize(repeating: 0, count: max(1, rows * perImage))
    }

    deinit { storage.deallocate() }

    var bytes: Int { rows * perImage * MemoryLayout<Float>.stride }

    /// Decodes `paths` in parallel; rows of files that fail stay zero and are listed.
    static func decode(
        _ paths: [String], preprocessor: ImagePreprocessor, checkStop: () throws -> Void,
        progress: (Int) throws -> Void = { _ in }
    ) throws -> (block: PixelBlock, failures: [(row: Int, reason: String)]) {
        let side = preprocessor.cropSize
        let block = PixelBlock(rows: paths.count, perImage: 3 * side * side)
        var failures: [(row: Int, reason: String)] = []
        let lock = NSLock()
        let chunk = 512
        for start in stride(from: 0, to: paths.count, by: chunk) {
            try checkStop()
            let end = min(start + chunk, paths.count)
            DispatchQueue.concurrentPerform(iterations: end - start) { offset in
                let row = start + offset
                do {
                    let image = try ImageCodec.decode(
                        file: URL(fileURLWithPath: paths[row]), alpha: .compositeOnWhite)
                    preprocessor.pixelValues(image, into: block.row(row))
                } catch {
                    lock.withLock { failures.append((row, "\(error)")) }
                }
            }
            try progress(end)
        }
        return (block, failures.sorted { $0.row < $1.row })
    }

    func row(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: storage + index * perImage, count: perImage)
    }

    /// Copies a row into a batch slot of the model's size.
    func copy(_ index: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard out.count == perImage else {
            throw TrainingError.imageSizeMismatch(expected: out.count, found: perImage)
        }
        out.baseAddress!.update(from: storage + index * perImage, count: perImage)
    }
}

/// A registered image folder with labels and, optionally, captions, held in memory.
struct RegisteredImages: LabeledImageSource {
    let classNames: [String]
    /// The dataset item number of each example (unreadable images are left out).
    let items: [Int]
    let labels: [Int]
    let captionLists: [[String]]
    let block: PixelBlock
    /// Block row of each example.
    let rows: [Int]

    var count: Int { items.count }

    func label(_ i: Int) -> Int { labels[i] }

    func pixels(_ i: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        try block.copy(rows[i], into: out)
    }

    func captions(_ i: Int) -> [String] { captionLists[i] }

    /// Decodes every image of a registered image folder; `captions` maps item numbers to
    /// captions. Unreadable images are left out and reported through `note`.
    static func load(
        _ view: DatasetView, preprocessor: ImagePreprocessor, captions: [Int: [String]] = [:],
        checkStop: () throws -> Void, note: (String) -> Void,
        progress: (Int) throws -> Void = { _ in }
    ) throws -> RegisteredImages {
        let (block, failures) = try PixelBlock.decode(
            view.items.map(\.absolutePath), preprocessor: preprocessor, checkStop: checkStop,
            progress: progress)
        for failure in failures.prefix(20) {
            note("left out \(view.items[failure.row].path) of \(view.name): \(failure.reason)")
        }
        if failures.count > 20 { note("left out \(failures.count - 20) more images") }
        let failed = Set(failures.map(\.row))
        let kept = view.items.indices.filter { !failed.contains($0) && view.items[$0].label != nil }
        guard !kept.isEmpty else { throw TrainingError.emptyDataset(what: "dataset \(view.name)") }
        return RegisteredImages(
            classNames: view.classes.map(promptName), items: kept,
            labels: kept.map { view.items[$0].label! },
            captionLists: kept.map { captions[$0] ?? [] }, block: block, rows: kept)
    }
}

/// Retrieved pairs held in memory.
struct RetrievedPairs: PairSource {
    let captions: [String]
    let block: PixelBlock
    let rows: [Int]

    var count: Int { rows.count }

    func pixels(_ i: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        try block.copy(rows[i], into: out)
    }

    func caption(_ i: Int) -> String { captions[i] }

    static func load(
        _ anchors: [PairAnchorRecord], preprocessor: ImagePreprocessor,
        checkStop: () throws -> Void, note: (String) -> Void
    ) throws -> RetrievedPairs {
        let (block, failures) = try PixelBlock.decode(
            anchors.map(\.absolutePath), preprocessor: preprocessor, checkStop: checkStop)
        for failure in failures.prefix(20) {
            note("left out pair \(anchors[failure.row].path): \(failure.reason)")
        }
        let failed = Set(failures.map(\.row))
        let kept = anchors.indices.filter { !failed.contains($0) }
        return RetrievedPairs(captions: kept.map { anchors[$0].caption }, block: block, rows: kept)
    }
}

/// A class folder's name as prompts use it: "lightning_bolt" is "lightning bolt".
func promptName(_ folder: String) -> String {
    folder.replacingOccurrences(of: "_", with: " ")
}

/// Reading anchors made by the caption and retrieve jobs.
enum StoredAnchors {
    /// The newest caption set of a dataset, if it has any.
    static func newestCaptionSet(of dataset: String, context: TrainingContext) throws -> String? {
        try AnchorQueries(store: context.store, datasets: context.datasets)
            .captionSets(of: dataset).last?.id
    }

    /// Every caption of one caption set, by item number.
    static func captions(dataset: String, set: String, store: Store) throws -> [Int: [String]] {
        let table = try store.table(StoreLayout.captions)
        return try store.read { txn in
            var captions: [Int: [String]] = [:]
            for entry in try txn.scan(table, prefix: Key(dataset, set)) {
                var reader = entry.key.reader()
                _ = reader.readString()
                _ = reader.readString()
                guard let item = reader.readUInt64() else { continue }
                let record = try JSONDecoder().decode(CaptionRecord.self, from: entry.value)
                captions[Int(item)] = record.captions.map(\.text)
            }
            return captions
        }
    }

    /// The retrieval task of that name, if one was stored.
    static func task(_ task: String, store: Store) throws -> AnchorTaskRecord? {
        let table = try store.table(StoreLayout.anchorTasks)
        return try store.read { try $0.json(AnchorTaskRecord.self, in: table, at: Key(task)) }
    }

    /// The pairs of a retrieval task, in rank order.
    static func pairs(task: String, store: Store) throws -> [PairAnchorRecord] {
        let table = try store.table(StoreLayout.anchors)
        return try store.read { txn in
            try txn.scan(table, prefix: Key(task)).map {
                try JSONDecoder().decode(PairAnchorRecord.self, from: $0.value)
            }
        }
    }
}

/// Evaluation sets decoded at one preprocessing, newest use last; bounded in bytes.
final class EvalImageCache: @unchecked Sendable {
    static let maxBytes = 768 << 20
    private let lock = NSLock()
    private var entries: [(key: String, images: RegisteredImages)] = []

    /// The cached images of `view` at `preprocessor`, or those `load` makes (then cached).
    func images(
        _ view: DatasetView, createdUnix: Double, preprocessor: ImagePreprocessor,
        load: () throws -> RegisteredImages
    ) throws -> RegisteredImages {
        let p = preprocessor
        let parts: [Any?] = [
            view.name, createdUnix, p.resize, p.crop, p.resample, p.rescaleFactor, p.mean, p.std,
            p.cropSize,
        ]
        let key = parts.map { String(describing: $0) }.joined(separator: "|")
        if let hit = lock.withLock({ () -> RegisteredImages? in
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
            let entry = entries.remove(at: index)
            entries.append(entry)
            return entry.images
        }) {
            return hit
        }
        let images = try load()
        lock.withLock {
            entries.append((key, images))
            var total = entries.reduce(0) { $0 + $1.images.block.bytes }
            while total > Self.maxBytes, entries.count > 1 {
                total -= entries.removeFirst().images.block.bytes
            }
        }
        return images
    }
}
