// Embedding, zero-shot classification and reading back stored embeddings, answered on the
// wire's own threads so that many calls run at once. At most `slots` calls compute at a time
// (each holds a tower state with its activations, which for a large model is hundreds of
// megabytes); the rest wait for a slot, giving up if their client cancels. The class
// embeddings of recent label and template sets are kept (ClassEmbeddingCache), so a repeated
// classification only runs the image tower.
//
// Left out: batching separate calls together.
import ArfCLIP
import ArfImage
import ArfStore
import ArfWire
import Foundation

/// The daemon's inference calls.
final class Inference: @unchecked Sendable {
    static let defaultTemplate = "a photo of a {}."
    /// The most stored embeddings one ListStored call returns.
    static let maxPage = 10_000
    static let defaultPage = 1_000

    private let models: ModelRegistry
    private let store: Store
    private let slots: DispatchSemaphore
    let slotCount: Int
    /// Class embeddings of recent classify requests.
    let classCache = ClassEmbeddingCache(capacity: 64)

    init(models: ModelRegistry, store: Store, slots: Int) {
        self.models = models
        self.store = store
        slotCount = max(1, slots)
        self.slots = DispatchSemaphore(value: slotCount)
    }

    /// Embeddings of texts and images, in request order.
    func embed(_ request: EmbedRequest, _ context: CallContext) throws -> EmbedReply {
        guard !request.inputs.isEmpty else { throw DaemonError.badRequest("nothing to embed") }
        let pipeline = try models.pipeline(named: try Self.modelName(request.model))

        // Texts and images go through their towers as two batches, then back in order.
        var texts: [(index: Int, text: String)] = []
        var images: [(index: Int, image: RGBImage, echo: String)] = []
        for (index, input) in request.inputs.enumerated() {
            switch input {
            case .text(let text):
                texts.append((index, text))
            case .imagePath(let path):
                images.append((index, try Self.decode(path: path), path))
            case .imageBytes(let bytes):
                let name = "image \(index + 1) (\(bytes.count) bytes)"
                images.append((index, try Self.decode(bytes: bytes, name: name), name))
            }
        }
        return try withSlot(context) {
            var out = [Embedding](repeating: Embedding(), count: request.inputs.count)
            let textRows = try pipeline.embed(texts: texts.map(\.text))
            for (item, row) in zip(texts, textRows) {
                out[item.index] = Embedding(kind: .text, input: item.text, values: row)
            }
            let imageRows = try pipeline.embed(images: images.map(\.image))
            for (item, row) in zip(images, imageRows) {
                out[item.index] = Embedding(kind: .image, input: item.echo, values: row)
            }
            return EmbedReply(model: request.model, embeddings: out)
        }
    }

    /// Zero-shot class probabilities of each image over the labels, most probable first.
    func classify(_ request: ClassifyRequest, _ context: CallContext) throws -> ClassifyReply {
        guard !request.labels.isEmpty else { throw DaemonError.badRequest("no labels given") }
        if let blank = request.labels.firstIndex(where: {
            $0.trimmingCharacters(in: .whitespaces).isEmpty
        }) {
            throw DaemonError.badRequest("label \(blank + 1) is empty")
        }
        guard !request.images.isEmpty else { throw DaemonError.badRequest("no images given") }
        let model = try Self.modelName(request.model)
        let pipeline = try models.pipeline(named: model)
        let templates = request.templates.isEmpty ? [Self.defaultTemplate] : request.templates

        var decoded: [(image: RGBImage, echo: String)] = []
        for (index, input) in request.images.enumerated() {
            switch input {
            case .path(let path):
                decoded.append((try Self.decode(path: path), path))
            case .data(let bytes):
                let name = "image \(index + 1) (\(bytes.count) bytes)"
                decoded.append((try Self.decode(bytes: bytes, name: name), name))
            }
        }
        let k =
            request.topK == 0 ? request.labels.count : min(Int(request.topK), request.labels.count)
        return try withSlot(context) {
            let classes = try classCache.classes(
                model: model, pipeline: pipeline, labels: request.labels, templates: templates
            ) { try pipeline.classEmbeddings(labels: request.labels, templates: templates) }
            let embedded = try pipeline.embed(images: decoded.map(\.image))
            let probabilities = pipeline.probabilities(images: embedded, classes: classes)
            let results = zip(decoded, probabilities).map { item, row in
                // Sorting indices keeps the request's label order among equal probabilities.
                let ranked = row.indices.sorted {
                    row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1)
                }
                return ImageClassification(
                    input: item.echo,
                    ranked: ranked.prefix(k).map {
                        LabelScore(label: request.labels[$0], probability: row[$0])
                    })
            }
            return ClassifyReply(model: request.model, results: results)
        }
    }

    /// A page of the embeddings stored for a model and folder, in item order.
    func listStored(_ request: ListStoredRequest) throws -> ListStoredReply {
        let model = try Self.modelName(request.model)
        guard request.folder.hasPrefix("/") else {
            throw DaemonError.badRequest("folder \(request.folder) is not an absolute path")
        }
        let folder = URL(fileURLWithPath: request.folder).standardizedFileURL.path
        let limit = request.limit == 0 ? Self.defaultPage : min(Int(request.limit), Self.maxPage)
        let table = try store.table(StoreLayout.embeddings)
        let prefix = StoreLayout.embeddingPrefix(model: model, folder: folder)
        // The prefix ends with a string's 0 byte; replacing it with 1 bounds every key under it.
        let upper = Key(bytes: prefix.bytes.dropLast() + [1])
        let lower =
            request.after.isEmpty
            ? prefix
            : Key(bytes: prefix.appending(request.after).bytes + [0])
        return try store.read { txn in
            var page: [Embedding] = []
            for entry in try txn.scan(table, from: lower, to: upper) {
                if page.count == limit { break }
                var reader = entry.key.reader()
                _ = reader.readString()
                _ = reader.readString()
                let item = reader.readString() ?? ""
                page.append(Embedding(kind: .image, input: item, values: Self.floats(entry.value)))
            }
            return ListStoredReply(
                embeddings: page, total: UInt64(try txn.count(table, prefix: prefix)))
        }
    }

    /// Runs `body` once a compute slot is free; gives up if the client cancels meanwhile.
    private func withSlot<T>(_ context: CallContext, _ body: () throws -> T) throws -> T {
        while slots.wait(timeout: .now() + 0.25) == .timedOut {
            try context.checkCancellation()
        }
        defer { slots.signal() }
        return try body()
    }

    private static func modelName(_ name: String) throws -> String {
        guard !name.isEmpty else { throw DaemonError.badRequest("no model named in the request") }
        return name
    }

    private static func decode(path: String) throws -> RGBImage {
        guard path.hasPrefix("/") else {
            throw DaemonError.badRequest("image path \(path) is not absolute")
        }
        return try ImageCodec.decode(file: URL(fileURLWithPath: path))
    }

    private static func decode(bytes: [UInt8], name: String) throws -> RGBImage {
        try ImageCodec.decode(Data(bytes), name: name)
    }

    /// Little-endian floats from a stored value.
    static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<raw.count / 4).map {
                Float(
                    bitPattern: UInt32(
                        littleEndian: raw.loadUnaligned(
                            fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
    }
}
