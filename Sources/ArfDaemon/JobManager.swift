// The job manager: a persistent queue of jobs run one at a time on a thread of its own (never
// on Swift's cooperative pool, since jobs block on BLAS), with cancel, watch, and recovery.
// Every state change is committed to the store before anyone is told about it. At start-up,
// jobs that a dead daemon left running are marked interrupted and queued again, so they resume
// (each kind makes resuming cheap; embed-folder skips what it already stored). A job that
// keeps killing its daemon is failed after `maxInterruptions` rather than retried forever.
//
// Ended jobs stay until `prune` forgets them.
//
// Left out: priorities and running several jobs at once.
import ArfStore
import ArfSupport
import ArfWire
import Foundation

/// Queues, runs, persists and reports jobs; safe to use from any thread.
public final class JobManager: @unchecked Sendable {
    static let maxInterruptions = 5
    /// How long a cancel of a running job waits for it to reach its next step.
    static let cancelWaitSeconds = 10.0

    private let store: Store
    private let table: Table
    private let models: ModelRegistry
    private let kinds: [String: JobKind]

    /// Held while a job is admitted (checked, stored and queued), and by `withoutSubmissions`,
    /// so that a removal that first checks no job uses what it removes cannot race a new job.
    private let admission = NSLock()

    /// Guards everything below; waited on by the worker and by watchers.
    private let condition = NSCondition()
    private var records: [UInt64: JobRecord] = [:]
    /// Bumped on every published change, so a watcher knows when to send.
    private var versions: [UInt64: Int] = [:]
    private var queue: [UInt64] = []
    private var current: UInt64?
    private var stopRequest: StopReason?
    private var stopping = false
    private var workerDone = true

    /// Reads every job from the store and requeues those a dead daemon left running.
    init(store: Store, models: ModelRegistry, kinds: [JobKind]) throws {
        self.store = store
        self.models = models
        self.kinds = Dictionary(
            kinds.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        table = try store.table(StoreLayout.jobs)
        let table = table
        var loaded = try store.read { txn in
            try txn.scan(table).map { try JSONDecoder().decode(JobRecord.self, from: $0.value) }
        }

        var recovered: [JobRecord] = []
        for index in loaded.indices where loaded[index].phase == .running {
            var record = loaded[index]
            record.interruptions += 1
            if record.interruptions > Self.maxInterruptions {
                record.phase = .failed
                record.note(
                    "arfd died \(record.interruptions) times while running this job; "
                        + "not requeued")
            } else {
                record.phase = .queued
                record.note(
                    "interrupted at step \(record.step) of \(record.total) (arfd stopped "
                        + "without finishing it); requeued")
            }
            record.rate = 0
            record.etaSeconds = 0
            record.updatedUnix = Date().timeIntervalSince1970
            loaded[index] = record
            recovered.append(record)
        }
        if !recovered.isEmpty {
            try store.write { txn in
                for record in recovered {
                    try txn.putJSON(record, in: table, at: StoreLayout.jobKey(record.id))
                }
            }
        }
        for record in loaded {
            records[record.id] = record
            versions[record.id] = 0
        }
        queue = loaded.filter { $0.phase == .queued }.map(\.id).sorted()
        log.info(
            "jobs recovered", ("known", loaded.count), ("queued", queue.count),
            ("interrupted", recovered.count))
    }

    /// The kinds of job this manager runs, by name.
    var kindNames: [String] { kinds.keys.sorted() }

    /// Starts the worker thread.
    func start() {
        condition.withLock { workerDone = false }
        let thread = Thread { [self] in
            workLoop()
            condition.withLock {
                workerDone = true
                condition.broadcast()
            }
        }
        thread.name = "arfd-jobs"
        // Model code recurses little, but image decoders and BLAS like room.
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Jobs waiting in the queue, and whether one is running.
    var counts: (queued: Int, running: Int) {
        condition.withLock { (queue.count, current == nil ? 0 : 1) }
    }

    /// Checks the parameters, stores the job and queues it.
    func submit(kind name: String, paramsJSON: String) throws -> JobInfo {
        admission.lock()
        defer { admission.unlock() }
        guard let kind = kinds[name] else {
            throw DaemonError.unknownJobKind(kind: name, known: kindNames)
        }
        if condition.withLock({ stopping }) {
            throw WireError.status(.unavailable, "arfd is shutting down", hint: "submit it again")
        }
        let params = try kind.prepare(paramsJSON: paramsJSON, models: models)
        let table = table
        let now = Date().timeIntervalSince1970
        let record = try store.write { txn -> JobRecord in
            let id = try txn.nextSequence(table)
            let record = JobRecord(
                id: id, kind: name, phase: .queued, paramsJSON: params, message: "queued",
                createdUnix: now, updatedUnix: now)
            try txn.putJSON(record, in: table, at: StoreLayout.jobKey(id))
            return record
        }
        condition.withLock {
            records[record.id] = record
            versions[record.id] = 0
            queue.append(record.id)
            condition.broadcast()
        }
        log.info("job queued", ("job", record.id), ("kind", name), ("params", params))
        return record.info
    }

    /// Runs `body` while no job is being submitted: a check of the jobs' parameters made in
    /// `body` stays true until it returns.
    func withoutSubmissions<T>(_ body: () throws -> T) rethrows -> T {
        admission.lock()
        defer { admission.unlock() }
        return try body()
    }

    /// Every job, oldest first.
    func list() -> [JobInfo] {
        condition.withLock { records.values.sorted { $0.id < $1.id }.map(\.info) }
    }

    /// Cancels a queued job at once, or asks a running one to stop at its next step; returns
    /// the state after the request (an ended job keeps its state).
    func cancel(id text: String) throws -> JobState {
        let id = try Self.number(text)
        condition.lock()
        guard var record = records[id] else {
            condition.unlock()
            throw DaemonError.unknownJob(id: text)
        }
        if current == id {
            // The job stops at its next step; wait a little so the reply can say it did.
            stopRequest = .cancelled
            log.info("job cancel requested", ("job", id))
            let deadline = Date(timeIntervalSinceNow: Self.cancelWaitSeconds)
            while records[id]?.phase.isFinal == false {
                if !condition.wait(until: deadline) { break }
            }
            let state = records[id]?.phase.wire ?? .unspecified
            condition.unlock()
            return state
        }
        guard let position = queue.firstIndex(of: id) else {
            condition.unlock()
            return record.phase.wire
        }
        queue.remove(at: position)
        condition.unlock()

        record.phase = .cancelled
        record.note("cancelled before it finished, at step \(record.step) of \(record.total)")
        record.updatedUnix = Date().timeIntervalSince1970
        try persist(record)
        log.info("job cancelled", ("job", id), ("while", "queued"))
        return .cancelled
    }

    /// Forgets ended jobs created at least `olderThan` seconds ago, except the `keep` newest
    /// ended jobs; returns the ids forgotten, oldest first, and how many jobs remain. The
    /// store and the memory change together, so a prune that fails forgets nothing.
    func prune(olderThan: Double, keep: Int) throws -> (removed: [UInt64], remaining: Int) {
        let cutoff = Date().timeIntervalSince1970 - Swift.max(0, olderThan)
        condition.lock()
        defer { condition.unlock() }
        let ended = records.values.filter { $0.phase.isFinal }.sorted { $0.id < $1.id }
        let removed = ended.dropLast(Swift.max(0, keep)).filter { $0.createdUnix <= cutoff }
            .map(\.id)
        guard !removed.isEmpty else { return ([], records.count) }
        let table = table
        // Watchers wait on the condition, so a short write under it keeps them consistent.
        try store.write { txn in
            for id in removed { try txn.delete(in: table, at: StoreLayout.jobKey(id)) }
        }
        for id in removed {
            records[id] = nil
            versions[id] = nil
        }
        condition.broadcast()
        log.info("jobs pruned", ("count", removed.count), ("remaining", records.count))
        return (removed, records.count)
    }

    /// Sends the job's state now and after every change until it ends or the watcher leaves.
    func watch(id text: String, sink: StreamSink<JobEvent>) throws {
        let id = try Self.number(text)
        var seen = -1
        while true {
            condition.lock()
            while versions[id] == seen, !sink.isCancelled {
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.25))
            }
            let record = records[id]
            let version = versions[id] ?? seen
            condition.unlock()
            guard let record else { throw DaemonError.unknownJob(id: text) }
            if sink.isCancelled { return }
            try sink.send(record.event)
            seen = version
            if record.phase.isFinal { return }
        }
    }

    /// Stops taking jobs, asks the running one to stop at its next step (it goes back to the
    /// queue), and waits up to `timeout` seconds for it.
    func shutdown(timeout: Double) {
        condition.lock()
        stopping = true
        if current != nil, stopRequest == nil { stopRequest = .shutdown }
        let running = current
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        if let running { log.info("waiting for the running job to stop", ("job", running)) }
        while !workerDone {
            if !condition.wait(until: deadline) { break }
        }
        let done = workerDone
        condition.unlock()
        if !done {
            log.warning("job did not stop in time", ("job", running ?? 0), ("seconds", timeout))
        }
    }

    // MARK: - For running jobs

    func stopReason(for id: UInt64) -> StopReason? {
        condition.withLock { current == id ? stopRequest : nil }
    }

    /// Commits `record` (with `writes`) and then publishes it to watchers.
    func persist(_ record: JobRecord, writes: ((WriteTransaction) throws -> Void)? = nil) throws {
        let table = table
        try store.write { txn in
            try writes?(txn)
            try txn.putJSON(record, in: table, at: StoreLayout.jobKey(record.id))
        }
        condition.withLock {
            records[record.id] = record
            versions[record.id, default: 0] += 1
            condition.broadcast()
        }
    }

    private func workLoop() {
        while true {
            condition.lock()
            while queue.isEmpty, !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            let id = queue.removeFirst()
            current = id
            stopRequest = nil
            let record = records[id]
            condition.unlock()

            if let record { run(record) }
            condition.withLock { current = nil }
        }
    }

    private func run(_ queued: JobRecord) {
        var record = queued
        record.phase = .running
        record.runs += 1
        record.message = record.runs > 1 ? "resumed (run \(record.runs))" : "started"
        record.updatedUnix = Date().timeIntervalSince1970
        let start = Date()
        do {
            try persist(record)
        } catch {
            log.error("job not started", ("job", record.id), ("error", error))
            return
        }
        log.info(
            "job started", ("job", record.id), ("kind", record.kind), ("run", record.runs),
            ("params", record.paramsJSON))

        let context = JobContext(record: record, manager: self, models: models, store: store)
        do {
            guard let kind = kinds[record.kind] else {
                throw DaemonError.unknownJobKind(kind: record.kind, known: kindNames)
            }
            let result = try kind.run(context)
            // The kind's last report says how it went; keep it as the final message.
            record = context.record
            record.phase = .succeeded
            record.resultJSON = result
        } catch let stop as JobStop {
            record = context.record
            switch stop.reason {
            case .cancelled:
                record.phase = .cancelled
                record.note("cancelled at step \(record.step) of \(record.total)")
            case .shutdown:
                record.phase = .queued
                record.note(
                    "stopped at step \(record.step) of \(record.total) because arfd was shutting "
                        + "down; resumes at its next start")
            }
        } catch {
            record = context.record
            record.phase = .failed
            record.note("failed: \(callStatus(for: error).message)")
        }
        record.rate = record.phase == .queued ? 0 : record.rate
        record.etaSeconds = 0
        record.updatedUnix = Date().timeIntervalSince1970
        do {
            try persist(record)
        } catch {
            log.error("job state not saved", ("job", record.id), ("error", error))
        }
        log.info(
            "job ended", ("job", record.id), ("kind", record.kind), ("state", record.phase),
            ("step", record.step), ("total", record.total),
            ("seconds", String(format: "%.2f", Date().timeIntervalSince(start))),
            ("message", record.message))
    }

    private static func number(_ text: String) throws -> UInt64 {
        guard let id = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
            throw DaemonError.unknownJob(id: text)
        }
        return id
    }
}
