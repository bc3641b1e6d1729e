// The daemon's side of ArfPluginAPI's PluginContext, for a plugin running inside a job: it
// reads datasets from the registry, embeds with registered models, and hands out stored
// embeddings, computing those that are missing in batches that it commits together with
// the job's progress (so a caption bank embedded before a crash is not embedded again). The
// built-in plugins also get the store itself (StoreBackedContext). It also maps plugin errors
// onto wire statuses.
import ArfPluginAPI
import ArfPluginAdapters
import ArfPlugins
import ArfStore
import ArfSupport
import ArfWire
import Foundation

/// A plugin's view of the daemon during one job.
final class JobPluginContext: StoreBackedContext {
    let model: String
    private let job: JobContext
    private let datasets: DatasetRegistry
    private let embedder: DatasetEmbedder
    private let batch: Int

    init(job: JobContext, model: String, datasets: DatasetRegistry, batch: Int) throws {
        self.job = job
        self.model = model
        self.datasets = datasets
        self.batch = batch
        embedder = try DatasetEmbedder(store: job.store)
    }

    var store: Store { job.store }

    func dataset(named name: String) throws -> DatasetView {
        try datasets.view(named: name)
    }

    func datasetNames(role: String?) throws -> [String] {
        datasets.names(role: role)
    }

    func embed(texts: [String], model: String) throws -> [[Float]] {
        try job.models.pipeline(named: model).embed(texts: texts)
    }

    func embed(imagePaths: [String], model: String) throws -> [[Float]] {
        let pipeline = try job.models.pipeline(named: model)
        let urls = imagePaths.map { URL(fileURLWithPath: $0) }
        let rows = try EmbedFolderJob.pixelRows(urls, pipeline.preprocessor).map { try $0.get() }
        return try pipeline.embed(pixelRows: rows)
    }

    func embeddings(dataset name: String, modality: Modality, items: [Int]?, model: String)
        throws -> [[Float]?]
    {
        let view = try datasets.view(named: name)
        let wanted = items ?? Array(view.items.indices)
        if let bad = wanted.first(where: { !view.items.indices.contains($0) }) {
            throw DaemonError.badRequest(
                "dataset \(name) has no item \(bad); it has \(view.items.count)")
        }
        let missing = try embedder.missing(
            model: model, dataset: name, modality: modality, items: wanted)
        if !missing.isEmpty {
            try embedMissing(missing, of: view, modality: modality, model: model)
        }
        return try embedder.read(model: model, dataset: name, modality: modality, items: wanted)
    }

    func log(_ message: String, _ fields: [(String, String)]) {
        Logger.shared.log(.info, message, [("job", job.id)] + fields.map { ($0.0, $0.1) })
    }

    func checkStop() throws { try job.checkStop() }

    /// Embeds and stores `items` in batches, each committed with an unchanged job step and a
    /// message saying what is being embedded.
    private func embedMissing(
        _ items: [Int], of view: DatasetView, modality: Modality,
        model: String
    ) throws {
        let pipeline = try job.models.pipeline(named: model)
        let table = embedder.table
        var done = 0
        for first in stride(from: 0, to: items.count, by: batch) {
            try job.checkStop()
            let chunk = Array(items[first..<min(first + batch, items.count)])
            let embedded = try embedder.embed(
                chunk, of: view, modality: modality, model: model, pipeline: pipeline)
            for (index, reason) in embedded.failures {
                job.note("cannot embed \(view.items[index].path) of \(view.name): \(reason)")
            }
            done += chunk.count
            try job.report(
                step: job.record.step, total: job.record.total,
                message: "embedding \(modality.rawValue)s of \(view.name) with \(model): "
                    + "\(done) of \(items.count)"
            ) { txn in try embedded.write(txn, table) }
        }
    }
}

extension PluginAPIError: StatusConvertible {
    public var callStatus: CallStatus {
        switch self {
        case .unknownOption, .missingOption, .badOptionValue, .badOptionsJSON:
            CallStatus(.invalidArgument, description, hint: "see arf plugins list")
        case .badInput:
            CallStatus(.failedPrecondition, description)
        case .failed:
            CallStatus(.internal, description)
        }
    }
}

extension PluginError: StatusConvertible {
    public var callStatus: CallStatus {
        switch self {
        case .folderNotFound, .notAFolder, .folderUnreadable:
            CallStatus(.invalidArgument, description, hint: "give a folder of plugin libraries")
        case .refused:
            CallStatus(.failedPrecondition, description)
        case .unknownPlugin:
            CallStatus(.notFound, description, hint: "see arf plugins list")
        }
    }
}
