// The MLP activations CLIP checkpoints use, forward and backward side by side: quick_gelu
// (x * sigmoid(1.702 x), OpenAI's original) and the exact, erf-based gelu. Backward passes
// take the pre-activation input, so the activation output need not be kept for them.
import Foundation

/// The activation function named by a checkpoint's `hidden_act`.
public enum Activation: String, Sendable, Codable {
    case quickGelu = "quick_gelu"
    case gelu = "gelu"

    /// y = act(x) over `count` elements.
    public func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .quickGelu:
            parallelChunks(count, minimumPerChunk: 16384) { range in
                var i = range.lowerBound
                while i + 8 <= range.upperBound {
                    let v = load8(x + i)
                    store8(v / (1 + fastExp(-1.702 * v)), y + i)
                    i += 8
                }
                while i < range.upperBound {
                    y[i] = x[i] / (1 + fastExp(-1.702 * x[i]))
                    i += 1
                }
            }
        case .gelu:
            parallelChunks(count, minimumPerChunk: 16384) { range in
                for i in range {
                    let v = x[i]
                    y[i] = 0.5 * v * (1 + erf(v * 0.70710678118654752))
                }
            }
        }
    }

    /// dx = dy * act'(x) over `count` elements.
    public func backward(
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        switch self {
        case .quickGelu:
            // Eight lanes at a time: dx may be dy itself, which keeps the compiler from
            // vectorising a plain loop.
            parallelChunks(count, minimumPerChunk: 16384) { range in
                var i = range.lowerBound
                while i + 8 <= range.upperBound {
                    let v = load8(x + i)
                    let s = 1 / (1 + fastExp(-1.702 * v))
                    store8(load8(dy + i) * (s + 1.702 * v * s * (1 - s)), dx + i)
                    i += 8
                }
                while i < range.upperBound {
                    let v = x[i]
                    let s = 1 / (1 + fastExp(-1.702 * v))
                    dx[i] = dy[i] * (s + 1.702 * v * s * (1 - s))
                    i += 1
                }
            }
        case .gelu:
            parallelChunks(count, minimumPerChunk: 16384) { range in
                for i in range {
                    let v = x[i]
                    let cdf = 0.5 * (1 + erf(v * 0.70710678118654752))
                    let pdf = exp(-0.5 * v * v) * 0.39894228040143268
                    dx[i] = dy[i] * (cdf + v * pdf)
                }
            }
        }
    }
}

/// e^x for float32, within about two ulp of the correctly rounded value for |x| < 87, and a
/// plain function of arithmetic so that loops calling it can be vectorised. Below -87 it
/// returns 0 and above 88 infinity, as expf does up to rounding.
@inline(__always)
public func fastExp(_ x: Float) -> Float {
    // Range reduction: x = k ln2 + r with |r| <= ln2/2, ln2 split in two for exactness.
    let clamped = Swift.min(Swift.max(x, -87.3), 88.7)
    // Adding 1.5 * 2^23 rounds to the nearest integer without a libm call, which keeps the
    // loop vectorisable; the integer then sits in the low bits of the sum's representation.
    let shifted = clamped * 1.44269504088896341 + 12_582_912
    let k = shifted - 12_582_912
    let r = clamped - k * 0.693359375 + k * 2.12194440e-4
    // A degree-6 Taylor polynomial in Horner form is accurate to 1e-7 on that interval.
    var p: Float = 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    // Scale by 2^k through the exponent bits.
    let integer = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    let scale = Float(bitPattern: UInt32(bitPattern: (integer &+ 127) &<< 23))
    let value = p * scale
    return x < -87.3 ? 0 : value
}

/// `fastExp` on eight lanes at once, with the same arithmetic.
@inline(__always)
public func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var clamped = x
    clamped.replace(with: -87.3, where: x .< -87.3)
    clamped.replace(with: 88.7, where: x .> 88.7)
    let shifted = clamped * 1.44269504088896341 + 12_582_912
    let k = shifted - 12_582_912
    let r = clamped - k * 0.693359375 + k * 2.12194440e-4
    var p = SIMD8<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    // Lane-wise reinterpretation, not conversion: the generic SIMD conversion is not
    // specialised and costs more than the whole polynomial.
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let exponent = (integer &+ 127) &<< 23
    let value = p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    return value.replacing(with: 0, where: x .< -87.3)
}
