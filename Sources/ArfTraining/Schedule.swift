// The learning-rate schedule (linear warmup, then a half cosine down to zero) and the phases
// of a run: lp-ft first trains the head alone at its own rate, then everything it trains
// with a fresh optimizer and schedule; every other method has one phase. A schedule is a
// pure function of the step, so resuming needs only the step count.
import ArfTensor
import Foundation

/// Linear warmup to `peak` over `warmupSteps`, then a cosine from `peak` to zero at
/// `totalSteps`.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The rate for step `step`, counted from zero: warmup ends at the peak on step
    /// `warmupSteps - 1`, and the cosine reaches zero one step after the last.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps {
            return peak * Float(step + 1) / Float(warmupSteps)
        }
        let span = Swift.max(1, totalSteps - warmupSteps)
        let progress = Swift.min(1, Double(step - warmupSteps) / Double(span))
        return Float(Double(peak) * 0.5 * (1 + Foundation.cos(Double.pi * progress)))
    }
}

/// One part of a run with its own optimizer, schedule and trained parameters.
public struct TrainingPhase: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// Only the ce head trains.
        case probe
        /// Everything the configuration names trains.
        case finetune
    }

    public var kind: Kind
    /// The first global step of the phase.
    public var start: Int
    /// Steps within the phase, counted from its start.
    public var schedule: LearningRateSchedule

    public var end: Int { start + schedule.totalSteps }

    /// The phases of a run of `total` steps under `config`.
    public static func phases(config: FinetuneConfig, total: Int) -> [TrainingPhase] {
        let probe = config.method == .lpFT ? Swift.min(config.probeSteps, total) : 0
        var phases: [TrainingPhase] = []
        if probe > 0 {
            phases.append(
                TrainingPhase(
                    kind: .probe, start: 0,
                    schedule: LearningRateSchedule(
                        peak: config.probeLearningRate, warmupSteps: 0, totalSteps: probe)))
        }
        if total > probe {
            phases.append(
                TrainingPhase(
                    kind: .finetune, start: probe,
                    schedule: LearningRateSchedule(
                        peak: config.optimizer.learningRate, warmupSteps: config.warmupSteps,
                        totalSteps: total - probe)))
        }
        return phases
    }
}

/// The order examples are visited in: a fresh permutation per epoch, drawn from a generator
/// seeded by the run's seed, a stream number and the epoch. The order is therefore a pure
/// function of (seed, epoch, position), which is all a resumed run needs to continue it.
public struct EpochOrder: Codable, Equatable, Sendable {
    public let seed: UInt64
    public let stream: UInt64
    public let count: Int
    public private(set) var epoch = 0
    public private(set) var position = 0
    private var permutation: [Int] = []

    public init(seed: UInt64, stream: UInt64, count: Int) {
        self.seed = seed
        self.stream = stream
        self.count = count
        permutation = shuffled(epoch: 0)
    }

    enum CodingKeys: String, CodingKey { case seed, stream, count, epoch, position }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seed = try c.decode(UInt64.self, forKey: .seed)
        stream = try c.decode(UInt64.self, forKey: .stream)
        count = try c.decode(Int.self, forKey: .count)
        epoch = try c.decode(Int.self, forKey: .epoch)
        position = try c.decode(Int.self, forKey: .position)
        permutation = shuffled(epoch: epoch)
    }

    /// The next `size` indices. A batch never spans two epochs: when fewer than `size`
    /// remain, the rest of the epoch is skipped; a source smaller than `size` gives all
    /// of its examples, in a new order, every time.
    public mutating func next(_ size: Int) -> [Int] {
        let take = Swift.min(size, count)
        if position + take > count {
            epoch += 1
            position = 0
            permutation = shuffled(epoch: epoch)
        }
        defer { position += take }
        return Array(permutation[position..<(position + take)])
    }

    private func shuffled(epoch: Int) -> [Int] {
        var generator = SeededGeneratorFactory.make(
            seed: seed, stream: stream, index: UInt64(epoch))
        var order = Array(0..<count)
        // Fisher-Yates with the project's generator, so the order never depends on the
        // standard library's shuffle algorithm.
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }
}

/// Independent generators derived from one seed: one stream per purpose (data order, pair
/// order, sampling), one index per epoch, so that no purpose perturbs another's draws.
enum SeededGeneratorFactory {
    static func make(seed: UInt64, stream: UInt64, index: UInt64 = 0) -> SeededGenerator {
        // Odd multipliers keep distinct (stream, index) pairs apart before SplitMix mixes them.
        let mixed = seed ^ (stream &* 0xD1B5_4A32_D192_ED03) ^ (index &* 0x8CB9_2BA7_2F3D_8DD7)
        return SeededGenerator(seed: mixed)
    }
}
