// Swift values for arf/v1/models.proto (loading and listing models) and their mapping onto
// the protobuf-c structs.
import ArfProto

/// The shape of a CLIP-style model.
public struct ModelArchitecture: WireMessage, Equatable {
    public var visionWidth: UInt32
    public var textWidth: UInt32
    public var visionLayers: UInt32
    public var textLayers: UInt32
    public var patchSize: UInt32
    public var imageSize: UInt32
    public var projectionDim: UInt32
    public var parameterCount: UInt64

    public init(
        visionWidth: UInt32 = 0, textWidth: UInt32 = 0, visionLayers: UInt32 = 0,
        textLayers: UInt32 = 0, patchSize: UInt32 = 0, imageSize: UInt32 = 0,
        projectionDim: UInt32 = 0, parameterCount: UInt64 = 0
    ) {
        self.visionWidth = visionWidth
        self.textWidth = textWidth
        self.visionLayers = visionLayers
        self.textLayers = textLayers
        self.patchSize = patchSize
        self.imageSize = imageSize
        self.projectionDim = projectionDim
        self.parameterCount = parameterCount
    }
}

extension ModelArchitecture: ProtobufCMapped {
    typealias CMessage = Arf__V1__ModelArchitecture

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__model_architecture__init(message)
    }

    init(c: CMessage) {
        self.init(
            visionWidth: c.vision_width, textWidth: c.text_width,
            visionLayers: c.vision_layers, textLayers: c.text_layers, patchSize: c.patch_size,
            imageSize: c.image_size, projectionDim: c.projection_dim,
            parameterCount: c.parameter_count)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.vision_width = visionWidth
        c.text_width = textWidth
        c.vision_layers = visionLayers
        c.text_layers = textLayers
        c.patch_size = patchSize
        c.image_size = imageSize
        c.projection_dim = projectionDim
        c.parameter_count = parameterCount
    }
}

/// A loaded model: its name, where it came from and its shape.
public struct ModelInfo: WireMessage, Equatable {
    public var name: String
    /// The checkpoint directory, as the daemon sees it.
    public var directory: String
    public var architecture: ModelArchitecture
    /// Whether the weights are in memory now; registered models load again on first use.
    public var loaded: Bool

    public init(
        name: String = "", directory: String = "", architecture: ModelArchitecture = .init(),
        loaded: Bool = false
    ) {
        self.name = name
        self.directory = directory
        self.architecture = architecture
        self.loaded = loaded
    }
}

extension ModelInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__ModelInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__model_info__init(message)
    }

    init(c: CMessage) throws {
        self.init(
            name: CField.string(c.name), directory: CField.string(c.directory),
            architecture: try .nested(c.architecture, or: ModelArchitecture()),
            loaded: c.loaded != 0)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.directory = arena.string(directory)
        c.architecture = architecture.allocate(in: arena)
        c.loaded = loaded ? 1 : 0
    }
}

/// Asks the daemon to load a checkpoint directory under a name.
public struct LoadModelRequest: WireMessage, Equatable {
    /// The name later requests use; unique among loaded models.
    public var name: String
    public var directory: String
    /// Replace a model already registered under the name instead of failing.
    public var replace: Bool

    public init(name: String = "", directory: String = "", replace: Bool = false) {
        self.name = name
        self.directory = directory
        self.replace = replace
    }
}

extension LoadModelRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__LoadModelRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__load_model_request__init(message)
    }

    init(c: CMessage) {
        self.init(
            name: CField.string(c.name), directory: CField.string(c.directory),
            replace: c.replace != 0)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.name = arena.string(name)
        c.directory = arena.string(directory)
        c.replace = replace ? 1 : 0
    }
}

/// The model that was loaded and how long it took.
public struct LoadModelReply: WireMessage, Equatable {
    public var model: ModelInfo
    public var loadSeconds: Double

    public init(model: ModelInfo = .init(), loadSeconds: Double = 0) {
        self.model = model
        self.loadSeconds = loadSeconds
    }
}

extension LoadModelReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__LoadModelReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__load_model_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(model: try .nested(c.model, or: ModelInfo()), loadSeconds: c.load_seconds)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.model = model.allocate(in: arena)
        c.load_seconds = loadSeconds
    }
}

/// Asks for every loaded model.
public struct ListModelsRequest: WireMessage, Equatable {
    public init() {}
}

extension ListModelsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListModelsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_models_request__init(message)
    }

    init(c: CMessage) {}

    func fill(_ c: inout CMessage, _ arena: CArena) {}
}

/// Every loaded model.
public struct ListModelsReply: WireMessage, Equatable {
    public var models: [ModelInfo]

    public init(models: [ModelInfo] = []) { self.models = models }
}

extension ListModelsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListModelsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_models_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(models: try ModelInfo.repeated(c.models, c.n_models))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_models = models.count
        c.models = models.cArray(arena)
    }
}

/// Asks the daemon to forget a registered model (its checkpoint folder stays).
public struct RemoveModelRequest: WireMessage, Equatable {
    public var name: String

    public init(name: String = "") { self.name = name }
}

extension RemoveModelRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__RemoveModelRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__remove_model_request__init(message)
    }

    init(c: CMessage) { self.init(name: CField.string(c.name)) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.name = arena.string(name) }
}

/// How many stored embeddings went with a removed model.
public struct RemoveModelReply: WireMessage, Equatable {
    public var embeddings: UInt64

    public init(embeddings: UInt64 = 0) { self.embeddings = embeddings }
}

extension RemoveModelReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__RemoveModelReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__remove_model_reply__init(message)
    }

    init(c: CMessage) { self.init(embeddings: c.embeddings) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.embeddings = embeddings }
}
