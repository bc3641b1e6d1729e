// The one table of arf.v1 methods: each has a name ("arf.v1.Models/Load"), a numeric id that
// goes in frame headers, a kind (unary or server stream) and its message types. Adding a method
// is one line here plus its messages; ids are never reused, so an old client talking to a new
// daemon gets "unknown method" rather than a wrong decode. Ids are grouped by service, leaving
// room inside each group.
//
// Id ranges: 1-9 daemon, 10-19 models, 20-29 inference, 30-39 jobs, 40-49 datasets,
// 50-59 anchors, 60-69 finetuning, 70-79 evaluation, 80-89 plugins.

/// Whether a method answers once or streams events.
public enum MethodKind: String, Sendable {
    case unary
    case serverStream
}

/// A method's identity as the wire and the logs see it.
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let id: UInt16
    public let name: String
    public let kind: MethodKind

    public init(id: UInt16, name: String, kind: MethodKind) {
        precondition(id != 0, "method id 0 is reserved")
        self.id = id
        self.name = name
        self.kind = kind
    }

    public var description: String { name }
}

/// A method that takes one request and answers with one response.
public struct UnaryMethod<Request: WireMessage, Response: WireMessage>: Sendable {
    public let descriptor: MethodDescriptor

    public init(id: UInt16, name: String) {
        descriptor = MethodDescriptor(id: id, name: name, kind: .unary)
    }
}

/// A method that takes one request and answers with a stream of events.
public struct StreamMethod<Request: WireMessage, Event: WireMessage>: Sendable {
    public let descriptor: MethodDescriptor

    public init(id: UInt16, name: String) {
        descriptor = MethodDescriptor(id: id, name: name, kind: .serverStream)
    }
}

/// Every arf.v1 method.
public enum Methods {
    public static let status = UnaryMethod<StatusRequest, StatusReply>(
        id: 1, name: "arf.v1.Daemon/Status")

    public static let loadModel = UnaryMethod<LoadModelRequest, LoadModelReply>(
        id: 10, name: "arf.v1.Models/Load")
    public static let listModels = UnaryMethod<ListModelsRequest, ListModelsReply>(
        id: 11, name: "arf.v1.Models/List")
    public static let removeModel = UnaryMethod<RemoveModelRequest, RemoveModelReply>(
        id: 12, name: "arf.v1.Models/Remove")

    public static let embed = UnaryMethod<EmbedRequest, EmbedReply>(
        id: 20, name: "arf.v1.Inference/Embed")
    public static let classify = UnaryMethod<ClassifyRequest, ClassifyReply>(
        id: 21, name: "arf.v1.Inference/Classify")
    public static let listStored = UnaryMethod<ListStoredRequest, ListStoredReply>(
        id: 22, name: "arf.v1.Inference/ListStored")

    public static let listJobs = UnaryMethod<ListJobsRequest, ListJobsReply>(
        id: 30, name: "arf.v1.Jobs/List")
    public static let watchJob = StreamMethod<WatchJobRequest, JobEvent>(
        id: 31, name: "arf.v1.Jobs/Watch")
    public static let cancelJob = UnaryMethod<CancelJobRequest, CancelJobReply>(
        id: 32, name: "arf.v1.Jobs/Cancel")
    public static let submitJob = UnaryMethod<SubmitJobRequest, SubmitJobReply>(
        id: 33, name: "arf.v1.Jobs/Submit")
    public static let pruneJobs = UnaryMethod<PruneJobsRequest, PruneJobsReply>(
        id: 34, name: "arf.v1.Jobs/Prune")

    public static let addDataset = UnaryMethod<AddDatasetRequest, AddDatasetReply>(
        id: 40, name: "arf.v1.Datasets/Add")
    public static let listDatasets = UnaryMethod<ListDatasetsRequest, ListDatasetsReply>(
        id: 41, name: "arf.v1.Datasets/List")
    public static let showDataset = UnaryMethod<ShowDatasetRequest, ShowDatasetReply>(
        id: 42, name: "arf.v1.Datasets/Show")
    public static let removeDataset = UnaryMethod<RemoveDatasetRequest, RemoveDatasetReply>(
        id: 43, name: "arf.v1.Datasets/Remove")
    public static let listDatasetEmbeddings = UnaryMethod<
        ListDatasetEmbeddingsRequest, ListDatasetEmbeddingsReply
    >(id: 44, name: "arf.v1.Datasets/Embeddings")

    public static let showAnchors = UnaryMethod<ShowAnchorsRequest, ShowAnchorsReply>(
        id: 50, name: "arf.v1.Anchors/Show")

    public static let listRuns = UnaryMethod<ListRunsRequest, ListRunsReply>(
        id: 60, name: "arf.v1.Finetuning/Runs")
    public static let removeRun = UnaryMethod<RemoveRunRequest, RemoveRunReply>(
        id: 61, name: "arf.v1.Finetuning/RemoveRun")

    public static let listResults = UnaryMethod<ListResultsRequest, ListResultsReply>(
        id: 70, name: "arf.v1.Evaluation/Results")
    public static let writeReport = UnaryMethod<WriteReportRequest, WriteReportReply>(
        id: 71, name: "arf.v1.Evaluation/Report")

    public static let listPlugins = UnaryMethod<ListPluginsRequest, ListPluginsReply>(
        id: 80, name: "arf.v1.Plugins/List")

    /// The table, in id order; ids and names are unique (a test checks).
    public static let all: [MethodDescriptor] = [
        status.descriptor,
        loadModel.descriptor, listModels.descriptor, removeModel.descriptor,
        embed.descriptor, classify.descriptor, listStored.descriptor,
        listJobs.descriptor, watchJob.descriptor, cancelJob.descriptor, submitJob.descriptor,
        pruneJobs.descriptor,
        addDataset.descriptor, listDatasets.descriptor, showDataset.descriptor,
        removeDataset.descriptor, listDatasetEmbeddings.descriptor,
        showAnchors.descriptor,
        listRuns.descriptor, removeRun.descriptor,
        listResults.descriptor, writeReport.descriptor,
        listPlugins.descriptor,
    ]

    /// The method with this id, if the table has one.
    public static func descriptor(id: UInt16) -> MethodDescriptor? {
        all.first { $0.id == id }
    }

    /// The method with this full name, if the table has one.
    public static func descriptor(named name: String) -> MethodDescriptor? {
        all.first { $0.name == name }
    }
}
