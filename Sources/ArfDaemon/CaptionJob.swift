// The caption job: a captioner plugin writes captions for a registered dataset's images, a
// batch at a time; each batch's captions are committed with the job's step. Captions belong
// to a caption set named after the captioner and a hash of the model and resolved options,
// so running the same captioner with the same options again (or resuming after a crash)
// skips the images already captioned, while other options make a set of their own. An image
// the captioner cannot caption is noted and left out (a later run tries it again); a
// captioner that throws fails the job with its message.
//
// Parameters (JSON): "dataset", "captioner", optional "model" (needed by captioners that
// embed), "options" (an object of the captioner's options) and "batch" (images per commit).
import ArfPluginAPI
import ArfPlugins
import ArfStore
import ArfSupport
import Foundation

/// The parameters of a caption job.
struct CaptionParams: Codable, Equatable {
    var dataset: String
    var captioner: String
    var model: String?
    /// Kept as the canonical JSON text of the resolved options.
    var options: String?
    var batch: Int?
}

/// A caption set as the store keeps it.
struct CaptionSetRecord: Codable, Equatable {
    var id: String
    var dataset: String
    var captioner: String
    var version: String
    var source: String
    var model: String
    var options: String
    var createdUnix: Double
}

/// The captions of one image as the store keeps them.
struct CaptionRecord: Codable, Equatable {
    var captions: [Caption]
}

/// What a caption run did, returned as the job's result.
struct CaptionResult: Codable, Equatable {
    var dataset: String
    var captioner: String
    var captionSet: String
    var total: Int
    var captioned: Int
    var skipped: Int
    var failed: Int
    var failures: [EmbedFolderResult.Failure]
    var seconds: Double

    enum CodingKeys: String, CodingKey {
        case dataset, captioner, total, captioned, skipped, failed, failures, seconds
        case captionSet = "caption_set"
    }
}

/// Captions a registered dataset with a captioner plugin.
struct CaptionJob: JobKind {
    let name = "caption"
    let datasets: DatasetRegistry
    let plugins: PluginCatalog

    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String {
        var params = try decode(paramsJSON)
        _ = try datasets.record(named: params.dataset)
        let model = params.model ?? ""
        if !model.isEmpty, !models.contains(model) {
            throw DaemonError.unknownModel(name: model, known: models.names)
        }
        // Building the captioner checks its options now rather than when the job runs.
        let entry = try plugins.entry(.captioner, named: params.captioner)
        let options = try PluginOptions(
            json: params.options ?? "", schema: entry.options, plugin: entry.name)
        _ = try plugins.captioner(named: entry.name, optionsJSON: options.canonicalJSON)
        params.model = model
        params.options = options.canonicalJSON
        params.batch = try JobParams.batch(params.batch, kind: name)
        return try JobParams.encode(params)
    }

    func run(_ job: JobContext) throws -> String {
        let params = try decode(job.paramsJSON)
        let model = params.model ?? ""
        let options = params.options ?? "{}"
        let entry = try plugins.entry(.captioner, named: params.captioner)
        let captioner = try plugins.captioner(named: entry.name, optionsJSON: options)
        let view = try datasets.view(named: params.dataset)
        let batchSize = params.batch ?? EmbedFolderParams.defaultBatch
        let context = try JobPluginContext(
            job: job, model: model, datasets: datasets, batch: batchSize)
        let setID = Self.setID(captioner: entry.name, model: model, options: options)
        let (setsTable, captionsTable) = (
            try job.store.table(StoreLayout.captionSets), try job.store.table(StoreLayout.captions)
        )

        // The set is recorded first, so that its captions always have provenance.
        let set = CaptionSetRecord(
            id: setID, dataset: view.name, captioner: entry.name, version: entry.version,
            source: entry.source, model: model, options: options,
            createdUnix: Date().timeIntervalSince1970)
        try job.store.write { txn in
            try txn.putJSON(set, in: setsTable, at: Key(view.name, setID), overwrite: false)
        }
        let pending = try job.store.read { txn in
            try view.items.indices.filter {
                !(try txn.contains(
                    in: captionsTable,
                    at: StoreLayout.captionKey(dataset: view.name, set: setID, item: $0)))
            }
        }
        let total = view.items.count
        let skipped = total - pending.count
        var step = UInt64(skipped)
        var captioned = 0
        var failed = 0
        var failures: [EmbedFolderResult.Failure] = []
        let start = Date()
        log.info(
            "captioning", ("job", job.id), ("dataset", view.name), ("captioner", entry.name),
            ("set", setID), ("pending", pending.count), ("options", options))
        try job.report(
            step: step, total: UInt64(total),
            message: "captioning \(pending.count) images of \(view.name) with \(entry.name)")

        for first in stride(from: 0, to: pending.count, by: batchSize) {
            try job.checkStop()
            let items = pending[first..<min(first + batchSize, pending.count)].map {
                view.items[$0]
            }
            let outcomes = try captioner.caption(
                CaptionRequest(dataset: view, items: items), context: context)
            guard outcomes.count == items.count else {
                throw PluginAPIError.failed(
                    plugin: entry.name,
                    reason: "it answered \(outcomes.count) outcomes for \(items.count) images")
            }
            var writes: [(Key, CaptionRecord)] = []
            for (item, outcome) in zip(items, outcomes) {
                switch outcome {
                case .captions(let captions) where !captions.isEmpty:
                    writes.append(
                        (
                            StoreLayout.captionKey(
                                dataset: view.name, set: setID, item: item.index),
                            CaptionRecord(captions: captions)
                        ))
                case .captions:
                    failed += 1
                    Self.remember(&failures, item.path, "the captioner gave no caption")
                    job.note("no caption for \(item.path): the captioner gave none")
                case .failed(let reason):
                    failed += 1
                    Self.remember(&failures, item.path, reason)
                    job.note("no caption for \(item.path): \(reason)")
                }
            }
            captioned += writes.count
            step += UInt64(items.count)
            let rate = Double(step - UInt64(skipped)) / max(Date().timeIntervalSince(start), 1e-6)
            try job.report(
                step: step, total: UInt64(total), rate: rate,
                etaSeconds: rate > 0 ? Double(UInt64(total) - step) / rate : 0,
                message: "captioning \(view.name) with \(entry.name)"
            ) { txn in
                for (key, record) in writes {
                    try txn.putJSON(record, in: captionsTable, at: key)
                }
            }
        }

        job.finish(
            message: "captioned \(captioned) images of \(view.name) with \(entry.name) (set "
                + "\(setID)), \(skipped) already captioned, \(failed) failed")
        return try JobParams.encode(
            CaptionResult(
                dataset: view.name, captioner: entry.name, captionSet: setID, total: total,
                captioned: captioned, skipped: skipped, failed: failed, failures: failures,
                seconds: Date().timeIntervalSince(start)))
    }

    /// "captioner-hash": stable for one captioner, model and options.
    static func setID(captioner: String, model: String, options: String) -> String {
        // FNV-1a over the parts; collisions only merge sets of one captioner.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (model + "\n" + options).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return captioner + "-" + String(String(hash, radix: 16).suffix(8))
    }

    private static func remember(
        _ failures: inout [EmbedFolderResult.Failure], _ path: String, _ reason: String
    ) {
        if failures.count < EmbedFolderResult.maxFailuresListed {
            failures.append(.init(path: path, error: reason))
        }
    }

    private func decode(_ json: String) throws -> CaptionParams {
        try JobParams.decode(
            CaptionParams.self, try JobParams.optionsAsText(json, kind: name), kind: name)
    }
}
