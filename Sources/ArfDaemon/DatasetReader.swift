// Reads a dataset off disk into a snapshot of items, without storing anything:
//
//   imagefolder  one folder per class, classes in byte order of their folder names (as
//                torchvision's ImageFolder sorts them); under each class, at any depth and
//                following links, every file whose extension torchvision's loader accepts,
//                directories in byte order of their paths and files in byte order within one
//   pairs        a CSV or TSV file with a header row naming at least the image path column
//                and the caption column (open_clip's CsvDataset layout); fields may be quoted
//                with "..." ("" inside for a quote); paths are relative to the list's folder
//
// Every problem (a missing folder, a class without images, a missing column, a row with the
// wrong number of fields) is an error naming the path and, for a list, the line, so that a
// dataset is registered whole or not at all.
//
// Left out: checking that listed images exist and decode (embedding reports those, per item).
import Foundation

/// A dataset as read from disk, ready to be stored.
struct DatasetSnapshot {
    var format: String
    /// The folder item paths are relative to.
    var root: String
    var classes: [String]
    var items: [DatasetItemRecord]
}

/// Reads image folders and pair lists.
enum DatasetReader {
    /// The extensions torchvision's default loader accepts, lower-cased.
    static let imageExtensions: Set<String> = [
        "jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp",
    ]
    /// How deep a class folder is walked; bounds a walk through a link cycle.
    static let maxDepth = 32

    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The classes and images of an image folder.
    static func imageFolder(_ root: String) throws -> DatasetSnapshot {
        func bad(_ reason: String) -> DaemonError { .badDataset(path: root, reason: reason) }
        let classes = try entries(of: root).filter { isFolder(root + "/" + $0) }
            .sorted(by: byteOrder)
        guard !classes.isEmpty else {
            throw bad("it holds no class folders (an image folder has one folder per class)")
        }
        var items: [DatasetItemRecord] = []
        var empty: [String] = []
        for (label, name) in classes.enumerated() {
            let files = try images(in: root, under: name)
            if files.isEmpty { empty.append(name) }
            items += files.map { DatasetItemRecord(path: $0, label: label) }
        }
        guard empty.isEmpty else {
            let listed = empty.prefix(10).joined(separator: ", ")
            throw bad(
                "no images in class folder\(empty.count == 1 ? "" : "s") \(listed)"
                    + (empty.count > 10 ? " and \(empty.count - 10) more" : "")
                    + " (extensions: \(imageExtensions.sorted().joined(separator: ", ")))")
        }
        return DatasetSnapshot(format: "imagefolder", root: root, classes: classes, items: items)
    }

    /// Image paths relative to `root` under the folder `relative`, in torchvision's order.
    private static func images(in root: String, under relative: String) throws -> [String] {
        // Every folder's own files, keyed by its path; folders are then taken in byte order.
        var folders: [(path: String, files: [String])] = []
        var pending = [(relative, 0)]
        while let (folder, depth) = pending.popLast() {
            var files: [String] = []
            for name in try entries(of: root + "/" + folder) {
                let path = folder + "/" + name
                if isFolder(root + "/" + path) {
                    if depth < maxDepth { pending.append((path, depth + 1)) }
                } else if imageExtensions.contains((name as NSString).pathExtension.lowercased()) {
                    files.append(path)
                }
            }
            folders.append((folder, files.sorted(by: byteOrder)))
        }
        return folders.sorted { byteOrder($0.path, $1.path) }.flatMap(\.files)
    }

    private static func entries(of folder: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw DaemonError.badDataset(path: folder, reason: "cannot list it")
        }
    }

    private static func isFolder(_ path: String) -> Bool {
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &folder)
            && folder.boolValue
    }

    /// The pairs of a CSV or TSV list.
    static func pairList(
        _ file: String, filepathColumn: String, captionColumn: String, separator: Character
    ) throws -> DatasetSnapshot {
        func bad(_ reason: String) -> DaemonError { .badDataset(path: file, reason: reason) }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw bad("cannot read it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw bad("it is not UTF-8 text")
        }
        var records = try DelimitedRecords(text: text, separator: separator, file: file)
        guard let (_, header) = try records.next() else { throw bad("it is empty") }
        let columns = header.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let pathColumn = columns.firstIndex(of: filepathColumn) else {
            throw bad(missing(filepathColumn, columns, separator))
        }
        guard let captionColumnIndex = columns.firstIndex(of: captionColumn) else {
            throw bad(missing(captionColumn, columns, separator))
        }

        var items: [DatasetItemRecord] = []
        while let (line, fields) = try records.next() {
            guard fields.count == columns.count else {
                throw bad(
                    "line \(line): expected \(columns.count) fields, found \(fields.count)")
            }
            let path = fields[pathColumn]
            let caption = fields[captionColumnIndex].trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else { throw bad("line \(line): the \(filepathColumn) is empty") }
            guard !caption.isEmpty else {
                throw bad("line \(line): the \(captionColumn) of \(path) is empty")
            }
            items.append(DatasetItemRecord(path: path, caption: caption))
        }
        guard !items.isEmpty else { throw bad("it has a header but no pairs") }
        let root = (file as NSString).deletingLastPathComponent
        return DatasetSnapshot(format: "pairs", root: root, classes: [], items: items)
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

    init(text: String, separator: Character, file: String) throws {
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
            throw DaemonError.badDataset(
                path: file, reason: "line \(start): a quoted field is never closed")
        }
        finishField()
        return (start, fields)
    }
}
