// The wise job: WiSE-FT between a zero-shot and a finetuned model of one architecture. Each
// weight α strictly between the ends gets an interpolated checkpoint under
// wise/<finetuned>/alpha-<α> in the data folder, evaluated as the subject "<finetuned>+wise<α>";
// α = 1 is the finetuned model itself and α = 0 (without a ce head) the zero-shot one, so
// their results are shared with plain evaluations of those models. Every point is evaluated
// on the datasets as the eval job does, and the curve is stored for the results page.
//
// Parameters (JSON): "zeroshot", "finetuned" (registered models), optional "alphas" (default
// 0, 0.25, 0.5, 0.75, 1), "datasets", "roles", "templates", "force" (as for eval) and
// "register" (register each interpolated point as a model named after its subject).
import ArfCLIP
import ArfStore
import ArfSupport
import ArfTraining
import Foundation

/// The parameters of a wise job.
struct WiseParams: Codable, Equatable {
    var zeroshot: String
    var finetuned: String
    var alphas: [Double]?
    var datasets: [String]?
    var roles: [String]?
    var templates: [String]?
    var force: Bool?
    var register: Bool?

    static let defaultAlphas = [0, 0.25, 0.5, 0.75, 1]
}

/// What a wise job returns: each point with its results.
struct WiseResult: Codable, Equatable {
    struct Point: Codable, Equatable {
        var alpha: Double
        var model: String
        var checkpoint: String
        var results: [EvalSummary]
    }

    var zeroshot: String
    var finetuned: String
    var points: [Point]
    var seconds: Double
}

/// Interpolates two models and evaluates every point.
struct WiseJob: JobKind {
    let name = "wise"
    let context: TrainingContext

    /// The subject of an interpolated point: "ft-s0+wise0.25".
    static func subject(finetuned: String, alpha: Double) -> String {
        "\(finetuned)+wise\(alphaText(alpha))"
    }

    /// α written as briefly as it reads: 0, 0.25, 1.
    static func alphaText(_ alpha: Double) -> String {
        alpha == alpha.rounded() && abs(alpha) < 1e15
            ? String(Int64(alpha)) : String(alpha)
    }

    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String {
        var params = try JobParams.decode(WiseParams.self, paramsJSON, kind: name)
        for model in [params.zeroshot, params.finetuned] where !models.contains(model) {
            throw DaemonError.unknownModel(name: model, known: models.names)
        }
        guard params.zeroshot != params.finetuned else {
            throw DaemonError.badJobParams(kind: name, reason: "the two models are the same")
        }
        let infos = models.infos()
        let shapes = [params.zeroshot, params.finetuned].map { model in
            infos.first { $0.name == model }?.architecture
        }
        guard shapes[0] == shapes[1] else {
            throw DaemonError.badJobParams(
                kind: name,
                reason: "\(params.zeroshot) and \(params.finetuned) have different "
                    + "architectures; WiSE-FT mixes weights of one architecture")
        }
        try checkFolderName(params.finetuned, what: "model name", kind: name)
        var alphas: [Double] = []
        for alpha in params.alphas ?? WiseParams.defaultAlphas where !alphas.contains(alpha) {
            guard alpha.isFinite else { throw TrainingError.badAlpha(alpha) }
            alphas.append(alpha)
        }
        guard !alphas.isEmpty else {
            throw DaemonError.badJobParams(kind: name, reason: "alphas must not be empty")
        }
        params.alphas = alphas
        let names = params.datasets ?? []
        let roles = params.roles ?? (names.isEmpty ? EvalParams.evaluationRoles : [])
        params.datasets = try context.evaluationDatasets(names: names, roles: roles, kind: name)
        params.roles = roles
        params.templates = try EvalJob(context: context).templates(
            params.templates, model: params.finetuned, kind: name)
        params.force = params.force ?? false
        params.register = params.register ?? false
        return try JobParams.encode(params)
    }

    func run(_ job: JobContext) throws -> String {
        let params = try JobParams.decode(WiseParams.self, job.paramsJSON, kind: name)
        let started = Date()
        let alphas = params.alphas ?? WiseParams.defaultAlphas
        let datasets = params.datasets ?? []
        let templates = params.templates ?? FinetuneConfig.defaultTemplates
        let zeroCheckpoint = try context.checkpoint(ofModel: params.zeroshot)
        let tunedCheckpoint = try context.checkpoint(ofModel: params.finetuned)
        let folder = context.folder("wise", params.finetuned)
        let hasHead = FileManager.default.fileExists(
            atPath: (tunedCheckpoint as NSString).appendingPathComponent(ClassifierHead.fileName))

        // Points made from other endpoints are stale: made again and evaluated again.
        let previous = try context.wiseRecord(finetuned: params.finetuned)
        let stale =
            previous.map {
                $0.finetunedCheckpoint != tunedCheckpoint || $0.zeroshotCheckpoint != zeroCheckpoint
            } ?? false
        if stale { try? FileManager.default.removeItem(at: folder) }

        var points: [WiseRecord.Point] = []
        for alpha in alphas {
            if alpha == 1 {
                points.append(
                    .init(alpha: 1, subject: params.finetuned, checkpoint: tunedCheckpoint))
            } else if alpha == 0, !hasHead {
                points.append(.init(alpha: 0, subject: params.zeroshot, checkpoint: zeroCheckpoint))
            } else {
                let path = folder.appendingPathComponent("alpha-\(alpha)").path
                points.append(
                    .init(
                        alpha: alpha,
                        subject: Self.subject(finetuned: params.finetuned, alpha: alpha),
                        checkpoint: path))
            }
        }

        let total = UInt64(points.count * datasets.count)
        let missing = points.filter { point in
            let weights = (point.checkpoint as NSString).appendingPathComponent("model.safetensors")
            return point.checkpoint.hasPrefix(folder.path)
                && !FileManager.default.fileExists(atPath: weights)
        }.map(\.alpha)
        if !missing.isEmpty {
            try job.report(
                step: 0, total: total,
                message: "interpolating \(params.zeroshot) and \(params.finetuned) at α "
                    + missing.map(Self.alphaText).joined(separator: ", "))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            _ = try WiseFT.interpolate(
                zeroShot: URL(fileURLWithPath: zeroCheckpoint),
                finetuned: URL(fileURLWithPath: tunedCheckpoint), alphas: missing, output: folder)
        }
        let record = WiseRecord(
            finetuned: params.finetuned, zeroshot: params.zeroshot,
            finetunedCheckpoint: tunedCheckpoint, zeroshotCheckpoint: zeroCheckpoint,
            points: points, createdUnix: Date().timeIntervalSince1970)
        let table = try context.store.table(StoreLayout.wiseCurves)
        try context.store.write { txn in
            try txn.putJSON(record, in: table, at: Key(params.finetuned))
        }

        var evaluator = Evaluator(context: context, job: job)
        var step: UInt64 = 0
        var results: [WiseResult.Point] = []
        let models = context.models
        for point in points {
            let registered = point.subject == params.finetuned || point.subject == params.zeroshot
            let summaries = try evaluator.evaluate(
                subject: point.subject, checkpoint: point.checkpoint,
                load: {
                    registered
                        ? try models.pipeline(named: point.subject)
                        : try CLIPPipeline(directory: URL(fileURLWithPath: point.checkpoint))
                },
                datasets: datasets, templates: templates, force: (params.force ?? false) || stale,
                step: &step, total: total)
            if params.register == true, !registered {
                _ = try models.register(
                    name: point.subject, directory: point.checkpoint, replace: true)
            }
            results.append(
                .init(
                    alpha: point.alpha, model: point.subject, checkpoint: point.checkpoint,
                    results: summaries))
        }
        job.finish(
            message: "evaluated \(points.count) WiSE-FT points between \(params.zeroshot) and "
                + "\(params.finetuned) on \(datasets.count) datasets")
        return try JobParams.encode(
            WiseResult(
                zeroshot: params.zeroshot, finetuned: params.finetuned, points: results,
                seconds: Date().timeIntervalSince(started)))
    }
}
