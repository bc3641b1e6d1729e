// A small structured logger: one line per event, a lower-case message followed by key=value
// fields, written to standard error. It has no sinks, rotation or buffering; the daemon runs
// in the foreground and whoever supervises it keeps the log.
import Foundation

/// How much a log line matters; lines below the logger's level are dropped.
public enum LogLevel: Int, Comparable, Sendable, CustomStringConvertible {
    case debug, info, warning, error

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warn"
        case .error: "error"
        }
    }

    /// Parses `debug`, `info`, `warn`/`warning` or `error`.
    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warning
        case "error": self = .error
        default: return nil
        }
    }
}

/// Writes `time level message key=value ...` lines; safe to call from any thread.
public final class Logger: @unchecked Sendable {
    /// The process-wide logger; its level can be changed at start-up.
    public static let shared = Logger()

    public var level: LogLevel = .info
    private let lock = NSLock()

    public init(level: LogLevel = .info) { self.level = level }

    public func log(_ level: LogLevel, _ message: String, _ fields: [(String, Any)] = []) {
        guard level >= self.level else { return }
        var line = "\(Self.timestamp()) \(level) \(message)"
        for (key, value) in fields {
            line += " \(key)=\(Self.quoted("\(value)"))"
        }
        line += "\n"
        lock.lock()
        FileHandle.standardError.write(Data(line.utf8))
        lock.unlock()
    }

    public func debug(_ message: String, _ fields: (String, Any)...) {
        log(.debug, message, fields)
    }
    public func info(_ message: String, _ fields: (String, Any)...) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: (String, Any)...) {
        log(.warning, message, fields)
    }
    public func error(_ message: String, _ fields: (String, Any)...) {
        log(.error, message, fields)
    }

    /// Values with spaces, quotes or `=` are quoted so that a line splits unambiguously.
    static func quoted(_ value: String) -> String {
        if value.isEmpty { return "\"\"" }
        guard value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" })
        else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
            parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1_000_000))
    }
}

/// The process-wide logger.
public let log = Logger.shared
