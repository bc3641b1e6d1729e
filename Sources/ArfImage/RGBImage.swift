// The image type every other file in this module works on, and the module's one error type.
// Pixels are 8-bit RGB, interleaved, row-major; there is no alpha, stride or colour space:
// decoding settles all of that, the way Pillow's convert("RGB") would.
import Foundation

/// An 8-bit RGB image, stored as height rows of width interleaved R, G, B bytes.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Height x width x 3 bytes, row-major.
    public var pixels: [UInt8]

    /// An image over `pixels`, which must hold width * height * 3 bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width) x \(height)")
        precondition(
            pixels.count == width * height * 3,
            "\(pixels.count) bytes for a \(width) x \(height) RGB image")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black image of the given size.
    public init(width: Int, height: Int) {
        self.init(
            width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3))
    }

    /// The red, green and blue bytes at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// What went wrong reading, decoding, encoding or preparing an image.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unknownFormat(path: String, leadingBytes: String)
    case corrupt(path: String, format: String, reason: String)
    case truncated(path: String, format: String, reason: String)
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    case unsupported(path: String, format: String, reason: String)
    case outOfMemory(path: String, reason: String)
    case encodingFailed(format: String, width: Int, height: Int, reason: String)
    case badConfig(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read \(path): \(reason)"
        case .unknownFormat(let path, let leadingBytes):
            leadingBytes.isEmpty
                ? "\(path) is empty"
                : "\(path) is neither JPEG nor PNG (it starts with \(leadingBytes))"
        case .corrupt(let path, let format, let reason):
            "\(path) is a corrupt \(format) file: \(reason)"
        case .truncated(let path, let format, let reason):
            "\(path) is a truncated \(format) file: \(reason)"
        case .tooLarge(let path, let width, let height, let limit):
            "\(path) has \(width) x \(height) pixels, more than the limit of \(limit)"
        case .unsupported(let path, let format, let reason):
            "\(path) is a \(format) file arf cannot read: \(reason)"
        case .outOfMemory(let path, let reason):
            "out of memory decoding \(path): \(reason)"
        case .encodingFailed(let format, let width, let height, let reason):
            "cannot encode a \(width) x \(height) image as \(format): \(reason)"
        case .badConfig(let path, let reason):
            "\(path): \(reason)"
        }
    }

    /// The file the error is about, when there is one.
    public var path: String? {
        switch self {
        case .unreadable(let path, _), .unknownFormat(let path, _), .corrupt(let path, _, _),
            .truncated(let path, _, _), .tooLarge(let path, _, _, _),
            .unsupported(let path, _, _), .outOfMemory(let path, _), .badConfig(let path, _):
            path
        case .encodingFailed:
            nil
        }
    }
}
