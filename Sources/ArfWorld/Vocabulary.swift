// The world's vocabulary: the sixteen object classes, the four visual domains and the
// attributes an item can have (colour, size, count, position, background), each with the
// words captions use for it. Which classes are seen during finetuning is fixed here too, as
// is each seen class's spurious colour. Nothing here draws or samples.
import Foundation

/// One of the sixteen kinds of object the world draws. Cases are in alphabetical order of
/// their folder names, so that ImageFolder readers, which number classes by sorted folder
/// name, number them as the world does.
public enum ObjectClass: Int, CaseIterable, Codable, Sendable, Comparable {
    case arrow, circle, cross, crown, diamond, flower, heart, hourglass, house
    case lightningBolt, moon, mushroom, ring, square, star, triangle

    /// The classes the finetuning set and the in-distribution evaluation sets use.
    public static let seen: [ObjectClass] = [
        .arrow, .circle, .cross, .heart, .ring, .square, .star, .triangle,
    ]

    /// The classes held out of finetuning, for zero-shot evaluation.
    public static let unseen: [ObjectClass] = allCases.filter { !seen.contains($0) }

    /// Orders classes as their folder names sort.
    public static func < (a: ObjectClass, b: ObjectClass) -> Bool { a.rawValue < b.rawValue }

    /// The class name as captions and prompts spell it.
    public var name: String {
        switch self {
        case .lightningBolt: "lightning bolt"
        default: "\(self)"
        }
    }

    /// The plural form, for captions with two or three objects.
    public var pluralName: String {
        switch self {
        case .cross: "crosses"
        case .hourglass: "hourglasses"
        default: name + "s"
        }
    }

    /// The ImageFolder folder name: the class name with spaces replaced by underscores.
    public var folderName: String { name.replacingOccurrences(of: " ", with: "_") }

    /// The class whose name or folder name is `text`, if any.
    public init?(name text: String) {
        guard let found = ObjectClass.allCases.first(where: {
            $0.name == text || $0.folderName == text
        }) else { return nil }
        self = found
    }

    /// The colour most finetuning pictures of a seen class have; nil for unseen classes.
    public var spuriousColour: NamedColour? {
        guard let slot = ObjectClass.seen.firstIndex(of: self) else { return nil }
        let colours: [NamedColour] = [.cyan, .red, .orange, .pink, .purple, .blue, .yellow, .green]
        return colours[slot]
    }
}

/// The visual style a picture is drawn in.
public enum Domain: String, CaseIterable, Codable, Sendable {
    case photo, sketch, cartoon, painting

    /// Words of which every caption of this domain contains at least one.
    public var captionWords: [String] {
        switch self {
        case .photo: ["photo"]
        case .sketch: ["sketch", "pencil", "line drawing"]
        case .cartoon: ["cartoon"]
        case .painting: ["painting", "painted"]
        }
    }
}

/// The named colours of objects and backgrounds, in hue order around the colour wheel.
public enum NamedColour: String, CaseIterable, Codable, Sendable {
    case red, orange, yellow, green, cyan, blue, purple, pink

    /// The saturated reference colour, channels in 0...1.
    public var rgb: (Float, Float, Float) {
        switch self {
        case .red: (0.86, 0.10, 0.12)
        case .orange: (0.97, 0.52, 0.08)
        case .yellow: (0.98, 0.86, 0.12)
        case .green: (0.16, 0.66, 0.22)
        case .cyan: (0.10, 0.78, 0.84)
        case .blue: (0.12, 0.28, 0.86)
        case .purple: (0.52, 0.18, 0.74)
        case .pink: (0.97, 0.48, 0.72)
        }
    }

    /// Whether the two colours are the same or neighbours on the wheel (too alike for a
    /// background behind the other).
    public func isNear(_ other: NamedColour) -> Bool {
        let n = NamedColour.allCases.count
        let d = abs(position - other.position)
        return min(d, n - d) <= 1
    }

    private var position: Int { NamedColour.allCases.firstIndex(of: self)! }
}

/// How large each object is drawn, relative to the picture.
public enum ObjectSize: String, CaseIterable, Codable, Sendable {
    case small, medium, large
}

/// How many objects of the class a picture holds.
public enum ObjectCount: Int, CaseIterable, Codable, Sendable {
    case one = 1, two, three

    /// The number as a word.
    public var word: String {
        switch self {
        case .one: "one"
        case .two: "two"
        case .three: "three"
        }
    }
}

/// Where a single object sits, as one cell of a three by three grid.
public enum Position: String, CaseIterable, Codable, Sendable {
    case topLeft = "top left", top, topRight = "top right"
    case left, center, right
    case bottomLeft = "bottom left", bottom, bottomRight = "bottom right"

    /// The column (0 left, 1 middle, 2 right) and row (0 top, 1 middle, 2 bottom).
    public var cell: (column: Int, row: Int) {
        let i = Position.allCases.firstIndex(of: self)!
        return (i % 3, i / 3)
    }
}

/// The kind of background behind the objects.
public enum BackgroundPattern: String, CaseIterable, Codable, Sendable {
    case plain, noisy, striped, dotted, gradient

    /// The patterns a domain draws: photos use all, sketches stay on paper, cartoons keep a
    /// plain bright ground and paintings avoid crisp dots.
    public static func allowed(in domain: Domain) -> [BackgroundPattern] {
        switch domain {
        case .photo: [.plain, .noisy, .striped, .dotted, .gradient]
        case .sketch: [.plain, .striped, .dotted]
        case .cartoon: [.plain]
        case .painting: [.plain, .noisy, .striped, .gradient]
        }
    }
}
