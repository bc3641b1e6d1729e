// Swift values for arf/v1/training.proto (finetuning runs, evaluation results and the
// results page) and their mapping onto the protobuf-c structs. The jobs that make runs and
// results travel as JSON through arf.v1.Jobs/Submit; these messages only read them back.
import ArfProto

/// Asks for every finetuning run.
public struct ListRunsRequest: WireMessage, Equatable {
    public init() {}
}

extension ListRunsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListRunsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_runs_request__init(message)
    }

    init(c: CMessage) {}

    func fill(_ c: inout CMessage, _ arena: CArena) {}
}

/// One finetuning run.
public struct RunInfo: WireMessage, Equatable {
    public var name: String
    /// The method preset: zeroshot, ft, lp-ft, flyp or arf.
    public var method: String
    /// The base model, by registered name.
    public var model: String
    public var dataset: String
    /// running, succeeded, failed or stopped.
    public var state: String
    public var step: UInt64
    public var totalSteps: UInt64
    /// Wall-clock seconds spent in the run's jobs, summed over resumptions.
    public var trainingSeconds: Double
    /// The final checkpoint folder; empty until the run has finished.
    public var checkpoint: String
    public var finalLoss: Double
    /// The whole finetuning configuration as JSON.
    public var configJSON: String
    public var createdUnix: Double

    public init(
        name: String = "", method: String = "", model: String = "", dataset: String = "",
        state: String = "", step: UInt64 = 0, totalSteps: UInt64 = 0,
        trainingSeconds: Double = 0, checkpoint: String = "", finalLoss: Double = 0,
        configJSON: String = "", createdUnix: Double = 0
    ) {
        self.name = name
        self.method = method
        self.model = model
        self.dataset = dataset
        self.state = state
        self.step = step
        self.totalSteps = totalSteps
        self.trainingSeconds = trainingSeconds
        self.checkpoint = checkpoint
        self.finalLoss = finalLoss
        self.configJSON = configJSON
        self.createdUnix = createdUnix
    }
}

extension RunInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__RunInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__run_info__init(message)
    }

    init(c: CMessage) {
        self.init(
            name: CField.string(c.name), method: CField.string(c.method),
            model: CField.string(c.model), dataset: CField.string(c.dataset),
            state: CField.string(c.state), step: c.step, totalSteps: c.total_steps,
            trainingSeconds: c.training_seconds, checkpoint: CField.string(c.checkpoint),
            finalLoss: c.final_loss, configJSON: CField.string(c.config_json),
            createdUnix: c.created_unix)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.method = arena.string(method)
        c.model = arena.string(model)
        c.dataset = arena.string(dataset)
        c.state = arena.string(state)
        c.step = step
        c.total_steps = totalSteps
        c.training_seconds = trainingSeconds
        c.checkpoint = arena.string(checkpoint)
        c.final_loss = finalLoss
        c.config_json = arena.string(configJSON)
        c.created_unix = createdUnix
    }
}

/// Every finetuning run, oldest first.
public struct ListRunsReply: WireMessage, Equatable {
    public var runs: [RunInfo]

    public init(runs: [RunInfo] = []) { self.runs = runs }
}

extension ListRunsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListRunsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_runs_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(runs: try RunInfo.repeated(c.runs, c.n_runs))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_runs = runs.count
        c.runs = runs.cArray(arena)
    }
}

/// Asks for stored evaluation results.
public struct ListResultsRequest: WireMessage, Equatable {
    /// Models (or WiSE-FT points) whose results to list; empty lists every one.
    public var models: [String]

    public init(models: [String] = []) { self.models = models }
}

extension ListResultsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListResultsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_results_request__init(message)
    }

    init(c: CMessage) {
        self.init(models: CField.strings(c.models, c.n_models))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_models = models.count
        c.models = arena.strings(models)
    }
}

/// One model evaluated on one dataset; accuracies are fractions.
public struct EvalResultInfo: WireMessage, Equatable {
    /// A registered model, or a WiSE-FT point such as "ft-s0+wise0.5".
    public var model: String
    public var dataset: String
    /// The dataset's role (eval-id, eval-shift, eval-zeroshot or another).
    public var role: String
    public var top1: Double
    /// Nil below five classes.
    public var top5: Double?
    public var meanPerClassRecall: Double
    public var examples: UInt64
    public var classes: UInt32
    /// The checkpoint folder that was evaluated.
    public var checkpoint: String
    public var createdUnix: Double
    /// The result in CLIP_benchmark's JSON layout.
    public var benchmarkJSON: String

    public init(
        model: String = "", dataset: String = "", role: String = "", top1: Double = 0,
        top5: Double? = nil, meanPerClassRecall: Double = 0, examples: UInt64 = 0,
        classes: UInt32 = 0, checkpoint: String = "", createdUnix: Double = 0,
        benchmarkJSON: String = ""
    ) {
        self.model = model
        self.dataset = dataset
        self.role = role
        self.top1 = top1
        self.top5 = top5
        self.meanPerClassRecall = meanPerClassRecall
        self.examples = examples
        self.classes = classes
        self.checkpoint = checkpoint
        self.createdUnix = createdUnix
        self.benchmarkJSON = benchmarkJSON
    }
}

extension EvalResultInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__EvalResultInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__eval_result_info__init(message)
    }

    init(c: CMessage) {
        self.init(
            model: CField.string(c.model), dataset: CField.string(c.dataset),
            role: CField.string(c.role), top1: c.top1, top5: c.has_top5 != 0 ? c.top5 : nil,
            meanPerClassRecall: c.mean_per_class_recall, examples: c.examples,
            classes: c.classes, checkpoint: CField.string(c.checkpoint),
            createdUnix: c.created_unix, benchmarkJSON: CField.string(c.benchmark_json))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.model = arena.string(model)
        c.dataset = arena.string(dataset)
        c.role = arena.string(role)
        c.top1 = top1
        c.top5 = top5 ?? 0
        c.has_top5 = top5 == nil ? 0 : 1
        c.mean_per_class_recall = meanPerClassRecall
        c.examples = examples
        c.classes = classes
        c.checkpoint = arena.string(checkpoint)
        c.created_unix = createdUnix
        c.benchmark_json = arena.string(benchmarkJSON)
    }
}

/// Stored evaluation results, by model then dataset.
public struct ListResultsReply: WireMessage, Equatable {
    public var results: [EvalResultInfo]

    public init(results: [EvalResultInfo] = []) { self.results = results }
}

extension ListResultsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListResultsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_results_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(results: try EvalResultInfo.repeated(c.results, c.n_results))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_results = results.count
        c.results = results.cArray(arena)
    }
}

/// One curve of the results page: models averaged at each WiSE-FT weight.
public struct ReportCurve: WireMessage, Equatable {
    public var method: String
    public var models: [String]

    public init(method: String = "", models: [String] = []) {
        self.method = method
        self.models = models
    }
}

extension ReportCurve: ProtobufCMapped {
    typealias CMessage = Arf__V1__ReportCurve

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__report_curve__init(message)
    }

    init(c: CMessage) {
        self.init(method: CField.string(c.method), models: CField.strings(c.models, c.n_models))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.method = arena.string(method)
        c.n_models = models.count
        c.models = arena.strings(models)
    }
}

/// Asks the daemon to write the results page.
public struct WriteReportRequest: WireMessage, Equatable {
    public var title: String
    /// The HTML file to write; empty writes a new file under the data folder.
    public var path: String
    /// The in-distribution dataset; empty takes the first eval-id dataset.
    public var inDistribution: String
    /// The shifted datasets; empty takes every eval-shift dataset.
    public var outOfDistribution: [String]
    /// The curves; empty draws one per finetuning run.
    public var curves: [ReportCurve]

    public init(
        title: String = "", path: String = "", inDistribution: String = "",
        outOfDistribution: [String] = [], curves: [ReportCurve] = []
    ) {
        self.title = title
        self.path = path
        self.inDistribution = inDistribution
        self.outOfDistribution = outOfDistribution
        self.curves = curves
    }
}

extension WriteReportRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__WriteReportRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__write_report_request__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            title: CField.string(c.title), path: CField.string(c.path),
            inDistribution: CField.string(c.in_distribution),
            outOfDistribution: CField.strings(c.out_of_distribution, c.n_out_of_distribution),
            curves: try ReportCurve.repeated(c.curves, c.n_curves))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.title = arena.string(title)
        c.path = arena.string(path)
        c.in_distribution = arena.string(inDistribution)
        c.n_out_of_distribution = outOfDistribution.count
        c.out_of_distribution = arena.strings(outOfDistribution)
        c.n_curves = curves.count
        c.curves = curves.cArray(arena)
    }
}

/// Where the page was written and what it shows.
public struct WriteReportReply: WireMessage, Equatable {
    public var path: String
    public var curves: UInt32
    public var points: UInt32

    public init(path: String = "", curves: UInt32 = 0, points: UInt32 = 0) {
        self.path = path
        self.curves = curves
        self.points = points
    }
}

extension WriteReportReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__WriteReportReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__write_report_reply__init(message)
    }

    init(c: CMessage) {
        self.init(path: CField.string(c.path), curves: c.curves, points: c.points)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.path = arena.string(path)
        c.curves = curves
        c.points = points
    }
}

/// Asks the daemon to forget a finetuning run and delete what it made.
public struct RemoveRunRequest: WireMessage, Equatable {
    public var name: String

    public init(name: String = "") { self.name = name }
}

extension RemoveRunRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__RemoveRunRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__remove_run_request__init(message)
    }

    init(c: CMessage) { self.init(name: CField.string(c.name)) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.name = arena.string(name) }
}

/// What went with a removed run: registered models, evaluation results and file bytes.
public struct RemoveRunReply: WireMessage, Equatable {
    public var models: [String]
    public var results: UInt64
    public var bytes: UInt64

    public init(models: [String] = [], results: UInt64 = 0, bytes: UInt64 = 0) {
        self.models = models
        self.results = results
        self.bytes = bytes
    }
}

extension RemoveRunReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__RemoveRunReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__remove_run_reply__init(message)
    }

    init(c: CMessage) {
        self.init(
            models: CField.strings(c.models, c.n_models), results: c.results, bytes: c.bytes)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_models = models.count
        c.models = arena.strings(models)
        c.results = results
        c.bytes = bytes
    }
}
