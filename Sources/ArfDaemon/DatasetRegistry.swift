// The registry of datasets: name -> role, format, classes and a snapshot of the items, kept in
// the store so that item numbers stay stable across restarts and changes on disk. Adding
// reads the whole folder or list first and stores it in one transaction, so a bad dataset
// stores nothing. Removing drops the items with every embedding, caption, evaluation result
// and retrieval index made of them; adding with `replace` does the same and stores the new
// snapshot in the same transaction. Read-only views (the form plugins get) are built from
// the store on first use and cached.
//
// Left out: keeping the embeddings of unchanged items when a dataset is replaced (item numbers
// move, and a file may change under the same path); a replaced dataset is embedded again.
import ArfPluginAPI
import ArfPluginAdapters
import ArfRetrieval
import ArfStore
import ArfSupport
import ArfTraining
import ArfWire
import Foundation

/// A registered dataset as the store keeps it.
struct DatasetRecord: Codable, Equatable {
    var name: String
    var role: String
    var format: String
    var path: String
    var root: String
    var classes: [String]
    var classCounts: [Int]
    var itemCount: Int
    var createdUnix: Double

    var info: DatasetInfo {
        DatasetInfo(
            name: name, role: role, format: format, path: path, root: root,
            items: UInt64(itemCount), classes: classes, createdUnix: createdUnix)
    }
}

/// One item as the store keeps it; the short keys keep a large pool's table small.
struct DatasetItemRecord: Codable, Equatable {
    var path: String
    var label: Int?
    var caption: String?

    enum CodingKeys: String, CodingKey {
        case path = "p"
        case label = "l"
        case caption = "c"
    }
}

/// Registered datasets; safe to use from any thread.
final class DatasetRegistry: @unchecked Sendable {
    static let roles = ["finetune", "pool", "eval-id", "eval-shift", "eval-zeroshot"]
    static let formats = ["imagefolder", "pairs"]

    let store: Store
    private let table: Table
    private let itemsTable: Table
    private let lock = NSLock()
    private var records: [String: DatasetRecord] = [:]
    private var views: [String: DatasetView] = [:]

    init(store: Store) throws {
        self.store = store
        table = try store.table(StoreLayout.datasets)
        itemsTable = try store.table(StoreLayout.datasetItems)
        let table = table
        let stored = try store.read { txn in
            try txn.scan(table).map { try JSONDecoder().decode(DatasetRecord.self, from: $0.value) }
        }
        for record in stored { records[record.name] = record }
        if !stored.isEmpty {
            log.info(
                "datasets registered", ("count", stored.count),
                ("names", stored.map(\.name).joined(separator: ",")))
        }
    }

    /// Registered names with `role` (all for nil), sorted.
    func names(role: String? = nil) -> [String] {
        lock.withLock {
            records.values.filter { role == nil || $0.role == role }.map(\.name).sorted()
        }
    }

    /// Every dataset, by name.
    func infos() -> [DatasetInfo] {
        lock.withLock { records.values.sorted { $0.name < $1.name }.map(\.info) }
    }

    func record(named name: String) throws -> DatasetRecord {
        guard let record = lock.withLock({ records[name] }) else {
            throw DaemonError.unknownDataset(name: name, known: names())
        }
        return record
    }

    /// Reads the folder or list of `request` and registers it; changes nothing on failure.
    /// With `request.replace`, a dataset of that name is swapped for the new snapshot in one
    /// transaction, and what was stored for it under `models` is dropped with it.
    func add(_ request: AddDatasetRequest, models: [String] = []) throws -> DatasetInfo {
        let name = request.name
        try ModelRegistry.check(name: name)
        guard Self.roles.contains(request.role) else {
            throw DaemonError.badRequest(
                "role \(request.role.isEmpty ? "(none)" : request.role) is not one of "
                    + Self.roles.joined(separator: ", "))
        }
        guard request.path.hasPrefix("/") else {
            throw DaemonError.badRequest("dataset path \(request.path) is not absolute")
        }
        let path = URL(fileURLWithPath: request.path).standardizedFileURL.path
        if !request.replace, let existing = lock.withLock({ records[name] }) {
            throw DaemonError.datasetExists(name: name, path: existing.path)
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw DaemonError.badDataset(path: path, reason: "nothing is there")
        }
        let format =
            request.format.isEmpty
            ? (isFolder.boolValue ? "imagefolder" : "pairs") : request.format
        let start = Date()
        let snapshot: DatasetSnapshot
        switch format {
        case "imagefolder":
            guard isFolder.boolValue else {
                throw DaemonError.badDataset(path: path, reason: "an image folder must be a folder")
            }
            snapshot = try DatasetReader.imageFolder(path)
        case "pairs":
            guard !isFolder.boolValue else {
                throw DaemonError.badDataset(
                    path: path, reason: "a pair list is a CSV or TSV file, not a folder")
            }
            snapshot = try DatasetReader.pairList(
                path,
                filepathColumn: request.filepathColumn.isEmpty
                    ? "filepath" : request.filepathColumn,
                captionColumn: request.captionColumn.isEmpty ? "caption" : request.captionColumn,
                separator: try Self.separator(request.separator, path: path))
        default:
            throw DaemonError.badRequest(
                "format \(format) is not one of \(Self.formats.joined(separator: ", "))")
        }

        var counts = [Int](repeating: 0, count: snapshot.classes.count)
        for item in snapshot.items { if let label = item.label { counts[label] += 1 } }
        let record = DatasetRecord(
            name: name, role: request.role, format: format, path: path, root: snapshot.root,
            classes: snapshot.classes, classCounts: counts, itemCount: snapshot.items.count,
            createdUnix: Date().timeIntervalSince1970)
        let (table, itemsTable) = (table, itemsTable)
        let tables = try storedTables()
        let dropped = try store.write { txn -> RemoveDatasetReply? in
            // Checked again inside the transaction: two adds of one name may race.
            var dropped: RemoveDatasetReply?
            if try txn.contains(in: table, at: Key(name)) {
                guard request.replace else {
                    throw DaemonError.datasetExists(name: name, path: path)
                }
                dropped = try deleteStored(name, models: models, tables: tables, in: txn)
            }
            try txn.putJSON(record, in: table, at: Key(name))
            for (index, item) in snapshot.items.enumerated() {
                try txn.putJSON(item, in: itemsTable, at: StoreLayout.datasetItemKey(name, index))
            }
            return dropped
        }
        lock.withLock {
            records[name] = record
            views[name] = nil
        }
        if dropped != nil { dropIndexes(name, models: models) }
        log.info(
            dropped == nil ? "dataset registered" : "dataset replaced", ("name", name),
            ("role", record.role), ("format", format), ("items", record.itemCount),
            ("classes", record.classes.count), ("path", path),
            ("dropped_embeddings", dropped?.embeddings ?? 0),
            ("dropped_captions", dropped?.captions ?? 0),
            ("seconds", String(format: "%.3f", Date().timeIntervalSince(start))))
        return record.info
    }

    /// A read-only view of the dataset with every item, as plugins see it.
    func view(named name: String) throws -> DatasetView {
        if let view = lock.withLock({ views[name] }) { return view }
        _ = try record(named: name)
        let (table, itemsTable) = (table, itemsTable)
        // The record and its items come from one read, so a replacement committed meanwhile
        // is seen whole or not at all.
        let (record, items) = try store.read { txn -> (DatasetRecord?, [DatasetItem]) in
            guard let record = try txn.json(DatasetRecord.self, in: table, at: Key(name)) else {
                return (nil, [])
            }
            let items = try txn.scan(itemsTable, prefix: Key(name)).enumerated().map {
                index, entry in
                let item = try JSONDecoder().decode(DatasetItemRecord.self, from: entry.value)
                return DatasetItem(
                    index: index, path: item.path,
                    absolutePath: Self.absolute(item.path, root: record.root), label: item.label,
                    caption: item.caption)
            }
            return (record, items)
        }
        guard let record else { throw DaemonError.unknownDataset(name: name, known: names()) }
        let view = DatasetView(
            name: name, role: record.role, format: record.format, root: record.root,
            classes: record.classes, items: items)
        // Kept only while the registry still holds this very record.
        lock.withLock { if records[name] == record { views[name] = view } }
        return view
    }

    /// Forgets the dataset: its items, embeddings under every model, caption sets and
    /// retrieval indexes.
    func remove(_ name: String, models: [String]) throws -> RemoveDatasetReply {
        _ = try record(named: name)
        let tables = try storedTables()
        let reply = try store.write { txn in
            try deleteStored(name, models: models, tables: tables, in: txn)
        }
        lock.withLock {
            records[name] = nil
            views[name] = nil
        }
        dropIndexes(name, models: models)
        log.info(
            "dataset removed", ("name", name), ("items", reply.items),
            ("embeddings", reply.embeddings), ("captions", reply.captions))
        return reply
    }

    /// The tables besides its own that hold what is stored for a dataset.
    private struct StoredTables {
        var embeddings, captionSets, captions, evalResults: Table
    }

    /// Opens the tables of `StoredTables`; before a write transaction, since opening a table
    /// takes one of its own.
    private func storedTables() throws -> StoredTables {
        StoredTables(
            embeddings: try store.table(StoreLayout.embeddings),
            captionSets: try store.table(StoreLayout.captionSets),
            captions: try store.table(StoreLayout.captions),
            evalResults: try store.table(StoreLayout.evalResults))
    }

    /// Deletes the dataset's record, items, embeddings under `models`, caption sets, captions
    /// and evaluation results inside `txn`; returns how many of some of them went.
    private func deleteStored(
        _ name: String, models: [String], tables: StoredTables, in txn: WriteTransaction
    ) throws -> RemoveDatasetReply {
        let (embeddings, captionSets, captions) = (
            tables.embeddings, tables.captionSets, tables.captions
        )
        try txn.delete(in: table, at: Key(name))
        let items = try txn.deleteAll(in: itemsTable, prefix: Key(name))
        var vectors = 0
        for model in models {
            for modality in Modality.allCases {
                vectors += try txn.deleteAll(
                    in: embeddings,
                    prefix: StoreLayout.datasetEmbeddingPrefix(
                        model: model, dataset: name, modality: modality.rawValue))
            }
        }
        try txn.deleteAll(in: captionSets, prefix: Key(name))
        let captioned = try txn.deleteAll(in: captions, prefix: Key(name))
        // Results are keyed by subject first; a result of an old snapshot must not be reused.
        let results = try txn.scan(tables.evalResults).filter {
            $0.key.strings?.dropFirst().first == name
        }
        for entry in results { try txn.delete(in: tables.evalResults, at: entry.key) }
        return RemoveDatasetReply(
            items: UInt64(items), embeddings: UInt64(vectors), captions: UInt64(captioned))
    }

    /// Drops the retrieval indexes built over the dataset (in ArfRetrieval's index table). A
    /// failure is logged, not thrown: the dataset is already gone or replaced, and an index
    /// left behind is never used, since its note of the rows it was built from no longer
    /// matches.
    private func dropIndexes(_ name: String, models: [String]) {
        for model in models {
            do {
                try IVFIndex.remove(
                    from: store, name: PluginStoreLayout.ivfIndexName(model: model, pool: name))
            } catch {
                log.warning(
                    "retrieval index not dropped", ("dataset", name), ("model", model),
                    ("reason", "\(error)"))
            }
        }
    }

    /// The item path on disk: absolute paths stay, others are taken from `root`.
    static func absolute(_ path: String, root: String) -> String {
        path.hasPrefix("/") ? path : (root as NSString).appendingPathComponent(path)
    }

    private static func separator(_ name: String, path: String) throws -> Character {
        switch name {
        case "tab": return "\t"
        case "comma": return ","
        case "": return PairListFile.defaultSeparator(for: path)
        default: throw DaemonError.badRequest("separator \(name) is not tab or comma")
        }
    }
}
