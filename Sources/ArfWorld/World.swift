// The world in memory: which item sits at each index of each split, sampled from a seed
// derived from (world seed, split, index) alone, and the drawing of any item. Nothing here
// touches the disk, so training tests can draw pictures without generating files.
import ArfImage
import ArfTensor
import Foundation

/// A seeded world: its items and how they look.
public struct World: Sendable {
    /// The seed every item's seed derives from.
    public let seed: UInt64
    /// Item counts and picture size.
    public let scale: WorldScale

    /// The fraction of finetuning and in-distribution pictures in their class's colour.
    public static let spuriousColourRate: Float = 0.85

    /// The world of `seed` at `scale`; nothing is sampled or drawn until asked for.
    public init(seed: UInt64, scale: WorldScale = .default) {
        self.seed = seed
        self.scale = scale
    }

    /// The number of items in `split`.
    public func count(of split: WorldSplit) -> Int { scale.count(of: split) }

    /// Every item of `split`, in index order.
    public func items(split: WorldSplit) -> [WorldItem] {
        (0..<count(of: split)).map { item(split: split, index: $0) }
    }

    /// The item at `index` of `split`; the index may exceed the scale's count.
    public func item(split: WorldSplit, index: Int) -> WorldItem {
        sample(split: split, index: index)
    }

    /// An item of `split` whose class and domain may be imposed (for contact sheets).
    func sample(
        split: WorldSplit, index: Int, objectClass imposedClass: ObjectClass? = nil,
        domain imposedDomain: Domain? = nil
    ) -> WorldItem {
        precondition(index >= 0, "negative item index \(index)")
        let itemSeed = mix(mix(mix(seed, 0x4152_4657_4F52_4C44), split.stream), UInt64(index))
        var random = SeededGenerator(seed: itemSeed)
        func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }

        // Evaluation sets and the finetuning set cycle through their classes to stay balanced.
        let classes = split.classes
        var objectClass = split == .pool ? pick(classes) : classes[index % classes.count]
        var domain = pick(split.domains)
        objectClass = imposedClass ?? objectClass
        domain = imposedDomain ?? domain
        let roll = random.uniform()
        let count: ObjectCount = roll < 0.6 ? .one : roll < 0.82 ? .two : .three
        let size: ObjectSize = count == .one ? pick(ObjectSize.allCases) : pick([.small, .medium])
        let position: Position? = count != .one ? nil
            : size == .large ? .center : pick(Position.allCases)

        var colour: NamedColour?
        if domain != .sketch {
            if split.followsSpuriousColours, let cue = objectClass.spuriousColour {
                colour = random.uniform() < World.spuriousColourRate
                    ? cue : pick(NamedColour.allCases.filter { $0 != cue })
            } else {
                colour = pick(NamedColour.allCases)
            }
        }
        let background = pick(BackgroundPattern.allowed(in: domain))
        var backgroundColour: NamedColour?
        if domain != .sketch {
            let options = NamedColour.allCases.filter { c in colour.map { !c.isNear($0) } ?? true }
            backgroundColour = pick(options)
        }

        var item = WorldItem(
            split: split, index: index, seed: itemSeed, objectClass: objectClass,
            domain: domain, colour: colour, size: size, count: count, position: position,
            background: background, backgroundColour: backgroundColour, caption: "")
        var words = SeededGenerator(seed: itemSeed ^ 0x4341_5054_494F_4E53)
        item.caption = Captioner.caption(for: item, random: &words)
        return item
    }

    /// The item's picture, at the scale's size.
    public func render(_ item: WorldItem) -> RGBImage {
        Renderer(size: scale.imageSize, supersample: scale.supersample).render(item)
    }

    /// The picture at `index` of `split`.
    public func render(split: WorldSplit, index: Int) -> RGBImage {
        render(item(split: split, index: index))
    }
}

/// Mixes `value` into `state` with SplitMix64's finaliser, so that nearby inputs give
/// unrelated outputs.
func mix(_ state: UInt64, _ value: UInt64) -> UInt64 {
    var z = state ^ ((value &+ 0x9E37_79B9_7F4A_7C15) &* 0xD6E8_FEB8_6659_FD93)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
