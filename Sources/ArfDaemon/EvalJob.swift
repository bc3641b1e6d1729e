// The eval job, and the evaluation the wise job shares with it: a model is scored on
// registered image folders (by name, or every dataset of the given roles) with CLIP's
// zero-shot classifier over a prompt-template ensemble, or with its trained classifier head
// when the head's classes are the dataset's (an ft checkpoint on in-distribution sets; on
// other classes its image tower is scored with the text tower's classifier). Each dataset's
// result is stored with the job's step, keyed by (model, dataset), so a resumed job skips what
// is stored, and a later job reuses results made from the same checkpoint and templates.
//
// Parameters (JSON): "model", optional "datasets" (names), "roles" (default: eval-id,
// eval-shift and eval-zeroshot when no names are given), "templates" (default: the run's
// templates for a finetuned model, else CLIP's short ensemble) and "force" (evaluate again).
import ArfCLIP
import ArfPluginAPI
import ArfStore
import ArfSupport
import ArfTraining
import Foundation

/// One result as job results report it.
struct EvalSummary: Codable, Equatable {
    var model: String
    var dataset: String
    var role: String
    var top1: Double
    var top5: Double?
    var meanPerClassRecall: Double
    var examples: Int
    var classes: Int
    /// Whether a trained head scored the classes.
    var head: Bool
    /// Whether the result was stored already and not computed again.
    var reused: Bool

    enum CodingKeys: String, CodingKey {
        case model, dataset, role, top1, top5, examples, classes, head, reused
        case meanPerClassRecall = "mean_per_class_recall"
    }

    init(_ record: EvalRecord, reused: Bool) {
        let m = record.result.metrics
        model = record.subject
        dataset = record.dataset
        role = record.role
        top1 = m.top1
        top5 = m.top5
        meanPerClassRecall = m.meanPerClassRecall
        examples = m.examples
        classes = record.result.classes
        head = record.head
        self.reused = reused
    }
}

/// Scores checkpoints on registered datasets and stores the results.
struct Evaluator {
    let context: TrainingContext
    let job: JobContext
    /// Evaluations computed (not reused) so far, their images and time, for rate and ETA.
    private(set) var computed = 0
    private(set) var images = 0
    private var seconds = 0.0

    init(context: TrainingContext, job: JobContext) {
        self.context = context
        self.job = job
    }

    /// Results of `subject` on every dataset, computing those not stored from this checkpoint
    /// with these templates; each is reported with `step` advanced by one (of `total`), and each
    /// computed one is committed with that report.
    mutating func evaluate(
        subject: String, checkpoint: String, load: () throws -> CLIPPipeline,
        datasets: [String], templates: [String], force: Bool, step: inout UInt64,
        total: UInt64
    ) throws -> [EvalSummary] {
        var pipeline: CLIPPipeline?
        var summaries: [EvalSummary] = []
        for dataset in datasets {
            try job.checkStop()
            if !force, let stored = try context.evalRecord(subject: subject, dataset: dataset),
                stored.checkpoint == checkpoint, stored.templates == templates
            {
                summaries.append(EvalSummary(stored, reused: true))
                step += 1
                try job.report(step: step, total: total)
                continue
            }
            if pipeline == nil { pipeline = try load() }
            let record = try evaluate(
                subject: subject, checkpoint: checkpoint, pipeline: pipeline!, dataset: dataset,
                templates: templates)
            summaries.append(EvalSummary(record, reused: false))
            step += 1
            computed += 1
            images += record.result.metrics.examples
            seconds += record.seconds
            let perEvaluation = seconds / Double(computed)
            let table = try context.store.table(StoreLayout.evalResults)
            try job.report(
                step: step, total: total, rate: Double(images) / max(seconds, 1e-6),
                etaSeconds: perEvaluation * Double(total - min(step, total)),
                message: "\(subject) on \(dataset): top-1 "
                    + String(format: "%.2f%%", record.result.metrics.top1 * 100)
            ) { txn in
                try txn.putJSON(
                    record, in: table,
                    at: StoreLayout.evalResultKey(subject: subject, dataset: dataset))
            }
        }
        return summaries
    }

    /// Scores one checkpoint on one dataset; stores nothing.
    func evaluate(
        subject: String, checkpoint: String, pipeline: CLIPPipeline, dataset: String,
        templates: [String]
    ) throws -> EvalRecord {
        let record = try context.datasets.record(named: dataset)
        let view = try context.datasets.view(named: dataset)
        let job = job
        let images = try context.imageCache.images(
            view, createdUnix: record.createdUnix, preprocessor: pipeline.preprocessor
        ) {
            try RegisteredImages.load(
                view, preprocessor: pipeline.preprocessor, checkStop: job.checkStop,
                note: job.note)
        }
        let started = Date()
        let headURL = pipeline.directory.appendingPathComponent(ClassifierHead.fileName)
        var head: ClassifierHead?
        if FileManager.default.fileExists(atPath: headURL.path) {
            let saved = try ClassifierHead.load(from: headURL)
            if saved.classNames == images.classNames { head = saved }
        }
        let evaluator =
            try head.map { ZeroShotEvaluator(model: pipeline.model, head: $0) }
            ?? ZeroShotEvaluator(
                model: pipeline.model, tokenizer: pipeline.tokenizer,
                classNames: images.classNames, templates: templates)
        let result = try evaluator.evaluate(images, dataset: dataset, modelName: subject)
        let seconds = Date().timeIntervalSince(started)
        log.info(
            "evaluated", ("model", subject), ("dataset", dataset), ("head", head != nil),
            ("top1", String(format: "%.4f", result.metrics.top1)),
            ("examples", result.metrics.examples), ("seconds", String(format: "%.2f", seconds)))
        return EvalRecord(
            subject: subject, dataset: dataset, role: record.role, checkpoint: checkpoint,
            templates: templates, head: head != nil, result: result, seconds: seconds,
            createdUnix: Date().timeIntervalSince1970)
    }
}

/// The parameters of an eval job.
struct EvalParams: Codable, Equatable {
    var model: String
    var datasets: [String]?
    var roles: [String]?
    var templates: [String]?
    var force: Bool?

    static let evaluationRoles = ["eval-id", "eval-shift", "eval-zeroshot"]
}

/// What an eval job returns.
struct EvalJobResult: Codable, Equatable {
    var model: String
    var checkpoint: String
    var templates: [String]
    var results: [EvalSummary]
    var seconds: Double
}

/// Evaluates a registered model on registered datasets.
struct EvalJob: JobKind {
    let name = "eval"
    let context: TrainingContext

    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String {
        var params = try JobParams.decode(EvalParams.self, paramsJSON, kind: name)
        guard models.contains(params.model) else {
            throw DaemonError.unknownModel(name: params.model, known: models.names)
        }
        let names = params.datasets ?? []
        let roles = params.roles ?? (names.isEmpty ? EvalParams.evaluationRoles : [])
        params.datasets = try context.evaluationDatasets(names: names, roles: roles, kind: name)
        params.roles = roles
        params.templates = try templates(params.templates, model: params.model, kind: name)
        params.force = params.force ?? false
        return try JobParams.encode(params)
    }

    /// The templates given, or the default for `model`; refuses an empty list.
    func templates(_ given: [String]?, model: String, kind: String) throws -> [String] {
        if let given {
            guard !given.isEmpty, !given.contains(where: \.isEmpty) else {
                throw DaemonError.badJobParams(kind: kind, reason: "templates must not be empty")
            }
            return given
        }
        return try context.run(named: model)?.config.templates
            ?? FinetuneConfig.defaultTemplates
    }

    func run(_ job: JobContext) throws -> String {
        let params = try JobParams.decode(EvalParams.self, job.paramsJSON, kind: name)
        let datasets = params.datasets ?? []
        let templates = params.templates ?? FinetuneConfig.defaultTemplates
        let checkpoint = try context.checkpoint(ofModel: params.model)
        let started = Date()
        var evaluator = Evaluator(context: context, job: job)
        var step: UInt64 = 0
        let total = UInt64(datasets.count)
        try job.report(
            step: 0, total: total,
            message: "evaluating \(params.model) on \(datasets.joined(separator: ", "))")
        let models = context.models
        let results = try evaluator.evaluate(
            subject: params.model, checkpoint: checkpoint,
            load: { try models.pipeline(named: params.model) }, datasets: datasets,
            templates: templates, force: params.force ?? false, step: &step, total: total)
        let computed = results.filter { !$0.reused }.count
        job.finish(
            message: "evaluated \(params.model) on \(datasets.count) datasets (\(computed) "
                + "computed, \(datasets.count - computed) stored already)")
        return try JobParams.encode(
            EvalJobResult(
                model: params.model, checkpoint: checkpoint, templates: templates,
                results: results, seconds: Date().timeIntervalSince(started)))
    }
}
