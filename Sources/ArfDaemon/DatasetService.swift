// The wire side of datasets, anchors and plugins: the arf.v1.Datasets, arf.v1.Anchors and
// arf.v1.Plugins handlers, and the job kinds that work on datasets. Everything here reads the
// registries; the work itself happens in the registry and in jobs.
import ArfPluginAPI
import ArfPlugins
import ArfStore
import ArfSupport
import ArfWire
import Foundation

/// Serves datasets, anchors and plugins.
final class DatasetService: @unchecked Sendable {
    static let defaultPage = 1_000
    static let maxPage = 10_000
    /// Job parameters that name a dataset.
    static let datasetKeys = ["dataset", "pool", "finetune", "bank"]

    let datasets: DatasetRegistry
    let plugins: PluginCatalog
    private let models: ModelRegistry
    private let store: Store

    init(datasets: DatasetRegistry, plugins: PluginCatalog, models: ModelRegistry, store: Store) {
        self.datasets = datasets
        self.plugins = plugins
        self.models = models
        self.store = store
    }

    /// The job kinds that work on datasets.
    var jobKinds: [JobKind] {
        [
            EmbedJob(datasets: datasets), CaptionJob(datasets: datasets, plugins: plugins),
            RetrieveJob(datasets: datasets, plugins: plugins),
        ]
    }

    /// Adds the handlers of the datasets, anchors and plugins methods.
    func register(_ handlers: inout WireHandlers, jobs: JobManager) {
        handlers.unary(Methods.addDataset) { [self] request, _ in
            try mappingErrors {
                guard request.replace else {
                    return AddDatasetReply(dataset: try datasets.add(request))
                }
                return try jobs.withoutSubmissions {
                    if let job = Self.job(using: request.name, in: jobs.list()) {
                        throw DaemonError.inUse(what: "dataset \(request.name)", job: job)
                    }
                    return AddDatasetReply(
                        dataset: try datasets.add(request, models: models.names))
                }
            }
        }
        handlers.unary(Methods.listDatasets) { [self] _, _ in
            ListDatasetsReply(datasets: datasets.infos())
        }
        handlers.unary(Methods.showDataset) { [self] request, _ in
            try mappingErrors { try show(request) }
        }
        handlers.unary(Methods.removeDataset) { [self] request, _ in
            try mappingErrors {
                _ = try datasets.record(named: request.name)
                return try jobs.withoutSubmissions {
                    if let job = Self.job(using: request.name, in: jobs.list()) {
                        throw DaemonError.inUse(what: "dataset \(request.name)", job: job)
                    }
                    return try datasets.remove(request.name, models: models.names)
                }
            }
        }
        handlers.unary(Methods.listDatasetEmbeddings) { [self] request, _ in
            try mappingErrors { try embeddings(request) }
        }
        handlers.unary(Methods.showAnchors) { [self] request, _ in
            try mappingErrors {
                try AnchorQueries(store: store, datasets: datasets).show(request)
            }
        }
        handlers.unary(Methods.listPlugins) { [self] _, _ in listPlugins() }
    }

    func show(_ request: ShowDatasetRequest) throws -> ShowDatasetReply {
        let record = try datasets.record(named: request.name)
        let name = record.name
        let itemsTable = try store.table(StoreLayout.datasetItems)
        let count = min(Int(request.sample), record.itemCount)
        let picks = (0..<count).map { $0 * record.itemCount / max(count, 1) }
        let sample = try store.read { txn in
            try picks.compactMap { index -> DatasetItemInfo? in
                guard
                    let item = try txn.json(
                        DatasetItemRecord.self, in: itemsTable,
                        at: StoreLayout.datasetItemKey(name, index))
                else { return nil }
                return DatasetItemInfo(
                    index: UInt64(index), path: item.path,
                    className: item.label.map { record.classes[$0] } ?? "",
                    caption: item.caption ?? "")
            }
        }
        let embedder = try DatasetEmbedder(store: store)
        var counts: [StoredEmbeddingCount] = []
        for model in models.names {
            for modality in Modality.allCases {
                let stored = try embedder.count(model: model, dataset: name, modality: modality)
                if stored > 0 {
                    counts.append(
                        StoredEmbeddingCount(
                            model: model, modality: modality.rawValue, count: UInt64(stored)))
                }
            }
        }
        return ShowDatasetReply(
            dataset: record.info, sample: sample, embeddings: counts,
            captionSets: try AnchorQueries(store: store, datasets: datasets).captionSets(of: name),
            classCounts: record.classCounts.map { UInt64($0) })
    }

    func embeddings(_ request: ListDatasetEmbeddingsRequest) throws
        -> ListDatasetEmbeddingsReply
    {
        let record = try datasets.record(named: request.name)
        guard models.contains(request.model) else {
            throw DaemonError.unknownModel(name: request.model, known: models.names)
        }
        guard
            let modality = Modality(rawValue: request.modality.isEmpty ? "image" : request.modality)
        else { throw DaemonError.badRequest("modality \(request.modality) is not image or text") }
        let limit = request.limit == 0 ? Self.defaultPage : min(Int(request.limit), Self.maxPage)
        let embedder = try DatasetEmbedder(store: store)
        let itemsTable = try store.table(StoreLayout.datasetItems)
        let table = embedder.table
        let prefix = StoreLayout.datasetEmbeddingPrefix(
            model: request.model, dataset: record.name, modality: modality.rawValue)
        // The prefix ends with a string's 0 byte; replacing it with 1 bounds every key under it.
        let upper = Key(bytes: prefix.bytes.dropLast() + [1])
        let lower = prefix.appending(request.start)
        return try store.read { txn in
            var reply = ListDatasetEmbeddingsReply(
                total: UInt64(try txn.count(table, prefix: prefix)))
            for entry in try txn.scan(table, from: lower, to: upper) {
                if reply.embeddings.count == limit { break }
                var reader = entry.key.reader()
                for _ in 0..<4 { _ = reader.readString() }
                guard let index = reader.readUInt64() else { continue }
                let item = try txn.json(
                    DatasetItemRecord.self, in: itemsTable,
                    at: StoreLayout.datasetItemKey(record.name, Int(index)))
                reply.indices.append(index)
                reply.embeddings.append(
                    Embedding(
                        kind: modality == .image ? .image : .text,
                        input: (modality == .image ? item?.path : item?.caption) ?? "",
                        values: Inference.floats(entry.value)))
            }
            return reply
        }
    }

    func listPlugins() -> ListPluginsReply {
        ListPluginsReply(
            plugins: plugins.entries.map { entry in
                PluginInfo(
                    kind: entry.kind.rawValue, name: entry.name, version: entry.version,
                    source: entry.source, summary: entry.summary,
                    options: entry.options.map {
                        PluginOption(
                            name: $0.name, type: $0.type.rawValue,
                            defaultValue: $0.defaultValue ?? "", required: $0.defaultValue == nil,
                            help: $0.help, choices: $0.choices)
                    })
            },
            refused: plugins.refusals.map { PluginRefusalInfo(path: $0.path, reason: $0.reason) })
    }

    /// The id of a job that has not ended and whose parameters name the dataset.
    static func job(using dataset: String, in jobs: [JobInfo]) -> String? {
        liveJob(naming: dataset, under: datasetKeys + ["datasets"], in: jobs)
    }
}
