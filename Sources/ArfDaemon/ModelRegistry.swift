// The registry of models: name -> checkpoint folder and shape, persisted in the store so that
// it survives a restart, plus the pipelines held in memory. Loading through `register` reads
// and checks the whole checkpoint before anything is recorded, so a bad checkpoint changes
// nothing. After a restart models are loaded again lazily, on their first use: start-up stays
// fast however many models are registered, and a checkpoint that has since vanished only
// fails the calls that need it. Replacing a model with another folder, or removing it, drops
// the embeddings and retrieval indexes stored under its name, since they came from its
// weights; its folder is never touched.
//
// Left out: unloading models to free memory, and reference counting of pipelines in use
// (a replaced or removed pipeline stays alive until its last call returns; a job already
// running on a model that is replaced finishes with the old weights and stores under the same
// name, which is why removal is refused while a job names the model).
import ArfCLIP
import ArfPluginAdapters
import ArfRetrieval
import ArfStore
import ArfSupport
import ArfWire
import Foundation

/// A registered model as the store keeps it.
struct ModelRecord: Codable, Equatable {
    var name: String
    var directory: String
    var summary: String
    var visionWidth: Int
    var textWidth: Int
    var visionLayers: Int
    var textLayers: Int
    var patchSize: Int
    var imageSize: Int
    var projectionDim: Int
    var parameterCount: Int
    var registeredUnix: Double

    init(name: String, directory: String, model: CLIPModel) {
        let config = model.config
        self.name = name
        self.directory = directory
        summary = config.summary
        visionWidth = config.vision.transformer.hiddenSize
        textWidth = config.text.transformer.hiddenSize
        visionLayers = config.vision.transformer.layers
        textLayers = config.text.transformer.layers
        patchSize = config.vision.patchSize
        imageSize = config.vision.imageSize
        projectionDim = config.projectionDim
        parameterCount = model.parameterCount
        registeredUnix = Date().timeIntervalSince1970
    }

    func info(loaded: Bool) -> ModelInfo {
        ModelInfo(
            name: name, directory: directory,
            architecture: ModelArchitecture(
                visionWidth: UInt32(clamping: visionWidth), textWidth: UInt32(clamping: textWidth),
                visionLayers: UInt32(clamping: visionLayers),
                textLayers: UInt32(clamping: textLayers), patchSize: UInt32(clamping: patchSize),
                imageSize: UInt32(clamping: imageSize),
                projectionDim: UInt32(clamping: projectionDim),
                parameterCount: UInt64(clamping: parameterCount)),
            loaded: loaded)
    }
}

/// Registered models and the pipelines loaded for them; safe to use from any thread.
public final class ModelRegistry: @unchecked Sendable {
    private let store: Store
    private let table: Table
    private let embeddings: Table
    private let stamps: Table
    /// Guards the dictionaries; never held across a load or a store transaction.
    private let lock = NSLock()
    /// Serialises registrations, so that two loads of one name cannot both succeed.
    private let registerLock = NSLock()
    private var records: [String: ModelRecord] = [:]
    private var pipelines: [String: CLIPPipeline] = [:]
    private var loaders: [String: NSLock] = [:]

    /// Reads the registry from `store`; loads no weights.
    init(store: Store) throws {
        self.store = store
        table = try store.table(StoreLayout.models)
        embeddings = try store.table(StoreLayout.embeddings)
        stamps = try store.table(StoreLayout.embeddingStamps)
        let table = table
        let stored = try store.read { txn in
            try txn.scan(table).map { entry in
                try JSONDecoder().decode(ModelRecord.self, from: entry.value)
            }
        }
        for record in stored { records[record.name] = record }
        if !stored.isEmpty {
            log.info(
                "models registered", ("count", stored.count),
                ("names", stored.map(\.name).joined(separator: ",")), ("loading", "on first use"))
        }
    }

    /// Names of the models whose weights are in memory.
    var loadedNames: [String] { lock.withLock { pipelines.keys.sorted() } }

    /// Every registered model, by name.
    func infos() -> [ModelInfo] {
        lock.withLock {
            records.values.sorted { $0.name < $1.name }
                .map { $0.info(loaded: pipelines[$0.name] != nil) }
        }
    }

    /// Loads the checkpoint in `directory` and registers it as `name`; returns the model and
    /// the seconds the load took. Fails, changing nothing, on a bad checkpoint or a taken name.
    func register(name: String, directory: String, replace: Bool) throws -> (ModelInfo, Double) {
        try Self.check(name: name)
        let folder = try Self.checkpointFolder(directory)
        registerLock.lock()
        defer { registerLock.unlock() }
        if !replace, let existing = lock.withLock({ records[name] }) {
            throw DaemonError.modelExists(name: name, directory: existing.directory)
        }

        let start = Date()
        let pipeline = try CLIPPipeline(directory: URL(fileURLWithPath: folder))
        let record = ModelRecord(name: name, directory: folder, model: pipeline.model)
        let previous = lock.withLock { records[name] }
        let dropStale = previous.map { $0.directory != folder } ?? false
        let (table, embeddings, stamps) = (table, embeddings, stamps)
        let dropped = try store.write { txn -> Int in
            try txn.putJSON(record, in: table, at: StoreLayout.modelKey(name))
            guard dropStale else { return 0 }
            try txn.deleteAll(in: stamps, prefix: Key(name))
            return try txn.deleteAll(in: embeddings, prefix: Key(name))
        }
        lock.withLock {
            records[name] = record
            pipelines[name] = pipeline
        }
        if dropStale { dropIndexes(of: name) }
        let seconds = Date().timeIntervalSince(start)
        log.info(
            "model registered", ("name", name), ("path", folder), ("replaced", previous != nil),
            ("dropped_embeddings", dropped), ("seconds", String(format: "%.3f", seconds)))
        return (record.info(loaded: true), seconds)
    }

    /// Forgets a model: its record, the embeddings and retrieval indexes stored under its
    /// name, and its weights in memory (calls already using them finish). Its folder stays.
    /// Returns how many embeddings went.
    func remove(name: String) throws -> Int {
        registerLock.lock()
        defer { registerLock.unlock() }
        guard lock.withLock({ records[name] }) != nil else {
            throw DaemonError.unknownModel(name: name, known: names)
        }
        let (table, embeddings, stamps) = (table, embeddings, stamps)
        let dropped = try store.write { txn -> Int in
            try txn.delete(in: table, at: StoreLayout.modelKey(name))
            try txn.deleteAll(in: stamps, prefix: Key(name))
            return try txn.deleteAll(in: embeddings, prefix: Key(name))
        }
        lock.withLock {
            records[name] = nil
            pipelines[name] = nil
        }
        dropIndexes(of: name)
        log.info("model removed", ("name", name), ("dropped_embeddings", dropped))
        return dropped
    }

    /// Drops the retrieval indexes built under the model. A failure is logged, not thrown: the
    /// model is already replaced or gone, and an index left behind is never used, since its
    /// note of the rows it was built from no longer matches.
    private func dropIndexes(of name: String) {
        do {
            try IVFIndex.removeAll(
                from: store,
                namesStartingWith: PluginStoreLayout.ivfIndexName(model: name, pool: ""))
        } catch {
            log.warning("retrieval indexes not dropped", ("model", name), ("reason", "\(error)"))
        }
    }

    /// The pipeline of a registered model, loading it on first use.
    func pipeline(named name: String) throws -> CLIPPipeline {
        lock.lock()
        if let pipeline = pipelines[name] {
            lock.unlock()
            return pipeline
        }
        guard records[name] != nil else {
            let known = records.keys.sorted()
            lock.unlock()
            throw DaemonError.unknownModel(name: name, known: known)
        }
        let loader = loaders[name] ?? NSLock()
        loaders[name] = loader
        lock.unlock()

        // One load per name at a time; callers that queued behind it find the pipeline ready.
        loader.lock()
        defer { loader.unlock() }
        let (ready, record) = lock.withLock { (pipelines[name], records[name]) }
        if let ready { return ready }
        guard let record else { throw DaemonError.unknownModel(name: name, known: []) }
        let start = Date()
        let pipeline: CLIPPipeline
        do {
            pipeline = try CLIPPipeline(directory: URL(fileURLWithPath: record.directory))
        } catch {
            log.error(
                "registered model does not load", ("name", name), ("path", record.directory),
                ("error", error))
            throw DaemonError.registeredModelUnavailable(
                name: name, directory: record.directory, reason: "\(error)")
        }
        log.info(
            "model loaded on first use", ("name", name),
            ("seconds", String(format: "%.3f", Date().timeIntervalSince(start))))
        return lock.withLock {
            // A registration may have replaced the model while this load ran; it wins.
            if let newer = pipelines[name] { return newer }
            if records[name]?.directory == record.directory { pipelines[name] = pipeline }
            return pipeline
        }
    }

    /// Whether `name` is registered.
    func contains(_ name: String) -> Bool { lock.withLock { records[name] != nil } }

    /// Registered names, for error hints.
    var names: [String] { lock.withLock { records.keys.sorted() } }

    static func check(name: String) throws {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed == name else {
            throw DaemonError.badRequest(
                "a model name must be non-empty, without leading or trailing spaces")
        }
        guard name.utf8.count <= 128, !name.contains(where: { $0.isNewline || $0 == "\0" })
        else {
            throw DaemonError.badRequest("a model name takes at most 128 bytes and one line")
        }
    }

    /// The checkpoint folder as an absolute, standardised path that exists and is a folder.
    static func checkpointFolder(_ directory: String) throws -> String {
        guard directory.hasPrefix("/") else {
            throw DaemonError.badRequest("checkpoint folder \(directory) is not an absolute path")
        }
        let path = URL(fileURLWithPath: directory).standardizedFileURL.path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw DaemonError.checkpointNotFound(path: path)
        }
        guard isFolder.boolValue else { throw DaemonError.notADirectory(path: path) }
        return path
    }
}
