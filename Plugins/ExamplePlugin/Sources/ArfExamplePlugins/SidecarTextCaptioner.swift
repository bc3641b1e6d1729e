// The `sidecar-text` captioner. Each image's caption is the text file next to it with the
// same name and another extension (`txt` by default): photo.jpg is captioned by photo.txt.
// Whitespace runs become single spaces, and captions longer than `max_chars` are cut at a
// word boundary. An image without its text file, or with an empty one, is reported as failed
// and the rest go on.
//
// Left out: text files in another folder than the images, and encodings other than UTF-8.
import ArfPluginAPI
import Foundation

/// Captions each image with the text file beside it.
public final class SidecarTextCaptioner: Captioner {
    public static let name = "sidecar-text"
    public static let version = "1.0.0"
    public static let summary = "caption = the text file beside the image (photo.jpg -> photo.txt)"
    public static let options = [
        OptionSpec("extension", .string, default: "txt", help: "extension of the text files"),
        OptionSpec(
            "max_chars", .int, default: "300", help: "longer captions are cut at a word boundary"),
    ]

    private let textExtension: String
    private let maxChars: Int

    public init(options: PluginOptions) throws {
        textExtension = options.string("extension")
        maxChars = options.int("max_chars")
        guard !textExtension.isEmpty, !textExtension.contains("/") else {
            throw PluginAPIError.badOptionValue(
                plugin: Self.name, name: "extension", value: textExtension,
                expected: "a file extension such as txt")
        }
        guard maxChars > 0 else {
            throw PluginAPIError.badOptionValue(
                plugin: Self.name, name: "max_chars", value: String(maxChars),
                expected: "a positive number")
        }
    }

    public func caption(_ request: CaptionRequest, context: PluginContext) throws
        -> [CaptionOutcome]
    {
        request.items.map { item in
            let path = (item.absolutePath as NSString).deletingPathExtension + "." + textExtension
            guard let data = FileManager.default.contents(atPath: path) else {
                return .failed("no caption file \(path)")
            }
            let words = String(decoding: data, as: UTF8.self)
                .split(whereSeparator: { $0.isWhitespace })
            guard !words.isEmpty else { return .failed("caption file \(path) is empty") }
            var text = ""
            for word in words {
                let next = text.isEmpty ? String(word) : text + " " + word
                if next.count > maxChars { break }
                text = next
            }
            // A first word longer than the limit is cut rather than dropped.
            if text.isEmpty { text = String(words[0].prefix(maxChars)) }
            return .captions([Caption(text)])
        }
    }
}
