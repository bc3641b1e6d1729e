// Swift values for arf/v1/inference.proto (embedding, zero-shot classification, and reading
// back stored embeddings) and their mapping onto the protobuf-c structs. A `oneof` becomes a
// Swift enum; a decoded message whose `oneof` is unset is rejected here, so handlers never see
// an input without a source.
import ArfProto

/// One thing to embed: an image by path or by its encoded bytes, or a text.
public enum EmbedInput: WireMessage, Equatable {
    /// A path the daemon can read.
    case imagePath(String)
    /// An encoded JPEG or PNG file.
    case imageBytes([UInt8])
    case text(String)
}

extension EmbedInput: ProtobufCMapped {
    typealias CMessage = Arf__V1__EmbedInput

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__embed_input__init(message)
    }

    init(c: CMessage) throws {
        switch c.source_case {
        case ARF__V1__EMBED_INPUT__SOURCE_IMAGE_PATH: self = .imagePath(CField.string(c.image_path))
        case ARF__V1__EMBED_INPUT__SOURCE_IMAGE_BYTES:
            self = .imageBytes(CField.bytes(c.image_bytes))
        case ARF__V1__EMBED_INPUT__SOURCE_TEXT: self = .text(CField.string(c.text))
        default:
            throw WireError.invalidMessage(
                message: Self.protoName, reason: "none of image_path, image_bytes, text is set")
        }
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        switch self {
        case .imagePath(let path):
            c.source_case = ARF__V1__EMBED_INPUT__SOURCE_IMAGE_PATH
            c.image_path = arena.string(path)
        case .imageBytes(let bytes):
            c.source_case = ARF__V1__EMBED_INPUT__SOURCE_IMAGE_BYTES
            c.image_bytes = arena.bytes(bytes)
        case .text(let text):
            c.source_case = ARF__V1__EMBED_INPUT__SOURCE_TEXT
            c.text = arena.string(text)
        }
    }
}

/// Asks a loaded model for embeddings of images and texts.
public struct EmbedRequest: WireMessage, Equatable {
    public var model: String
    public var inputs: [EmbedInput]

    public init(model: String = "", inputs: [EmbedInput] = []) {
        self.model = model
        self.inputs = inputs
    }
}

extension EmbedRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__EmbedRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__embed_request__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            model: CField.string(c.model), inputs: try EmbedInput.repeated(c.inputs, c.n_inputs))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.model = arena.string(model)
        c.n_inputs = inputs.count
        c.inputs = inputs.cArray(arena)
    }
}

/// Which tower produced an embedding.
public enum EmbeddingKind: Int32, Sendable, CaseIterable {
    case unspecified = 0
    case image = 1
    case text = 2
}

/// One embedding, with an echo of the input it came from.
public struct Embedding: WireMessage, Equatable {
    public var kind: EmbeddingKind
    /// The path, the text, or a short description of image bytes.
    public var input: String
    public var values: [Float]

    public init(kind: EmbeddingKind = .unspecified, input: String = "", values: [Float] = []) {
        self.kind = kind
        self.input = input
        self.values = values
    }
}

extension Embedding: ProtobufCMapped {
    typealias CMessage = Arf__V1__Embedding

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__embedding__init(message)
    }

    init(c: CMessage) {
        self.init(
            kind: EmbeddingKind(rawValue: Int32(truncatingIfNeeded: c.kind.rawValue))
                ?? .unspecified,
            input: CField.string(c.input), values: CField.scalars(c.values, c.n_values))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.kind = Arf__V1__EmbeddingKind(rawValue: numericCast(kind.rawValue))
        c.input = arena.string(input)
        c.n_values = values.count
        c.values = arena.array(values)
    }
}

/// One embedding per input, in request order.
public struct EmbedReply: WireMessage, Equatable {
    public var model: String
    public var embeddings: [Embedding]

    public init(model: String = "", embeddings: [Embedding] = []) {
        self.model = model
        self.embeddings = embeddings
    }
}

extension EmbedReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__EmbedReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__embed_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            model: CField.string(c.model),
            embeddings: try Embedding.repeated(c.embeddings, c.n_embeddings))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.model = arena.string(model)
        c.n_embeddings = embeddings.count
        c.embeddings = embeddings.cArray(arena)
    }
}

/// An image given by path or by its encoded bytes.
public enum ImageInput: WireMessage, Equatable {
    case path(String)
    case data([UInt8])
}

extension ImageInput: ProtobufCMapped {
    typealias CMessage = Arf__V1__ImageInput

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__image_input__init(message)
    }

    init(c: CMessage) throws {
        switch c.source_case {
        case ARF__V1__IMAGE_INPUT__SOURCE_PATH: self = .path(CField.string(c.path))
        case ARF__V1__IMAGE_INPUT__SOURCE_DATA: self = .data(CField.bytes(c.data))
        default:
            throw WireError.invalidMessage(
                message: Self.protoName, reason: "neither path nor data is set")
        }
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        switch self {
        case .path(let path):
            c.source_case = ARF__V1__IMAGE_INPUT__SOURCE_PATH
            c.path = arena.string(path)
        case .data(let data):
            c.source_case = ARF__V1__IMAGE_INPUT__SOURCE_DATA
            c.data = arena.bytes(data)
        }
    }
}

/// Asks for embeddings that embed-folder jobs stored for one model and folder, in item order.
public struct ListStoredRequest: WireMessage, Equatable {
    public var model: String
    /// The folder as the job was given it (absolute).
    public var folder: String
    /// At most this many; 0 means the daemon's page size.
    public var limit: UInt32
    /// Start after this relative item path; empty starts at the first item.
    public var after: String

    public init(model: String = "", folder: String = "", limit: UInt32 = 0, after: String = "") {
        self.model = model
        self.folder = folder
        self.limit = limit
        self.after = after
    }
}

extension ListStoredRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListStoredRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_stored_request__init(message)
    }

    init(c: CMessage) {
        self.init(
            model: CField.string(c.model), folder: CField.string(c.folder), limit: c.limit,
            after: CField.string(c.after))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.model = arena.string(model)
        c.folder = arena.string(folder)
        c.limit = limit
        c.after = arena.string(after)
    }
}

/// One page of stored embeddings; each one's input is the item path relative to the folder.
public struct ListStoredReply: WireMessage, Equatable {
    public var embeddings: [Embedding]
    /// How many the store holds for the model and folder, over all pages.
    public var total: UInt64

    public init(embeddings: [Embedding] = [], total: UInt64 = 0) {
        self.embeddings = embeddings
        self.total = total
    }
}

extension ListStoredReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListStoredReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_stored_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            embeddings: try Embedding.repeated(c.embeddings, c.n_embeddings), total: c.total)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_embeddings = embeddings.count
        c.embeddings = embeddings.cArray(arena)
        c.total = total
    }
}
