// The learning-rate schedule's values at the points that define it, lp-ft's two phases, and
// the epoch order: a permutation per epoch, repeatable from the seed, continued exactly
// after a round trip through JSON.
import ArfTensor
import ArfTraining
import Foundation
import Testing

@Suite("Schedule and data order") struct ScheduleTests {
    @Test("warmup rises linearly to the peak, then a cosine falls towards zero")
    func warmupThenCosine() {
        let s = LearningRateSchedule(peak: 1e-3, warmupSteps: 4, totalSteps: 14)
        // Tolerance: float32 rounding of the rates, 1e-9 absolute at a peak of 1e-3.
        let expected: [(Int, Double)] = [
            (0, 0.25e-3), (1, 0.5e-3), (2, 0.75e-3), (3, 1e-3),
            (4, 1e-3),  // cosine at progress 0
            (9, 0.5e-3),  // halfway through the 10 cosine steps
            (13, 1e-3 * 0.5 * (1 + cos(Double.pi * 0.9))),
            (14, 0),
        ]
        for (step, value) in expected {
            let rate = Double(s.rate(at: step))
            #expect(abs(rate - value) <= 1e-9, "step \(step): \(rate), expected \(value)")
        }
        let rates = (4..<14).map { s.rate(at: $0) }
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 }, "\(rates)")
    }

    @Test("without warmup the first step takes the peak rate")
    func noWarmup() {
        let s = LearningRateSchedule(peak: 2e-5, warmupSteps: 0, totalSteps: 10)
        #expect(s.rate(at: 0) == 2e-5)
        #expect(abs(s.rate(at: 5) - 1e-5) <= 1e-12)
    }

    @Test("lp-ft probes the head at its own rate, then finetunes with warmup and cosine")
    func lpftPhases() {
        var config = FinetuneConfig(method: .lpFT)
        config.probeSteps = 30
        config.warmupSteps = 5
        let phases = TrainingPhase.phases(config: config, total: 100)
        #expect(phases.map(\.kind) == [.probe, .finetune])
        #expect(phases[0].start == 0 && phases[0].end == 30)
        #expect(phases[0].schedule.peak == config.probeLearningRate)
        #expect(phases[1].start == 30 && phases[1].end == 100)
        #expect(phases[1].schedule.warmupSteps == 5 && phases[1].schedule.totalSteps == 70)
        #expect(TrainingPhase.phases(config: FinetuneConfig(method: .ft), total: 50).count == 1)
    }

    @Test("each epoch visits every example once, in an order that repeats from the seed")
    func epochOrder() {
        var a = EpochOrder(seed: 7, stream: 1, count: 10)
        var b = EpochOrder(seed: 7, stream: 1, count: 10)
        let first = a.next(5) + a.next(5)
        #expect(first.sorted() == Array(0..<10))
        #expect(b.next(5) + b.next(5) == first)
        let second = a.next(5) + a.next(5)
        #expect(second.sorted() == Array(0..<10))
        #expect(second != first, "epochs should be shuffled differently")
        #expect(a.epoch == 1)
        var other = EpochOrder(seed: 8, stream: 1, count: 10)
        #expect(other.next(10) != first)
    }

    @Test("a partial last batch is skipped and a small source gives all it has")
    func partialBatches() {
        var order = EpochOrder(seed: 1, stream: 1, count: 7)
        _ = order.next(3)
        _ = order.next(3)
        let third = order.next(3)
        #expect(order.epoch == 1 && third.count == 3)
        var small = EpochOrder(seed: 1, stream: 2, count: 2)
        #expect(small.next(5).sorted() == [0, 1])
    }

    @Test("an order saved as JSON mid-epoch continues with the same indices")
    func orderRoundTrip() throws {
        var order = EpochOrder(seed: 3, stream: 1, count: 9)
        _ = order.next(4)
        let restored = try JSONDecoder().decode(
            EpochOrder.self, from: JSONEncoder().encode(order))
        var copy = restored
        #expect(copy.next(4) == order.next(4))
        #expect(copy.next(4) == order.next(4))
    }

    @Test("a generator saved as JSON continues with the same draws")
    func generatorRoundTrip() throws {
        var g = SeededGenerator(seed: 0xFFFF_FFFF_FFFF_FFF1)
        _ = (0..<5).map { _ in g.next() }
        _ = g.normal()
        var copy = try JSONDecoder().decode(SeededGenerator.self, from: JSONEncoder().encode(g))
        #expect((0..<5).map { _ in copy.next() } == (0..<5).map { _ in g.next() })
        #expect(copy.normal() == g.normal())
    }
}
