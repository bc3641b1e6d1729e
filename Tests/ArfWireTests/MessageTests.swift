// The Swift message values against protobuf-c: every arf.v1 message survives encoding and
// decoding with all fields set (and with none), the bytes are real protobuf, and bad bytes
// or protocol-breaking messages are refused with the message's name.
import Foundation
import Testing

@testable import ArfWire

/// One sample of each message type with every field set, and its round trip.
struct MessageSample: CustomStringConvertible, Sendable {
    let protoName: String
    let roundTrip: @Sendable () throws -> Bool
    let emptyRoundTrip: @Sendable () throws -> Bool

    init<M: ProtobufCMapped & Equatable>(_ message: M, empty: M) {
        protoName = M.protoName
        roundTrip = { try M(decoding: message.encoded()) == message }
        emptyRoundTrip = { try M(decoding: empty.encoded()) == empty }
    }

    var description: String { protoName }
}

let sampleArchitecture = ModelArchitecture(
    visionWidth: 768, textWidth: 512, visionLayers: 12, textLayers: 12, patchSize: 32,
    imageSize: 224, projectionDim: 512, parameterCount: 151_277_313)
let sampleModel = ModelInfo(
    name: "clip-b32", directory: "/models/ViT-B-32 ü", architecture: sampleArchitecture,
    loaded: true)
let sampleJob = JobInfo(
    id: "j-7", kind: "finetune", state: .running, step: 120, total: 1000, createdUnix: 1.7e9,
    message: "epoch 1", paramsJSON: #"{"epochs": 2}"#, resultJSON: #"{"top1": 0.5}"#)
let sampleEmbedding = Embedding(
    kind: .image, input: "cat.jpg", values: [0.5, -1.25, .infinity, 3e-8])
let sampleScores = ImageClassification(
    input: "dog.png",
    ranked: [
        LabelScore(label: "dog", probability: 0.9), LabelScore(label: "cat", probability: 0.1),
    ])

let sampleDataset = DatasetInfo(
    name: "pets", role: "finetune", format: "imagefolder", path: "/data/pets", root: "/data/pets",
    items: 3680, classes: ["abyssinian", "beagle"], createdUnix: 1.7e9)
let sampleCaptionSet = CaptionSetInfo(
    id: "nearest-caption-1a2b", captioner: "nearest-caption", version: "1.0.0",
    source: "built-in", model: "b32", optionsJSON: #"{"top_k":1}"#, count: 3680,
    createdUnix: 1.7e9)
let sampleTask = AnchorTaskInfo(
    task: "pets-anchors", pool: "cc3m", finetune: "pets", model: "b32", retriever: "exact",
    optionsJSON: "{}", perClass: 16, query: "both", excludeEval: true, dedup: 0.98, count: 592,
    createdUnix: 1.7e9)
let samplePair = PairAnchor(
    rank: 3, poolIndex: 1_234_567, path: "images/000123.jpg", caption: "a dog on a beach",
    classIndex: 1, className: "beagle", score: 0.31, query: "image")
let samplePlugin = PluginInfo(
    kind: "captioner", name: "command", version: "1.0.0", source: "built-in",
    summary: "runs a program",
    options: [
        PluginOption(
            name: "diversity", type: "string", defaultValue: "none", required: false,
            help: "how", choices: ["none", "mmr"]),
        PluginOption(name: "command", type: "string", required: true, help: "the program"),
    ])

let datasetSamples: [MessageSample] = [
    MessageSample(sampleDataset, empty: DatasetInfo()),
    MessageSample(
        AddDatasetRequest(
            name: "cc3m", path: "/data/cc3m.tsv", role: "pool", format: "pairs",
            filepathColumn: "file", captionColumn: "title", separator: "tab", replace: true),
        empty: AddDatasetRequest()),
    MessageSample(AddDatasetReply(dataset: sampleDataset), empty: AddDatasetReply()),
    MessageSample(ListDatasetsRequest(), empty: ListDatasetsRequest()),
    MessageSample(
        ListDatasetsReply(datasets: [sampleDataset, DatasetInfo(name: "x")]),
        empty: ListDatasetsReply()),
    MessageSample(ShowDatasetRequest(name: "pets", sample: 5), empty: ShowDatasetRequest()),
    MessageSample(
        DatasetItemInfo(index: 7, path: "beagle/1.jpg", className: "beagle", caption: "a dog"),
        empty: DatasetItemInfo()),
    MessageSample(
        StoredEmbeddingCount(model: "b32", modality: "text", count: 9),
        empty: StoredEmbeddingCount()),
    MessageSample(sampleCaptionSet, empty: CaptionSetInfo()),
    MessageSample(
        ShowDatasetReply(
            dataset: sampleDataset, sample: [DatasetItemInfo(index: 1, path: "a.png")],
            embeddings: [StoredEmbeddingCount(model: "b32", modality: "image", count: 3)],
            captionSets: [sampleCaptionSet], classCounts: [1840, 1840]),
        empty: ShowDatasetReply()),
    MessageSample(RemoveDatasetRequest(name: "pets"), empty: RemoveDatasetRequest()),
    MessageSample(
        RemoveDatasetReply(items: 3680, embeddings: 7360, captions: 3680),
        empty: RemoveDatasetReply()),
    MessageSample(
        ListDatasetEmbeddingsRequest(
            name: "pets", model: "b32", modality: "text", limit: 10, start: 20),
        empty: ListDatasetEmbeddingsRequest()),
    MessageSample(
        ListDatasetEmbeddingsReply(embeddings: [sampleEmbedding], indices: [20], total: 3680),
        empty: ListDatasetEmbeddingsReply()),
    MessageSample(
        ShowAnchorsRequest(name: "pets", sample: 5, captionSet: "file-9f"),
        empty: ShowAnchorsRequest()),
    MessageSample(CaptionText(text: "a dog", score: 0.25), empty: CaptionText()),
    MessageSample(
        CaptionAnchor(
            index: 4, path: "beagle/4.jpg",
            captions: [CaptionText(text: "a dog", score: 0.5), CaptionText(text: "a pet")]),
        empty: CaptionAnchor()),
    MessageSample(sampleTask, empty: AnchorTaskInfo()),
    MessageSample(samplePair, empty: PairAnchor()),
    MessageSample(
        ShowAnchorsReply(
            kind: "pairs", name: "pets-anchors", captionSets: [sampleCaptionSet],
            captionSet: "nearest-caption-1a2b",
            captions: [CaptionAnchor(index: 1, path: "a.png", captions: [CaptionText(text: "t")])],
            task: sampleTask, pairs: [samplePair], total: 592),
        empty: ShowAnchorsReply()),
    MessageSample(samplePlugin.options[0], empty: PluginOption()),
    MessageSample(samplePlugin, empty: PluginInfo()),
    MessageSample(
        PluginRefusalInfo(path: "/p/libx.so", reason: "wrong API version"),
        empty: PluginRefusalInfo()),
    MessageSample(ListPluginsRequest(), empty: ListPluginsRequest()),
    MessageSample(
        ListPluginsReply(
            plugins: [samplePlugin], refused: [PluginRefusalInfo(path: "/p/a.so", reason: "r")]),
        empty: ListPluginsReply()),
]

let samples: [MessageSample] = datasetSamples + trainingSamples + [
    MessageSample(
        CallStatus(.failedPrecondition, "model busy", hint: "wait"), empty: CallStatus(.ok, "")),
    MessageSample(StatusRequest(), empty: StatusRequest()),
    MessageSample(
        StatusReply(
            version: "0.1.0", pid: 4242, uptimeSeconds: 12.5, threads: 2,
            loadedModels: ["a", "b", ""], queuedJobs: 3, runningJobs: 1),
        empty: StatusReply()),
    MessageSample(sampleArchitecture, empty: ModelArchitecture()),
    MessageSample(sampleModel, empty: ModelInfo()),
    MessageSample(
        LoadModelRequest(name: "b32", directory: "/m", replace: true), empty: LoadModelRequest()),
    MessageSample(LoadModelReply(model: sampleModel, loadSeconds: 1.25), empty: LoadModelReply()),
    MessageSample(ListModelsRequest(), empty: ListModelsRequest()),
    MessageSample(
        ListModelsReply(models: [sampleModel, ModelInfo(name: "x")]), empty: ListModelsReply()),
    MessageSample(EmbedInput.text("a photo of a cat"), empty: EmbedInput.text("")),
    MessageSample(EmbedInput.imagePath("/tmp/cat.jpg"), empty: EmbedInput.imagePath("")),
    MessageSample(EmbedInput.imageBytes([0xFF, 0xD8, 0, 1]), empty: EmbedInput.imageBytes([])),
    MessageSample(
        EmbedRequest(model: "m", inputs: [.text("t"), .imagePath("p"), .imageBytes([0, 0, 7])]),
        empty: EmbedRequest()),
    MessageSample(sampleEmbedding, empty: Embedding()),
    MessageSample(
        EmbedReply(model: "m", embeddings: [sampleEmbedding, sampleEmbedding]),
        empty: EmbedReply()),
    MessageSample(ImageInput.path("/a.png"), empty: ImageInput.path("")),
    MessageSample(ImageInput.data([1, 2, 3]), empty: ImageInput.data([])),
    MessageSample(
        ClassifyRequest(
            model: "m", labels: ["cat", "dog"], templates: ["a photo of a {}."],
            images: [.path("a.png"), .data([9])], topK: 1),
        empty: ClassifyRequest()),
    MessageSample(LabelScore(label: "cat", probability: 0.75), empty: LabelScore()),
    MessageSample(sampleScores, empty: ImageClassification()),
    MessageSample(ClassifyReply(model: "m", results: [sampleScores]), empty: ClassifyReply()),
    MessageSample(sampleJob, empty: JobInfo()),
    MessageSample(ListJobsRequest(), empty: ListJobsRequest()),
    MessageSample(ListJobsReply(jobs: [sampleJob, JobInfo(id: "j-8")]), empty: ListJobsReply()),
    MessageSample(WatchJobRequest(jobID: "j-7"), empty: WatchJobRequest()),
    MessageSample(
        JobEvent(
            jobID: "j-7", state: .succeeded, step: 1000, total: 1000, loss: 0.125,
            learningRate: 1e-5, rate: 31.5, etaSeconds: 0, message: "done",
            resultJSON: #"{"top1": 0.61}"#),
        empty: JobEvent()),
    MessageSample(CancelJobRequest(jobID: "j-7"), empty: CancelJobRequest()),
    MessageSample(CancelJobReply(state: .cancelled), empty: CancelJobReply()),
    MessageSample(
        SubmitJobRequest(kind: "embed-folder", paramsJSON: #"{"folder": "/photos"}"#),
        empty: SubmitJobRequest()),
    MessageSample(SubmitJobReply(job: sampleJob), empty: SubmitJobReply()),
    MessageSample(RemoveModelRequest(name: "b32"), empty: RemoveModelRequest()),
    MessageSample(RemoveModelReply(embeddings: 12), empty: RemoveModelReply()),
    MessageSample(RemoveRunRequest(name: "ft-1"), empty: RemoveRunRequest()),
    MessageSample(
        RemoveRunReply(models: ["ft-1", "ft-1+wise0.5"], results: 7, bytes: 1 << 33),
        empty: RemoveRunReply()),
    MessageSample(
        PruneJobsRequest(olderThanSeconds: 86400, keep: 20), empty: PruneJobsRequest()),
    MessageSample(PruneJobsReply(removed: ["3", "4"], remaining: 9), empty: PruneJobsReply()),
    MessageSample(
        ListStoredRequest(model: "m", folder: "/photos", limit: 10, after: "a/b.jpg"),
        empty: ListStoredRequest()),
    MessageSample(
        ListStoredReply(embeddings: [sampleEmbedding], total: 42), empty: ListStoredReply()),
]

@Suite("Messages")
struct MessageTests {
    @Test("each message type round-trips with every field set and with none", arguments: samples)
    func roundTrip(sample: MessageSample) throws {
        #expect(try sample.roundTrip())
        #expect(try sample.emptyRoundTrip())
    }

    @Test("every message in proto/arf/v1 has a round-trip sample")
    func everyProtoMessageIsCovered() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../proto/arf/v1").standardized
        var declared: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path)
        where file.hasSuffix(".proto") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("message ") {
                declared.insert("arf.v1." + line.split(separator: " ")[1])
            }
        }

        #expect(declared.count >= 25)
        #expect(declared == Set(samples.map(\.protoName)))
    }

    @Test("the encoding is standard protobuf: field tags, lengths, packed floats")
    func bytesAreProtobuf() {
        #expect(
            LoadModelRequest(name: "a", directory: "bc").encoded()
                == [0x0A, 1, 0x61, 0x12, 2, 0x62, 0x63])
        // Field 3, packed: tag 0x1A, 8 bytes, two little-endian floats (1.0 and -2.0).
        #expect(
            Embedding(values: [1, -2]).encoded()
                == [0x1A, 8, 0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0])
        #expect(StatusRequest().encoded() == [])
    }

    @Test("bytes that are not protobuf are refused naming the message")
    func garbageIsRefused() {
        #expect(throws: WireError.undecodable(message: "arf.v1.StatusReply", bytes: 2)) {
            try StatusReply(decoding: [0x0A, 0x7F])
        }
        #expect(throws: WireError.undecodable(message: "arf.v1.JobEvent", bytes: 1)) {
            try JobEvent(decoding: [0xFF])
        }
    }

    @Test("an input whose oneof is unset is refused, also nested in a request")
    func unsetOneofIsRefused() {
        #expect(
            throws: WireError.invalidMessage(
                message: "arf.v1.EmbedInput", reason: "none of image_path, image_bytes, text is set"
            )
        ) {
            try EmbedRequest(decoding: [0x12, 0x00])
        }
        #expect(
            throws: WireError.invalidMessage(
                message: "arf.v1.ImageInput", reason: "neither path nor data is set")
        ) {
            try ImageInput(decoding: [])
        }
    }

    @Test("enum values from a newer peer decode as unspecified rather than failing")
    func unknownEnumValues() throws {
        // JobEvent field 2 (state) = 77; Error field 1 (code) = 99.
        #expect(try JobEvent(decoding: [0x10, 77]).state == .unspecified)
        #expect(try CallStatus(decoding: [0x08, 99, 0x12, 1, 0x78]) == CallStatus(.internal, "x"))
    }

    @Test("strings stop at a NUL byte, which C strings cannot carry")
    func nulInString() throws {
        #expect(
            try LoadModelRequest(decoding: LoadModelRequest(name: "ab\0cd").encoded()).name == "ab")
    }
}
