// The client's one error enum: what went wrong, said as one line plus a hint, and the exit
// code it ends the program with (2 for a usage mistake, 1 for everything else). Errors from
// the wire arrive as `WireError`; `ClientError(wire:socket:)` turns them into something a
// person can act on, above all "the daemon is not running".
import ArfSupport
import ArfWire
import Foundation

/// Everything the client reports as a failure.
enum ClientError: Error, CustomStringConvertible {
    /// A command-line mistake.
    case usage(String, hint: String)
    /// Nothing answers on the socket.
    case cannotReach(path: String, reason: String)
    /// The daemon answered the call with an error.
    case daemon(CallStatus)
    /// The connection broke or timed out in the middle of a call.
    case connectionLost(path: String, reason: String)
    /// A watched job ended without succeeding.
    case jobEnded(id: String, state: JobState, message: String)
    /// The stream of a job ended while the job was still going (the daemon stopped).
    case watchEnded(id: String, state: JobState, reason: String)
    /// Work the client does itself failed (writing a world, starting a daemon).
    case local(String, hint: String)

    init(_ error: Error, socket: String) {
        switch error {
        case let error as ClientError:
            self = error
        case let error as UsageError:
            self = .usage(error.message, hint: error.hint)
        case WireError.status(let code, let message, let hint):
            self = .daemon(CallStatus(code, message, hint: hint))
        case WireError.system(let failure) where ["connect", "socket"].contains(failure.call):
            self = .cannotReach(path: socket, reason: String(cString: strerror(failure.errno)))
        case let error as WireError:
            self = .connectionLost(path: socket, reason: error.description)
        default:
            self = .daemon(CallStatus(.internal, "\(error)"))
        }
    }

    var description: String { message }

    var message: String {
        switch self {
        case .usage(let message, _):
            message
        case .cannotReach(let path, let reason):
            "cannot reach arfd at \(path): \(reason)"
        case .daemon(let status):
            status.message
        case .connectionLost(let path, let reason):
            "lost the connection to arfd at \(path): \(reason)"
        case .jobEnded(let id, let state, let message):
            "job \(id) \(Format.state(state))" + (message.isEmpty ? "" : ": \(message)")
        case .watchEnded(let id, let state, let reason):
            "stopped watching job \(id) while it was \(Format.state(state)): \(reason)"
        case .local(let message, _):
            message
        }
    }

    var hint: String {
        switch self {
        case .usage(_, let hint):
            hint.isEmpty ? "see arf --help" : hint
        case .cannotReach:
            "start it with: arfd --data DIR"
        case .daemon(let status):
            status.hint
        case .connectionLost:
            "is arfd still running? its log says why it stopped"
        case .jobEnded(let id, _, _):
            "see arf jobs list; details in arf jobs list --json (job \(id))"
        case .watchEnded(let id, _, _):
            "the job keeps its place; follow it again with: arf jobs watch \(id)"
        case .local(_, let hint):
            hint
        }
    }

    var exitCode: Int32 {
        if case .usage = self { return 2 }
        return 1
    }
}
