// CLIP's image preprocessing, computed as transformers' CLIPImageProcessor computes it:
// resize so that the short edge has the configured length (with transformers' rounding of
// the long edge), center-crop with transformers' offsets (padding with black when the image
// is smaller than the crop), rescale and normalise per channel. transformers has two
// implementations that differ in the last bits, and both are reproduced: the PIL backend
// (Pillow's resize; rescale in double, round to float, normalise in float; padding rounded
// towards the end) and the torchvision backend, its default when torchvision is installed
// (torch's uint8 resize; mean and std pre-multiplied by 255 in float; padding rounded
// towards the start). Rescaling and normalising take the same 256 values per channel, so
// they are a lookup table. Only the crop window of the resized image is computed.
// Not here: do_convert_rgb = false (images are always RGB here), size given as max_height /
// max_width, NEAREST resampling.
import Foundation

/// Turns decoded images into the CHW float32 `pixel_values` a CLIP vision tower reads.
public struct ImagePreprocessor: Sendable {
    /// Which of transformers' implementations of CLIPImageProcessor to reproduce.
    public enum Backend: Sendable {
        /// CLIPImageProcessorPil, with Pillow (what transformers uses without torchvision).
        case pil
        /// The torchvision backend (what CLIPImageProcessor is when torchvision is present).
        case torchvision
    }

    /// How an image's size before cropping is chosen.
    public enum ResizeRule: Sendable, Equatable {
        /// The short edge becomes `shortest`; the long edge keeps the aspect ratio, capped
        /// at `longest` when given.
        case shortestEdge(Int, longest: Int?)
        /// Exactly this size, whatever the aspect ratio.
        case fixed(width: Int, height: Int)
    }

    /// The resize applied first, or nil when the image keeps its size.
    public let resize: ResizeRule?
    /// The side of the square center crop, or nil for no crop.
    public let crop: Int?
    public let resample: ResampleFilter
    /// The factor bytes are multiplied by, or nil for none.
    public let rescaleFactor: Double?
    /// Per-channel mean and standard deviation, or nil for no normalisation.
    public let mean: [Float]?
    public let std: [Float]?
    /// The side of the square images `pixelValues` returns.
    public let cropSize: Int
    public let backend: Backend
    /// For channel c and byte v, the output value at c * 256 + v.
    private let table: [Float]

    /// OpenAI CLIP's normalisation, transformers' default for CLIP.
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// A CLIP preprocessor: bicubic resize of the short edge, square center crop, rescale
    /// by 1/255, normalise.
    public init(
        shortestEdge: Int, cropSize: Int, mean: [Float], std: [Float],
        resample: ResampleFilter = .bicubic, backend: Backend = .pil
    ) {
        precondition(shortestEdge > 0 && cropSize > 0, "sizes must be positive")
        precondition(mean.count == 3 && std.count == 3, "mean and std need three values")
        precondition(
            backend == .pil || resample == .bicubic || resample == .bilinear,
            "the torchvision backend resizes with bicubic or bilinear filters only")
        self.init(
            resize: .shortestEdge(shortestEdge, longest: nil), crop: cropSize,
            resample: resample, rescaleFactor: 1.0 / 255.0, mean: mean, std: std,
            cropSize: cropSize, backend: backend)
    }

    /// Any combination of the steps; `cropSize` must be the side the steps produce.
    init(
        resize: ResizeRule?, crop: Int?, resample: ResampleFilter, rescaleFactor: Double?,
        mean: [Float]?, std: [Float]?, cropSize: Int, backend: Backend = .pil
    ) {
        self.resize = resize
        self.crop = crop
        self.resample = resample
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.std = std
        self.cropSize = cropSize
        self.backend = backend
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            for v in 0..<256 {
                table[c * 256 + v] = Self.value(
                    v, mean: mean?[c], std: std?[c], factor: rescaleFactor, backend: backend)
            }
        }
        self.table = table
    }

    /// The output value for byte `v`, in each backend's float arithmetic.
    private static func value(
        _ v: Int, mean: Float?, std: Float?, factor: Double?, backend: Backend
    ) -> Float {
        switch (backend, factor, mean, std) {
        case (.pil, _, _, _):
            // Rescale in float64, round to float32, normalise in float32.
            var x = factor.map { Float(Double(v) * $0) } ?? Float(v)
            if let mean, let std { x = (x - mean) / std }
            return x
        case (.torchvision, let factor?, let mean?, let std?):
            // Rescaling is folded into mean and std, both scaled in float32.
            let scale = Float(1 / factor)
            return (Float(v) - mean * scale) / (std * scale)
        case (.torchvision, let factor?, _, _):
            return Float(v) * Float(factor)
        case (.torchvision, nil, let mean?, let std?):
            return (Float(v) - mean) / std
        case (.torchvision, nil, _, _):
            return Float(v)
        }
    }

    /// The size `image` has after the resize step, computed as transformers computes it.
    public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch resize {
        case nil:
            return (width, height)
        case .fixed(let w, let h):
            return (w, h)
        case .shortestEdge(let shortest, nil):
            // transformers: int(short * long / short_in) with Python's true division.
            let (short, long) = width <= height ? (width, height) : (height, width)
            let newLong = Int(Double(shortest * long) / Double(short))
            return width <= height ? (shortest, newLong) : (newLong, shortest)
        case .shortestEdge(let shortest, let longest?):
            return Self.cappedSize(width: width, height: height, size: shortest, max: longest)
        }
    }

    /// transformers' get_size_with_aspect_ratio, step for step.
    private static func cappedSize(width: Int, height: Int, size: Int, max maxSize: Int)
        -> (width: Int, height: Int)
    {
        var size = size
        var raw: Double?
        let small = Double(min(width, height))
        let large = Double(max(width, height))
        if large / small * Double(size) > Double(maxSize) {
            raw = Double(maxSize) * small / large
            size = Int(raw!.rounded(.toNearestOrEven))
        }
        if (height <= width && height == size) || (width <= height && width == size) {
            return (width, height)
        }
        if width < height {
            let h =
                raw.map { Int($0 * Double(height) / Double(width)) }
                ?? Int(Double(size * height) / Double(width))
            return (size, h)
        }
        let w =
            raw.map { Int($0 * Double(width) / Double(height)) }
            ?? Int(Double(size * width) / Double(height))
        return (w, size)
    }

    /// The CHW pixel values (3 x cropSize x cropSize floats) for `image`.
    public func pixelValues(_ image: RGBImage) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * cropSize * cropSize)
        out.withUnsafeMutableBufferPointer { pixelValues(image, into: $0) }
        return out
    }

    /// Writes the CHW pixel values for `image` into `out`, which must hold 3 x cropSize x
    /// cropSize floats (one slot of a batch, for instance).
    public func pixelValues(_ image: RGBImage, into out: UnsafeMutableBufferPointer<Float>) {
        let side = cropSize
        precondition(out.count >= 3 * side * side, "\(out.count) floats for \(side) x \(side)")
        precondition(image.width > 0 && image.height > 0, "empty image")
        var (width, height) = resizedSize(width: image.width, height: image.height)
        // An extreme aspect ratio can round an edge to zero, which Pillow would refuse.
        width = max(width, 1)
        height = max(height, 1)

        let (columns, left) = window(size: width, crop: crop ?? width)
        let (rows, top) = window(size: height, crop: crop ?? height)
        precondition(
            columns.count + left <= side && rows.count + top <= side,
            "the configuration produces \(width) x \(height), not \(side) x \(side)")
        let region =
            resize == nil
            ? cropped(image, columns: columns, rows: rows)
            : resizeWindow(
                image, width: width, height: height, filter: resample,
                convention: backend == .pil ? .pillow : .torch, columns: columns, rows: rows)

        table.withUnsafeBufferPointer { table in
            region.pixels.withUnsafeBufferPointer { src in
                for c in 0..<3 {
                    let plane = out.baseAddress! + c * side * side
                    let lookup = table.baseAddress! + c * 256
                    // transformers pads with zero bytes before rescaling and normalising.
                    plane.update(repeating: lookup[0], count: side * side)
                    for y in 0..<region.height {
                        let line = plane + (top + y) * side + left
                        let pixel = src.baseAddress! + y * region.width * 3 + c
                        for x in 0..<region.width {
                            line[x] = lookup[Int(pixel[x * 3])]
                        }
                    }
                }
            }
        }
    }

    /// Decodes `file` (compositing transparency onto white, as transformers does) and
    /// returns its pixel values.
    public func pixelValues(file: URL) throws -> [Float] {
        try pixelValues(ImageCodec.decode(file: file, alpha: .compositeOnWhite))
    }

    /// The part of an axis of `size` that a center crop of `crop` keeps, and where it lands
    /// in the crop: transformers' offsets, floor((size - crop) / 2) when cropping, and when
    /// padding, ceil((crop - size) / 2) before the image (PIL backend) or floor (torchvision).
    func window(size: Int, crop: Int) -> (kept: Range<Int>, offset: Int) {
        if size >= crop {
            let start = (size - crop) / 2
            return (start..<(start + crop), 0)
        }
        return (0..<size, (crop - size + (backend == .pil ? 1 : 0)) / 2)
    }

    private func cropped(_ image: RGBImage, columns: Range<Int>, rows: Range<Int>) -> RGBImage {
        var pixels = [UInt8]()
        pixels.reserveCapacity(columns.count * rows.count * 3)
        for y in rows {
            let start = (y * image.width + columns.lowerBound) * 3
            pixels += image.pixels[start..<(start + columns.count * 3)]
        }
        return RGBImage(width: columns.count, height: rows.count, pixels: pixels)
    }
}
