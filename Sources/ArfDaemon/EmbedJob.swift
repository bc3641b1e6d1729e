// The embed job: a registered dataset's images, and for a pair list also its captions, go
// through a model's towers and the normalised embeddings are stored per (model, dataset,
// tower, item). It is embed-folder generalised to datasets: each batch is one transaction
// with the job's step, so an interrupted job resumes by skipping what is stored, and an image
// that does not decode is noted and skipped (and tried again by the next run).
//
// Parameters (JSON): "model", "dataset", optional "modality" (image, text or both; both for a
// pair list and image for a folder by default), "batch" (items per commit, 32) and "max_rate"
// (items per second, 0 for no limit).
import ArfPluginAPI
import ArfStore
import ArfSupport
import Foundation

/// The parameters of an embed job.
struct EmbedParams: Codable, Equatable {
    var model: String
    var dataset: String
    var modality: String?
    var batch: Int?
    var maxRate: Double?

    enum CodingKeys: String, CodingKey {
        case model, dataset, modality, batch
        case maxRate = "max_rate"
    }

    var modalities: [Modality] {
        switch modality {
        case "text": [.text]
        case "both": [.image, .text]
        default: [.image]
        }
    }
}

/// What an embed run did, returned as the job's result.
struct EmbedResult: Codable, Equatable {
    var model: String
    var dataset: String
    var modality: String
    /// Items times towers.
    var total: Int
    var embedded: Int
    var skipped: Int
    var failed: Int
    var failures: [EmbedFolderResult.Failure]
    var seconds: Double
    var itemsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case model, dataset, modality, total, embedded, skipped, failed, failures, seconds
        case itemsPerSecond = "items_per_second"
    }
}

/// Embeds a registered dataset with a registered model and stores the vectors.
struct EmbedJob: JobKind {
    let name = "embed"
    let datasets: DatasetRegistry

    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String {
        var params = try JobParams.decode(EmbedParams.self, paramsJSON, kind: name)
        guard models.contains(params.model) else {
            throw DaemonError.unknownModel(name: params.model, known: models.names)
        }
        let record = try datasets.record(named: params.dataset)
        let modality = params.modality ?? (record.format == "pairs" ? "both" : "image")
        guard ["image", "text", "both"].contains(modality) else {
            throw DaemonError.badJobParams(
                kind: name, reason: "modality \(modality) is not image, text or both")
        }
        if modality != "image", record.format != "pairs" {
            throw DaemonError.badJobParams(
                kind: name, reason: "dataset \(record.name) is an image folder: it has no captions")
        }
        params.modality = modality
        params.batch = try JobParams.batch(params.batch, kind: name)
        params.maxRate = try JobParams.rate(params.maxRate, kind: name)
        return try JobParams.encode(params)
    }

    func run(_ job: JobContext) throws -> String {
        let params = try JobParams.decode(EmbedParams.self, job.paramsJSON, kind: name)
        let pipeline = try job.models.pipeline(named: params.model)
        let view = try datasets.view(named: params.dataset)
        let embedder = try DatasetEmbedder(store: job.store)
        let everything = Array(view.items.indices)
        let pending = try params.modalities.map {
            (
                $0,
                try embedder.missing(
                    model: params.model, dataset: view.name, modality: $0, items: everything)
            )
        }
        let total = view.items.count * params.modalities.count
        let skipped = total - pending.reduce(0) { $0 + $1.1.count }
        var step = UInt64(skipped)
        var embedded = 0
        var failures: [EmbedFolderResult.Failure] = []
        var failed = 0
        let start = Date()
        try job.report(
            step: step, total: UInt64(total),
            message: skipped > 0
                ? "\(skipped) of \(total) embeddings already stored; embedding the rest"
                : "embedding \(total) items of \(view.name)")

        let batchSize = params.batch ?? EmbedFolderParams.defaultBatch
        for (modality, items) in pending {
            for first in stride(from: 0, to: items.count, by: batchSize) {
                try job.checkStop()
                let chunk = Array(items[first..<min(first + batchSize, items.count)])
                let batch = try embedder.embed(
                    chunk, of: view, modality: modality, model: params.model, pipeline: pipeline)
                for (index, reason) in batch.failures {
                    failed += 1
                    if failures.count < EmbedFolderResult.maxFailuresListed {
                        failures.append(.init(path: view.items[index].path, error: reason))
                    }
                    job.note("skipped \(view.items[index].path): \(reason)")
                }
                embedded += batch.vectors.count
                step += UInt64(chunk.count)
                let rate = Double(embedded) / max(Date().timeIntervalSince(start), 1e-6)
                let left = Double(UInt64(total) - step)
                let table = embedder.table
                try job.report(
                    step: step, total: UInt64(total), rate: rate,
                    etaSeconds: rate > 0 ? left / rate : 0
                ) { txn in try batch.write(txn, table) }
                try EmbedFolderJob.pace(
                    embedded: embedded, since: start, maxRate: params.maxRate ?? 0, job)
            }
        }

        let seconds = Date().timeIntervalSince(start)
        job.finish(
            message: "embedded \(embedded) items of \(view.name), \(skipped) already stored, "
                + "\(failed) skipped as unreadable")
        return try JobParams.encode(
            EmbedResult(
                model: params.model, dataset: view.name, modality: params.modality ?? "image",
                total: total, embedded: embedded, skipped: skipped, failed: failed,
                failures: failures, seconds: seconds,
                itemsPerSecond: seconds > 0 ? Double(embedded) / seconds : 0))
    }
}

/// Decoding, checking and encoding of job parameters, shared by the dataset job kinds.
enum JobParams {
    static func decode<T: Decodable>(_ type: T.Type, _ json: String, kind: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(json.utf8))
        } catch DecodingError.keyNotFound(let key, _) {
            throw DaemonError.badJobParams(kind: kind, reason: "\(key.stringValue) is missing")
        } catch {
            throw DaemonError.badJobParams(kind: kind, reason: "not the expected JSON: \(error)")
        }
    }

    /// Parameters with their "options" object, which clients send as JSON, turned into the
    /// JSON text that jobs keep (a plugin's options are parsed against its schema later).
    static func optionsAsText(_ json: String, kind: String) throws -> String {
        guard
            var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8)))
                as? [String: Any]
        else { throw DaemonError.badJobParams(kind: kind, reason: "not a JSON object") }
        if let options = object["options"], !(options is String) {
            guard options is [String: Any], JSONSerialization.isValidJSONObject(options) else {
                throw DaemonError.badJobParams(kind: kind, reason: "options must be an object")
            }
            let encoded = try JSONSerialization.data(withJSONObject: options)
            object["options"] = String(decoding: encoded, as: UTF8.self)
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func batch(_ value: Int?, kind: String) throws -> Int {
        let batch = value ?? EmbedFolderParams.defaultBatch
        guard (1...1024).contains(batch) else {
            throw DaemonError.badJobParams(kind: kind, reason: "batch \(batch) is not 1 to 1024")
        }
        return batch
    }

    static func rate(_ value: Double?, kind: String) throws -> Double {
        let rate = value ?? 0
        guard rate.isFinite, rate >= 0 else {
            throw DaemonError.badJobParams(kind: kind, reason: "max_rate \(rate) is negative")
        }
        return rate
    }
}
