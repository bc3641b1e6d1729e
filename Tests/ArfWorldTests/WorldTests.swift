// Sampling: which classes, domains and colours each split draws. The finetuning and
// in-distribution sets tie colour to class 85% of the time; every other set does not.
// Counts are large enough that the tolerances stated below are several standard errors.
import Foundation
import Testing

@testable import ArfWorld

struct WorldTests {
    let world = World(seed: 0, scale: .default)

    /// The first `limit` items of `split`, sampled without drawing.
    func items(_ split: WorldSplit, limit: Int = 4_000) -> [WorldItem] {
        (0..<min(limit, world.count(of: split))).map { world.item(split: split, index: $0) }
    }

    func cueRate(_ items: [WorldItem]) -> Double {
        let hits = items.filter { $0.colour == $0.objectClass.spuriousColour }.count
        return Double(hits) / Double(items.count)
    }

    @Test("finetuning and in-distribution photos take their class's colour about 85% of the time")
    func colourCueHolds() {
        for split in [WorldSplit.finetune, .id] {
            let sampled = items(split)
            let rate = cueRate(sampled)
            print("\(split.rawValue): colour cue holds for \(rate) of \(sampled.count)")
            // Tolerance: 0.04, over 7 standard errors at 600 items.
            #expect(abs(rate - 0.85) <= 0.04, "\(split.rawValue) cue rate \(rate)")
            for kind in ObjectClass.seen {
                let own = sampled.filter { $0.objectClass == kind }
                #expect(cueRate(own) >= 0.7, "\(kind.name) cue rate \(cueRate(own))")
            }
        }
    }

    @Test("decorrelated, other-domain and unseen sets have colour independent of class")
    func colourCueIsAbsentElsewhere() {
        for split in [WorldSplit.idDecorrelated, .cartoon, .painting, .pool] {
            let sampled = items(split, limit: 1_200).filter { $0.objectClass.spuriousColour != nil }
            let rate = cueRate(sampled)
            print("\(split.rawValue): colour cue holds for \(rate)")
            // One colour in eight; tolerance 0.05, over 3.5 standard errors at 600 items.
            #expect(abs(rate - 0.125) <= 0.05, "\(split.rawValue) cue rate \(rate)")
        }
        #expect(items(.sketch).allSatisfy { $0.colour == nil })
    }

    @Test("each split draws only its classes and domains, evaluation sets balanced by class")
    func splitsDrawTheirClassesAndDomains() {
        let small = World(seed: 3, scale: .small)
        for split in WorldSplit.allCases {
            let items = small.items(split: split)
            #expect(items.count == WorldScale.small.count(of: split))
            #expect(items.allSatisfy { split.classes.contains($0.objectClass) })
            #expect(items.allSatisfy { split.domains.contains($0.domain) })
            guard split != .pool else { continue }
            let counts = Dictionary(grouping: items, by: \.objectClass).mapValues(\.count)
            #expect(counts.count == split.classes.count)
            #expect(counts.values.max()! - counts.values.min()! <= 1, "\(split): \(counts)")
        }
        let pool = small.items(split: .pool)
        #expect(Set(pool.map(\.objectClass)).count == ObjectClass.allCases.count)
        #expect(Set(pool.map(\.domain)).count == Domain.allCases.count)
    }

    @Test("seen and unseen classes split the sixteen, alphabetically as ImageFolder numbers them")
    func classListsMatchFolderOrder() {
        #expect(Set(ObjectClass.seen).isDisjoint(with: ObjectClass.unseen))
        #expect(ObjectClass.seen.count == 8 && ObjectClass.unseen.count == 8)
        for list in [ObjectClass.allCases, ObjectClass.seen, ObjectClass.unseen] {
            let folders = list.map(\.folderName)
            #expect(folders == folders.sorted())
        }
        #expect(Set(ObjectClass.seen.compactMap(\.spuriousColour)).count == 8)
    }

    @Test("attributes are consistent: several objects have no position, large ones are centred")
    func attributesAreConsistent() {
        for item in items(.pool, limit: 3_000) {
            if item.count != .one {
                #expect(item.position == nil && item.size != .large)
            } else if item.size == .large {
                #expect(item.position == .center)
            }
            if let colour = item.colour, let ground = item.backgroundColour {
                #expect(!colour.isNear(ground), "\(colour) on \(ground)")
            }
        }
    }
}
