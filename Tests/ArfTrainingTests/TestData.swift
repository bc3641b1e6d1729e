// Shared pieces of the training tests: the clip-tiny fixture, a seeded generator for test
// data, temporary folders, and a small generated dataset of coloured shapes on noisy
// backgrounds (32 x 32, normalised as CLIP normalises), with captions, and pairs of other
// shapes for the pair anchor. The class is visible in colour and shape, so a few dozen steps
// of the tiny model can learn it.
import ArfCLIP
import ArfTensor
import ArfTraining
import Foundation

enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tiny = root.appendingPathComponent("clip-tiny")
}

/// Runs `body` with a new empty folder that is removed afterwards.
func withTemporaryFolder<T>(_ body: (URL) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("arf-training-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder)
}

/// A tensor of normal values from a seeded generator.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    let t = Tensor(zeros: shape)
    g.fillNormal(t, std: scale)
    return t
}

/// The largest absolute difference between two float arrays.
func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
}

/// Coloured shapes drawn into 32 x 32 pixel arrays.
enum Shapes {
    static let side = 32
    static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    struct Kind {
        var name: String
        var color: (Float, Float, Float)
        var inside: (Int, Int, Int) -> Bool
    }

    /// The labelled classes.
    static let classes: [Kind] = [
        Kind(name: "red square", color: (0.9, 0.1, 0.1)) { dx, dy, r in
            abs(dx) <= r && abs(dy) <= r
        },
        Kind(name: "green disc", color: (0.1, 0.8, 0.2)) { dx, dy, r in
            dx * dx + dy * dy <= r * r
        },
        Kind(name: "blue triangle", color: (0.1, 0.2, 0.9)) { dx, dy, r in
            dy <= r && dy >= -r && abs(dx) * 2 <= dy + r
        },
        Kind(name: "yellow cross", color: (0.95, 0.9, 0.1)) { dx, dy, r in
            (abs(dx) <= r / 3 && abs(dy) <= r) || (abs(dy) <= r / 3 && abs(dx) <= r)
        },
    ]

    /// Shapes only the retrieved pairs show.
    static let pairKinds: [Kind] = [
        Kind(name: "purple ring", color: (0.6, 0.2, 0.7)) { dx, dy, r in
            let d = dx * dx + dy * dy
            return d <= r * r && d >= (r / 2) * (r / 2)
        },
        Kind(name: "orange bar", color: (1.0, 0.55, 0.1)) { dx, dy, r in
            abs(dx) <= r && abs(dy) <= r / 3
        },
    ]

    /// One image: a shape of random size and place on a grey, noisy background.
    static func draw(_ kind: Kind, _ g: inout SeededGenerator) -> [Float] {
        let r = 6 + Int(g.next() % 5)
        let cx = r + Int(g.next() % UInt64(side - 2 * r))
        let cy = r + Int(g.next() % UInt64(side - 2 * r))
        let background = 0.35 + 0.3 * g.uniform()
        var out = [Float](repeating: 0, count: 3 * side * side)
        for y in 0..<side {
            for x in 0..<side {
                let hit = kind.inside(x - cx, y - cy, r)
                let noise = 0.08 * (g.uniform() - 0.5)
                let rgb =
                    hit
                    ? [kind.color.0, kind.color.1, kind.color.2]
                    : [background, background, background]
                for c in 0..<3 {
                    let v = Swift.min(1, Swift.max(0, rgb[c] + noise))
                    out[c * side * side + y * side + x] = (v - mean[c]) / std[c]
                }
            }
        }
        return out
    }

    /// A balanced labelled set with two captions per image.
    static func labeled(perClass: Int, seed: UInt64) throws -> InMemoryLabeledImages {
        var g = SeededGenerator(seed: seed)
        var rows: [[Float]] = []
        var labels: [Int] = []
        var captions: [[String]] = []
        for i in 0..<(perClass * classes.count) {
            let label = i % classes.count
            rows.append(draw(classes[label], &g))
            labels.append(label)
            let name = classes[label].name
            captions.append(["a \(name) on a grey background", "a drawing of one \(name)"])
        }
        return try InMemoryLabeledImages(
            classNames: classes.map(\.name), labels: labels, pixelRows: rows, captions: captions)
    }

    /// Pairs of the classes' and the extra shapes, captioned.
    static func pairs(count: Int, seed: UInt64) throws -> InMemoryPairs {
        var g = SeededGenerator(seed: seed)
        let kinds = classes + pairKinds
        var rows: [[Float]] = []
        var captions: [String] = []
        for i in 0..<count {
            let kind = kinds[i % kinds.count]
            rows.append(draw(kind, &g))
            captions.append("a photo of a \(kind.name)")
        }
        return try InMemoryPairs(pixelRows: rows, captions: captions)
    }
}
