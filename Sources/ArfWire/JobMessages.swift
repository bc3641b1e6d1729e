// Swift values for arf/v1/jobs.proto (submitting, listing, watching and cancelling
// long-running jobs) and their mapping onto the protobuf-c structs.
import ArfProto

/// Where a job is in its life.
public enum JobState: Int32, Sendable, CaseIterable {
    case unspecified = 0
    case queued = 1
    case running = 2
    case succeeded = 3
    case failed = 4
    case cancelled = 5

    /// Whether the job has ended and will not change again.
    public var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }

    init<C: RawRepresentable>(c: C) where C.RawValue: BinaryInteger {
        self = JobState(rawValue: Int32(truncatingIfNeeded: c.rawValue)) ?? .unspecified
    }

    var c: Arf__V1__JobState { Arf__V1__JobState(rawValue: numericCast(rawValue)) }
}

/// A summary of one job.
public struct JobInfo: WireMessage, Equatable {
    public var id: String
    /// What the job does, for example "finetune" or "eval".
    public var kind: String
    public var state: JobState
    public var step: UInt64
    public var total: UInt64
    public var createdUnix: Double
    public var message: String
    /// The parameters the job was submitted with, as a JSON object.
    public var paramsJSON: String
    /// The job's result as JSON; empty until it has succeeded.
    public var resultJSON: String

    public init(
        id: String = "", kind: String = "", state: JobState = .unspecified, step: UInt64 = 0,
        total: UInt64 = 0, createdUnix: Double = 0, message: String = "",
        paramsJSON: String = "", resultJSON: String = ""
    ) {
        self.id = id
        self.kind = kind
        self.state = state
        self.step = step
        self.total = total
        self.createdUnix = createdUnix
        self.message = message
        self.paramsJSON = paramsJSON
        self.resultJSON = resultJSON
    }
}

extension JobInfo: ProtobufCMapped {
    typealias CMessage = Arf__V1__JobInfo

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__job_info__init(message)
    }

    init(c: CMessage) {
        self.init(
            id: CField.string(c.id), kind: CField.string(c.kind), state: JobState(c: c.state),
            step: c.step, total: c.total, createdUnix: c.created_unix,
            message: CField.string(c.message), paramsJSON: CField.string(c.params_json),
            resultJSON: CField.string(c.result_json))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.id = arena.string(id)
        c.kind = arena.string(kind)
        c.state = state.c
        c.step = step
        c.total = total
        c.created_unix = createdUnix
        c.message = arena.string(message)
        c.params_json = arena.string(paramsJSON)
        c.result_json = arena.string(resultJSON)
    }
}

/// Asks for every job the daemon knows.
public struct ListJobsRequest: WireMessage, Equatable {
    public init() {}
}

extension ListJobsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListJobsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_jobs_request__init(message)
    }

    init(c: CMessage) {}

    func fill(_ c: inout CMessage, _ arena: CArena) {}
}

/// Every job the daemon knows.
public struct ListJobsReply: WireMessage, Equatable {
    public var jobs: [JobInfo]

    public init(jobs: [JobInfo] = []) { self.jobs = jobs }
}

extension ListJobsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__ListJobsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__list_jobs_reply__init(message)
    }

    init(c: CMessage) throws {
        self.init(jobs: try JobInfo.repeated(c.jobs, c.n_jobs))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_jobs = jobs.count
        c.jobs = jobs.cArray(arena)
    }
}

/// Asks for a stream of progress events of one job.
public struct WatchJobRequest: WireMessage, Equatable {
    public var jobID: String

    public init(jobID: String = "") { self.jobID = jobID }
}

extension WatchJobRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__WatchJobRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__watch_job_request__init(message)
    }

    init(c: CMessage) { self.init(jobID: CField.string(c.job_id)) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.job_id = arena.string(jobID) }
}

/// One progress report of a job; a metric the job does not report is zero.
public struct JobEvent: WireMessage, Equatable {
    public var jobID: String
    public var state: JobState
    public var step: UInt64
    public var total: UInt64
    public var loss: Double
    public var learningRate: Double
    /// Work items (images, pairs) per second.
    public var rate: Double
    public var etaSeconds: Double
    public var message: String
    /// The job's result as JSON; set only on the event that ends the job.
    public var resultJSON: String

    public init(
        jobID: String = "", state: JobState = .unspecified, step: UInt64 = 0, total: UInt64 = 0,
        loss: Double = 0, learningRate: Double = 0, rate: Double = 0, etaSeconds: Double = 0,
        message: String = "", resultJSON: String = ""
    ) {
        self.jobID = jobID
        self.state = state
        self.step = step
        self.total = total
        self.loss = loss
        self.learningRate = learningRate
        self.rate = rate
        self.etaSeconds = etaSeconds
        self.message = message
        self.resultJSON = resultJSON
    }
}

extension JobEvent: ProtobufCMapped {
    typealias CMessage = Arf__V1__JobEvent

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__job_event__init(message)
    }

    init(c: CMessage) {
        self.init(
            jobID: CField.string(c.job_id), state: JobState(c: c.state), step: c.step,
            total: c.total, loss: c.loss, learningRate: c.learning_rate, rate: c.rate,
            etaSeconds: c.eta_seconds, message: CField.string(c.message),
            resultJSON: CField.string(c.result_json))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.job_id = arena.string(jobID)
        c.state = state.c
        c.step = step
        c.total = total
        c.loss = loss
        c.learning_rate = learningRate
        c.rate = rate
        c.eta_seconds = etaSeconds
        c.message = arena.string(message)
        c.result_json = arena.string(resultJSON)
    }
}

/// Asks the daemon to cancel a job.
public struct CancelJobRequest: WireMessage, Equatable {
    public var jobID: String

    public init(jobID: String = "") { self.jobID = jobID }
}

extension CancelJobRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__CancelJobRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__cancel_job_request__init(message)
    }

    init(c: CMessage) { self.init(jobID: CField.string(c.job_id)) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.job_id = arena.string(jobID) }
}

/// The job's state after a cancel request; an ended job keeps its final state.
public struct CancelJobReply: WireMessage, Equatable {
    public var state: JobState

    public init(state: JobState = .unspecified) { self.state = state }
}

extension CancelJobReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__CancelJobReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__cancel_job_reply__init(message)
    }

    init(c: CMessage) { self.init(state: JobState(c: c.state)) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.state = state.c }
}

/// Asks the daemon to queue a job of a kind it knows.
public struct SubmitJobRequest: WireMessage, Equatable {
    /// What to run, for example "embed-folder".
    public var kind: String
    /// The job's parameters as a JSON object; their fields depend on the kind.
    public var paramsJSON: String

    public init(kind: String = "", paramsJSON: String = "") {
        self.kind = kind
        self.paramsJSON = paramsJSON
    }
}

extension SubmitJobRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__SubmitJobRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__submit_job_request__init(message)
    }

    init(c: CMessage) {
        self.init(kind: CField.string(c.kind), paramsJSON: CField.string(c.params_json))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.kind = arena.string(kind)
        c.params_json = arena.string(paramsJSON)
    }
}

/// The job as queued.
public struct SubmitJobReply: WireMessage, Equatable {
    public var job: JobInfo

    public init(job: JobInfo = .init()) { self.job = job }
}

extension SubmitJobReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__SubmitJobReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__submit_job_reply__init(message)
    }

    init(c: CMessage) throws { self.init(job: try .nested(c.job, or: JobInfo())) }

    func fill(_ c: inout CMessage, _ arena: CArena) { c.job = job.allocate(in: arena) }
}

/// Asks the daemon to forget ended jobs created at least `olderThanSeconds` ago, except the
/// `keep` newest ended ones; queued and running jobs stay.
public struct PruneJobsRequest: WireMessage, Equatable {
    public var olderThanSeconds: Double
    public var keep: UInt32

    public init(olderThanSeconds: Double = 0, keep: UInt32 = 0) {
        self.olderThanSeconds = olderThanSeconds
        self.keep = keep
    }
}

extension PruneJobsRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__PruneJobsRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__prune_jobs_request__init(message)
    }

    init(c: CMessage) { self.init(olderThanSeconds: c.older_than_seconds, keep: c.keep) }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.older_than_seconds = olderThanSeconds
        c.keep = keep
    }
}

/// The jobs a prune forgot, oldest first, and how many the daemon still has.
public struct PruneJobsReply: WireMessage, Equatable {
    public var removed: [String]
    public var remaining: UInt64

    public init(removed: [String] = [], remaining: UInt64 = 0) {
        self.removed = removed
        self.remaining = remaining
    }
}

extension PruneJobsReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__PruneJobsReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__prune_jobs_reply__init(message)
    }

    init(c: CMessage) {
        self.init(removed: CField.strings(c.removed, c.n_removed), remaining: c.remaining)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.n_removed = removed.count
        c.removed = arena.strings(removed)
        c.remaining = remaining
    }
}
