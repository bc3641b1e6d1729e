// What the daemon offers a running plugin: registered datasets as read-only snapshots, the
// models' text and image towers, the embeddings the store keeps (computed and stored on first
// use, so a plugin never embeds the same item twice across jobs), a log, and a way to notice
// that its job was cancelled. Plugins get the context for the length of one call and must not
// keep it.
import Foundation

/// Which tower an embedding comes from.
public enum Modality: String, Sendable, Codable, CaseIterable {
    case image, text
}

/// One item of a registered dataset.
public struct DatasetItem: Sendable, Equatable {
    /// The item's position in the dataset's snapshot; stable for the dataset's life.
    public var index: Int
    /// The image path as the dataset lists it, relative to the dataset's root.
    public var path: String
    /// The image path on disk.
    public var absolutePath: String
    /// The class index, for an image folder.
    public var label: Int?
    /// The paired caption, for a pair list.
    public var caption: String?

    public init(
        index: Int, path: String, absolutePath: String, label: Int? = nil, caption: String? = nil
    ) {
        self.index = index
        self.path = path
        self.absolutePath = absolutePath
        self.label = label
        self.caption = caption
    }
}

/// A registered dataset: its role, classes and items, as registered.
public struct DatasetView: Sendable {
    public var name: String
    /// finetune, pool, eval-id, eval-shift or eval-zeroshot.
    public var role: String
    /// imagefolder or pairs.
    public var format: String
    /// The folder item paths are relative to.
    public var root: String
    /// Class names, in label order; empty for a pair list.
    public var classes: [String]
    public var items: [DatasetItem]

    public init(
        name: String, role: String, format: String, root: String, classes: [String],
        items: [DatasetItem]
    ) {
        self.name = name
        self.role = role
        self.format = format
        self.root = root
        self.classes = classes
        self.items = items
    }
}

/// The daemon as a plugin sees it during one call.
public protocol PluginContext: AnyObject {
    /// The model the job was started with.
    var model: String { get }

    /// A registered dataset; throws when there is none of that name.
    func dataset(named name: String) throws -> DatasetView

    /// Names of registered datasets with `role` (all of them for nil), sorted.
    func datasetNames(role: String?) throws -> [String]

    /// L2-normalised text embeddings under a registered model, one row per text.
    func embed(texts: [String], model: String) throws -> [[Float]]

    /// L2-normalised embeddings of image files under a registered model, one row per path.
    func embed(imagePaths: [String], model: String) throws -> [[Float]]

    /// Stored embeddings of a dataset's items (all items for nil), in the order asked; items
    /// not stored yet are embedded and stored first. Text embeddings exist for pair lists. An
    /// image that cannot be read has no embedding (nil); the daemon notes why.
    func embeddings(dataset: String, modality: Modality, items: [Int]?, model: String) throws
        -> [[Float]?]

    /// Writes a log line from the plugin, with key=value fields.
    func log(_ message: String, _ fields: [(String, String)])

    /// Throws when the job running the plugin was cancelled or the daemon is stopping; call
    /// it between long steps.
    func checkStop() throws
}
