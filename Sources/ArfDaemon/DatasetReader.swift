// Reads a dataset off disk into a snapshot of items, without storing anything:
//
//   imagefolder  one folder per class, classes in byte order of their folder names (as
//                torchvision's ImageFolder sorts them); under each class, at any depth and
//                following links, every file whose extension torchvision's loader accepts,
//                directories in byte order of their paths and files in byte order within one
//   pairs        a CSV or TSV file with a header row naming at least the image path column
//                and the caption column, read by ArfTraining's PairListFile
//
// Every problem (a missing folder, a class without images, a missing column, a row with the
// wrong number of fields) is an error naming the path and, for a list, the line, so that a
// dataset is registered whole or not at all.
//
// Left out: checking that listed images exist and decode (embedding reports those, per item).
import ArfTraining
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
        let list: PairListFile
        do {
            list = try PairListFile(
                file, filepathColumn: filepathColumn, captionColumn: captionColumn,
                separator: separator)
        } catch TrainingError.badPairList(let path, let reason) {
            throw DaemonError.badDataset(path: path, reason: reason)
        }
        return DatasetSnapshot(
            format: "pairs", root: list.root, classes: [],
            items: list.pairs.map { DatasetItemRecord(path: $0.path, caption: $0.caption) })
    }
}
