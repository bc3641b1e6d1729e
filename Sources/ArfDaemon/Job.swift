// What a job is: the record the store keeps for it (so a job outlives the daemon that ran it),
// the `JobKind` protocol each kind of long-running work implements, and the `JobContext` a
// running job reports through. A kind never touches the job's record directly: it reports
// progress with `report`, which commits the step together with the kind's own writes in one
// transaction, so after a crash the stored step never runs ahead of the stored work.
import ArfStore
import ArfSupport
import ArfWire
import Foundation

/// Where a job is in its life, as the store records it.
enum JobPhase: String, Codable {
    case queued, running, succeeded, failed, cancelled

    var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }

    var wire: JobState {
        switch self {
        case .queued: .queued
        case .running: .running
        case .succeeded: .succeeded
        case .failed: .failed
        case .cancelled: .cancelled
        }
    }
}

/// A job as the store keeps it.
struct JobRecord: Codable, Equatable {
    var id: UInt64
    var kind: String
    var phase: JobPhase
    var paramsJSON: String
    var step: UInt64 = 0
    var total: UInt64 = 0
    var rate: Double = 0
    var etaSeconds: Double = 0
    /// The latest training loss and learning rate, for jobs that train; absent otherwise.
    var loss: Double?
    var learningRate: Double?
    /// The latest thing worth telling a watcher.
    var message: String
    /// Notable events of every run (skipped items, interruptions), oldest first, capped.
    var notes: [String] = []
    var resultJSON: String = ""
    var createdUnix: Double
    var updatedUnix: Double
    /// How many times a daemon has started the job.
    var runs = 0
    /// How many times a daemon died while running it.
    var interruptions = 0

    static let maxNotes = 50

    mutating func note(_ text: String) {
        notes.append(text)
        if notes.count > Self.maxNotes { notes.removeFirst(notes.count - Self.maxNotes) }
        message = text
    }

    var info: JobInfo {
        JobInfo(
            id: String(id), kind: kind, state: phase.wire, step: step, total: total,
            createdUnix: createdUnix, message: message, paramsJSON: paramsJSON,
            resultJSON: resultJSON)
    }

    var event: JobEvent {
        JobEvent(
            jobID: String(id), state: phase.wire, step: step, total: total, loss: loss ?? 0,
            learningRate: learningRate ?? 0, rate: rate, etaSeconds: etaSeconds, message: message,
            resultJSON: phase == .succeeded ? resultJSON : "")
    }
}

/// A kind of long-running work the daemon runs through its job manager.
public protocol JobKind: Sendable {
    /// The name clients submit, for example "embed-folder".
    var name: String { get }
    /// Checks submitted parameters and returns them as they are to be kept (defaults filled
    /// in, paths made absolute); throws `DaemonError.badJobParams` when they are wrong.
    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String
    /// Runs the job, or resumes it after an interruption, and returns its result as JSON.
    /// It must call `checkStop()` between steps and throw what it throws.
    func run(_ job: JobContext) throws -> String
}

/// Why a running job is asked to stop.
enum StopReason: Sendable {
    /// A client cancelled it: it ends as cancelled.
    case cancelled
    /// The daemon is shutting down: it goes back to the queue and resumes at the next start.
    case shutdown
}

/// Thrown out of a job by `checkStop()`.
struct JobStop: Error, CustomStringConvertible {
    let reason: StopReason
    var description: String { reason == .cancelled ? "cancelled" : "stopped for shutdown" }
}

/// A running job's view of the daemon; used only from the job's own thread.
public final class JobContext: @unchecked Sendable {
    /// The job's id.
    public let id: UInt64
    /// The parameters as `JobKind.prepare` returned them.
    public let paramsJSON: String
    public let models: ModelRegistry
    public let store: Store
    /// Whether an earlier run of this job was stopped before it finished.
    public let isResumed: Bool
    var record: JobRecord
    private unowned let manager: JobManager

    init(record: JobRecord, manager: JobManager, models: ModelRegistry, store: Store) {
        id = record.id
        paramsJSON = record.paramsJSON
        isResumed = record.runs > 1
        self.record = record
        self.manager = manager
        self.models = models
        self.store = store
    }

    /// Throws when the job has been cancelled or the daemon is stopping.
    public func checkStop() throws {
        if let reason = manager.stopReason(for: id) { throw JobStop(reason: reason) }
    }

    /// Records a notable event (a skipped item, say); it is stored with the next report.
    public func note(_ text: String) {
        record.note(text)
        log.info("job note", ("job", id), ("note", text))
    }

    /// Sets the message the job ends with when it succeeds; stored with the final state.
    public func finish(message: String) {
        record.message = message
    }

    /// Stores the job's progress, together with `writes` when given, in one transaction, and
    /// tells watchers. `writes` may run more than once, so it must only write. Training jobs
    /// also report their latest loss and learning rate.
    public func report(
        step: UInt64, total: UInt64, rate: Double = 0, etaSeconds: Double = 0,
        loss: Double? = nil, learningRate: Double? = nil,
        message: String? = nil, writes: ((WriteTransaction) throws -> Void)? = nil
    ) throws {
        record.step = step
        record.total = total
        record.rate = rate
        record.etaSeconds = etaSeconds
        if let loss { record.loss = loss }
        if let learningRate { record.learningRate = learningRate }
        if let message { record.message = message }
        record.updatedUnix = Date().timeIntervalSince1970
        try manager.persist(record, writes: writes)
    }
}

/// The id of a job that has not ended and whose parameters give `value` under one of `keys`,
/// as a string or in a list of strings. Options that a job keeps as JSON text (a caption
/// job's captioner options, which may name a caption bank) are read as parameters too.
func liveJob(naming value: String, under keys: [String], in jobs: [JobInfo]) -> String? {
    jobs.first { job in
        guard !job.state.isFinal,
            let object = try? JSONSerialization.jsonObject(with: Data(job.paramsJSON.utf8)),
            var params = object as? [String: Any]
        else { return false }
        if let text = params["options"] as? String,
            let options = try? JSONSerialization.jsonObject(with: Data(text.utf8))
                as? [String: Any]
        {
            params.merge(options) { current, _ in current }
        }
        return keys.contains {
            params[$0] as? String == value || (params[$0] as? [String] ?? []).contains(value)
        }
    }?.id
}
