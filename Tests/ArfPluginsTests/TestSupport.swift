// Shared pieces of the plugin tests: a PluginContext that serves datasets and embeddings
// from memory (so a captioner's choices can be checked against vectors the test chose), and
// fresh temporary folders.
import ArfPluginAPI
import Foundation

/// A PluginContext over in-memory datasets and embeddings.
final class MemoryContext: PluginContext {
    let model: String
    var datasets: [String: DatasetView] = [:]
    /// Embeddings by "dataset/modality" then item index.
    var vectors: [String: [Int: [Float]]] = [:]
    /// How many embeddings plugins asked for, per "dataset/modality".
    private(set) var requests: [String: Int] = [:]
    private(set) var logged: [String] = []
    var stopRequested = false

    init(model: String = "m") { self.model = model }

    func add(_ view: DatasetView, images: [[Float]] = [], texts: [[Float]] = []) {
        datasets[view.name] = view
        vectors["\(view.name)/image"] = Dictionary(
            uniqueKeysWithValues: images.enumerated().map { ($0.offset, $0.element) })
        vectors["\(view.name)/text"] = Dictionary(
            uniqueKeysWithValues: texts.enumerated().map { ($0.offset, $0.element) })
    }

    func dataset(named name: String) throws -> DatasetView {
        guard let view = datasets[name] else {
            throw PluginAPIError.badInput(plugin: "test", reason: "no dataset \(name)")
        }
        return view
    }

    func datasetNames(role: String?) throws -> [String] {
        datasets.values.filter { role == nil || $0.role == role }.map(\.name).sorted()
    }

    func embed(texts: [String], model: String) throws -> [[Float]] {
        throw PluginAPIError.failed(plugin: "test", reason: "no towers in tests")
    }

    func embed(imagePaths: [String], model: String) throws -> [[Float]] {
        throw PluginAPIError.failed(plugin: "test", reason: "no towers in tests")
    }

    func embeddings(dataset: String, modality: Modality, items: [Int]?, model: String) throws
        -> [[Float]?]
    {
        let key = "\(dataset)/\(modality.rawValue)"
        let view = try self.dataset(named: dataset)
        let wanted = items ?? Array(view.items.indices)
        requests[key, default: 0] += wanted.count
        return wanted.map { vectors[key]?[$0] }
    }

    func log(_ message: String, _ fields: [(String, String)]) { logged.append(message) }

    func checkStop() throws {
        if stopRequested { throw PluginAPIError.failed(plugin: "test", reason: "stopped") }
    }
}

/// A dataset view over `paths` under `root`, with captions or labels when given.
func makeView(
    _ name: String, role: String = "finetune", root: String = "/data", paths: [String],
    captions: [String]? = nil
) -> DatasetView {
    DatasetView(
        name: name, role: role, format: captions == nil ? "imagefolder" : "pairs", root: root,
        classes: captions == nil ? ["a"] : [],
        items: paths.enumerated().map { index, path in
            DatasetItem(
                index: index, path: path,
                absolutePath: path.hasPrefix("/") ? path : root + "/" + path,
                label: captions == nil ? 0 : nil, caption: captions?[index])
        })
}

/// A fresh folder under /tmp.
func temporaryFolder(_ prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else {
        throw PluginAPIError.failed(plugin: "test", reason: "mkdtemp failed: errno \(errno)")
    }
    return String(cString: template)
}

/// A unit vector along `axis` in `dimension` dimensions, tilted by `tilt` toward axis 0.
func unit(_ axis: Int, dimension: Int = 8, tilt: Float = 0) -> [Float] {
    var vector = [Float](repeating: 0, count: dimension)
    vector[axis] = 1
    vector[0] += tilt
    let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return vector.map { $0 / norm }
}

/// The captions of one outcome, or nil for a failure.
func texts(_ outcome: CaptionOutcome) -> [String]? {
    if case .captions(let captions) = outcome { return captions.map(\.text) }
    return nil
}
