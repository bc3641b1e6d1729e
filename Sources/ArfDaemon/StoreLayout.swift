// What the daemon keeps in its data folder, in one place. The folder holds an LMDB store
// (ArfStore) with these tables, and a lock file that keeps a second daemon out:
//
//   models         Key(name)                          -> ModelRecord as JSON
//   jobs           Key(id: UInt64)                    -> JobRecord as JSON
//   embeddings     Key(model, folder, relative path)  -> normalised float vector
//                  Key(model, "dataset", dataset, modality, item: UInt64) -> the same
//   embedding_stamps Key(model, folder, relative path) -> the file's size and modification
//                                                        time when it was embedded
//   datasets       Key(name)                          -> DatasetRecord as JSON
//   dataset_items  Key(dataset, item: UInt64)         -> DatasetItemRecord as JSON
//   caption_sets   Key(dataset, set id)               -> CaptionSetRecord as JSON
//   captions       Key(dataset, set id, item: UInt64) -> CaptionRecord as JSON
//   anchor_tasks   Key(task)                          -> AnchorTaskRecord as JSON
//   anchors        Key(task, rank: UInt64)            -> PairAnchorRecord as JSON
//   runs           Key(run)                           -> RunRecord as JSON
//   eval_results   Key(subject, dataset)              -> EvalRecord as JSON
//   wise_curves    Key(finetuned model)               -> WiseRecord as JSON
//   ivf-indexes    Key(model + "\n" + pool, ...)      -> the ivf retriever's trained index
//                                                        (ArfRetrieval's IVFStorage)
//
// Model names, folders and item paths are string key parts, so one model's embeddings of one
// folder are a key prefix: they can be counted, listed in item order, or dropped together.
// A folder is an absolute path, so folder keys never meet the "dataset" keys beside them, and
// replacing a model drops both. Dataset items are numbered in the order of the registered
// snapshot, which is what keeps item numbers stable. An evaluation's subject is a registered
// model, or a WiSE-FT point that was never registered ("ft-s0+wise0.5").
import ArfStore
import ArfSupport
import Foundation

/// The tables and keys of the daemon's store.
enum StoreLayout {
    static let models = "models"
    static let jobs = "jobs"
    static let embeddings = "embeddings"
    static let embeddingStamps = "embedding_stamps"

    /// LMDB's default limit on key length; items whose key would be longer are not stored.
    static let maxKeyBytes = 511

    static func modelKey(_ name: String) -> Key { Key(name) }

    static func jobKey(_ id: UInt64) -> Key { Key(id) }

    /// Every embedding of one model's items in one folder.
    static func embeddingPrefix(model: String, folder: String) -> Key { Key(model, folder) }

    static func embeddingKey(model: String, folder: String, item: String) -> Key {
        Key(model, folder, item)
    }

    static let datasets = "datasets"
    static let datasetItems = "dataset_items"
    static let captionSets = "caption_sets"
    static let captions = "captions"
    static let anchorTasks = "anchor_tasks"
    static let anchors = "anchors"
    static let runs = "runs"
    static let evalResults = "eval_results"
    static let wiseCurves = "wise_curves"

    static func evalResultKey(subject: String, dataset: String) -> Key { Key(subject, dataset) }

    /// Every embedding of one model's items of a dataset from one tower.
    static func datasetEmbeddingPrefix(model: String, dataset: String, modality: String) -> Key {
        Key(model, "dataset", dataset, modality)
    }

    static func datasetEmbeddingKey(model: String, dataset: String, modality: String, item: Int)
        -> Key
    {
        Key(model, "dataset", dataset, modality).appending(UInt64(item))
    }

    static func datasetItemKey(_ dataset: String, _ item: Int) -> Key {
        Key(dataset).appending(UInt64(item))
    }

    static func captionKey(dataset: String, set: String, item: Int) -> Key {
        Key(dataset, set).appending(UInt64(item))
    }

    static func anchorKey(task: String, rank: Int) -> Key { Key(task).appending(UInt64(rank)) }
}

/// The exclusive lock on a data folder, held for the daemon's lifetime. The kernel drops it
/// when the process dies, so a crash never leaves the folder locked.
final class DataFolderLock {
    private var fd: Int32

    /// Takes the lock on `folder`'s lock file, creating the folder and file as needed.
    init(folder: String) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw DaemonError.dataFolderUnusable(path: folder, reason: error.localizedDescription)
        }
        let path = (folder as NSString).appendingPathComponent("arfd.lock")
        do {
            fd = try systemCall("open", path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        } catch {
            throw DaemonError.dataFolderUnusable(path: folder, reason: "\(error)")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            fd = -1
            if code == EWOULDBLOCK { throw DaemonError.dataFolderInUse(path: folder) }
            throw SystemError(call: "flock", errno: code, context: path)
        }
    }

    deinit { release() }

    /// Drops the lock; the daemon does this last, after the store is closed.
    func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }
}
