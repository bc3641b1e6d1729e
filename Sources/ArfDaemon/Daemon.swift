// The daemon: opens the data folder (lock file, store, model and job registries), serves the
// arf.v1 methods on a Unix socket, runs jobs, and stops cleanly on SIGTERM or SIGINT: it stops
// accepting and cancels calls, lets the running job commit its step and go back to the queue,
// then closes the store. A second signal during that exits at once (the store stays
// consistent, since every commit is atomic; the job then resumes as interrupted).
//
// Every built-in job kind is listed in `Daemon.jobKinds`; the kinds that work on datasets
// come from `DatasetService.jobKinds`, those that train and evaluate from
// `TrainingService.jobKinds`.
import ArfPlugins
import ArfStore
import ArfSupport
import ArfTensor
import ArfWire
import Foundation

/// A running arf daemon.
public final class Daemon: @unchecked Sendable {
    /// The version Status reports.
    public static let version = "0.1.0"

    /// Every kind of job the daemon runs.
    static let jobKinds: [JobKind] = [EmbedFolderJob()]
    /// The job parameters that name a model: the model a job uses, the two ends of a WiSE-FT
    /// curve, and a finetuning run, which registers its result under the run's name.
    static let modelKeys = ["model", "zeroshot", "finetuned", "run"]

    public let options: DaemonOptions
    private let folderLock: DataFolderLock
    private let store: Store
    private let models: ModelRegistry
    private let jobs: JobManager
    private let inference: Inference
    private let datasetService: DatasetService
    private let trainingService: TrainingService
    private let started = Date()
    private var server: WireServer?

    /// Opens the data folder and recovers the registries; serves nothing until `start()`.
    public init(options: DaemonOptions) throws {
        self.options = options
        Compute.threads = options.threads
        folderLock = try DataFolderLock(folder: options.dataFolder)
        let storeFolder = (options.dataFolder as NSString).appendingPathComponent("store")
        store = try Store.open(directory: storeFolder)
        do {
            models = try ModelRegistry(store: store)
            let plugins = try PluginCatalog(folder: options.pluginsFolder)
            plugins.registerTrainingLosses()
            datasetService = DatasetService(
                datasets: try DatasetRegistry(store: store), plugins: plugins, models: models,
                store: store)
            trainingService = TrainingService(
                context: TrainingContext(
                    store: store, models: models, datasets: datasetService.datasets,
                    dataFolder: options.dataFolder))
            jobs = try JobManager(
                store: store, models: models,
                kinds: Self.jobKinds + datasetService.jobKinds + trainingService.jobKinds)
        } catch {
            store.close()
            throw error
        }
        inference = Inference(models: models, store: store, slots: options.inferenceSlots)
    }

    /// Starts listening and running jobs.
    public func start() throws {
        var serverOptions = WireServerOptions()
        serverOptions.allowedUIDs = options.allowedUIDs.union([getuid()])
        let server = WireServer(
            socketPath: options.socketPath, handlers: handlers(), options: serverOptions)
        try server.start()
        self.server = server
        jobs.start()
        let counts = jobs.counts
        log.info(
            "arfd started", ("version", Self.version), ("pid", getpid()),
            ("socket", options.socketPath), ("data", options.dataFolder),
            ("threads", options.threads), ("inference_slots", inference.slotCount),
            ("models", models.names.count), ("queued_jobs", counts.queued))
    }

    /// Stops serving, lets the running job stop at its next step, and closes the store.
    public func stop() {
        log.info("arfd stopping")
        server?.stop()
        jobs.shutdown(timeout: options.jobStopSeconds)
        store.close()
        folderLock.release()
        log.info("arfd stopped")
    }

    /// Routes SIGTERM and SIGINT to the returned semaphore; a second signal ends the process
    /// at once. The handlers stay installed for the life of the process.
    static func installSignalHandlers() -> DispatchSemaphore {
        let received = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "arfd.signals")
        let count = Counter()
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                if count.increment() > 1 {
                    log.warning("second signal: exiting without waiting", ("signal", number))
                    exit(1)
                }
                log.info("signal received", ("signal", number == SIGTERM ? "TERM" : "INT"))
                received.signal()
            }
            source.resume()
            signalSources.append(source)
        }
        return received
    }

    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []

    /// arfd's whole life: parse, start, wait for a signal, stop. Returns the exit code.
    public static func main(_ arguments: [String]) -> Int32 {
        // A client that disappears must not kill the daemon through a write to its socket.
        signal(SIGPIPE, SIG_IGN)
        // Installed first, so that a signal during start-up also stops the daemon cleanly.
        let stopRequested = installSignalHandlers()
        do {
            guard let options = try DaemonOptions.parse(arguments) else {
                print(DaemonOptions.usage)
                return 0
            }
            Logger.shared.level = options.logLevel
            let daemon = try Daemon(options: options)
            do {
                try daemon.start()
            } catch {
                daemon.stop()
                throw error
            }
            stopRequested.wait()
            daemon.stop()
            return 0
        } catch let error as UsageError {
            FileHandle.standardError.write(Data(failureText(error.message, error.hint).utf8))
            return 2
        } catch let error as DaemonError {
            // A bad config file is a usage mistake like a bad option.
            let status = error.callStatus
            FileHandle.standardError.write(Data(failureText(status.message, status.hint).utf8))
            if case .configFile = error { return 2 }
            log.error("arfd failed", ("error", status.message))
            return 1
        } catch {
            let status = callStatus(for: error)
            log.error("arfd failed", ("error", status.message))
            FileHandle.standardError.write(Data(failureText(status.message, status.hint).utf8))
            return 1
        }
    }

    private static func failureText(_ message: String, _ hint: String) -> String {
        "arfd: \(message)\n" + (hint.isEmpty ? "" : "hint: \(hint)\n")
    }

    private func handlers() -> WireHandlers {
        var handlers = WireHandlers()
        let (models, jobs, inference, started) = (models, jobs, inference, started)
        let threads = options.threads
        handlers.unary(Methods.status) { _, _ in
            let counts = jobs.counts
            return StatusReply(
                version: Self.version, pid: getpid(),
                uptimeSeconds: Date().timeIntervalSince(started), threads: UInt32(threads),
                loadedModels: models.loadedNames, queuedJobs: UInt32(counts.queued),
                runningJobs: UInt32(counts.running))
        }
        handlers.unary(Methods.loadModel) { request, _ in
            try mappingErrors {
                let (model, seconds) = try models.register(
                    name: request.name, directory: request.directory, replace: request.replace)
                return LoadModelReply(model: model, loadSeconds: seconds)
            }
        }
        handlers.unary(Methods.listModels) { _, _ in ListModelsReply(models: models.infos()) }
        handlers.unary(Methods.removeModel) { request, _ in
            try mappingErrors {
                try jobs.withoutSubmissions {
                    if let job = liveJob(
                        naming: request.name, under: Self.modelKeys, in: jobs.list())
                    {
                        throw DaemonError.inUse(what: "model \(request.name)", job: job)
                    }
                    return RemoveModelReply(
                        embeddings: UInt64(try models.remove(name: request.name)))
                }
            }
        }
        handlers.unary(Methods.embed) { request, context in
            try mappingErrors { try inference.embed(request, context) }
        }
        handlers.unary(Methods.classify) { request, context in
            try mappingErrors { try inference.classify(request, context) }
        }
        handlers.unary(Methods.listStored) { request, _ in
            try mappingErrors { try inference.listStored(request) }
        }
        handlers.unary(Methods.listJobs) { _, _ in ListJobsReply(jobs: jobs.list()) }
        handlers.stream(Methods.watchJob) { request, sink in
            try mappingErrors { try jobs.watch(id: request.jobID, sink: sink) }
        }
        handlers.unary(Methods.cancelJob) { request, _ in
            try mappingErrors { CancelJobReply(state: try jobs.cancel(id: request.jobID)) }
        }
        handlers.unary(Methods.pruneJobs) { request, _ in
            try mappingErrors {
                guard request.olderThanSeconds.isFinite else {
                    throw DaemonError.badRequest("older_than_seconds must be a finite number")
                }
                let (removed, remaining) = try jobs.prune(
                    olderThan: request.olderThanSeconds, keep: Int(request.keep))
                return PruneJobsReply(
                    removed: removed.map(String.init), remaining: UInt64(remaining))
            }
        }
        handlers.unary(Methods.submitJob) { request, _ in
            try mappingErrors {
                SubmitJobReply(
                    job: try jobs.submit(kind: request.kind, paramsJSON: request.paramsJSON))
            }
        }
        datasetService.register(&handlers, jobs: jobs)
        trainingService.register(&handlers, jobs: jobs)
        return handlers
    }
}

/// A thread-safe counter for the signal handler.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}
