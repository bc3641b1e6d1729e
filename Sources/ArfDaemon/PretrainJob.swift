// The pretrain job: CLIP pretraining from scratch (ArfTraining's Pretrainer) on a pair list or
// a registered pool dataset, into an output folder that becomes an ordinary checkpoint. Every
// step is reported with its loss and learning rate; the pretrainer saves its state at its
// checkpoint interval, so a stopped or crashed job resumes from there to the same weights.
//
// Parameters (JSON): "out" (absolute folder), one of "pairs" (an absolute path to a CSV or TSV
// list with filepath and caption columns) or "dataset" (a registered pair list, read as the
// store holds it, so the column names it was registered with need not be repeated), optional
// "config" (PretrainConfig fields; the rest keep their defaults) and "register" (a model name
// to register the result as).
import ArfStore
import ArfSupport
import ArfTraining
import Foundation

/// The parameters of a pretrain job.
struct PretrainParams: Codable, Equatable {
    var out: String
    var pairs: String?
    var dataset: String?
    var config: PretrainConfig?
    var register: String?
}

/// What a pretrain job returns.
struct PretrainResult: Codable, Equatable {
    var out: String
    var steps: Int
    var seconds: Double
    var finalLoss: Double?
    var model: String?

    enum CodingKeys: String, CodingKey {
        case out, steps, seconds, model
        case finalLoss = "final_loss"
    }
}

/// Pretrains a CLIP model from scratch on image-caption pairs.
struct PretrainJob: JobKind {
    let name = "pretrain"
    let context: TrainingContext

    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String {
        var params = try Self.decode(paramsJSON, kind: name)
        guard params.out.hasPrefix("/") else {
            throw DaemonError.badJobParams(
                kind: name, reason: "out \(params.out) is not an absolute path")
        }
        params.out = URL(fileURLWithPath: params.out).standardizedFileURL.path
        switch (params.pairs, params.dataset) {
        case (let pairs?, nil):
            guard pairs.hasPrefix("/") else {
                throw DaemonError.badJobParams(
                    kind: name, reason: "pairs \(pairs) is not an absolute path")
            }
            params.pairs = URL(fileURLWithPath: pairs).standardizedFileURL.path
        case (nil, let dataset?):
            let record = try context.datasets.record(named: dataset)
            guard record.format == "pairs" else {
                throw DaemonError.badJobParams(
                    kind: name, reason: "dataset \(dataset) is an image folder, not a pair list")
            }
        default:
            throw DaemonError.badJobParams(kind: name, reason: "give one of pairs or dataset")
        }
        if let model = params.register {
            try ModelRegistry.check(name: model)
        }
        let config = params.config ?? PretrainConfig()
        params.config = config
        // Reading the pairs and checking the configuration now refuses a bad job at once.
        _ = try pretrainer(params, config: config)
        return try JobParams.encode(params)
    }

    /// A pretrainer over the job's pairs: the list file's, or the registered dataset's.
    private func pretrainer(_ params: PretrainParams, config: PretrainConfig) throws
        -> Pretrainer
    {
        let out = URL(fileURLWithPath: params.out)
        if let dataset = params.dataset {
            let pairs = try context.datasets.view(named: dataset).items.map {
                (file: URL(fileURLWithPath: $0.absolutePath), caption: $0.caption ?? "")
            }
            return try Pretrainer(config: config, pairs: pairs, output: out)
        }
        return try Pretrainer(
            config: config, pairList: URL(fileURLWithPath: params.pairs ?? ""), output: out)
    }

    /// Decodes the parameters, filling configuration fields left out with their defaults.
    static func decode(_ json: String, kind: String) throws -> PretrainParams {
        guard let data = json.data(using: .utf8),
            var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { throw DaemonError.badJobParams(kind: kind, reason: "not a JSON object") }
        if let given = object["config"] {
            guard let fields = given as? [String: Any] else {
                throw DaemonError.badJobParams(kind: kind, reason: "config must be an object")
            }
            let defaults =
                try JSONSerialization.jsonObject(
                    with: JSONEncoder().encode(PretrainConfig())) as? [String: Any] ?? [:]
            if let unknown = Set(fields.keys).subtracting(defaults.keys).sorted().first {
                throw DaemonError.badJobParams(
                    kind: kind,
                    reason: "config has no field \(unknown); fields: "
                        + defaults.keys.sorted().joined(separator: ", "))
            }
            object["config"] = defaults.merging(fields) { _, given in given }
        }
        let normalised = try JSONSerialization.data(withJSONObject: object)
        return try JobParams.decode(
            PretrainParams.self, String(decoding: normalised, as: UTF8.self), kind: kind)
    }

    func run(_ job: JobContext) throws -> String {
        let params = try Self.decode(job.paramsJSON, kind: name)
        let config = params.config ?? PretrainConfig()
        let out = URL(fileURLWithPath: params.out)
        let started = Date()
        let pretrainer = try pretrainer(params, config: config)
        try job.report(
            step: job.record.step, total: UInt64(config.steps),
            message: "reading the pairs of \(params.dataset ?? params.pairs ?? "")")

        var interruption: Error?
        var firstStep: Int?
        var finalLoss: Double?
        var stepStart = Date()
        _ = try pretrainer.run(
            shouldStop: {
                if interruption != nil { return true }
                do { try job.checkStop() } catch { interruption = error }
                return interruption != nil
            },
            onStep: { metrics in
                if firstStep == nil {
                    firstStep = metrics.step - 1
                    stepStart = Date(timeIntervalSinceNow: -metrics.milliseconds / 1000)
                }
                let done = metrics.step - (firstStep ?? 0)
                let perStep = Date().timeIntervalSince(stepStart) / Double(max(1, done))
                finalLoss = Double(metrics.loss)
                do {
                    try job.report(
                        step: UInt64(metrics.step), total: UInt64(metrics.totalSteps),
                        rate: metrics.pairsPerSecond,
                        etaSeconds: perStep * Double(metrics.totalSteps - metrics.step),
                        loss: Double(metrics.loss), learningRate: Double(metrics.learningRate),
                        message: metrics.step == (firstStep ?? 0) + 1 ? "pretraining" : nil)
                } catch {
                    interruption = error
                }
            })
        if let interruption { throw interruption }
        try job.report(step: UInt64(config.steps), total: UInt64(config.steps))

        if let model = params.register {
            _ = try context.models.register(name: model, directory: out.path, replace: true)
        }
        let seconds = Date().timeIntervalSince(started)
        job.finish(
            message: "pretrained \(config.steps) steps into \(out.path)"
                + (params.register.map { ", registered as model \($0)" } ?? ""))
        return try JobParams.encode(
            PretrainResult(
                out: out.path, steps: config.steps, seconds: seconds, finalLoss: finalLoss,
                model: params.register))
    }
}
