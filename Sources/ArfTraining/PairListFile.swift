// The pair-list file format, as open_clip's CsvDataset reads it: a CSV or TSV file whose
// header row names at least an image path column and a caption column (`filepath` and
// `caption` unless told otherwise); fields may be quoted with "..." ("" inside for a quote,
// separators and line breaks allowed); blank lines are skipped; paths are relative to the
// list's folder unless absolute. The daemon registers pool datasets from it and pretraining
// reads it, so both take the same files the same way.
import Foundation

/// The image-caption pairs of one list file.
public struct PairListFile {
    /// The folder relative paths are taken from: the list's own.
    public let root: String
    /// Each pair's path, as written in the list, and its caption, trimmed of spaces.
    public let pairs: [(path: String, caption: String)]

    /// The separator a list uses when none is named: comma for a `.csv` file, else tab.
    public static func defaultSeparator(for file: String) -> Character {
        file.lowercased().hasSuffix(".csv") ? "," : "\t"
    }

    /// Reads a list; every problem is a `TrainingError.badPairList` naming the file and, where
    /// there is one, the line.
    public init(
        _ file: String, filepathColumn: String = "filepath", captionColumn: String = "caption",
        separator: Character? = nil
    ) throws {
        func bad(_ reason: String) -> TrainingError { .badPairList(path: file, reason: reason) }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw bad("cannot read it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw bad("it is not UTF-8 text")
        }
        let separator = separator ?? Self.defaultSeparator(for: file)
        var records = DelimitedRecords(text: text, separator: separator, file: file)
        guard let (_, header) = try records.next() else { throw bad("it is empty") }
        let columns = header.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let pathIndex = columns.firstIndex(of: filepathColumn) else {
            throw bad(Self.missing(filepathColumn, columns, separator))
        }
        guard let captionIndex = columns.firstIndex(of: captionColumn) else {
            throw bad(Self.missing(captionColumn, columns, separator))
        }

        var pairs: [(path: String, caption: String)] = []
        while let (line, fields) = try records.next() {
            guard fields.count == columns.count else {
                throw bad("line \(line): expected \(columns.count) fields, found \(fields.count)")
            }
            let path = fields[pathIndex]
            let caption = fields[captionIndex].trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else { throw bad("line \(line): the \(filepathColumn) is empty") }
            guard !caption.isEmpty else {
                throw bad("line \(line): the \(captionColumn) of \(path) is empty")
            }
            pairs.append((path, caption))
        }
        guard !pairs.isEmpty else { throw bad("it has a header but no pairs") }
        self.root = (file as NSString).deletingLastPathComponent
        self.pairs = pairs
    }

    /// A pair's file on disk: absolute paths stay, others are taken from `root`.
    public func file(_ i: Int) -> URL {
        let path = pairs[i].path
        return URL(
            fileURLWithPath: path.hasPrefix("/")
                ? path : (root as NSString).appendingPathComponent(path))
    }

    private static func missing(_ column: String, _ columns: [String], _ separator: Character)
        -> String
    {
        let name = separator == "\t" ? "tab" : "comma"
        return "no column \(column) in the header (columns: \(columns.joined(separator: ", ")); "
            + "separated by \(name))"
    }
}

/// The records of delimited text: fields split on a separator, with "..." quoting that may
/// hold separators, line breaks and doubled quotes. Blank lines are skipped. It walks UTF-8
/// bytes, since every character with a meaning here is ASCII; a large pool's list is then
/// held once, as bytes.
struct DelimitedRecords {
    private static let quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")

    private let bytes: [UInt8]
    private let separator: UInt8
    private let file: String
    private var position = 0
    private var line = 1

    init(text: String, separator: Character, file: String) {
        precondition(separator.isASCII, "separators are ASCII")
        bytes = Array(text.utf8)
        self.separator = separator.asciiValue!
        self.file = file
    }

    /// The next record and the line it starts on, or nil at the end.
    mutating func next() throws -> (Int, [String])? {
        // Blank lines carry no record.
        while position < bytes.count,
            bytes[position] == Self.newline || bytes[position] == Self.carriageReturn
        {
            if bytes[position] == Self.newline { line += 1 }
            position += 1
        }
        guard position < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var wasQuoted = false
        func finishField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if quoted {
                if byte == Self.quote {
                    if position < bytes.count, bytes[position] == Self.quote {
                        field.append(Self.quote)
                        position += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == Self.newline { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case Self.quote where field.isEmpty && !wasQuoted:
                quoted = true
                wasQuoted = true
            case separator:
                finishField()
            case Self.newline:
                line += 1
                finishField()
                return (start, fields)
            case Self.carriageReturn:
                continue
            default:
                field.append(byte)
            }
        }
        guard !quoted else {
            throw TrainingError.badPairList(
                path: file, reason: "line \(start): a quoted field is never closed")
        }
        finishField()
        return (start, fields)
    }
}
