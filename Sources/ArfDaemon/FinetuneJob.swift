// The finetune job: a registered model is trained on a registered image folder under a
// FinetuneConfig (a method preset with any fields overridden), with caption anchors from one
// of the dataset's caption sets and pair anchors from a retrieval task when its losses use
// them. The run lives in runs/<run> under the data folder (checkpoints at the configured
// interval and at the end); every step is reported with its loss, learning rate and rate,
// together with the run's record. A stopped or crashed run resumes from its newest
// checkpoint to the same weights; a finished run is registered as a model named after it,
// and submitting it again returns at once.
//
// Parameters (JSON): "run", "model", "dataset", "config" (a FinetuneConfig object; "method"
// is required, everything else defaults to the method's preset), optional "captions" (a
// caption set of the dataset; default its newest), "anchors" (a retrieval task) and
// "register" (default true).
import ArfStore
import ArfSupport
import ArfTraining
import Foundation

/// The parameters of a finetune job.
struct FinetuneParams: Codable, Equatable {
    var run: String
    var model: String
    var dataset: String
    var config: FinetuneConfig
    var captions: String?
    var anchors: String?
    var register: Bool?
}

/// What a finetune job returns.
struct FinetuneResult: Codable, Equatable {
    var run: String
    var model: String
    var method: String
    var base: String
    var dataset: String
    var steps: Int
    var trainingSeconds: Double
    var checkpoint: String
    var finalLoss: Double?

    enum CodingKeys: String, CodingKey {
        case run, model, method, base, dataset, steps, checkpoint
        case trainingSeconds = "training_seconds"
        case finalLoss = "final_loss"
    }
}

/// Finetunes a registered model on a registered dataset.
struct FinetuneJob: JobKind {
    let name = "finetune"
    let context: TrainingContext

    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String {
        var params = try JobParams.decode(FinetuneParams.self, paramsJSON, kind: name)
        try checkFolderName(params.run, what: "run name", kind: name)
        guard models.contains(params.model) else {
            throw DaemonError.unknownModel(name: params.model, known: models.names)
        }
        let dataset = try context.datasets.record(named: params.dataset)
        guard dataset.format == "imagefolder" else {
            throw DaemonError.badJobParams(
                kind: name,
                reason: "dataset \(dataset.name) is a pair list; finetuning needs an image "
                    + "folder with one folder per class")
        }
        let classes = dataset.classes.map(promptName)
        if params.config.classNames.isEmpty { params.config.classNames = classes }
        guard params.config.classNames.count == classes.count else {
            throw DaemonError.badJobParams(
                kind: name,
                reason: "config.classNames names \(params.config.classNames.count) classes; "
                    + "dataset \(dataset.name) has \(classes.count)")
        }
        try params.config.validate()
        for term in params.config.losses { _ = try LossRegistry.descriptor(named: term.name) }

        let losses = Set(params.config.losses.map(\.name))
        if losses.contains(CaptionAnchorLoss.name) {
            let set = params.captions ?? ""
            let sets = try AnchorQueries(store: context.store, datasets: context.datasets)
                .captionSets(of: dataset.name).map(\.id)
            if set.isEmpty {
                guard let newest = sets.last else {
                    throw DaemonError.badJobParams(
                        kind: name,
                        reason: "the caption-anchor loss needs captions of \(dataset.name); "
                            + "make them with: arf anchors caption \(dataset.name) --captioner "
                            + "nearest-caption")
                }
                params.captions = newest
            } else if !sets.contains(set) {
                throw DaemonError.unknownCaptionSet(dataset: dataset.name, id: set, known: sets)
            }
        } else {
            params.captions = nil
        }
        if losses.contains(PairAnchorLoss.name) {
            guard let task = params.anchors, !task.isEmpty else {
                throw DaemonError.badJobParams(
                    kind: name,
                    reason: "the pair-anchor loss needs retrieved pairs: give \"anchors\" (a "
                        + "task of arf anchors retrieve)")
            }
            guard let stored = try StoredAnchors.task(task, store: context.store) else {
                throw DaemonError.unknownAnchors(name: task)
            }
            guard stored.count > 0 else {
                throw DaemonError.badJobParams(
                    kind: name,
                    reason: "retrieval task \(task) holds no pairs (every pool image was left "
                        + "out); retrieve again with other settings")
            }
        } else {
            params.anchors = nil
        }
        params.register = params.register ?? true

        // Submitting a run again resumes it (or returns it); other settings need a new name.
        if let existing = try context.run(named: params.run),
            !existing.sameSettings(as: record(params, job: 0))
        {
            throw DaemonError.runExists(name: params.run)
        }
        if params.register == true, models.contains(params.run),
            try context.run(named: params.run) == nil
        {
            throw DaemonError.modelExists(
                name: params.run, directory: try context.checkpoint(ofModel: params.run))
        }
        return try JobParams.encode(params)
    }

    func record(_ params: FinetuneParams, job: UInt64) -> RunRecord {
        RunRecord(
            name: params.run, model: params.model, dataset: params.dataset, config: params.config,
            captions: params.captions, anchors: params.anchors, state: "running", step: 0,
            totalSteps: 0, trainingSeconds: 0, job: job,
            createdUnix: Date().timeIntervalSince1970)
    }

    func run(_ job: JobContext) throws -> String {
        let params = try JobParams.decode(FinetuneParams.self, job.paramsJSON, kind: name)
        var run = try context.run(named: params.run) ?? record(params, job: job.id)
        if run.state == "succeeded", let checkpoint = run.checkpoint,
            params.register != true || context.models.contains(run.name)
        {
            job.finish(message: "run \(run.name) had finished; nothing to do")
            return try result(run, checkpoint: checkpoint)
        }
        run.state = "running"
        run.job = job.id
        do {
            return try train(&run, params, job)
        } catch {
            run.state = error is JobStop ? "stopped" : "failed"
            try? write(run)
            throw error
        }
    }

    private func train(_ run: inout RunRecord, _ params: FinetuneParams, _ job: JobContext)
        throws -> String
    {
        let started = Date()
        let priorSeconds = run.trainingSeconds
        let base = try context.models.pipeline(named: params.model)
        let view = try context.datasets.view(named: params.dataset)
        try job.report(
            step: UInt64(run.step), total: UInt64(run.totalSteps),
            message: "loading \(view.items.count) images of \(view.name)")
        let captions =
            try params.captions.map {
                try StoredAnchors.captions(dataset: view.name, set: $0, store: context.store)
            } ?? [:]
        let data = try RegisteredImages.load(
            view, preprocessor: base.preprocessor, captions: captions,
            checkStop: job.checkStop, note: job.note)
        let pairs = try params.anchors.map {
            try RetrievedPairs.load(
                try StoredAnchors.pairs(task: $0, store: context.store),
                preprocessor: base.preprocessor, checkStop: job.checkStop, note: job.note)
        }
        let output = context.folder("runs", params.run)
        let finetuner = try Finetuner(
            config: params.config, base: base.directory, data: data, pairs: pairs, output: output)
        if let latest = Finetuner.latestCheckpoint(in: output) {
            try finetuner.restore(from: latest)
            job.note("resumed \(run.name) from step \(finetuner.completedSteps)")
        }
        run.totalSteps = finetuner.totalSteps
        run.step = finetuner.completedSteps
        try write(run, job: job, message: "training \(run.name) (\(params.config.method.rawValue))")

        // The step callback cannot throw: a stop or a failed report ends the run at the next
        // step and is rethrown once the finetuner has saved its checkpoint.
        var interruption: Error?
        let firstStep = finetuner.completedSteps
        var record = run
        let outcome = try finetuner.run(
            shouldStop: {
                if interruption != nil { return true }
                do { try job.checkStop() } catch { interruption = error }
                return interruption != nil
            },
            onStep: { metrics in
                let elapsed = Date().timeIntervalSince(started)
                let perStep = elapsed / Double(max(1, metrics.step - firstStep))
                record.step = metrics.step
                record.trainingSeconds = priorSeconds + elapsed
                record.finalLoss = Double(metrics.loss)
                do {
                    try write(
                        record, job: job, rate: metrics.pairsPerSecond,
                        eta: perStep * Double(metrics.totalSteps - metrics.step),
                        loss: Double(metrics.loss), learningRate: Double(metrics.learningRate))
                } catch {
                    interruption = error
                }
            })
        run = record
        run.trainingSeconds = priorSeconds + Date().timeIntervalSince(started)
        if let interruption { throw interruption }
        guard !outcome.stopped else { throw JobStop(reason: .shutdown) }

        let checkpoint = outcome.checkpoint.path
        if params.register ?? true {
            _ = try context.models.register(name: run.name, directory: checkpoint, replace: true)
        }
        run.state = "succeeded"
        run.checkpoint = checkpoint
        run.step = outcome.completedSteps
        try write(run, job: job, message: "finished \(run.name)")
        job.finish(
            message: "finetuned \(run.name): \(outcome.completedSteps) steps in "
                + String(format: "%.1f s", run.trainingSeconds)
                + (params.register ?? true ? ", registered as model \(run.name)" : ""))
        return try result(run, checkpoint: checkpoint)
    }

    /// Stores the run record, with the job's progress when `job` is given.
    private func write(
        _ run: RunRecord, job: JobContext? = nil, rate: Double = 0, eta: Double = 0,
        loss: Double? = nil, learningRate: Double? = nil, message: String? = nil
    ) throws {
        let table = try context.store.table(StoreLayout.runs)
        let put = { (txn: WriteTransaction) in
            _ = try txn.putJSON(run, in: table, at: Key(run.name))
        }
        guard let job else { return try context.store.write(put) }
        try job.report(
            step: UInt64(run.step), total: UInt64(run.totalSteps), rate: rate, etaSeconds: eta,
            loss: loss, learningRate: learningRate, message: message, writes: put)
    }

    private func result(_ run: RunRecord, checkpoint: String) throws -> String {
        try JobParams.encode(
            FinetuneResult(
                run: run.name, model: run.name, method: run.config.method.rawValue,
                base: run.model, dataset: run.dataset, steps: run.step,
                trainingSeconds: run.trainingSeconds, checkpoint: checkpoint,
                finalLoss: run.finalLoss))
    }
}
