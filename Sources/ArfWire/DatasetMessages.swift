// Swift values for arf/v1/datasets.proto (registering, listing, showing and removing
// datasets, and reading back their stored embeddings) and their mapping onto the protobuf-c
// structs.
import ArfProto

/// A registered dataset.
public struct DatasetInfo: WireMessage, Equatable {
    public var name: String
    /// finetune, pool, eval-id, eval-shift or eval-zeroshot.
    public var role: String
    /// imagefolder or pairs.
    public var format: String
    /// The folder or list file that was registered.
    public var path: String
    /// The folder item paths are relative to.
    public var root: String
    public var items: UInt64
    /// Class names in label order; empty for a pair list.
    public var classes: [String]
    public var createdUnix: Double

    public init(
        name: String = "", role: String = "", format: String = "", path: String = "",
        root: String = "", items: UInt64 = 0, classes: [String] = [], createdUnix: Double = 0
    ) {
        self.name = name
        self.role = role
        self.format = format
        self.path = path
        self.root = root
        self.items = items
        self.classes = classes
        self.createdUnix = createdUnix
    }
}

extension DatasetInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__DatasetInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__dataset_info__init(message)
    }

    init(c: CMessage) {
        self.init(
            name: CField.string(c.name), role: CField.string(c.role),
            format: CField.string(c.format), path: CField.string(c.path),
            root: CField.string(c.root), items: c.items,
            classes: CField.strings(c.classes, c.n_classes), createdUnix: c.created_unix)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.role = arena.string(role)
        c.format = arena.string(format)
        c.path = arena.string(path)
        c.root = arena.string(root)
        c.items = items
        c.n_classes = classes.count
        c.classes = arena.strings(classes)
        c.created_unix = createdUnix
    }
}

/// Asks the daemon to register a dataset.
public struct AddDatasetRequest: WireMessage, Equatable {
    public var name: String
    /// Absolute path of the image folder or the pair list.
    public var path: String
    public var role: String
    /// imagefolder or pairs; empty picks by the path.
    public var format: String
    /// Pair lists: the image path column (default filepath).
    public var filepathColumn: String
    /// Pair lists: the caption column (default caption).
    public var captionColumn: String
    /// Pair lists: tab or comma; empty picks by the file's extension.
    public var separator: String
    /// Put a new snapshot in place of a dataset of this name, dropping what was stored for it.
    public var replace: Bool

    public init(
        name: String = "", path: String = "", role: String = "", format: String = "",
        filepathColumn: String = "", captionColumn: String = "", separator: String = "",
        replace: Bool = false
    ) {
        self.name = name
        self.path = path
        self.role = role
        self.format = format
        self.filepathColumn = filepathColumn
        self.captionColumn = captionColumn
        self.separator = separator
        self.replace = replace
    }
}

extension AddDatasetRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__AddDatasetRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__add_dataset_request__init(message)
    }

    init(c: CMessage) {
        self.init(
            name: CField.string(c.name), path: CField.string(c.path), role: CField.string(c.role),
            format: CField.string(c.format), filepathColumn: CField.string(c.filepath_column),
            captionColumn: CField.string(c.caption_column), separator: CField.string(c.separator),
            replace: c.replace != 0)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.path = arena.string(path)
        c.role = arena.string(role)
        c.format = arena.string(format)
        c.filepath_column = arena.string(filepathColumn)
        c.caption_column = arena.string(captionColumn)
        c.separator = arena.string(separator)
        c.replace = replace ? 1 : 0
    }
}

/// The dataset as registered.
public struct AddDatasetReply: WireMessage, Equatable {
    public var dataset: DatasetInfo

    public init(dataset: DatasetInfo = .init()) { self.dataset = dataset }
}

extension AddDatasetReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__AddDatasetReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__add_dataset_reply__init(message)
    }

    init(c: CMessage) throws { self.init(dataset: try .nested(c.dataset, or: DatasetInfo())) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.dataset = dataset.allocate(in: arena) }
}

/// Asks for every registered dataset.
public struct ListDatasetsRequest: WireMessage, Equatable {
    public init() {}
}

extension ListDatasetsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListDatasetsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_datasets_request__init(message)
    }

    init(c: CMessage) {}

    func fill(_ c: inout CMessage, _ arena: CArena) {}
}

/// Every registered dataset, by name.
public struct ListDatasetsReply: WireMessage, Equatable {
    public var datasets: [DatasetInfo]

    public init(datasets: [DatasetInfo] = []) { self.datasets = datasets }
}

extension ListDatasetsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListDatasetsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_datasets_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(datasets: try DatasetInfo.repeated(c.datasets, c.n_datasets))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_datasets = datasets.count
        c.datasets = datasets.cArray(arena)
    }
}

/// Asks for one dataset in detail.
public struct ShowDatasetRequest: WireMessage, Equatable {
    public var name: String
    /// How many items to show, spread evenly over the dataset.
    public var sample: UInt32

    public init(name: String = "", sample: UInt32 = 0) {
        self.name = name
        self.sample = sample
    }
}

extension ShowDatasetRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ShowDatasetRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__show_dataset_request__init(message)
    }

    init(c: CMessage) { self.init(name: CField.string(c.name), sample: c.sample) }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.sample = sample
    }
}

/// One item of a dataset.
public struct DatasetItemInfo: WireMessage, Equatable {
    public var index: UInt64
    public var path: String
    /// Image folders: the item's class.
    public var className: String
    /// Pair lists: the item's caption.
    public var caption: String

    public init(index: UInt64 = 0, path: String = "", className: String = "", caption: String = "")
    {
        self.index = index
        self.path = path
        self.className = className
        self.caption = caption
    }
}

extension DatasetItemInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__DatasetItemInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__dataset_item_info__init(message)
    }

    init(c: CMessage) {
        self.init(
            index: c.index, path: CField.string(c.path), className: CField.string(c.class_name),
            caption: CField.string(c.caption))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.index = index
        c.path = arena.string(path)
        c.class_name = arena.string(className)
        c.caption = arena.string(caption)
    }
}

/// How many embeddings of a dataset are stored for one model and tower.
public struct StoredEmbeddingCount: WireMessage, Equatable {
    public var model: String
    /// image or text.
    public var modality: String
    public var count: UInt64

    public init(model: String = "", modality: String = "", count: UInt64 = 0) {
        self.model = model
        self.modality = modality
        self.count = count
    }
}

extension StoredEmbeddingCount: ProtobufCMapped {
    typealias CMessage = Arf__V1__StoredEmbeddingCount

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__stored_embedding_count__init(message)
    }

    init(c: CMessage) {
        self.init(
            model: CField.string(c.model), modality: CField.string(c.modality), count: c.count)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.model = arena.string(model)
        c.modality = arena.string(modality)
        c.count = count
    }
}

/// Captions of a dataset made by one captioner with one set of options.
public struct CaptionSetInfo: WireMessage, Equatable {
    public var id: String
    public var captioner: String
    public var version: String
    /// built-in, or the plugin library's path.
    public var source: String
    public var model: String
    /// The captioner's options with defaults filled in, as a JSON object.
    public var optionsJSON: String
    /// Images captioned so far.
    public var count: UInt64
    public var createdUnix: Double

    public init(
        id: String = "", captioner: String = "", version: String = "", source: String = "",
        model: String = "", optionsJSON: String = "", count: UInt64 = 0, createdUnix: Double = 0
    ) {
        self.id = id
        self.captioner = captioner
        self.version = version
        self.source = source
        self.model = model
        self.optionsJSON = optionsJSON
        self.count = count
        self.createdUnix = createdUnix
    }
}

extension CaptionSetInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__CaptionSetInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__caption_set_info__init(message)
    }

    init(c: CMessage) {
        self.init(
            id: CField.string(c.id), captioner: CField.string(c.captioner),
            version: CField.string(c.version), source: CField.string(c.source),
            model: CField.string(c.model), optionsJSON: CField.string(c.options_json),
            count: c.count, createdUnix: c.created_unix)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.id = arena.string(id)
        c.captioner = arena.string(captioner)
        c.version = arena.string(version)
        c.source = arena.string(source)
        c.model = arena.string(model)
        c.options_json = arena.string(optionsJSON)
        c.count = count
        c.created_unix = createdUnix
    }
}

/// One dataset in detail: a sample of items, stored embeddings and caption sets.
public struct ShowDatasetReply: WireMessage, Equatable {
    public var dataset: DatasetInfo
    public var sample: [DatasetItemInfo]
    public var embeddings: [StoredEmbeddingCount]
    public var captionSets: [CaptionSetInfo]
    /// Image folders: items per class, in label order.
    public var classCounts: [UInt64]

    public init(
        dataset: DatasetInfo = .init(), sample: [DatasetItemInfo] = [],
        embeddings: [StoredEmbeddingCount] = [], captionSets: [CaptionSetInfo] = [],
        classCounts: [UInt64] = []
    ) {
        self.dataset = dataset
        self.sample = sample
        self.embeddings = embeddings
        self.captionSets = captionSets
        self.classCounts = classCounts
    }
}

extension ShowDatasetReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ShowDatasetReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__show_dataset_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            dataset: try .nested(c.dataset, or: DatasetInfo()),
            sample: try DatasetItemInfo.repeated(c.sample, c.n_sample),
            embeddings: try StoredEmbeddingCount.repeated(c.embeddings, c.n_embeddings),
            captionSets: try CaptionSetInfo.repeated(c.caption_sets, c.n_caption_sets),
            classCounts: CField.scalars(c.class_counts, c.n_class_counts))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.dataset = dataset.allocate(in: arena)
        c.n_sample = sample.count
        c.sample = sample.cArray(arena)
        c.n_embeddings = embeddings.count
        c.embeddings = embeddings.cArray(arena)
        c.n_caption_sets = captionSets.count
        c.caption_sets = captionSets.cArray(arena)
        c.n_class_counts = classCounts.count
        c.class_counts = arena.array(classCounts)
    }
}

/// Asks the daemon to forget a dataset with its embeddings and captions.
public struct RemoveDatasetRequest: WireMessage, Equatable {
    public var name: String

    public init(name: String = "") { self.name = name }
}

extension RemoveDatasetRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__RemoveDatasetRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__remove_dataset_request__init(message)
    }

    init(c: CMessage) { self.init(name: CField.string(c.name)) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.name = arena.string(name) }
}

/// What was removed with the dataset.
public struct RemoveDatasetReply: WireMessage, Equatable {
    public var items: UInt64
    public var embeddings: UInt64
    public var captions: UInt64

    public init(items: UInt64 = 0, embeddings: UInt64 = 0, captions: UInt64 = 0) {
        self.items = items
        self.embeddings = embeddings
        self.captions = captions
    }
}

extension RemoveDatasetReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__RemoveDatasetReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__remove_dataset_reply__init(message)
    }

    init(c: CMessage) {
        self.init(items: c.items, embeddings: c.embeddings, captions: c.captions)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.items = items
        c.embeddings = embeddings
        c.captions = captions
    }
}

/// Asks for a page of a dataset's stored embeddings.
public struct ListDatasetEmbeddingsRequest: WireMessage, Equatable {
    public var name: String
    public var model: String
    /// image or text; empty means image.
    public var modality: String
    /// At most this many; 0 means the daemon's default page.
    public var limit: UInt32
    /// The first item index to return.
    public var start: UInt64

    public init(
        name: String = "", model: String = "", modality: String = "", limit: UInt32 = 0,
        start: UInt64 = 0
    ) {
        self.name = name
        self.model = model
        self.modality = modality
        self.limit = limit
        self.start = start
    }
}

extension ListDatasetEmbeddingsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListDatasetEmbeddingsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_dataset_embeddings_request__init(message)
    }

    init(c: CMessage) {
        self.init(
            name: CField.string(c.name), model: CField.string(c.model),
            modality: CField.string(c.modality), limit: c.limit, start: c.start)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.model = arena.string(model)
        c.modality = arena.string(modality)
        c.limit = limit
        c.start = start
    }
}

/// A page of stored embeddings, in item order, with their item indices.
public struct ListDatasetEmbeddingsReply: WireMessage, Equatable {
    public var embeddings: [Embedding]
    public var indices: [UInt64]
    /// How many are stored for the dataset, model and tower.
    public var total: UInt64

    public init(embeddings: [Embedding] = [], indices: [UInt64] = [], total: UInt64 = 0) {
        self.embeddings = embeddings
        self.indices = indices
        self.total = total
    }
}

extension ListDatasetEmbeddingsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListDatasetEmbeddingsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_dataset_embeddings_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            embeddings: try Embedding.repeated(c.embeddings, c.n_embeddings),
            indices: CField.scalars(c.indices, c.n_indices), total: c.total)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_embeddings = embeddings.count
        c.embeddings = embeddings.cArray(arena)
        c.n_indices = indices.count
        c.indices = arena.array(indices)
        c.total = total
    }
}
