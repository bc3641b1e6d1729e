// Swift values for arf/v1/common.proto (the error detail) and arf/v1/daemon.proto (daemon
// status), and their mapping onto the protobuf-c structs.
import ArfProto

extension CallStatus: ProtobufCMapped {
    typealias CMessage = Arf__V1__Error

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) { arf__v1__error__init(message) }

    init(c: CMessage) {
        // A code from a newer peer that this build does not know is reported as internal,
        // keeping the peer's message.
        let code = StatusCode(rawValue: Int32(truncatingIfNeeded: c.code.rawValue)) ?? .internal
        self.init(code, CField.string(c.message), hint: CField.string(c.hint))
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.code = Arf__V1__StatusCode(rawValue: numericCast(code.rawValue))
        c.message = arena.string(message)
        c.hint = arena.string(hint)
    }
}

/// Asks the daemon how it is doing.
public struct StatusRequest: WireMessage, Equatable {
    public init() {}
}

extension StatusRequest: ProtobufCMapped {
    typealias CMessage = Arf__V1__StatusRequest

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__status_request__init(message)
    }

    init(c: CMessage) {}

    func fill(_ c: inout CMessage, _ arena: CArena) {}
}

/// The daemon's version, process, load and queue.
public struct StatusReply: WireMessage, Equatable {
    public var version: String
    public var pid: Int32
    public var uptimeSeconds: Double
    /// Threads the daemon uses for compute.
    public var threads: UInt32
    /// Names of the models held in memory.
    public var loadedModels: [String]
    public var queuedJobs: UInt32
    public var runningJobs: UInt32

    public init(
        version: String = "", pid: Int32 = 0, uptimeSeconds: Double = 0, threads: UInt32 = 0,
        loadedModels: [String] = [], queuedJobs: UInt32 = 0, runningJobs: UInt32 = 0
    ) {
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.threads = threads
        self.loadedModels = loadedModels
        self.queuedJobs = queuedJobs
        self.runningJobs = runningJobs
    }
}

extension StatusReply: ProtobufCMapped {
    typealias CMessage = Arf__V1__StatusReply

    static func cInit(_ message: UnsafeMutablePointer<CMessage>) {
        arf__v1__status_reply__init(message)
    }

    init(c: CMessage) {
        self.init(
            version: CField.string(c.version), pid: c.pid, uptimeSeconds: c.uptime_seconds,
            threads: c.threads,
            loadedModels: CField.strings(c.loaded_models, c.n_loaded_models),
            queuedJobs: c.queued_jobs, runningJobs: c.running_jobs)
    }

    func fill(_ c: inout CMessage, _ arena: CArena) {
        c.version = arena.string(version)
        c.pid = pid
        c.uptime_seconds = uptimeSeconds
        c.threads = threads
        c.n_loaded_models = loadedModels.count
        c.loaded_models = arena.strings(loadedModels)
        c.queued_jobs = queuedJobs
        c.running_jobs = runningJobs
    }
}
