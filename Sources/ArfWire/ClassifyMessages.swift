// Swift values for the zero-shot classification messages of arf/v1/inference.proto and their
// mapping onto the protobuf-c structs. `ImageInput` lives beside the embedding messages.
import ArfProto

/// Asks a loaded model to rank labels for each image.
public struct ClassifyRequest: WireMessage, Equatable {
    public var model: String
    public var labels: [String]
    /// Prompt templates with "{}" where the label goes; empty means the daemon's default.
    public var templates: [String]
    public var images: [ImageInput]
    /// How many labels to return per image; 0 means all.
    public var topK: UInt32

    public init(
        model: String = "", labels: [String] = [], templates: [String] = [],
        images: [ImageInput] = [], topK: UInt32 = 0
    ) {
        self.model = model
        self.labels = labels
        self.templates = templates
        self.images = images
        self.topK = topK
    }
}

extension ClassifyRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ClassifyRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__classify_request__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            model: CField.string(c.model), labels: CField.strings(c.labels, c.n_labels),
            templates: CField.strings(c.templates, c.n_templates),
            images: try ImageInput.repeated(c.images, c.n_images), topK: c.top_k)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.model = arena.string(model)
        c.n_labels = labels.count
        c.labels = arena.strings(labels)
        c.n_templates = templates.count
        c.templates = arena.strings(templates)
        c.n_images = images.count
        c.images = images.cArray(arena)
        c.top_k = topK
    }
}

/// One label and its probability.
public struct LabelScore: WireMessage, Equatable {
    public var label: String
    public var probability: Float

    public init(label: String = "", probability: Float = 0) {
        self.label = label
        self.probability = probability
    }
}

extension LabelScore: ProtobufCMapped {
    typealias CMessage = Arf__V1__LabelScore

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__label_score__init(message)
    }

    init(c: CMessage) {
        self.init(label: CField.string(c.label), probability: c.probability)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.label = arena.string(label)
        c.probability = probability
    }
}

/// The ranked labels for one image.
public struct ImageClassification: WireMessage, Equatable {
    /// The image's path, or a short description of its bytes.
    public var input: String
    /// Most probable first.
    public var ranked: [LabelScore]

    public init(input: String = "", ranked: [LabelScore] = []) {
        self.input = input
        self.ranked = ranked
    }
}

extension ImageClassification: ProtobufCMapped {
    typealias CMessage = Arf__V1__ImageClassification

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__image_classification__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            input: CField.string(c.input), ranked: try LabelScore.repeated(c.ranked, c.n_ranked))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.input = arena.string(input)
        c.n_ranked = ranked.count
        c.ranked = ranked.cArray(arena)
    }
}

/// One classification per image, in request order.
public struct ClassifyReply: WireMessage, Equatable {
    public var model: String
    public var results: [ImageClassification]

    public init(model: String = "", results: [ImageClassification] = []) {
        self.model = model
        self.results = results
    }
}

extension ClassifyReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ClassifyReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__classify_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            model: CField.string(c.model),
            results: try ImageClassification.repeated(c.results, c.n_results))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.model = arena.string(model)
        c.n_results = results.count
        c.results = results.cArray(arena)
    }
}
