// Separable convolution resizing that reproduces Pillow's Image.resize on 8-bit RGB to the
// byte. Matching Pillow takes all of its details: the filter is stretched by the downscale
// factor (antialiasing); tap windows are rounded the same way; weights are normalised in
// double precision and then rounded to 22-bit fixed point; sums start at one half and are
// clipped to 0...255 after each pass, with an 8-bit image in between; the pass order is
// Pillow 13's (horizontal first, on just the rows the vertical pass needs, unless the height
// shrinks by more than twice as many pixels as the width). Older Pillow releases always ran
// the horizontal pass first and can differ by one level where the orders disagree.
// The same machinery also reproduces PyTorch's antialiased uint8 interpolate (what
// torchvision's resize, and so transformers' torchvision backend, runs): the same windows,
// torch's own expression for the cubic, weights rounded to the most fraction bits that keep
// the largest in 15 bits, and always the horizontal pass first.
// Output pixels do not depend on each other, so a caller that will crop anyway (the CLIP
// preprocessor) can ask for just a window of the output and save the work.
// Not here: NEAREST (Pillow uses another algorithm for it), Pillow's `box` and
// `reducing_gap` arguments.
import Foundation

/// Whose fixed-point resize arithmetic to reproduce.
public enum ResizeConvention: Sendable {
    /// Pillow's Image.resize.
    case pillow
    /// PyTorch's interpolate(antialias=True) on uint8, for bilinear and bicubic only.
    case torch
}

/// Pillow's convolution filters, with Pillow's numbers for them.
public enum ResampleFilter: Int, Sendable, CaseIterable {
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5

    /// How far from its centre the unscaled filter is non-zero.
    var support: Double {
        switch self {
        case .box: 0.5
        case .bilinear, .hamming: 1
        case .bicubic: 2
        case .lanczos: 3
        }
    }

    /// The filter's weight at distance `x`, with Pillow's expressions evaluated in Pillow's
    /// order so that every double comes out the same.
    func weight(_ x: Double, _ convention: ResizeConvention = .pillow) -> Double {
        switch self {
        case .box:
            return x > -0.5 && x <= 0.5 ? 1 : 0
        case .bilinear:
            let x = abs(x)
            return x < 1 ? 1 - x : 0
        case .hamming:
            let x = abs(x)
            if x == 0 { return 1 }
            if x >= 1 { return 0 }
            let t = x * Double.pi
            // Pillow writes these two constants as C floats.
            return sin(t) / t * (Double(Float(0.54)) + Double(Float(0.46)) * cos(t))
        case .bicubic:
            // Keys' cubic with a = -0.5.
            let x = abs(x)
            if x < 1 { return (1.5 * x - 2.5) * x * x + 1 }
            guard x < 2 else { return 0 }
            if convention == .torch { return ((-0.5 * x - 5 * -0.5) * x + 8 * -0.5) * x - 4 * -0.5 }
            return (((x - 5) * x + 8) * x - 4) * -0.5
        case .lanczos:
            return -3 <= x && x < 3 ? Self.sinc(x) * Self.sinc(x / 3) : 0
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let t = x * Double.pi
        return sin(t) / t
    }
}

/// The taps of one axis of a resize: for each output index, the first input index, the
/// number of inputs, and that many fixed-point weights (rows of `stride`) with `precision`
/// fraction bits.
struct ResampleAxis {
    let first: [Int]
    let count: [Int]
    let weights: [Int32]
    let stride: Int
    let precision: Int32

    init(
        inputSize: Int, outputSize: Int, filter: ResampleFilter,
        convention: ResizeConvention = .pillow
    ) {
        precondition(
            convention == .pillow || filter == .bicubic || filter == .bilinear,
            "torch's antialiased uint8 resize has no \(filter) filter")
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let stride = Int(support.rounded(.up)) * 2 + 1
        let inverse = 1 / filterScale
        var first = [Int](repeating: 0, count: outputSize)
        var count = [Int](repeating: 0, count: outputSize)
        var weights = [Int32](repeating: 0, count: outputSize * stride)
        var taps = [Double](repeating: 0, count: outputSize * stride)
        for out in 0..<outputSize {
            let center = (Double(out) + 0.5) * scale
            // Truncation toward zero, then clamping, as Pillow's (int) casts do.
            let low = max(Int(center - support + 0.5), 0)
            let high = min(Int(center + support + 0.5), inputSize)
            let n = max(high - low, 0)
            var total = 0.0
            for i in 0..<n {
                let w = filter.weight((Double(i + low) - center + 0.5) * inverse, convention)
                taps[out * stride + i] = w
                total += w
            }
            if total != 0 {
                for i in 0..<n { taps[out * stride + i] /= total }
            }
            first[out] = low
            count[out] = n
        }

        // Pillow keeps 22 fraction bits; torch as many as keep the largest weight in int16.
        var precision: Int32 = 22
        if convention == .torch {
            let largest = taps.max() ?? 0
            precision = 0
            while precision < 22 && Int(0.5 + largest * Double(1 << (precision + 1))) < 1 << 15 {
                precision += 1
            }
        }
        let unit = Double(1 << precision)
        for (i, w) in taps.enumerated() {
            weights[i] = Int32(w < 0 ? -0.5 + w * unit : 0.5 + w * unit)
        }
        self.first = first
        self.count = count
        self.weights = weights
        self.stride = stride
        self.precision = precision
    }

    /// The input indices that the outputs in `outputs` read.
    func inputs(for outputs: Range<Int>) -> Range<Int> {
        let last = outputs.upperBound - 1
        return first[outputs.lowerBound]..<(first[last] + count[last])
    }
}

/// Resizes `image` exactly as Pillow's `Image.resize((width, height), Image.BICUBIC)` does.
public func resizeBicubic(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    resize(image, width: width, height: height, filter: .bicubic)
}

/// Resizes `image` exactly as Pillow's `Image.resize` does with `filter`, or as torch's
/// antialiased interpolate does (bilinear and bicubic only).
public func resize(
    _ image: RGBImage, width: Int, height: Int, filter: ResampleFilter,
    convention: ResizeConvention = .pillow
) -> RGBImage {
    resizeWindow(
        image, width: width, height: height, filter: filter, convention: convention,
        columns: 0..<width, rows: 0..<height)
}

/// The `columns` x `rows` window of `image` resized to `width` x `height`.
func resizeWindow(
    _ image: RGBImage, width: Int, height: Int, filter: ResampleFilter,
    convention: ResizeConvention = .pillow, columns: Range<Int>, rows: Range<Int>
) -> RGBImage {
    precondition(width > 0 && height > 0, "cannot resize to \(width) x \(height)")
    precondition(image.width > 0 && image.height > 0, "cannot resize an empty image")
    precondition(
        columns.lowerBound >= 0 && columns.upperBound <= width && !columns.isEmpty
            && rows.lowerBound >= 0 && rows.upperBound <= height && !rows.isEmpty,
        "window \(columns) x \(rows) outside \(width) x \(height)")
    let horizontal = width != image.width
    let vertical = height != image.height
    let source = Plane(image)

    if !horizontal && !vertical {
        return source.crop(columns: columns, rows: rows).image
    }
    if !horizontal {
        let axis = ResampleAxis(
            inputSize: image.height, outputSize: height, filter: filter, convention: convention)
        return verticalPass(source, axis: axis, rows: rows, columns: columns).image
    }
    let across = ResampleAxis(
        inputSize: image.width, outputSize: width, filter: filter, convention: convention)
    if !vertical {
        return horizontalPass(source, axis: across, columns: columns, rows: rows).image
    }
    let down = ResampleAxis(
        inputSize: image.height, outputSize: height, filter: filter, convention: convention)

    // Pillow 13 shrinks vertically first when the height loses more than twice as many
    // pixels as the width; the order changes the rounding of the 8-bit intermediate.
    if convention == .pillow && height < image.height
        && image.height - height > 2 * (image.width - width)
    {
        let needed = across.inputs(for: columns)
        let shrunk = verticalPass(source, axis: down, rows: rows, columns: needed)
        return horizontalPass(shrunk, axis: across, columns: columns, rows: rows).image
    }
    let needed = down.inputs(for: rows)
    let narrowed = horizontalPass(source, axis: across, columns: columns, rows: needed)
    return verticalPass(narrowed, axis: down, rows: rows, columns: columns).image
}

/// Pixels with an origin: `pixels` holds the input columns and rows starting at `x0`, `y0`,
/// so that a pass can read an intermediate image in the coordinates of the full one.
private struct Plane {
    var pixels: [UInt8]
    let width: Int
    let height: Int
    let x0: Int
    let y0: Int

    init(_ image: RGBImage) {
        self.init(pixels: image.pixels, width: image.width, height: image.height, x0: 0, y0: 0)
    }

    init(pixels: [UInt8], width: Int, height: Int, x0: Int, y0: Int) {
        self.pixels = pixels
        self.width = width
        self.height = height
        self.x0 = x0
        self.y0 = y0
    }

    var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    func crop(columns: Range<Int>, rows: Range<Int>) -> Plane {
        let rowBytes = columns.count * 3
        var out = [UInt8](repeating: 0, count: rowBytes * rows.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (r, y) in rows.enumerated() {
                    let from = src.baseAddress! + ((y - y0) * width + columns.lowerBound - x0) * 3
                    (dst.baseAddress! + r * rowBytes).update(from: from, count: rowBytes)
                }
            }
        }
        return Plane(
            pixels: out, width: columns.count, height: rows.count, x0: columns.lowerBound,
            y0: rows.lowerBound)
    }
}

/// Rounds a fixed-point sum to a byte the way Pillow's clip8 (and torch's saturating packs)
/// do.
@inline(__always)
private func clip8(_ sum: Int32, _ precision: Int32) -> UInt8 {
    UInt8(clamping: sum >> precision)
}

/// Resamples along x: output `columns` of the rows `rows` (full-image coordinates).
private func horizontalPass(
    _ source: Plane, axis: ResampleAxis, columns: Range<Int>, rows: Range<Int>
) -> Plane {
    let outWidth = columns.count
    var out = [UInt8](repeating: 0, count: outWidth * rows.count * 3)
    let precision = axis.precision
    let half: Int32 = 1 << (precision - 1)
    source.pixels.withUnsafeBufferPointer { src in
        axis.weights.withUnsafeBufferPointer { weights in
            out.withUnsafeMutableBufferPointer { dst in
                for (r, y) in rows.enumerated() {
                    let line = src.baseAddress! + (y - source.y0) * source.width * 3
                    let target = dst.baseAddress! + r * outWidth * 3
                    for (c, x) in columns.enumerated() {
                        let k = weights.baseAddress! + x * axis.stride
                        var p = line + (axis.first[x] - source.x0) * 3
                        var red = half
                        var green = half
                        var blue = half
                        for i in 0..<axis.count[x] {
                            let w = k[i]
                            red &+= Int32(p[0]) &* w
                            green &+= Int32(p[1]) &* w
                            blue &+= Int32(p[2]) &* w
                            p += 3
                        }
                        target[c * 3] = clip8(red, precision)
                        target[c * 3 + 1] = clip8(green, precision)
                        target[c * 3 + 2] = clip8(blue, precision)
                    }
                }
            }
        }
    }
    return Plane(
        pixels: out, width: outWidth, height: rows.count, x0: columns.lowerBound,
        y0: rows.lowerBound)
}

/// Resamples along y: output `rows` of the columns `columns` (full-image coordinates).
/// Sums a whole row of samples per tap, which is the same arithmetic as Pillow's
/// pixel-by-pixel loop (integer sums do not depend on their order) but vectorises.
private func verticalPass(
    _ source: Plane, axis: ResampleAxis, rows: Range<Int>, columns: Range<Int>
) -> Plane {
    let rowBytes = columns.count * 3
    var out = [UInt8](repeating: 0, count: rowBytes * rows.count)
    var sums = [Int32](repeating: 0, count: rowBytes)
    let precision = axis.precision
    let half: Int32 = 1 << (precision - 1)
    source.pixels.withUnsafeBufferPointer { src in
        axis.weights.withUnsafeBufferPointer { weights in
            out.withUnsafeMutableBufferPointer { dst in
                sums.withUnsafeMutableBufferPointer { acc in
                    let start = (columns.lowerBound - source.x0) * 3
                    for (r, y) in rows.enumerated() {
                        acc.update(repeating: half)
                        let k = weights.baseAddress! + y * axis.stride
                        for i in 0..<axis.count[y] {
                            let w = k[i]
                            let row = axis.first[y] + i - source.y0
                            let line = src.baseAddress! + row * source.width * 3 + start
                            for j in 0..<rowBytes {
                                acc[j] &+= Int32(line[j]) &* w
                            }
                        }
                        let target = dst.baseAddress! + r * rowBytes
                        for j in 0..<rowBytes {
                            target[j] = clip8(acc[j], precision)
                        }
                    }
                }
            }
        }
    }
    return Plane(
        pixels: out, width: columns.count, height: rows.count, x0: columns.lowerBound,
        y0: rows.lowerBound)
}
