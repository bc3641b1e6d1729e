// The `file` captioner: captions made elsewhere (by BLIP-2, CoCa, people) read from a file
// keyed by image path. Two formats:
//
//   TSV    one "path<TAB>caption" per line; a first line whose first field is filepath,
//          path or image is a header and skipped
//   JSONL  one object per line with the path under "filepath", "path" or "image" and the
//          caption under "caption" or "text"
//
// The format follows the file's extension (.jsonl/.json: JSONL, anything else: TSV) unless
// `format` says. Paths are absolute or relative to the dataset's root. An image may have
// several lines; its captions keep the file's order. An image the file does not mention is
// reported as failed and the rest go on; a file that cannot be read or has a malformed line
// fails the job, naming the line.
import ArfPluginAPI
import Foundation

/// Captions images from a TSV or JSONL file keyed by image path.
public final class FileCaptioner: Captioner {
    public static let name = "file"
    public static let version = "1.0.0"
    public static let summary = "captions read from a TSV or JSONL file keyed by image path"
    public static let options = [
        OptionSpec("path", .path, help: "the caption file (absolute path)"),
        OptionSpec(
            "format", .string, default: "auto", help: "tsv, jsonl, or auto (by extension)",
            choices: ["auto", "tsv", "jsonl"]),
    ]

    static let pathKeys = ["filepath", "path", "image"]
    static let captionKeys = ["caption", "text"]

    let path: String
    let format: String
    /// Captions by the path as the file spells it, read on the first batch.
    private var captions: [String: [String]]?

    public init(options: PluginOptions) throws {
        path = options.string("path")
        guard path.hasPrefix("/") else {
            throw PluginAPIError.badOptionValue(
                plugin: Self.name, name: "path", value: path, expected: "an absolute path")
        }
        let requested = options.string("format")
        let ext = (path as NSString).pathExtension.lowercased()
        format =
            requested != "auto" ? requested : (["jsonl", "json"].contains(ext) ? "jsonl" : "tsv")
    }

    public func caption(_ request: CaptionRequest, context: PluginContext) throws
        -> [CaptionOutcome]
    {
        let table = try loaded()
        return request.items.map { item in
            // The file may name an image relative to the root, by its dataset path, or
            // absolutely; all three are looked up.
            let keys = [
                item.path, Self.standardized(item.absolutePath),
                Self.standardized(
                    (request.dataset.root as NSString)
                        .appendingPathComponent(item.path)),
            ]
            for key in keys {
                if let texts = table[key], !texts.isEmpty {
                    return .captions(texts.map { Caption($0) })
                }
            }
            return .failed("\(path) has no caption for \(item.path)")
        }
    }

    private func loaded() throws -> [String: [String]] {
        if let captions { return captions }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PluginAPIError.badInput(plugin: Self.name, reason: "cannot read \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PluginAPIError.badInput(plugin: Self.name, reason: "\(path) is not UTF-8 text")
        }
        var table: [String: [String]] = [:]
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so it is matched as a separator of its own.
        let lines = text.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for line in lines {
            lineNumber += 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let entry =
                try format == "jsonl" ? jsonEntry(line, lineNumber) : tsvEntry(line, lineNumber)
            guard let (key, caption) = entry else { continue }
            table[key.hasPrefix("/") ? Self.standardized(key) : key, default: []].append(caption)
        }
        guard !table.isEmpty else {
            throw PluginAPIError.badInput(plugin: Self.name, reason: "\(path) holds no captions")
        }
        captions = table
        return table
    }

    private func tsvEntry(_ line: Substring, _ number: Int) throws -> (String, String)? {
        guard let tab = line.firstIndex(of: "\t") else {
            throw bad(number, "expected a path, a tab and a caption")
        }
        let key = String(line[..<tab])
        let caption = String(line[line.index(after: tab)...])
            .trimmingCharacters(in: .whitespaces)
        if number == 1, Self.pathKeys.contains(key.lowercased()) { return nil }
        guard !key.isEmpty else { throw bad(number, "the path is empty") }
        guard !caption.isEmpty else { throw bad(number, "the caption for \(key) is empty") }
        return (key, caption)
    }

    private func jsonEntry(_ line: Substring, _ number: Int) throws -> (String, String)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)),
            let fields = object as? [String: Any]
        else { throw bad(number, "not a JSON object") }
        guard let key = Self.pathKeys.lazy.compactMap({ fields[$0] as? String }).first else {
            throw bad(number, "no \(Self.pathKeys.joined(separator: "/")) string")
        }
        guard let caption = Self.captionKeys.lazy.compactMap({ fields[$0] as? String }).first,
            !caption.trimmingCharacters(in: .whitespaces).isEmpty
        else { throw bad(number, "no \(Self.captionKeys.joined(separator: "/")) for \(key)") }
        return (key, caption)
    }

    private func bad(_ line: Int, _ reason: String) -> PluginAPIError {
        .badInput(plugin: Self.name, reason: "\(path) line \(line): \(reason)")
    }

    private static func standardized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
