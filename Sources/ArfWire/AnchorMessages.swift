// Swift values for arf/v1/anchors.proto (showing caption anchors of a dataset and pair
// anchors of a retrieval task) and their mapping onto the protobuf-c structs.
import ArfProto

/// Asks for a dataset's captions or a task's retrieved pairs.
public struct ShowAnchorsRequest: WireMessage, Equatable {
    /// A dataset (its captions) or a retrieval task (its pairs).
    public var name: String
    /// How many to show, spread evenly.
    public var sample: UInt32
    /// Datasets: the caption set to show; empty shows the most recent.
    public var captionSet: String

    public init(name: String = "", sample: UInt32 = 0, captionSet: String = "") {
        self.name = name
        self.sample = sample
        self.captionSet = captionSet
    }
}

extension ShowAnchorsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ShowAnchorsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__show_anchors_request__init(message)
    }

    init(c: CMessage) {
        self.init(
            name: CField.string(c.name), sample: c.sample, captionSet: CField.string(c.caption_set))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.sample = sample
        c.caption_set = arena.string(captionSet)
    }
}

/// One caption and, when the captioner gave one, its score.
public struct CaptionText: WireMessage, Equatable {
    public var text: String
    public var score: Double?

    public init(text: String = "", score: Double? = nil) {
        self.text = text
        self.score = score
    }
}

extension CaptionText: ProtobufCMapped {
    typealias CMessage = Arf__V1__CaptionText

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__caption_text__init(message)
    }

    init(c: CMessage) {
        self.init(text: CField.string(c.text), score: c.has_score != 0 ? c.score : nil)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.text = arena.string(text)
        c.score = score ?? 0
        c.has_score = score == nil ? 0 : 1
    }
}

/// An image and its captions.
public struct CaptionAnchor: WireMessage, Equatable {
    public var index: UInt64
    public var path: String
    public var captions: [CaptionText]

    public init(index: UInt64 = 0, path: String = "", captions: [CaptionText] = []) {
        self.index = index
        self.path = path
        self.captions = captions
    }
}

extension CaptionAnchor: ProtobufCMapped {
    typealias CMessage = Arf__V1__CaptionAnchor

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__caption_anchor__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            index: c.index, path: CField.string(c.path),
            captions: try CaptionText.repeated(c.captions, c.n_captions))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.index = index
        c.path = arena.string(path)
        c.n_captions = captions.count
        c.captions = captions.cArray(arena)
    }
}

/// How a retrieval task was run.
public struct AnchorTaskInfo: WireMessage, Equatable {
    public var task: String
    public var pool: String
    public var finetune: String
    public var model: String
    public var retriever: String
    /// The retriever's options with defaults filled in, as a JSON object.
    public var optionsJSON: String
    public var perClass: UInt32
    /// text, image or both.
    public var query: String
    public var excludeEval: Bool
    /// The near-duplicate threshold; 0 when off.
    public var dedup: Double
    public var count: UInt64
    public var createdUnix: Double

    public init(
        task: String = "", pool: String = "", finetune: String = "", model: String = "",
        retriever: String = "", optionsJSON: String = "", perClass: UInt32 = 0,
        query: String = "", excludeEval: Bool = false, dedup: Double = 0, count: UInt64 = 0,
        createdUnix: Double = 0
    ) {
        self.task = task
        self.pool = pool
        self.finetune = finetune
        self.model = model
        self.retriever = retriever
        self.optionsJSON = optionsJSON
        self.perClass = perClass
        self.query = query
        self.excludeEval = excludeEval
        self.dedup = dedup
        self.count = count
        self.createdUnix = createdUnix
    }
}

extension AnchorTaskInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__AnchorTaskInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__anchor_task_info__init(message)
    }

    init(c: CMessage) {
        self.init(
            task: CField.string(c.task), pool: CField.string(c.pool),
            finetune: CField.string(c.finetune), model: CField.string(c.model),
            retriever: CField.string(c.retriever), optionsJSON: CField.string(c.options_json),
            perClass: c.per_class, query: CField.string(c.query), excludeEval: c.exclude_eval != 0,
            dedup: c.dedup, count: c.count, createdUnix: c.created_unix)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.task = arena.string(task)
        c.pool = arena.string(pool)
        c.finetune = arena.string(finetune)
        c.model = arena.string(model)
        c.retriever = arena.string(retriever)
        c.options_json = arena.string(optionsJSON)
        c.per_class = perClass
        c.query = arena.string(query)
        c.exclude_eval = excludeEval ? 1 : 0
        c.dedup = dedup
        c.count = count
        c.created_unix = createdUnix
    }
}

/// One retrieved pair and where it came from.
public struct PairAnchor: WireMessage, Equatable {
    public var rank: UInt64
    /// The item's index in the pool dataset.
    public var poolIndex: UInt64
    public var path: String
    public var caption: String
    public var classIndex: UInt32
    public var className: String
    public var score: Double
    /// The kind of query that matched it: text or image.
    public var query: String

    public init(
        rank: UInt64 = 0, poolIndex: UInt64 = 0, path: String = "", caption: String = "",
        classIndex: UInt32 = 0, className: String = "", score: Double = 0, query: String = ""
    ) {
        self.rank = rank
        self.poolIndex = poolIndex
        self.path = path
        self.caption = caption
        self.classIndex = classIndex
        self.className = className
        self.score = score
        self.query = query
    }
}

extension PairAnchor: ProtobufCMapped {
    typealias CMessage = Arf__V1__PairAnchor

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__pair_anchor__init(message)
    }

    init(c: CMessage) {
        self.init(
            rank: c.rank, poolIndex: c.pool_index, path: CField.string(c.path),
            caption: CField.string(c.caption), classIndex: c.class_index,
            className: CField.string(c.class_name), score: c.score, query: CField.string(c.query))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.rank = rank
        c.pool_index = poolIndex
        c.path = arena.string(path)
        c.caption = arena.string(caption)
        c.class_index = classIndex
        c.class_name = arena.string(className)
        c.score = score
        c.query = arena.string(query)
    }
}

/// A dataset's caption anchors or a task's pair anchors.
public struct ShowAnchorsReply: WireMessage, Equatable {
    /// "captions" for a dataset, "pairs" for a task.
    public var kind: String
    public var name: String
    /// Captions: every caption set of the dataset, and the one sampled.
    public var captionSets: [CaptionSetInfo]
    public var captionSet: String
    public var captions: [CaptionAnchor]
    /// Pairs: the task and a sample of its pairs.
    public var task: AnchorTaskInfo
    public var pairs: [PairAnchor]
    /// How many captioned images or pairs there are in all.
    public var total: UInt64

    public init(
        kind: String = "", name: String = "", captionSets: [CaptionSetInfo] = [],
        captionSet: String = "", captions: [CaptionAnchor] = [], task: AnchorTaskInfo = .init(),
        pairs: [PairAnchor] = [], total: UInt64 = 0
    ) {
        self.kind = kind
        self.name = name
        self.captionSets = captionSets
        self.captionSet = captionSet
        self.captions = captions
        self.task = task
        self.pairs = pairs
        self.total = total
    }
}

extension ShowAnchorsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ShowAnchorsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__show_anchors_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            kind: CField.string(c.kind), name: CField.string(c.name),
            captionSets: try CaptionSetInfo.repeated(c.caption_sets, c.n_caption_sets),
            captionSet: CField.string(c.caption_set),
            captions: try CaptionAnchor.repeated(c.captions, c.n_captions),
            task: try .nested(c.task, or: AnchorTaskInfo()),
            pairs: try PairAnchor.repeated(c.pairs, c.n_pairs), total: c.total)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.kind = arena.string(kind)
        c.name = arena.string(name)
        c.n_caption_sets = captionSets.count
        c.caption_sets = captionSets.cArray(arena)
        c.caption_set = arena.string(captionSet)
        c.n_captions = captions.count
        c.captions = captions.cArray(arena)
        c.task = task.allocate(in: arena)
        c.n_pairs = pairs.count
        c.pairs = pairs.cArray(arena)
        c.total = total
    }
}
