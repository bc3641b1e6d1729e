// The records the training jobs keep in the store (runs, evaluation results, WiSE-FT curves;
// their tables are listed in StoreLayout), the shared context of the training job kinds and
// the mapping of training errors onto wire statuses. Checkpoints live in the data folder
// (runs/<run>/checkpoints, wise/<model>/alpha-<α>); the store keeps their paths.
import ArfStore
import ArfTraining
import ArfWire
import Foundation

/// A finetuning run as the store keeps it.
struct RunRecord: Codable, Equatable {
    var name: String
    var model: String
    var dataset: String
    var config: FinetuneConfig
    /// The caption set and retrieval task the anchors came from, when the losses use them.
    var captions: String?
    var anchors: String?
    /// running, succeeded, failed or stopped.
    var state: String
    var step: Int
    var totalSteps: Int
    var trainingSeconds: Double
    var checkpoint: String?
    var finalLoss: Double?
    var job: UInt64
    var createdUnix: Double

    /// Whether `other` asks for the same training as this run.
    func sameSettings(as other: RunRecord) -> Bool {
        model == other.model && dataset == other.dataset && config == other.config
            && captions == other.captions && anchors == other.anchors
    }

    var info: RunInfo {
        RunInfo(
            name: name, method: config.method.rawValue, model: model, dataset: dataset,
            state: state, step: UInt64(max(0, step)), totalSteps: UInt64(max(0, totalSteps)),
            trainingSeconds: trainingSeconds, checkpoint: checkpoint ?? "",
            finalLoss: finalLoss ?? 0, configJSON: (try? JobParams.encode(config)) ?? "",
            createdUnix: createdUnix)
    }
}

/// One subject evaluated on one dataset.
struct EvalRecord: Codable, Equatable {
    var subject: String
    var dataset: String
    var role: String
    var checkpoint: String
    var templates: [String]
    /// Whether a trained classifier head scored the classes (rather than the text tower).
    var head: Bool
    var result: EvaluationResult
    var seconds: Double
    var createdUnix: Double

    var info: EvalResultInfo {
        let m = result.metrics
        let benchmark = (try? result.benchmarkJSON()).map { String(decoding: $0, as: UTF8.self) }
        return EvalResultInfo(
            model: subject, dataset: dataset, role: role, top1: m.top1, top5: m.top5,
            meanPerClassRecall: m.meanPerClassRecall, examples: UInt64(m.examples),
            classes: UInt32(clamping: result.classes), checkpoint: checkpoint,
            createdUnix: createdUnix, benchmarkJSON: benchmark ?? "")
    }
}

/// The WiSE-FT points made between two models.
struct WiseRecord: Codable, Equatable {
    struct Point: Codable, Equatable {
        var alpha: Double
        var subject: String
        var checkpoint: String
    }

    var finetuned: String
    var zeroshot: String
    /// The endpoints' checkpoint folders when the points were made; other folders make
    /// the interpolated points stale.
    var finetunedCheckpoint: String
    var zeroshotCheckpoint: String
    var points: [Point]
    var createdUnix: Double
}

/// What the training job kinds and handlers share.
final class TrainingContext: @unchecked Sendable {
    let store: Store
    let models: ModelRegistry
    let datasets: DatasetRegistry
    let dataFolder: String
    let imageCache = EvalImageCache()

    init(store: Store, models: ModelRegistry, datasets: DatasetRegistry, dataFolder: String) {
        self.store = store
        self.models = models
        self.datasets = datasets
        self.dataFolder = URL(fileURLWithPath: dataFolder).standardizedFileURL.path
    }

    func folder(_ parts: String...) -> URL {
        parts.reduce(URL(fileURLWithPath: dataFolder, isDirectory: true)) {
            $0.appendingPathComponent($1, isDirectory: true)
        }
    }

    func run(named name: String) throws -> RunRecord? {
        let table = try store.table(StoreLayout.runs)
        return try store.read { try $0.json(RunRecord.self, in: table, at: Key(name)) }
    }

    func runs() throws -> [RunRecord] {
        let table = try store.table(StoreLayout.runs)
        return try store.read { txn in
            try txn.scan(table).map { try JSONDecoder().decode(RunRecord.self, from: $0.value) }
        }.sorted { $0.createdUnix < $1.createdUnix }
    }

    func evalRecord(subject: String, dataset: String) throws -> EvalRecord? {
        let table = try store.table(StoreLayout.evalResults)
        return try store.read { txn in
            try txn.json(
                EvalRecord.self, in: table,
                at: StoreLayout.evalResultKey(subject: subject, dataset: dataset))
        }
    }

    /// Stored results of `subjects` (all when empty), by subject then dataset.
    func evalRecords(subjects: [String]) throws -> [EvalRecord] {
        let table = try store.table(StoreLayout.evalResults)
        return try store.read { txn in
            let prefixes = subjects.isEmpty ? [Key.empty] : subjects.map { Key($0) }
            return try prefixes.flatMap { prefix in
                try txn.scan(table, prefix: prefix).map {
                    try JSONDecoder().decode(EvalRecord.self, from: $0.value)
                }
            }
        }
    }

    func wiseRecord(finetuned: String) throws -> WiseRecord? {
        let table = try store.table(StoreLayout.wiseCurves)
        return try store.read { try $0.json(WiseRecord.self, in: table, at: Key(finetuned)) }
    }

    /// The checkpoint folder of a registered model.
    func checkpoint(ofModel name: String) throws -> String {
        guard let info = models.infos().first(where: { $0.name == name }) else {
            throw DaemonError.unknownModel(name: name, known: models.names)
        }
        return info.directory
    }

    /// Dataset names of the given names and roles, each once, in the order given; every one
    /// must be a registered image folder.
    func evaluationDatasets(names: [String], roles: [String], kind: String) throws -> [String] {
        var chosen: [String] = []
        for name in names + roles.flatMap({ datasets.names(role: $0) }) where !chosen.contains(name)
        {
            let record = try datasets.record(named: name)
            guard record.format == "imagefolder" else {
                throw DaemonError.badJobParams(
                    kind: kind,
                    reason: "dataset \(name) is a pair list; evaluation needs an image folder "
                        + "with one folder per class")
            }
            chosen.append(name)
        }
        guard !chosen.isEmpty else {
            throw DaemonError.badJobParams(
                kind: kind,
                reason: "no evaluation datasets (roles \(roles.joined(separator: ", ")) have none "
                    + "registered); add one with arf data add NAME DIR --role eval-id")
        }
        return chosen
    }
}

/// Names that become folder names: letters, digits and . _ + -, not starting with a dot.
func checkFolderName(_ name: String, what: String, kind: String) throws {
    let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._+-"))
    guard !name.isEmpty, name.count <= 100, !name.hasPrefix("."),
        name.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII })
    else {
        throw DaemonError.badJobParams(
            kind: kind,
            reason: "\(what) \(name.isEmpty ? "(empty)" : name) must be 1 to 100 ASCII letters, "
                + "digits, '.', '_', '+' or '-', not starting with '.'")
    }
}

extension TrainingError: StatusConvertible {
    public var callStatus: CallStatus {
        switch self {
        case .badConfig, .unknownLoss, .badLossOptions, .badAlpha, .badLabel,
            .imageSizeMismatch, .classNamesDiffer:
            CallStatus(.invalidArgument, description, hint: "see arf finetune --help")
        case .missingData:
            CallStatus(
                .failedPrecondition, description,
                hint: "make anchors first: arf anchors caption / arf anchors retrieve")
        case .emptyDataset:
            CallStatus(.failedPrecondition, description)
        case .checkpointNotFound:
            CallStatus(.notFound, description)
        case .unreadableState, .resumeMismatch:
            CallStatus(
                .failedPrecondition, description,
                hint: "the output folder holds another run; choose another run name or folder")
        case .missingTensor, .shapeMismatch, .tensorSetsDiffer, .badHead:
            CallStatus(
                .invalidArgument, description,
                hint: "both checkpoints must have one architecture")
        case .io:
            CallStatus(.failedPrecondition, description, hint: "check the path and free space")
        case .badPairList:
            CallStatus(
                .invalidArgument, description,
                hint: "a pair list is CSV or TSV with a header naming filepath and caption")
        }
    }
}
