// The contrastive objective's pieces: L2 normalisation and softmax cross-entropy with hard
// and soft targets, against Double references and central differences.
import ArfTensor
import Foundation
import Testing

@Suite("L2 normalisation") struct L2NormalizeTests {
    @Test("backward matches central differences", arguments: [(1, 2), (3, 5), (4, 17), (2, 64)])
    func backwardMatchesFiniteDifferences(n: Int, p: Int) {
        var rng = SplitMix64(seed: UInt64(n * 100 + p))
        let x = rng.tensor([n, p]), w = rng.normals(n * p)
        let y = Tensor(zeros: [n, p]), norms = Tensor(zeros: [n])
        func objective() -> Double {
            L2Normalize.forward(x: x.data, y: y.data, norms: norms.data, n: n, p: p)
            return weightedSum(y, w)
        }
        _ = objective()
        let dy = Tensor(w, shape: [n, p])
        let dx = Tensor([Float](repeating: .nan, count: n * p), shape: [n, p])
        L2Normalize.backward(dy: dy.data, y: y.data, norms: norms.data, dx: dx.data, n: n, p: p)

        // Rows have norms near sqrt(p) >= 1, so a 1e-2 step keeps the curvature error below
        // 1e-4 relative, with float32 rounding over the step smaller still: 3e-5 is measured,
        // and 5e-4 leaves a tenfold margin.
        expectGradient("dx", dx.values, of: x, step: 1e-2, tolerance: 5e-4, objective)
    }

    @Test("forward gives unit rows and keeps each row's norm")
    func forwardNormalises() {
        var rng = SplitMix64(seed: 4)
        let (n, p) = (5, 9)
        let x = rng.tensor([n, p], scale: 3)
        let y = Tensor(zeros: [n, p]), norms = Tensor(zeros: [n])
        L2Normalize.forward(x: x.data, y: y.data, norms: norms.data, n: n, p: p)
        var expected = [Double](), expectedNorms = [Double]()
        for r in 0..<n {
            let row = (0..<p).map { Double(x[r * p + $0]) }
            let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
            expectedNorms.append(norm)
            expected += row.map { $0 / norm }
        }
        // A handful of float32 operations per value: 1e-6 of max(1, |value|).
        let error = largestDifference(y.values, expected)
        let normError = largestDifference(norms.values, expectedNorms)
        #expect(error.value <= 1e-6, "y: largest difference \(error.value) at \(error.at)")
        #expect(normError.value <= 1e-6, "norms: largest difference \(normError.value)")
    }
}

@Suite("Cross-entropy") struct CrossEntropyTests {
    /// Hard labels as one-point distributions, then soft rows: a split target, a row whose
    /// weights sum to a half, and a row with no target at all.
    static func targets(rows: Int, classes: Int, soft: Bool) -> [[(Int, Float)]] {
        (0..<rows).map { r in
            guard soft else { return [((r * 7) % classes, 1)] }
            switch r % 4 {
            case 0: return [(r % classes, 0.7), ((r + 1) % classes, 0.3)]
            case 1: return [((r + 2) % classes, 0.25), (r % classes, 0.25)]
            case 2: return []
            default: return [(0, 0.2), (classes - 1, 0.5), ((r + 3) % classes, 0.3)]
            }
        }
    }

    /// The mean over rows of -sum_c t_c log softmax(row)_c, in Double.
    static func reference(_ logits: Tensor, rows: Int, classes: Int,
                          targets: [[(Int, Float)]]) -> Double {
        var total = 0.0
        for r in 0..<rows {
            let row = (0..<classes).map { Double(logits[r * classes + $0]) }
            let peak = row.max()!
            let logSum = peak + Foundation.log(row.map { Foundation.exp($0 - peak) }.reduce(0, +))
            for (c, w) in targets[r] { total -= Double(w) * (row[c] - logSum) }
        }
        return total / Double(rows)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let rows, classes: Int
        let soft: Bool
        var testDescription: String { "\(rows) x \(classes), \(soft ? "soft" : "hard") targets" }
    }

    static let cases = [
        Case(rows: 1, classes: 1, soft: false), Case(rows: 3, classes: 5, soft: false),
        Case(rows: 7, classes: 13, soft: false), Case(rows: 4, classes: 3, soft: true),
        Case(rows: 9, classes: 10, soft: true),
    ]

    @Test("the loss matches a Double reference and its gradient central differences",
          arguments: cases)
    func lossAndGradientMatch(c: Case) {
        var rng = SplitMix64(seed: UInt64(c.rows * 100 + c.classes))
        let logits = rng.tensor([c.rows, c.classes], scale: 2)
        let targets = Self.targets(rows: c.rows, classes: c.classes, soft: c.soft)
        func objective() -> Double {
            Double(CrossEntropy.forwardBackward(
                logits: logits.data, rows: c.rows, classes: c.classes, targets: targets,
                dLogits: nil))
        }

        // The loss is summed in Double and returned as float32: 1e-6 relative covers that.
        let expected = Self.reference(logits, rows: c.rows, classes: c.classes, targets: targets)
        let loss = objective()
        #expect(abs(loss - expected) <= 1e-6 * Swift.max(1, abs(expected)),
                "loss \(loss), reference \(expected)")

        let dLogits = Tensor(zeros: logits.shape)
        _ = CrossEntropy.forwardBackward(
            logits: logits.data, rows: c.rows, classes: c.classes, targets: targets,
            dLogits: dLogits.data)
        // The objective is the float32 loss itself: its rounding (1e-7 of about 2) over a
        // 2e-2 step gives 1e-5 per element against gradients of about 0.1 / rows; the
        // curvature error of a 1e-2 step on logits of spread 2 is near 1e-4.
        expectGradient("dLogits", dLogits.values, of: logits, step: 1e-2, tolerance: 2e-3,
                       objective)
    }

    @Test("hard labels give what one-point soft targets give")
    func hardLabelsAreOnePointTargets() {
        var rng = SplitMix64(seed: 31)
        let (rows, classes) = (5, 6)
        let logits = rng.tensor([rows, classes])
        let labels = [3, 0, 5, 5, 1]
        let hard = Tensor(zeros: logits.shape), soft = Tensor(zeros: logits.shape)
        let hardLoss = CrossEntropy.forwardBackward(
            logits: logits.data, rows: rows, classes: classes, labels: labels, dLogits: hard.data)
        let softLoss = CrossEntropy.forwardBackward(
            logits: logits.data, rows: rows, classes: classes,
            targets: labels.map { [($0, Float(1))] }, dLogits: soft.data)
        #expect(hardLoss == softLoss)
        #expect(hard.values == soft.values)
    }

    @Test("dLogits receives weight times the gradient, added to what it holds")
    func gradientIsWeightedAndAdded() {
        var rng = SplitMix64(seed: 32)
        let (rows, classes) = (4, 7)
        let logits = rng.tensor([rows, classes])
        let targets = Self.targets(rows: rows, classes: classes, soft: true)
        let plain = Tensor(zeros: logits.shape)
        _ = CrossEntropy.forwardBackward(
            logits: logits.data, rows: rows, classes: classes, targets: targets,
            dLogits: plain.data)
        let earlier = rng.normals(logits.count)
        let added = Tensor(earlier, shape: logits.shape)
        _ = CrossEntropy.forwardBackward(
            logits: logits.data, rows: rows, classes: classes, targets: targets,
            dLogits: added.data, weight: 0.3)

        // Each element is computed in a few float32 steps: 1e-6 of max(1, |value|).
        let expected = (0..<logits.count).map { Double(earlier[$0]) + 0.3 * Double(plain[$0]) }
        let error = largestDifference(added.values, expected)
        #expect(error.value <= 1e-6, "largest difference \(error.value) at \(error.at)")
    }

    @Test("huge logits give a finite loss and gradient")
    func largeLogitsStayFinite() {
        let logits = Tensor([1000, -1000, 999, 0, 50, 3000], shape: [2, 3])
        let targets: [[(Int, Float)]] = [[(1, 1)], [(0, 0.5), (2, 0.5)]]
        let dLogits = Tensor(zeros: [2, 3])
        let loss = CrossEntropy.forwardBackward(
            logits: logits.data, rows: 2, classes: 3, targets: targets, dLogits: dLogits.data)
        let expected = Self.reference(logits, rows: 2, classes: 3, targets: targets)
        #expect(loss.isFinite && dLogits.values.allSatisfy(\.isFinite))
        #expect(abs(Double(loss) - expected) <= 1e-6 * abs(expected),
                "loss \(loss), reference \(expected)")
    }
}
