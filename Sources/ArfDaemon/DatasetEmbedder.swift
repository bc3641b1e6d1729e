// Embeddings of registered datasets' items, per (model, dataset, tower, item): which are
// stored, reading them back, and embedding a batch of those that are not. Images are decoded
// on Dispatch's worker threads as embed-folder does; texts are a pair list's captions. The
// caller commits each batch (with its job's step, in one transaction), so whatever was
// committed survives a crash and is never computed again.
import ArfCLIP
import ArfPluginAPI
import ArfStore
import Foundation

/// Reads and computes the stored embeddings of dataset items.
struct DatasetEmbedder {
    let store: Store
    let table: Table

    init(store: Store) throws {
        self.store = store
        table = try store.table(StoreLayout.embeddings)
    }

    /// One embedded batch: keys and vectors to store, and items that could not be embedded.
    struct Batch {
        var keys: [Key] = []
        var vectors: [[Float]] = []
        var failures: [(index: Int, reason: String)] = []

        /// Stores the vectors; an item stored meanwhile keeps its vector.
        func write(_ txn: WriteTransaction, _ table: Table) throws {
            for (key, vector) in zip(keys, vectors) {
                try txn.putVector(vector, in: table, at: key, overwrite: false)
            }
        }
    }

    func key(model: String, dataset: String, modality: Modality, item: Int) -> Key {
        StoreLayout.datasetEmbeddingKey(
            model: model, dataset: dataset, modality: modality.rawValue, item: item)
    }

    /// Of `items`, those whose embedding is not stored, in the order given.
    func missing(model: String, dataset: String, modality: Modality, items: [Int]) throws
        -> [Int]
    {
        let table = table
        return try store.read { txn in
            try items.filter {
                !(try txn.contains(
                    in: table,
                    at: key(
                        model: model, dataset: dataset,
                        modality: modality, item: $0)))
            }
        }
    }

    /// The stored embeddings of `items`, nil where none is stored.
    func read(model: String, dataset: String, modality: Modality, items: [Int]) throws
        -> [[Float]?]
    {
        let table = table
        return try store.read { txn in
            try items.map {
                try txn.vector(
                    in: table, at: key(model: model, dataset: dataset, modality: modality, item: $0)
                )
            }
        }
    }

    /// How many embeddings of the dataset are stored for the model and tower.
    func count(model: String, dataset: String, modality: Modality) throws -> Int {
        let table = table
        let prefix = StoreLayout.datasetEmbeddingPrefix(
            model: model, dataset: dataset, modality: modality.rawValue)
        return try store.read { txn in try txn.count(table, prefix: prefix) }
    }

    /// Embeds `items` of `view` through one tower; unreadable images become failures.
    func embed(
        _ items: [Int], of view: DatasetView, modality: Modality, model: String,
        pipeline: CLIPPipeline
    ) throws -> Batch {
        var batch = Batch()
        switch modality {
        case .text:
            var texts: [String] = []
            for index in items {
                guard let caption = view.items[index].caption else {
                    batch.failures.append((index, "the item has no caption"))
                    continue
                }
                texts.append(caption)
                batch.keys.append(
                    key(model: model, dataset: view.name, modality: .text, item: index))
            }
            batch.vectors = try pipeline.embed(texts: texts)
        case .image:
            let urls = items.map { URL(fileURLWithPath: view.items[$0].absolutePath) }
            var rows: [[Float]] = []
            for (index, result) in zip(items, EmbedFolderJob.pixelRows(urls, pipeline.preprocessor))
            {
                switch result {
                case .success(let row):
                    rows.append(row)
                    batch.keys.append(
                        key(model: model, dataset: view.name, modality: .image, item: index))
                case .failure(let error):
                    batch.failures.append((index, "\(error)"))
                }
            }
            batch.vectors = try pipeline.embed(pixelRows: rows)
        }
        return batch
    }
}
