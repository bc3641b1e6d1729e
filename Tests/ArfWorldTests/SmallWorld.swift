// The `.small` world of seed 0, generated once per test process into a temporary folder
// that is removed when the process exits, and a few helpers for reading pictures.
import ArfImage
import Foundation

@testable import ArfWorld

enum SmallWorld {
    private static let location = FileManager.default.temporaryDirectory
        .appendingPathComponent("arf-world-tests-\(getpid())")

    private static let generated: Result<WorldManifest, Error> = Result {
        try? FileManager.default.removeItem(at: location)
        atexit { try? FileManager.default.removeItem(at: SmallWorld.location) }
        return try WorldGenerator.generate(out: location, seed: 0, scale: .small, threads: 2)
    }

    /// The manifest of the generated world, generating it on first use.
    static func manifest() throws -> WorldManifest { try generated.get() }

    /// The folder of the generated world, generating it on first use.
    static func folder() throws -> URL {
        _ = try generated.get()
        return location
    }
}

/// Per-picture measurements the domain tests compare.
struct PictureStatistics {
    let image: RGBImage

    private func pixel(_ i: Int) -> (Int, Int, Int) {
        (Int(image.pixels[3 * i]), Int(image.pixels[3 * i + 1]), Int(image.pixels[3 * i + 2]))
    }

    private var count: Int { image.width * image.height }

    /// The fraction of pixels whose darkest channel is at least `level`.
    func fractionAtLeast(_ level: Int) -> Double {
        let bright = (0..<count).filter { i in
            let (r, g, b) = pixel(i)
            return min(r, g, b) >= level
        }
        return Double(bright.count) / Double(count)
    }

    /// The largest difference between a pixel's brightest and darkest channel.
    var maximumSaturation: Int {
        (0..<count).map { i in
            let (r, g, b) = pixel(i)
            return max(r, g, b) - min(r, g, b)
        }.max() ?? 0
    }

    /// The mean difference between a pixel's brightest and darkest channel.
    var meanSaturation: Double {
        let total = (0..<count).reduce(0) { sum, i in
            let (r, g, b) = pixel(i)
            return sum + max(r, g, b) - min(r, g, b)
        }
        return Double(total) / Double(count)
    }

    /// The fraction of pixels taken by the `k` most frequent exact colours.
    func topColourShare(_ k: Int) -> Double {
        var counts: [Int: Int] = [:]
        for i in 0..<count {
            let (r, g, b) = pixel(i)
            counts[(r << 16) | (g << 8) | b, default: 0] += 1
        }
        let top = counts.values.sorted(by: >).prefix(k).reduce(0, +)
        return Double(top) / Double(count)
    }

    /// The median absolute second difference along rows (a pixel against the mean of its
    /// left and right neighbours, doubled), over all channels: zero for flat colour and
    /// straight ramps, a few levels for grain, and barely moved by the few edges.
    var medianGrain: Int {
        var differences: [Int] = []
        for y in 0..<image.height {
            for x in 1..<(image.width - 1) {
                for c in 0..<3 {
                    let i = 3 * (y * image.width + x) + c
                    let left = Int(image.pixels[i - 3]), right = Int(image.pixels[i + 3])
                    differences.append(abs(2 * Int(image.pixels[i]) - left - right))
                }
            }
        }
        differences.sort()
        return differences[differences.count / 2]
    }
}
