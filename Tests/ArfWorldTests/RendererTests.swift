// The look of each domain, checked by cheap statistics over a few dozen pictures (sketches
// are mostly near-white and colourless, cartoons use few colours, photos are grainy,
// paintings are smooth and muted), plus the class outlines being far enough apart, and any
// item redrawing the same alone. Thresholds sit well clear of the values measured when the
// renderer was written, which each test prints.
import ArfImage
import Foundation
import Testing

@testable import ArfWorld

struct RendererTests {
    let world = World(seed: 7, scale: .small)

    /// Pictures of `domain` from its seen and unseen evaluation sets.
    func statistics(_ seen: WorldSplit, _ unseen: WorldSplit) -> [PictureStatistics] {
        (0..<24).flatMap { i in
            [seen, unseen].map { PictureStatistics(image: world.render(split: $0, index: i)) }
        }
    }

    @Test("sketches are mostly near-white paper with no saturated colour")
    func sketchesAreGreyOnWhite() {
        let pictures = statistics(.sketch, .unseenSketch)
        let white = pictures.map { $0.fractionAtLeast(200) }.min()!
        let saturation = pictures.map(\.maximumSaturation).max()!
        print("sketch: least near-white fraction \(white), largest saturation \(saturation)")
        #expect(white >= 0.6, "a sketch has only \(white) of its pixels near white")
        #expect(saturation <= 24, "a sketch pixel has saturation \(saturation) of 255")
    }

    @Test("cartoons are made of a few flat colours")
    func cartoonsHaveFewColours() {
        let cartoon = statistics(.cartoon, .unseenCartoon).map { $0.topColourShare(4) }.min()!
        let photo = statistics(.id, .unseenPhoto).map { $0.topColourShare(4) }.max()!
        print("four most frequent colours cover at least \(cartoon) of a cartoon, at most "
              + "\(photo) of a photo")
        #expect(cartoon >= 0.7, "a cartoon's four main colours cover only \(cartoon)")
        #expect(photo <= 0.3, "a photo's four main colours cover \(photo)")
    }

    @Test("photos carry sensor grain that cartoons lack")
    func photosAreGrainy() {
        let photo = statistics(.id, .unseenPhoto).map(\.medianGrain).min()!
        let cartoon = statistics(.cartoon, .unseenCartoon).map(\.medianGrain).max()!
        print("median grain: photo at least \(photo), cartoon at most \(cartoon)")
        #expect(photo >= 5, "a photo's median grain is only \(photo)")
        #expect(cartoon == 0, "a cartoon's median grain is \(cartoon)")
    }

    @Test("paintings are smoother than photos and more muted than cartoons")
    func paintingsAreSmoothAndMuted() {
        let paintings = statistics(.painting, .unseenPainting)
        let cartoons = statistics(.cartoon, .unseenCartoon)
        let grain = paintings.map(\.medianGrain).sorted()
        let photo = statistics(.id, .unseenPhoto).map(\.medianGrain).min()!
        let painted = paintings.map(\.meanSaturation).reduce(0, +) / Double(paintings.count)
        let drawn = cartoons.map(\.meanSaturation).reduce(0, +) / Double(cartoons.count)
        print("painting median grain: typical \(grain[grain.count / 2]), at most \(grain.last!) "
              + "(photos at least \(photo)); mean saturation painting \(painted), "
              + "cartoon \(drawn)")
        #expect(grain[grain.count / 2] <= 2, "a typical painting's median grain is \(grain)")
        #expect(grain.last! < photo, "a painting is as grainy as a photo: \(grain.last!)")
        #expect(painted < 0.75 * drawn, "paintings are not muted: \(painted) vs \(drawn)")
    }

    @Test("every class outline fits the unit circle and differs from every other")
    func outlinesAreDistinct() {
        let side = 48
        let masks = ObjectClass.allCases.map { kind -> [Bool] in
            (0..<(side * side)).map { i in
                let u = (Float(i % side) + 0.5) / Float(side) * 2.2 - 1.1
                let v = (Float(i / side) + 0.5) / Float(side) * 2.2 - 1.1
                return kind.shape.distance(u, v) < 0
            }
        }
        for (kind, mask) in zip(ObjectClass.allCases, masks) {
            let outside = mask.indices.filter { i in
                let u = (Float(i % side) + 0.5) / Float(side) * 2.2 - 1.1
                let v = (Float(i / side) + 0.5) / Float(side) * 2.2 - 1.1
                return mask[i] && u * u + v * v > 1.05
            }
            #expect(outside.isEmpty, "\(kind.name) reaches outside the unit circle")
            #expect(mask.filter { $0 }.count > side * side / 20, "\(kind.name) is nearly empty")
        }
        var closest = (0.0, "")
        for a in 0..<masks.count {
            for b in (a + 1)..<masks.count {
                let both = zip(masks[a], masks[b]).filter { $0 && $1 }.count
                let either = zip(masks[a], masks[b]).filter { $0 || $1 }.count
                let overlap = Double(both) / Double(either)
                let names = "\(ObjectClass.allCases[a].name)/\(ObjectClass.allCases[b].name)"
                if overlap > closest.0 { closest = (overlap, names) }
            }
        }
        print("most similar outlines: \(closest.1), intersection over union \(closest.0)")
        #expect(closest.0 < 0.85, "\(closest.1) overlap by \(closest.0)")
    }

    @Test("an item drawn alone equals the same item drawn among others, at any size")
    func itemsRedrawIdentically() {
        let items = world.items(split: .pool).prefix(12)
        let together = items.map { world.render($0) }
        for (item, picture) in zip(items.reversed(), together.reversed()) {
            let alone = World(seed: 7, scale: .small).render(split: .pool, index: item.index)
            #expect(alone == picture, "item \(item.index) differs when drawn alone")
        }
        let large = World(seed: 7, scale: WorldScale(
            pool: 1, finetune: 0, evaluation: 0, imageSize: 64, supersample: 2))
        let picture = large.render(split: .pool, index: 0)
        #expect(picture.width == 64 && picture.height == 64)
    }
}
