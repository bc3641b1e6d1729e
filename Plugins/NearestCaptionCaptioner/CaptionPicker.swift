// How nearest-caption picks k captions for an image among its nearest bank captions: by
// similarity alone; greedily, each pick maximising similarity minus `penalty` times the
// largest similarity to a caption already picked (maximal marginal relevance, which keeps
// near-paraphrases out); or by sampling without replacement from a softmax over similarities.
// Sampling is seeded per image (the seed mixed with the item's index), so a caption depends
// neither on batching nor on a resumed job's order.
import Foundation

/// A bank caption and its similarity to an image.
struct ScoredCaption: Equatable {
    var score: Float
    var index: Int
}

/// The best `capacity` captions offered so far; ties go to the lower bank index.
struct TopList {
    let capacity: Int
    private(set) var items: [ScoredCaption] = []

    init(capacity: Int) { self.capacity = capacity }

    static func better(_ a: ScoredCaption, _ b: ScoredCaption) -> Bool {
        a.score > b.score || (a.score == b.score && a.index < b.index)
    }

    mutating func offer(_ score: Float, index: Int) {
        let item = ScoredCaption(score: score, index: index)
        if items.count == capacity {
            guard let worst = items.last, Self.better(item, worst) else { return }
            items.removeLast()
        }
        // Kept sorted best first; capacity is small, so insertion is cheap.
        let position = items.firstIndex { Self.better(item, $0) } ?? items.count
        items.insert(item, at: position)
    }

    var sorted: [ScoredCaption] { items }
}

/// Picks `count` captions for one image from its nearest ones.
struct CaptionPicker {
    enum Mode: Equatable {
        case similarity
        case mmr(penalty: Double)
        case sample(temperature: Double, seed: UInt64)
    }

    let count: Int
    /// How many nearest captions are looked at.
    let candidates: Int
    let mode: Mode

    /// The picked captions in pick order; `nearest` is best first, `bank` gives a caption's
    /// embedding for the redundancy penalty.
    func pick(
        _ nearest: [ScoredCaption], item: Int, bank: (Int) -> ArraySlice<Float>
    ) -> [ScoredCaption] {
        switch mode {
        case .similarity:
            return Array(nearest.prefix(count))
        case .mmr(let penalty):
            return maximalMarginalRelevance(nearest, penalty: Float(penalty), bank: bank)
        case .sample(let temperature, let seed):
            var random = SplitMix64(seed: seed ^ (UInt64(item) &* 0x9E37_79B9_7F4A_7C15))
            return sample(nearest, temperature: temperature, &random)
        }
    }

    private func maximalMarginalRelevance(
        _ nearest: [ScoredCaption], penalty: Float, bank: (Int) -> ArraySlice<Float>
    ) -> [ScoredCaption] {
        var picked: [ScoredCaption] = []
        var left = nearest
        // The largest similarity of each remaining caption to those picked so far.
        var redundancy = [Float](repeating: 0, count: left.count)
        while picked.count < count, !left.isEmpty {
            var best = 0
            var bestValue = -Float.infinity
            for (position, item) in left.enumerated() {
                let value = item.score - (picked.isEmpty ? 0 : penalty * redundancy[position])
                if value > bestValue {
                    best = position
                    bestValue = value
                }
            }
            let chosen = left.remove(at: best)
            redundancy.remove(at: best)
            picked.append(chosen)
            let chosenVector = bank(chosen.index)
            for (position, item) in left.enumerated() {
                let similarity = dot(bank(item.index), chosenVector)
                redundancy[position] = max(redundancy[position], similarity)
            }
        }
        return picked
    }

    private func sample(
        _ nearest: [ScoredCaption], temperature: Double, _ random: inout SplitMix64
    ) -> [ScoredCaption] {
        guard let top = nearest.first?.score else { return [] }
        // Shifting by the best score keeps exp() from overflowing at small temperatures.
        var left = nearest
        var weights = nearest.map { exp((Double($0.score) - Double(top)) / temperature) }
        var picked: [ScoredCaption] = []
        while picked.count < count, !left.isEmpty {
            let total = weights.reduce(0, +)
            var target = random.nextUnit() * total
            var chosen = left.count - 1
            for (position, weight) in weights.enumerated() {
                target -= weight
                if target < 0 {
                    chosen = position
                    break
                }
            }
            picked.append(left.remove(at: chosen))
            weights.remove(at: chosen)
        }
        return picked
    }

    private func dot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        var sum: Float = 0
        for (x, y) in zip(a, b) { sum += x * y }
        return sum
    }
}

/// A small, fast, seedable generator (SplitMix64), so samples are the same on every run.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform number in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
