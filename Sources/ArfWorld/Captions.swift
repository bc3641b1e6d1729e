// Captions and class prompts. A caption is drawn from a small grammar: a domain phrase, an
// object phrase (count, size, colour, class name), and optional position and background
// phrases, arranged by one of several templates, so that captions vary in wording, length
// and detail while staying true to the picture. The class name and a domain word always
// appear. Class prompts are the fixed templates zero-shot classification averages over.
// Not covered: misspellings, wrong captions, anything but English.
import ArfTensor
import Foundation

/// Writes captions for items.
enum Captioner {
    static func caption(for item: WorldItem, random: inout SeededGenerator) -> String {
        let object = objectPhrase(item, &random)
        let position = random.uniform() < 0.6 ? positionPhrase(item, &random) : ""
        let background = random.uniform() < 0.55 ? backgroundPhrase(item, &random) : ""
        let domain = item.domain
        let plural = item.count != .one

        var text: String
        let form = random.uniform()
        if form < 0.5 {
            text = "\(pick(prefixes(domain), &random)) \(object) \(position) \(background)"
        } else if form < 0.72 {
            text = "\(object) \(position) \(background)\(pick(suffixes(domain), &random))"
        } else if form < 0.86 {
            let verb = plural ? "there are" : "there is"
            let noun = pick(nouns(domain), &random)
            text = "\(verb) \(object) \(position) \(background) in this \(noun)"
        } else {
            let noun = pick(nouns(domain), &random)
            let verb = pick(["showing", "with", "of"], &random)
            text = "a \(noun) \(verb) \(object) \(position) \(background)"
        }
        if random.uniform() < 0.4 { text += "." }
        return tidy(text)
    }

    /// Count, size, colour and class name, e.g. "two small red stars" or "a heart".
    private static func objectPhrase(_ item: WorldItem, _ random: inout SeededGenerator) -> String {
        var words: [String] = []
        switch item.count {
        case .one: words.append(pick(["a", "a", "a", "one", "a single"], &random))
        case .two: words.append(pick(["two", "two", "a pair of"], &random))
        case .three: words.append(pick(["three", "three", "a group of three"], &random))
        }
        if random.uniform() < 0.6 {
            switch item.size {
            case .small: words.append(pick(["small", "little", "tiny"], &random))
            case .medium: words.append(pick(["medium-sized", "medium", "mid-sized"], &random))
            case .large: words.append(pick(["large", "big", "huge"], &random))
            }
        }
        if let colour = item.colour, random.uniform() < 0.75 {
            if item.domain == .cartoon, random.uniform() < 0.3 { words.append("bright") }
            if item.domain == .painting, random.uniform() < 0.3 { words.append("muted") }
            words.append(colour.rawValue)
        }
        words.append(item.count == .one ? item.objectClass.name : item.objectClass.pluralName)
        return words.joined(separator: " ")
    }

    private static func positionPhrase(
        _ item: WorldItem, _ random: inout SeededGenerator
    ) -> String {
        guard let position = item.position else {
            guard random.uniform() < 0.35 else { return "" }
            return item.count == .two
                ? pick(["side by side", "next to each other"], &random)
                : pick(["in a group", "scattered around"], &random)
        }
        switch position {
        case .center: return pick(["in the center", "in the middle", "at the center"], &random)
        case .top: return pick(["at the top", "near the top", "in the upper part"], &random)
        case .bottom:
            return pick(["at the bottom", "near the bottom", "in the lower part"], &random)
        case .left: return pick(["on the left", "on the left side", "near the left edge"], &random)
        case .right:
            return pick(["on the right", "on the right side", "near the right edge"], &random)
        default:
            let (vertical, horizontal) = position == .topLeft ? ("top", "left")
                : position == .topRight ? ("top", "right")
                : position == .bottomLeft ? ("bottom", "left") : ("bottom", "right")
            let upper = vertical == "top" ? "upper" : "lower"
            return pick([
                "at the \(vertical) \(horizontal)", "in the \(vertical) \(horizontal) corner",
                "in the \(upper) \(horizontal)",
            ], &random)
        }
    }

    private static func backgroundPhrase(
        _ item: WorldItem, _ random: inout SeededGenerator
    ) -> String {
        guard let colour = item.backgroundColour else {
            switch item.background {
            case .striped: return pick(["on a striped background", "on lined paper"], &random)
            case .dotted: return pick(["on a dotted background", "on dotted paper"], &random)
            default:
                return pick(["on white paper", "on plain paper", "on a white background"], &random)
            }
        }
        let c = random.uniform() < 0.75 ? colour.rawValue : ""
        switch item.background {
        case .plain:
            if item.domain == .cartoon {
                return pick(["on a plain \(c) background", "on a bright \(c) background"], &random)
            }
            return pick(["on a plain \(c) background", "against a \(c) background"], &random)
        case .noisy:
            return pick([
                "on a noisy \(c) background", "on a grainy \(c) background",
                "against a textured \(c) background",
            ], &random)
        case .striped:
            return pick([
                "on a striped \(c) background", "on a \(c) striped background",
                "against \(c) stripes",
            ], &random)
        case .dotted:
            return pick([
                "on a dotted \(c) background", "on a \(c) polka dot background",
                "against a \(c) dotted background",
            ], &random)
        case .gradient:
            return pick([
                "on a \(c) gradient background", "against a \(c) gradient",
                "on a smooth \(c) gradient",
            ], &random)
        }
    }

    private static func prefixes(_ domain: Domain) -> [String] {
        switch domain {
        case .photo:
            ["a photo of", "a photo of", "a photograph of", "a close-up photo of",
             "a bright photo of", "a snapshot photo of"]
        case .sketch:
            ["a sketch of", "a sketch of", "a pencil sketch of", "a rough sketch of",
             "a line drawing of", "a pencil drawing of"]
        case .cartoon:
            ["a cartoon of", "a cartoon drawing of", "a cartoon illustration of",
             "a simple cartoon of"]
        case .painting:
            ["a painting of", "an oil painting of", "a watercolor painting of",
             "an impressionist painting of", "a canvas painting of"]
        }
    }

    private static func suffixes(_ domain: Domain) -> [String] {
        switch domain {
        case .photo: [", photo", " in a photo", ", photographed up close"]
        case .sketch: [", pencil sketch", " sketched in pencil", ", a line drawing"]
        case .cartoon: [", cartoon style", " in cartoon style", " drawn as a cartoon"]
        case .painting: [", oil painting", " painted in oil", " in a painting"]
        }
    }

    private static func nouns(_ domain: Domain) -> [String] {
        switch domain {
        case .photo: ["photo", "photograph"]
        case .sketch: ["sketch", "pencil sketch"]
        case .cartoon: ["cartoon", "cartoon drawing"]
        case .painting: ["painting", "oil painting"]
        }
    }

    private static func pick(_ options: [String], _ random: inout SeededGenerator) -> String {
        options[Int(random.next() % UInt64(options.count))]
    }

    /// Collapses spaces, fixes spaces before commas and periods, and picks "a" or "an".
    static func tidy(_ text: String) -> String {
        var words = text.split(separator: " ").map(String.init)
        for i in words.indices.dropLast() where words[i] == "a" || words[i] == "an" {
            words[i] = startsWithVowelSound(words[i + 1]) ? "an" : "a"
        }
        return words.joined(separator: " ")
            .replacingOccurrences(of: " ,", with: ",")
            .replacingOccurrences(of: " .", with: ".")
    }

    private static func startsWithVowelSound(_ word: String) -> Bool {
        if word.hasPrefix("hour") { return true }
        guard let first = word.first else { return false }
        return "aeiou".contains(first)
    }
}

/// Class names and the prompt templates zero-shot classification averages over.
public enum ClassPrompts {
    /// The names of all sixteen classes, in class order.
    public static var classNames: [String] { ObjectClass.allCases.map(\.name) }

    /// Prompt templates; `{}` stands for the class name.
    public static let templates: [String] = [
        "a photo of a {}.", "a close-up photo of a {}.", "a photo of a small {}.",
        "a photo of a large {}.", "a bright photo of the {}.", "a sketch of a {}.",
        "a pencil sketch of a {}.", "a drawing of a {}.", "a cartoon of a {}.",
        "a cartoon drawing of the {}.", "a painting of a {}.", "an oil painting of a {}.",
        "a picture of a {}.", "an image of the {}.",
    ]

    /// The templates filled in with the class's name, with "a" or "an" made to fit it.
    public static func prompts(for objectClass: ObjectClass) -> [String] {
        templates.map {
            Captioner.tidy($0.replacingOccurrences(of: "{}", with: objectClass.name))
        }
    }
}
