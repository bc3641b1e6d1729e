// Captions: always the class name and a domain word, plurals for several objects, "a" and
// "an" chosen right, and nothing said that the picture contradicts (colours, sizes and
// positions named are the item's own). Class prompts: filled templates with fitting
// articles.
import Foundation
import Testing

@testable import ArfWorld

struct CaptionTests {
    let items = (0..<2_000).map { World(seed: 11, scale: .small).item(split: .pool, index: $0) }

    func words(_ caption: String) -> [String] {
        caption.split(whereSeparator: { " ,.".contains($0) }).map(String.init)
    }

    @Test("every caption names the class, in the plural for several objects, and the domain")
    func captionsNameClassAndDomain() {
        for item in items {
            let caption = item.caption
            let noun = item.count == .one ? item.objectClass.name : item.objectClass.pluralName
            #expect(caption.contains(noun), "\(caption) lacks \(noun)")
            #expect(
                item.domain.captionWords.contains { caption.contains($0) },
                "\(caption) names no \(item.domain) word")
        }
        print("sample captions:\n" + items.prefix(6).map(\.caption).joined(separator: "\n"))
    }

    @Test("captions name only the item's own colours, size and position")
    func captionsAreTrue() {
        let sizeWords: [ObjectSize: [String]] = [
            .small: ["small", "little", "tiny"], .medium: ["medium", "medium-sized", "mid-sized"],
            .large: ["large", "big", "huge"],
        ]
        for item in items {
            let said = Set(words(item.caption))
            for colour in NamedColour.allCases where said.contains(colour.rawValue) {
                #expect(
                    colour == item.colour || colour == item.backgroundColour,
                    "\(item.caption) names \(colour)")
            }
            for (size, names) in sizeWords where size != item.size {
                #expect(said.isDisjoint(with: names), "\(item.caption) is not \(size)")
            }
            let place = item.position?.rawValue ?? ""
            for (word, side) in [("left", "left"), ("right", "right"), ("top", "top"),
                                 ("upper", "top"), ("bottom", "bottom"), ("lower", "bottom")]
            where said.contains(word) {
                #expect(place.contains(side), "\(item.caption) but position \(place)")
            }
        }
    }

    @Test("captions vary in length and wording and use a or an as English does")
    func captionsAreVariedAndGrammatical() {
        let lengths = items.map { words($0.caption).count }
        print("caption length from \(lengths.min()!) to \(lengths.max()!) words")
        #expect(lengths.min()! <= 5 && lengths.max()! >= 14)
        #expect(Set(items.map(\.caption)).count >= items.count * 9 / 10)
        for item in items {
            let w = words(item.caption)
            for (article, next) in zip(w, w.dropFirst()) where article == "a" || article == "an" {
                let vowel = "aeiou".contains(next.first!) || next.hasPrefix("hour")
                #expect((article == "an") == vowel, "\(item.caption)")
            }
            #expect(!item.caption.contains("  ") && !item.caption.contains(" ,"))
        }
    }

    @Test("class prompts fill every template with the class name and a fitting article")
    func promptsFillTemplates() {
        #expect(ClassPrompts.classNames.count == 16)
        for kind in ObjectClass.allCases {
            let prompts = ClassPrompts.prompts(for: kind)
            #expect(prompts.count == ClassPrompts.templates.count)
            #expect(prompts.allSatisfy { $0.contains(kind.name) })
        }
        #expect(ClassPrompts.prompts(for: .arrow).first == "a photo of an arrow.")
        #expect(ClassPrompts.prompts(for: .hourglass).contains("a sketch of an hourglass."))
        #expect(ClassPrompts.prompts(for: .star).first == "a photo of a star.")
    }
}
