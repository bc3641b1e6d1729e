// Sums, dot products and maxima over float rows, written with explicit SIMD accumulators:
// the compiler keeps floating-point additions in source order and so never vectorises a
// plain reduction loop by itself. Eight lanes of 8 floats are summed in parallel, which also
// makes long sums a little more accurate than one running total.

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// The sum of n floats.
@inline(__always)
public func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var a = SIMD8<Float>(), b = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        a += load8(x + i)
        b += load8(x + i + 8)
        i += 16
    }
    var total = (a + b).sum()
    while i < n {
        total += x[i]
        i += 1
    }
    return total
}

/// The dot product of two rows of n floats.
@inline(__always)
public func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
    var a = SIMD8<Float>(), b = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        a += load8(x + i) * load8(y + i)
        b += load8(x + i + 8) * load8(y + i + 8)
        i += 16
    }
    var total = (a + b).sum()
    while i < n {
        total += x[i] * y[i]
        i += 1
    }
    return total
}

/// The sum of squared deviations from `mean` over n floats.
@inline(__always)
public func squaredDeviation(_ x: UnsafePointer<Float>, _ n: Int, mean: Float) -> Float {
    var a = SIMD8<Float>(), b = SIMD8<Float>()
    let m = SIMD8<Float>(repeating: mean)
    var i = 0
    while i + 16 <= n {
        let c = load8(x + i) - m
        let e = load8(x + i + 8) - m
        a += c * c
        b += e * e
        i += 16
    }
    var total = (a + b).sum()
    while i < n {
        let c = x[i] - mean
        total += c * c
        i += 1
    }
    return total
}

/// The largest of n floats (minus infinity for none).
@inline(__always)
public func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var a = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i + 8 <= n {
        let v = load8(x + i)
        a.replace(with: v, where: v .> a)
        i += 8
    }
    var best = a.max()
    while i < n {
        best = Swift.max(best, x[i])
        i += 1
    }
    return best
}
