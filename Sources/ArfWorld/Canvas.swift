// A floating-point RGB canvas and the few drawing operations the renderer needs: painting a
// region given by a signed distance field with anti-aliased coverage, box blurs, and value
// noise for textures. Coverage is supersampled adaptively: a pixel whose centre is far from
// the region's edge is wholly in or out, and only pixels near the edge are split into
// S x S subsamples whose results are box-averaged, which gives the same picture as drawing
// everything at S times the size and downsampling, at a fraction of the cost.
// Not here: colour management, alpha channels, anything but box filters.
import ArfImage
import ArfTensor
import Foundation

/// A colour with channels in 0...1 (values outside are clamped when the image is made).
struct Colour: Sendable {
    var r: Float
    var g: Float
    var b: Float

    init(_ r: Float, _ g: Float, _ b: Float) {
        self.r = r
        self.g = g
        self.b = b
    }

    init(_ named: NamedColour) {
        let (r, g, b) = named.rgb
        self.init(r, g, b)
    }

    static let white = Colour(1, 1, 1)
    static let black = Colour(0, 0, 0)

    /// The straight blend from self (t = 0) to `other` (t = 1).
    func mixed(with other: Colour, _ t: Float) -> Colour {
        Colour(r + (other.r - r) * t, g + (other.g - g) * t, b + (other.b - b) * t)
    }

    func scaled(_ k: Float) -> Colour { Colour(r * k, g * k, b * k) }

    /// Relative luminance, with the channels taken as linear.
    var luminance: Float { 0.2126 * r + 0.7152 * g + 0.0722 * b }
}

/// The pixels a drawing operation may touch: columns x0..<x1, rows y0..<y1.
struct PixelBox {
    var x0: Int, y0: Int, x1: Int, y1: Int
}

/// A width x height RGB canvas of Float channels, row-major and interleaved.
struct Canvas {
    let width: Int
    let height: Int
    var pixels: [Float]

    init(width: Int, height: Int, fill: Colour) {
        self.width = width
        self.height = height
        pixels = [Float](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = fill.r
            pixels[3 * i + 1] = fill.g
            pixels[3 * i + 2] = fill.b
        }
    }

    /// Sets every pixel from `colour(x, y)`, evaluated at the pixel centre.
    mutating func fill(_ colour: (Float, Float) -> Colour) {
        let w = width
        pixels.withUnsafeMutableBufferPointer { p in
            for y in 0..<height {
                for x in 0..<w {
                    let c = colour(Float(x) + 0.5, Float(y) + 0.5)
                    let i = 3 * (y * w + x)
                    p[i] = c.r
                    p[i + 1] = c.g
                    p[i + 2] = c.b
                }
            }
        }
    }

    /// Blends `colour` over the pixels where `field` (a distance in pixels, negative inside)
    /// is negative, with anti-aliased coverage from `supersample` x `supersample` subsamples
    /// near the edge. `slack` bounds how much faster than distance the field may change, so
    /// that pixels judged far from the edge really are. `colour` gets the pixel centre and
    /// the field's value there.
    mutating func paint(
        in box: PixelBox, supersample: Int, slack: Float = 0.25, opacity: Float = 1,
        field: (Float, Float) -> Float, colour: (Float, Float, Float) -> Colour
    ) {
        let bx = clip(box)
        guard bx.x0 < bx.x1, bx.y0 < bx.y1 else { return }
        let s = max(1, supersample)
        let step = 1 / Float(s)
        let edge = 0.75 + slack
        let w = width
        pixels.withUnsafeMutableBufferPointer { p in
            for y in bx.y0..<bx.y1 {
                for x in bx.x0..<bx.x1 {
                    let cx = Float(x) + 0.5, cy = Float(y) + 0.5
                    let d = field(cx, cy)
                    var cover: Float
                    if d > edge {
                        continue
                    } else if d < -edge {
                        cover = 1
                    } else {
                        var hits = 0
                        for sy in 0..<s {
                            for sx in 0..<s {
                                let px = Float(x) + (Float(sx) + 0.5) * step
                                let py = Float(y) + (Float(sy) + 0.5) * step
                                if field(px, py) < 0 { hits += 1 }
                            }
                        }
                        if hits == 0 { continue }
                        cover = Float(hits) / Float(s * s)
                    }
                    let c = colour(cx, cy, d)
                    let t = cover * opacity
                    let i = 3 * (y * w + x)
                    p[i] += (c.r - p[i]) * t
                    p[i + 1] += (c.g - p[i + 1]) * t
                    p[i + 2] += (c.b - p[i + 2]) * t
                }
            }
        }
    }

    /// Blends `colour` with a soft edge: full inside, fading linearly over `softness` pixels
    /// across the edge of `field`; for shadows and blurred paint.
    mutating func paintSoft(
        in box: PixelBox, softness: Float, opacity: Float, field: (Float, Float) -> Float,
        colour: Colour
    ) {
        let bx = clip(box)
        guard bx.x0 < bx.x1, bx.y0 < bx.y1 else { return }
        let w = width
        pixels.withUnsafeMutableBufferPointer { p in
            for y in bx.y0..<bx.y1 {
                for x in bx.x0..<bx.x1 {
                    let d = field(Float(x) + 0.5, Float(y) + 0.5)
                    let t = min(max(0.5 - d / softness, 0), 1) * opacity
                    if t <= 0 { continue }
                    let i = 3 * (y * w + x)
                    p[i] += (colour.r - p[i]) * t
                    p[i + 1] += (colour.g - p[i + 1]) * t
                    p[i + 2] += (colour.b - p[i + 2]) * t
                }
            }
        }
    }

    /// Replaces each pixel by the mean of its 3 x 3 neighbourhood (edges clamped).
    mutating func boxBlur() {
        let w = width, h = height
        let source = pixels
        pixels.withUnsafeMutableBufferPointer { p in
            for y in 0..<h {
                for x in 0..<w {
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for dy in -1...1 {
                        let yy = min(max(y + dy, 0), h - 1)
                        for dx in -1...1 {
                            let xx = min(max(x + dx, 0), w - 1)
                            let j = 3 * (yy * w + xx)
                            r += source[j]
                            g += source[j + 1]
                            b += source[j + 2]
                        }
                    }
                    let i = 3 * (y * w + x)
                    p[i] = r / 9
                    p[i + 1] = g / 9
                    p[i + 2] = b / 9
                }
            }
        }
    }

    /// Changes every pixel through `adjust(x, y, colour)`, evaluated at the pixel centre.
    mutating func adjust(_ adjust: (Float, Float, Colour) -> Colour) {
        let w = width
        pixels.withUnsafeMutableBufferPointer { p in
            for y in 0..<height {
                for x in 0..<w {
                    let i = 3 * (y * w + x)
                    let c = adjust(Float(x) + 0.5, Float(y) + 0.5, Colour(p[i], p[i + 1], p[i + 2]))
                    p[i] = c.r
                    p[i + 1] = c.g
                    p[i + 2] = c.b
                }
            }
        }
    }

    /// The canvas as 8-bit RGB, clamped and rounded to nearest.
    func image() -> RGBImage {
        let bytes = pixels.map { UInt8(min(max($0 * 255 + 0.5, 0), 255)) }
        return RGBImage(width: width, height: height, pixels: bytes)
    }

    private func clip(_ box: PixelBox) -> PixelBox {
        PixelBox(
            x0: max(box.x0, 0), y0: max(box.y0, 0),
            x1: min(box.x1, width), y1: min(box.y1, height))
    }
}

/// Smooth random values in -1...1 over the plane, from a grid of random values that repeats
/// every `columns` x `rows` cells and is interpolated with a smoothstep.
struct ValueNoise {
    private let columns: Int
    private let rows: Int
    private let values: [Float]

    init(columns: Int, rows: Int, random: inout SeededGenerator) {
        self.columns = columns
        self.rows = rows
        values = (0..<(columns * rows)).map { _ in random.uniform() * 2 - 1 }
    }

    /// The noise at (u, v), measured in grid cells.
    func sample(_ u: Float, _ v: Float) -> Float {
        let fu = u.rounded(.down), fv = v.rounded(.down)
        let tu = u - fu, tv = v - fv
        let su = tu * tu * (3 - 2 * tu), sv = tv * tv * (3 - 2 * tv)
        let i0 = wrap(Int(fu), columns), j0 = wrap(Int(fv), rows)
        let i1 = (i0 + 1) % columns, j1 = (j0 + 1) % rows
        let a = values[j0 * columns + i0], b = values[j0 * columns + i1]
        let c = values[j1 * columns + i0], d = values[j1 * columns + i1]
        let top = a + (b - a) * su
        let bottom = c + (d - c) * su
        return top + (bottom - top) * sv
    }

    private func wrap(_ i: Int, _ n: Int) -> Int {
        let m = i % n
        return m < 0 ? m + n : m
    }
}
