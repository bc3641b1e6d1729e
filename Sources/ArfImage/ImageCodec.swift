// Decoding JPEG and PNG files to RGBImage and encoding RGBImage back, through the C target
// CImageCodec (libjpeg and libpng own the formats; the C side owns setjmp). The format is
// sniffed from the leading bytes, never from the file name. Every error names the file.
// Not handled: EXIF orientation (Pillow's Image.open ignores it too), colour profiles,
// other formats (GIF, WebP, BMP, TIFF are reported as unknown).
import CImageCodec
import Foundation

/// The file formats the codec reads and writes.
public enum ImageFormat: String, Sendable {
    case jpeg = "JPEG"
    case png = "PNG"
}

/// What decoding does with transparency (alpha channels and PNG tRNS chunks).
public enum AlphaHandling: Sendable {
    /// Composite onto white, as transformers' CLIPImageProcessor does before resizing.
    case compositeOnWhite
    /// Keep the colour and ignore the alpha, as Pillow's convert("RGB") does.
    case drop
}

/// Decodes JPEG and PNG to 8-bit RGB and encodes 8-bit RGB as either.
public enum ImageCodec {
    /// The most pixels a decoded image may have; larger headers are rejected before any
    /// pixel memory is allocated.
    public static let maxPixels = 1 << 28

    /// The format announced by the first bytes of `data`, if it is one the codec reads.
    public static func format(of data: Data) -> ImageFormat? {
        if data.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        return nil
    }

    /// Decodes a JPEG or PNG held in memory; `name` is used in errors.
    public static func decode(
        _ data: Data, name: String, alpha: AlphaHandling = .compositeOnWhite,
        maxPixels: Int = ImageCodec.maxPixels
    ) throws -> RGBImage {
        guard let format = format(of: data) else {
            let head = data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ImageError.unknownFormat(path: name, leadingBytes: head)
        }
        var message = [CChar](repeating: 0, count: 512)
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0
        var height: Int32 = 0
        let status = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32 in
            let bytes = raw.bindMemory(to: UInt8.self).baseAddress!
            let limit = UInt64(max(maxPixels, 0))
            switch format {
            case .jpeg:
                return arf_decode_jpeg(
                    bytes, raw.count, limit, &pixels, &width, &height, &message, message.count)
            case .png:
                let mode = alpha == .drop ? ARF_ALPHA_DROP : ARF_ALPHA_OVER_WHITE
                return arf_decode_png(
                    bytes, raw.count, limit, Int32(mode), &pixels, &width, &height, &message,
                    message.count)
            }
        }
        guard status == ARF_IMAGE_OK, let pixels else {
            throw error(
                status: status, message: message, path: name, format: format.rawValue,
                width: Int(width), height: Int(height), limit: maxPixels)
        }
        defer { arf_free(pixels) }
        let count = Int(width) * Int(height) * 3
        return RGBImage(
            width: Int(width), height: Int(height),
            pixels: [UInt8](UnsafeBufferPointer(start: pixels, count: count)))
    }

    /// Reads and decodes the JPEG or PNG file at `file`.
    public static func decode(
        file: URL, alpha: AlphaHandling = .compositeOnWhite, maxPixels: Int = ImageCodec.maxPixels
    ) throws -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw ImageError.unreadable(path: file.path, reason: error.localizedDescription)
        }
        return try decode(data, name: file.path, alpha: alpha, maxPixels: maxPixels)
    }

    /// Encodes `image` as an 8-bit RGB PNG, which decodes back to the same bytes.
    public static func encodePNG(_ image: RGBImage) throws -> Data {
        try encode(image, format: "PNG") { pixels, out, size, message, capacity in
            arf_encode_png(
                pixels, Int32(image.width), Int32(image.height), out, size, message, capacity)
        }
    }

    /// Encodes `image` as a baseline JPEG (4:2:0) at `quality`, from 1 to 100.
    public static func encodeJPEG(_ image: RGBImage, quality: Int) throws -> Data {
        try encode(image, format: "JPEG") { pixels, out, size, message, capacity in
            arf_encode_jpeg(
                pixels, Int32(image.width), Int32(image.height), Int32(clamping: quality), out,
                size, message, capacity)
        }
    }

    private typealias Encoder = (
        UnsafePointer<UInt8>, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>,
        UnsafeMutablePointer<Int>, UnsafeMutablePointer<CChar>, Int
    ) -> Int32

    private static func encode(_ image: RGBImage, format: String, _ body: Encoder) throws -> Data {
        guard image.width > 0, image.height > 0, image.width <= Int(Int32.max),
            image.height <= Int(Int32.max)
        else {
            throw ImageError.encodingFailed(
                format: format, width: image.width, height: image.height, reason: "bad size")
        }
        var message = [CChar](repeating: 0, count: 512)
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            message.withUnsafeMutableBufferPointer { text in
                body(pixels.baseAddress!, &out, &size, text.baseAddress!, text.count)
            }
        }
        guard status == ARF_IMAGE_OK, let out else {
            throw ImageError.encodingFailed(
                format: format, width: image.width, height: image.height,
                reason: text(message))
        }
        defer { arf_free(out) }
        return Data(bytes: out, count: size)
    }

    private static func error(
        status: Int32, message: [CChar], path: String, format: String, width: Int, height: Int,
        limit: Int
    ) -> ImageError {
        let reason = text(message)
        switch Int(status) {
        case Int(ARF_IMAGE_TRUNCATED):
            return .truncated(path: path, format: format, reason: reason)
        case Int(ARF_IMAGE_TOO_LARGE):
            return .tooLarge(path: path, width: width, height: height, limit: limit)
        case Int(ARF_IMAGE_UNSUPPORTED):
            return .unsupported(path: path, format: format, reason: reason)
        case Int(ARF_IMAGE_NO_MEMORY):
            return .outOfMemory(path: path, reason: reason)
        default:
            return .corrupt(path: path, format: format, reason: reason)
        }
    }

    static func text(_ message: [CChar]) -> String {
        let bytes = message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
