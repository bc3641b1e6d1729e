// The wire side of finetuning and evaluation: the job kinds (finetune, eval, wise, pretrain)
// and the handlers that read back what they stored (runs, results) and write the results page.
// The page shows one curve per requested group of models: a model with a stored WiSE-FT curve
// contributes its points, another finetuning run its finished model at α = 1, and any other
// model a point at α = 0; the models of one group (seeds of one method) are averaged at each
// α, dataset by dataset.
import ArfStore
import ArfSupport
import ArfTraining
import ArfWire
import Foundation

/// Serves runs, results and reports, and makes the training job kinds.
final class TrainingService: @unchecked Sendable {
    let context: TrainingContext

    init(context: TrainingContext) {
        self.context = context
    }

    /// The job kinds that train and evaluate.
    var jobKinds: [JobKind] {
        [
            FinetuneJob(context: context), EvalJob(context: context), WiseJob(context: context),
            PretrainJob(context: context),
        ]
    }

    /// Adds the handlers of the finetuning and evaluation methods.
    func register(_ handlers: inout WireHandlers, jobs: JobManager) {
        handlers.unary(Methods.listRuns) { [self] _, _ in
            try mappingErrors { ListRunsReply(runs: try context.runs().map(\.info)) }
        }
        handlers.unary(Methods.removeRun) { [self] request, _ in
            try mappingErrors {
                try jobs.withoutSubmissions { try removeRun(request.name, jobs: jobs.list()) }
            }
        }
        handlers.unary(Methods.listResults) { [self] request, _ in
            try mappingErrors {
                ListResultsReply(
                    results: try context.evalRecords(subjects: request.models).map(\.info))
            }
        }
        handlers.unary(Methods.writeReport) { [self] request, _ in
            try mappingErrors { try writeReport(request) }
        }
    }

    /// Forgets a run and deletes what it made: first its records (run, results of its model
    /// and WiSE-FT points, its curve) in one transaction, then the models registered from its
    /// folders, then the folders. A crash part-way leaves files nothing refers to, never a
    /// record that refers to missing files.
    func removeRun(_ name: String, jobs: [JobInfo]) throws -> RemoveRunReply {
        guard try context.run(named: name) != nil else {
            throw DaemonError.unknownRun(name: name, known: try context.runs().map(\.name))
        }
        if let job = liveJob(naming: name, under: Daemon.modelKeys, in: jobs) {
            throw DaemonError.inUse(what: "run \(name)", job: job)
        }
        let folders = [context.folder("runs", name).path, context.folder("wise", name).path]
        func isInside(_ path: String) -> Bool {
            folders.contains { path == $0 || path.hasPrefix($0 + "/") }
        }
        let models = context.models.infos().filter { isInside($0.directory) }.map(\.name)
        if let user = models.lazy.compactMap({
            liveJob(naming: $0, under: Daemon.modelKeys, in: jobs)
        }).first {
            throw DaemonError.inUse(what: "a model of run \(name)", job: user)
        }

        let runs = try store.table(StoreLayout.runs)
        let results = try store.table(StoreLayout.evalResults)
        let curves = try store.table(StoreLayout.wiseCurves)
        // Names that belong to something else, for the WiSE-FT point pattern below.
        let others = Set(try context.runs().map(\.name) + context.models.names)
            .subtracting(models + [name])
        let removedResults = try store.write { txn -> Int in
            // The run's model, the models registered from its folders, the points of its
            // stored curve, and points of earlier curves, named "<run>+wise<α>" (WiseJob) but
            // never the name of another run or model: run names may hold '+'.
            var subjects = Set(models + [name])
            if let curve = try txn.json(WiseRecord.self, in: curves, at: Key(name)) {
                subjects.formUnion(curve.points.map(\.subject))
            }
            func isPoint(_ subject: String) -> Bool {
                guard subject.hasPrefix(name + "+wise"), !others.contains(subject) else {
                    return false
                }
                return Double(subject.dropFirst(name.count + 5)) != nil
            }
            try txn.delete(in: runs, at: Key(name))
            try txn.delete(in: curves, at: Key(name))
            let stale = try txn.scan(results).filter { entry in
                guard let subject = entry.key.strings?.first else { return false }
                return subjects.contains(subject) || isPoint(subject)
            }
            for entry in stale { try txn.delete(in: results, at: entry.key) }
            return stale.count
        }
        for model in models { _ = try context.models.remove(name: model) }
        var bytes: UInt64 = 0
        for folder in folders where FileManager.default.fileExists(atPath: folder) {
            bytes += Self.size(of: folder)
            try FileManager.default.removeItem(atPath: folder)
        }
        log.info(
            "run removed", ("name", name), ("models", models.joined(separator: ",")),
            ("results", removedResults), ("bytes", bytes))
        return RemoveRunReply(models: models, results: UInt64(removedResults), bytes: bytes)
    }

    /// The bytes of the files under `folder`.
    private static func size(of folder: String) -> UInt64 {
        let walker = FileManager.default.enumerator(atPath: folder)
        var total: UInt64 = 0
        while let path = walker?.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(
                atPath: folder + "/" + path)
            if attributes?[.type] as? FileAttributeType == .typeRegular {
                total += (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
            }
        }
        return total
    }

    private var store: Store { context.store }

    func writeReport(_ request: WriteReportRequest) throws -> WriteReportReply {
        let datasets = context.datasets
        guard
            let inDistribution = request.inDistribution.isEmpty
                ? datasets.names(role: "eval-id").first : request.inDistribution
        else {
            throw DaemonError.badRequest(
                "no in-distribution dataset: name one, or register one with role eval-id")
        }
        let shifted =
            request.outOfDistribution.isEmpty
            ? datasets.names(role: "eval-shift") : request.outOfDistribution
        let runs = try context.runs()
        let curves =
            request.curves.isEmpty
            ? runs.filter { $0.state == "succeeded" }.map {
                ReportCurve(method: $0.name, models: [$0.name])
            } : request.curves
        guard !curves.isEmpty else {
            throw DaemonError.badRequest(
                "nothing to report: no finished finetuning runs and no curves asked for")
        }

        let order = [inDistribution] + shifted
        var series: [ArfTraining.ReportSeries] = []
        for curve in curves {
            var byAlpha: [Double: [[EvaluationResult]]] = [:]
            for model in curve.models {
                for (alpha, subject) in try points(of: model, runs: runs) {
                    let results = try context.evalRecords(subjects: [subject]).map(\.result)
                    guard !results.isEmpty else { continue }
                    byAlpha[alpha, default: []].append(results)
                }
            }
            guard !byAlpha.isEmpty else {
                throw DaemonError.badRequest(
                    "no evaluation results for \(curve.models.joined(separator: ", ")); "
                        + "evaluate first with arf eval or arf wise")
            }
            let points = byAlpha.keys.sorted().map { alpha in
                ReportPoint(
                    alpha: alpha,
                    results: Self.average(byAlpha[alpha]!, label: curve.method, order: order))
            }
            series.append(ArfTraining.ReportSeries(method: curve.method, points: points))
        }

        let input = ReportInput(
            title: request.title.isEmpty ? "arf: robust finetuning results" : request.title,
            inDistribution: inDistribution, outOfDistribution: shifted, series: series)
        let path = try outputPath(request.path)
        try FileManager.default.createDirectory(
            at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            try Data(Report.html(input).utf8).write(to: path, options: .atomic)
        } catch {
            throw DaemonError.badRequest(
                "cannot write the report to \(path.path): \(error.localizedDescription)")
        }
        let count = series.reduce(0) { $0 + $1.points.count }
        log.info("report written", ("path", path.path), ("curves", series.count), ("points", count))
        return WriteReportReply(
            path: path.path, curves: UInt32(series.count), points: UInt32(count))
    }

    /// The (α, subject) points a model contributes to its curve.
    func points(of model: String, runs: [RunRecord]) throws -> [(Double, String)] {
        if let wise = try context.wiseRecord(finetuned: model) {
            return wise.points.map { ($0.alpha, $0.subject) }
        }
        return [(runs.contains { $0.name == model } ? 1 : 0, model)]
    }

    private func outputPath(_ given: String) throws -> URL {
        if !given.isEmpty {
            guard given.hasPrefix("/") else {
                throw DaemonError.badRequest("report path \(given) is not absolute")
            }
            return URL(fileURLWithPath: given).standardizedFileURL
        }
        let format = DateFormatter()
        format.dateFormat = "yyyyMMdd-HHmmss"
        format.timeZone = TimeZone(identifier: "UTC")
        return context.folder("reports")
            .appendingPathComponent("report-\(format.string(from: Date())).html")
    }

    /// Results of several models at one α, averaged dataset by dataset (over the models that
    /// have the dataset), in `order` first and then by name.
    static func average(_ groups: [[EvaluationResult]], label: String, order: [String])
        -> [EvaluationResult]
    {
        var byDataset: [String: [EvaluationResult]] = [:]
        for results in groups {
            for result in results { byDataset[result.dataset, default: []].append(result) }
        }
        let rank = { (name: String) in order.firstIndex(of: name) ?? order.count }
        let names = byDataset.keys.sorted { a, b in
            rank(a) != rank(b) ? rank(a) < rank(b) : a < b
        }
        return names.map { name in
            let results = byDataset[name]!
            let n = Double(results.count)
            let top5 = results.compactMap(\.metrics.top5)
            return EvaluationResult(
                dataset: name, model: label, classes: results[0].classes,
                metrics: ClassificationMetrics(
                    top1: results.reduce(0) { $0 + $1.metrics.top1 } / n,
                    top5: top5.count == results.count ? top5.reduce(0, +) / n : nil,
                    meanPerClassRecall: results.reduce(0) { $0 + $1.metrics.meanPerClassRecall }
                        / n,
                    examples: results[0].metrics.examples))
        }
    }
}
