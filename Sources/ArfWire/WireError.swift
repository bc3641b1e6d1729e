// Status codes, the detail a failed call carries, and the one error enum of the wire layer.
// Every error that reaches a peer is first mapped onto the closed set of `StatusCode`s; modules
// above (the daemon's model store, the job runner) make their own errors `StatusConvertible`
// to choose the code instead of arriving as `internal`.
import ArfSupport
import Foundation

/// How a call ended: a small closed set that every error maps onto before it crosses the wire.
public enum StatusCode: Int32, CaseIterable, Sendable, CustomStringConvertible {
    case ok = 0
    case invalidArgument = 1
    case notFound = 2
    case alreadyExists = 3
    case failedPrecondition = 4
    case resourceExhausted = 5
    case cancelled = 6
    case unavailable = 7
    case `internal` = 8

    public var description: String {
        switch self {
        case .ok: "ok"
        case .invalidArgument: "invalid argument"
        case .notFound: "not found"
        case .alreadyExists: "already exists"
        case .failedPrecondition: "failed precondition"
        case .resourceExhausted: "resource exhausted"
        case .cancelled: "cancelled"
        case .unavailable: "unavailable"
        case .internal: "internal"
        }
    }
}

/// The outcome of a failed call: its code, a message naming what failed and an optional hint.
public struct CallStatus: WireMessage, Equatable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    /// What the person at the terminal can do about it; empty when there is nothing to say.
    public var hint: String

    public init(_ code: StatusCode, _ message: String, hint: String = "") {
        self.code = code
        self.message = message
        self.hint = hint
    }

    /// The status an arbitrary error crosses the wire as; unknown errors become `internal`.
    public init(_ error: Error) {
        if let convertible = error as? StatusConvertible {
            self = convertible.callStatus
        } else {
            self.init(.internal, "\(error)")
        }
    }

    public var description: String {
        let base = "\(code): \(message)"
        return hint.isEmpty ? base : "\(base) (hint: \(hint))"
    }
}

/// An error that knows which status it crosses the wire as.
public protocol StatusConvertible: Error {
    /// The code, message and hint a peer sees for this error.
    var callStatus: CallStatus { get }
}

/// Everything that can go wrong in the wire layer, from a bad socket path to a failed call.
public enum WireError: Error, CustomStringConvertible, StatusConvertible, Equatable {
    /// A call failed with this status: thrown by handlers, and by the client when a server
    /// answers with an error frame.
    case status(StatusCode, String, hint: String = "")
    /// A Unix socket path does not fit `sockaddr_un.sun_path` (with its terminating NUL).
    case socketPathTooLong(path: String, bytes: Int, limit: Int)
    /// A live server already answers on this socket path.
    case socketInUse(path: String)
    /// The socket path exists but is not a socket, so it is not removed.
    case notASocket(path: String)
    /// A system call failed.
    case system(SystemError)
    /// A frame header broke the format; the connection cannot be resynchronised.
    case malformedFrame(String)
    /// A frame announced more bytes than the configured limit; nothing was allocated for it.
    case frameTooLarge(bytes: Int, limit: Int)
    /// A message body was not valid protobuf for the named message.
    case undecodable(message: String, bytes: Int)
    /// A message decoded but broke a rule of the protocol (for example an unset `oneof`).
    case invalidMessage(message: String, reason: String)
    /// The connection ended before the call finished.
    case connectionClosed(String)
    /// No answer within the caller's timeout; the call was cancelled.
    case timedOut(method: String, seconds: Double)
    /// The server or client was used in a state that does not allow it.
    case notRunning(String)

    /// Wraps a call status back into an error.
    public init(_ status: CallStatus) {
        self = .status(status.code, status.message, hint: status.hint)
    }

    public var callStatus: CallStatus {
        switch self {
        case .status(let code, let message, let hint):
            CallStatus(code, message, hint: hint)
        case .socketPathTooLong, .notASocket, .malformedFrame, .undecodable, .invalidMessage:
            CallStatus(.invalidArgument, description)
        case .socketInUse:
            CallStatus(.alreadyExists, description, hint: "is another arfd running?")
        case .frameTooLarge:
            CallStatus(.resourceExhausted, description)
        case .system, .connectionClosed, .timedOut:
            CallStatus(.unavailable, description, hint: "is arfd running? (arfd --socket PATH)")
        case .notRunning:
            CallStatus(.failedPrecondition, description)
        }
    }

    public var description: String {
        switch self {
        case .status(let code, let message, let hint):
            CallStatus(code, message, hint: hint).description
        case .socketPathTooLong(let path, let bytes, let limit):
            "socket path is \(bytes) bytes, longer than the \(limit) a Unix socket allows: \(path)"
        case .socketInUse(let path):
            "a server is already listening on \(path)"
        case .notASocket(let path):
            "\(path) exists and is not a socket; not removing it"
        case .system(let error):
            error.description
        case .malformedFrame(let reason):
            "malformed frame: \(reason)"
        case .frameTooLarge(let bytes, let limit):
            "frame of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .undecodable(let message, let bytes):
            "cannot decode \(bytes) bytes as \(message)"
        case .invalidMessage(let message, let reason):
            "invalid \(message): \(reason)"
        case .connectionClosed(let reason):
            "connection closed: \(reason)"
        case .timedOut(let method, let seconds):
            "\(method) got no answer within \(seconds) s"
        case .notRunning(let what):
            what
        }
    }
}
