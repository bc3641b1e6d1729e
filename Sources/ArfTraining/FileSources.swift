// Sources over files on disk: an ImageFolder tree (root/<class>/<image>, classes and images
// in sorted order) with optional captions, and a pair list (one `path<TAB>caption` line per
// pair, paths relative to the list's folder unless absolute). Images are decoded and
// preprocessed on every read: nothing is cached, so memory stays flat and a changed file is
// seen at once. JPEG and PNG files are used; other files are skipped.
import ArfImage
import Foundation

/// The image files directly or indirectly under `folder`, as sorted relative paths.
func imageFiles(under folder: URL) throws -> [String] {
    let fm = FileManager.default
    guard let walker = fm.enumerator(atPath: folder.path) else {
        throw TrainingError.io(path: folder.path, reason: "cannot list the folder")
    }
    var files: [String] = []
    while let path = walker.nextObject() as? String {
        let ext = (path as NSString).pathExtension.lowercased()
        if ["jpg", "jpeg", "png"].contains(ext) { files.append(path) }
    }
    return files.sorted()
}

/// Writes the preprocessed pixels of an image file into `out`, which must be the
/// preprocessor's size.
func preprocess(
    _ file: URL, _ preprocessor: ImagePreprocessor, into out: UnsafeMutableBufferPointer<Float>
) throws {
    let side = preprocessor.cropSize
    guard out.count == 3 * side * side else {
        throw TrainingError.imageSizeMismatch(expected: out.count, found: 3 * side * side)
    }
    preprocessor.pixelValues(try ImageCodec.decode(file: file, alpha: .compositeOnWhite), into: out)
}

/// An ImageFolder tree: each subfolder of the root is a class.
public struct ImageFolderSource: LabeledImageSource {
    public let root: URL
    public let classNames: [String]
    /// Each example's path relative to the root, and its label.
    public let files: [(path: String, label: Int)]
    public let preprocessor: ImagePreprocessor
    /// Captions by relative path.
    public let captionsByPath: [String: [String]]

    /// Lists the tree; `captions` maps relative paths (`class/file.jpg`) to captions.
    public init(
        root: URL, preprocessor: ImagePreprocessor, captions: [String: [String]] = [:]
    ) throws {
        let fm = FileManager.default
        let entries = try io(root.path) { try fm.contentsOfDirectory(atPath: root.path) }
        let classes = entries.filter {
            var isFolder: ObjCBool = false
            return !$0.hasPrefix(".")
                && fm.fileExists(
                    atPath: root.appendingPathComponent($0).path, isDirectory: &isFolder)
                && isFolder.boolValue
        }.sorted()
        var files: [(path: String, label: Int)] = []
        for (label, name) in classes.enumerated() {
            for path in try imageFiles(under: root.appendingPathComponent(name)) {
                files.append(("\(name)/\(path)", label))
            }
        }
        guard !files.isEmpty else { throw TrainingError.emptyDataset(what: root.path) }
        self.root = root
        self.classNames = classes
        self.files = files
        self.preprocessor = preprocessor
        self.captionsByPath = captions
    }

    /// Reads captions from a JSON object mapping relative paths to lists of captions.
    public static func captions(from url: URL) throws -> [String: [String]] {
        do {
            return try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: url))
        } catch {
            throw TrainingError.io(path: url.path, reason: "not a JSON map of captions: \(error)")
        }
    }

    public var count: Int { files.count }

    public func label(_ i: Int) -> Int { files[i].label }

    public func pixels(_ i: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        try preprocess(root.appendingPathComponent(files[i].path), preprocessor, into: out)
    }

    public func captions(_ i: Int) -> [String] { captionsByPath[files[i].path] ?? [] }
}

/// Image-caption pairs listed in a text file, one `path<TAB>caption` per line.
public struct PairListSource: PairSource {
    public let pairs: [(file: URL, caption: String)]
    public let preprocessor: ImagePreprocessor

    public init(list: URL, preprocessor: ImagePreprocessor) throws {
        let text = try io(list.path) { try String(contentsOf: list, encoding: .utf8) }
        let folder = list.deletingLastPathComponent()
        var pairs: [(file: URL, caption: String)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty
        {
            guard let tab = line.firstIndex(of: "\t") else {
                throw TrainingError.io(
                    path: list.path,
                    reason: "line \(number + 1) has no tab between path and caption")
            }
            let path = String(line[..<tab])
            let caption = String(line[line.index(after: tab)...])
            let file =
                path.hasPrefix("/")
                ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
            pairs.append((file, caption))
        }
        guard !pairs.isEmpty else { throw TrainingError.emptyDataset(what: list.path) }
        self.pairs = pairs
        self.preprocessor = preprocessor
    }

    public var count: Int { pairs.count }

    public func pixels(_ i: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        try preprocess(pairs[i].file, preprocessor, into: out)
    }

    public func caption(_ i: Int) -> String { pairs[i].caption }
}
