// Shared pieces of the kernel tests: a seeded generator, so that every run checks the same
// numbers, and a central-difference gradient check. The check perturbs one float32 element
// at a time and evaluates a scalar objective, sum(w * forward(x)), accumulated in Double; it
// is meant for the small shapes used here, not for real model sizes.
// Set ARF_PRINT_GRADIENT_ERRORS=1 to print every comparison, for choosing tolerances.
import ArfTensor
import Foundation
import Testing

/// SplitMix64: a 64-bit counter passed through a mixing function; small and good enough
/// for test data.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A float uniform on [low, high).
    mutating func uniform(_ low: Float = -1, _ high: Float = 1) -> Float {
        // 24 random bits make every float in [0, 1) on the grid of 2^-24 equally likely.
        let unit = Float(next() >> 40) / Float(1 << 24)
        return low + (high - low) * unit
    }

    /// A standard normal sample (Box-Muller), times `scale`.
    mutating func normal(scale: Float = 1) -> Float {
        let u1 = Double(next() >> 11 | 1) / Double(1 << 53)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2)) * scale
    }

    mutating func normals(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in normal(scale: scale) }
    }

    mutating func uniforms(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(low, high) }
    }

    /// A tensor of normal samples.
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(normals(shape.reduce(1, *), scale: scale), shape: shape)
    }
}

/// sum(w * y) in Double over y's elements.
func weightedSum(_ y: Tensor, _ w: [Float]) -> Double {
    precondition(w.count == y.count, "\(w.count) weights for \(y.count) values")
    var total = 0.0
    for i in 0..<y.count { total += Double(w[i]) * Double(y[i]) }
    return total
}

/// Central differences of `objective` with respect to every element of `x`. The step that
/// float32 can represent around each value is used as the divisor, not the nominal `step`.
func numericGradient(of x: Tensor, step: Float, _ objective: () -> Double) -> [Double] {
    var gradient = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        let saved = x[i]
        let up = saved + step
        let down = saved - step
        x[i] = up
        let fUp = objective()
        x[i] = down
        let fDown = objective()
        x[i] = saved
        gradient[i] = (fUp - fDown) / (Double(up) - Double(down))
    }
    return gradient
}

/// How far an analytic gradient is from a numeric one.
struct GradientError: CustomStringConvertible {
    let name: String
    /// |analytic - numeric| / |numeric| in the 2-norm, or the absolute norm when the
    /// numeric gradient is exactly zero.
    let relative: Double
    let largest: Double
    let at: Int
    let analytic: Double
    let numeric: Double

    init(name: String, analytic: [Float], numeric: [Double]) {
        precondition(analytic.count == numeric.count, "\(name): gradient sizes differ")
        var difference = 0.0, reference = 0.0, largest = 0.0, at = 0
        for i in 0..<numeric.count {
            let d = Double(analytic[i]) - numeric[i]
            difference += d * d
            reference += numeric[i] * numeric[i]
            if !(abs(d) <= largest) { (largest, at) = (abs(d), i) }
        }
        self.name = name
        self.relative =
            (reference > 0 ? difference / reference : difference).squareRoot()
        self.largest = largest
        self.at = at
        self.analytic = numeric.isEmpty ? 0 : Double(analytic[at])
        self.numeric = numeric.isEmpty ? 0 : numeric[at]
    }

    var description: String {
        "\(name): relative error \(relative); largest difference \(largest) at \(at) "
            + "(analytic \(analytic), numeric \(numeric))"
    }
}

let printsGradientErrors = ProcessInfo.processInfo.environment["ARF_PRINT_GRADIENT_ERRORS"] != nil

/// Expects `analytic` to be the gradient of `objective` with respect to `x` within
/// `tolerance` (relative, in the 2-norm); returns the measured error.
@discardableResult
func expectGradient(
    _ name: String, _ analytic: [Float], of x: Tensor, step: Float, tolerance: Double,
    sourceLocation: SourceLocation = #_sourceLocation, _ objective: () -> Double
) -> GradientError {
    let error = GradientError(
        name: name, analytic: analytic, numeric: numericGradient(of: x, step: step, objective))
    if printsGradientErrors { print("gradient check \(error)") }
    #expect(error.relative <= tolerance, "\(error) > \(tolerance)", sourceLocation: sourceLocation)
    return error
}

/// The largest |a - b| / max(1, |b|) over elements, with its index, for exact references.
func largestDifference(_ a: [Float], _ b: [Double]) -> (value: Double, at: Int) {
    precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
    var value = 0.0, at = 0
    for i in 0..<a.count {
        let d = abs(Double(a[i]) - b[i]) / Swift.max(1, abs(b[i]))
        if !(d <= value) { (value, at) = (d, i) }
    }
    return (value, at)
}

/// Tests that change `Compute.threads`, and tests of kernels that read it more than once per
/// call (attention sizes scratch memory by it, then spreads work by it), run one at a time
/// inside this suite, so that no test sees the value change under it.
@Suite("Kernels sensitive to the thread count", .serialized) enum ThreadSensitive {}

/// Runs `body` with `Compute.threads` set to `count`, restoring the old value afterwards.
func withComputeThreads<T>(_ count: Int, _ body: () throws -> T) rethrows -> T {
    let saved = Compute.threads
    Compute.threads = count
    defer { Compute.threads = saved }
    return try body()
}
