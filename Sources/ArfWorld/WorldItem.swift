// What one picture of the world is (its class, domain and attributes, its caption and where
// its file goes), the splits the world is cut into, and how many items each split has.
// Items are plain values: drawing them is the renderer's job, choosing them the World's.
import Foundation

/// One picture of the world: everything needed to draw it and to describe it.
public struct WorldItem: Codable, Sendable, Equatable {
    /// The split the item belongs to.
    public let split: WorldSplit
    /// The item's position in its split, from zero.
    public let index: Int
    /// The seed the item was sampled and is drawn from.
    public let seed: UInt64
    /// The kind of object drawn.
    public let objectClass: ObjectClass
    /// The style the picture is drawn in.
    public let domain: Domain
    /// The objects' colour; sketches have none.
    public let colour: NamedColour?
    /// How large each object is.
    public let size: ObjectSize
    /// How many objects there are, all alike.
    public let count: ObjectCount
    /// Where a single object sits; nil for two or three objects.
    public let position: Position?
    /// The background's pattern.
    public let background: BackgroundPattern
    /// The background's colour; sketches are on uncoloured paper.
    public let backgroundColour: NamedColour?
    /// A true English description of the picture.
    public internal(set) var caption: String

    /// The item's file, relative to the world's folder.
    public var relativePath: String { split.picturePath(index: index, objectClass: objectClass) }
}

/// A part of the world with its own purpose, folder and sampling rules.
public enum WorldSplit: String, CaseIterable, Codable, Sendable {
    /// Image-caption pairs over every class and domain, for pretraining.
    case pool
    /// Photos of the seen classes whose colour mostly follows the class.
    case finetune
    /// Photos of the seen classes with the finetuning set's colour statistics.
    case id
    /// Photos of the seen classes with colour independent of class.
    case idDecorrelated = "id_decorrelated"
    case sketch, cartoon, painting
    case unseenPhoto = "unseen_photo"
    case unseenSketch = "unseen_sketch"
    case unseenCartoon = "unseen_cartoon"
    case unseenPainting = "unseen_painting"

    /// The evaluation sets, in the order reports list them.
    public static let evaluationSets: [WorldSplit] = allCases.filter { $0.isEvaluation }

    /// Whether this is one of the evaluation sets under `eval/`.
    public var isEvaluation: Bool { self != .pool && self != .finetune }

    /// The split's folder, relative to the world's folder.
    public var folder: String { isEvaluation ? "eval/\(rawValue)" : rawValue }

    /// The classes the split draws.
    public var classes: [ObjectClass] {
        switch self {
        case .pool: ObjectClass.allCases
        case .unseenPhoto, .unseenSketch, .unseenCartoon, .unseenPainting: ObjectClass.unseen
        default: ObjectClass.seen
        }
    }

    /// The domains the split draws.
    public var domains: [Domain] {
        switch self {
        case .pool: Domain.allCases
        case .finetune, .id, .idDecorrelated, .unseenPhoto: [.photo]
        case .sketch, .unseenSketch: [.sketch]
        case .cartoon, .unseenCartoon: [.cartoon]
        case .painting, .unseenPainting: [.painting]
        }
    }

    /// The path, relative to the world's folder, of the picture at `index` of the split,
    /// whose class is `objectClass` (which only ImageFolder splits use).
    public func picturePath(index: Int, objectClass: ObjectClass) -> String {
        let name = String(format: "%06d.png", index)
        if self == .pool { return "pool/images/\(name)" }
        return "\(folder)/\(objectClass.folderName)/\(name)"
    }

    /// Whether most pictures take their class's spurious colour instead of a uniform one.
    public var followsSpuriousColours: Bool { self == .finetune || self == .id }

    /// A fixed number that separates the split's item seeds from every other split's; it
    /// must never change, or every world changes.
    var stream: UInt64 {
        switch self {
        case .pool: 0x504F_4F4C
        case .finetune: 0x4649_4E45
        case .id: 0x4944_0001
        case .idDecorrelated: 0x4944_0002
        case .sketch: 0x5345_0001
        case .cartoon: 0x5345_0002
        case .painting: 0x5345_0003
        case .unseenPhoto: 0x554E_0001
        case .unseenSketch: 0x554E_0002
        case .unseenCartoon: 0x554E_0003
        case .unseenPainting: 0x554E_0004
        }
    }
}

/// How big a world is: item counts per split and the pictures' size.
public struct WorldScale: Codable, Sendable, Equatable {
    /// Image-caption pairs in `pool/`.
    public var pool: Int
    /// Pictures in `finetune/`.
    public var finetune: Int
    /// Pictures in each evaluation set.
    public var evaluation: Int
    /// Width and height of every picture, in pixels.
    public var imageSize: Int
    /// Subsamples per pixel side used for anti-aliasing edges.
    public var supersample: Int

    /// A scale with the given counts, picture size and anti-aliasing.
    public init(
        pool: Int, finetune: Int, evaluation: Int, imageSize: Int = 32, supersample: Int = 4
    ) {
        self.pool = pool
        self.finetune = finetune
        self.evaluation = evaluation
        self.imageSize = imageSize
        self.supersample = supersample
    }

    /// The demonstration's world: 50,000 pairs, 4,000 finetuning photos, 600 per eval set.
    public static let `default` = WorldScale(pool: 50_000, finetune: 4_000, evaluation: 600)

    /// A world small enough for tests, which generate it in a few seconds even unoptimised.
    public static let small = WorldScale(pool: 1_000, finetune: 200, evaluation: 40)

    /// The number of items in `split`.
    public func count(of split: WorldSplit) -> Int {
        switch split {
        case .pool: pool
        case .finetune: finetune
        default: evaluation
        }
    }

    /// Why the scale cannot be generated, or nil when it can.
    public var problem: String? {
        if pool < 0 || finetune < 0 || evaluation < 0 { return "negative item count" }
        if imageSize < 8 || imageSize > 1024 { return "image size \(imageSize) not in 8...1024" }
        if supersample < 1 || supersample > 8 { return "supersample \(supersample) not in 1...8" }
        if max(pool, finetune, evaluation) > 999_999 { return "more than 999,999 items" }
        return nil
    }
}
