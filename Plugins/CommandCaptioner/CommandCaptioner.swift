// The `command` captioner: an external program (a BLIP-2 or CoCa script, say) captions the
// images. For each batch the daemon runs `/bin/sh -c COMMAND`, writes the batch's absolute
// image paths to its standard input, one per line, and closes it; the program answers one
// line per path, in order, on standard output:
//
//   a caption            the image's caption
//   error: REASON        (or an empty line) this image failed; the rest go on
//
// The program must exit with status 0 after answering every path. One that exits otherwise,
// answers too few or too many lines, or takes longer than `timeout` seconds per image of the
// batch is killed (with its whole process group) and fails the job with an error naming it
// and quoting the end of its standard error.
//
// Left out: keeping one program running across batches, which would save a model load per
// batch for programs that are slow to start (raise `batch` instead).
import ArfPluginAPI
import Foundation

/// Captions images by running an external program.
public final class CommandCaptioner: Captioner {
    public static let name = "command"
    public static let version = "1.0.0"
    public static let summary =
        "an external program reads image paths on stdin and answers one caption per line"
    public static let options = [
        OptionSpec("command", .string, help: "the program and its arguments, run by /bin/sh -c"),
        OptionSpec(
            "timeout", .double, default: "60",
            help: "seconds allowed per image; a batch gets this times its size"),
        OptionSpec(
            "batch", .int, default: "0",
            help: "images per run of the program (default: the job's batch)"),
    ]

    /// How much of the program's standard error an error quotes.
    static let stderrTail = 400

    let command: String
    let timeout: Double
    let batch: Int

    public init(options: PluginOptions) throws {
        command = options.string("command").trimmingCharacters(in: .whitespaces)
        timeout = options.double("timeout")
        batch = options.int("batch")
        func bad(_ name: String, _ value: String, _ expected: String) -> PluginAPIError {
            .badOptionValue(plugin: Self.name, name: name, value: value, expected: expected)
        }
        guard !command.isEmpty else { throw bad("command", command, "a program to run") }
        guard timeout > 0 else { throw bad("timeout", "\(timeout)", "a positive number") }
        guard batch >= 0 else { throw bad("batch", "\(batch)", "0 or more") }
    }

    public func caption(_ request: CaptionRequest, context: PluginContext) throws
        -> [CaptionOutcome]
    {
        var outcomes: [CaptionOutcome] = []
        let size = batch > 0 ? batch : max(1, request.items.count)
        for first in stride(from: 0, to: request.items.count, by: size) {
            try context.checkStop()
            let items = request.items[first..<min(first + size, request.items.count)]
            outcomes += try run(Array(items), context)
        }
        return outcomes
    }

    /// Runs the program once for `items`.
    private func run(_ items: [DatasetItem], _ context: PluginContext) throws -> [CaptionOutcome] {
        // A path with a line break cannot be sent one per line; it fails on its own.
        let sendable = items.filter { !$0.absolutePath.contains(where: \.isNewline) }
        var answers: [Int: CaptionOutcome] = [:]
        if !sendable.isEmpty {
            let lines = try execute(sendable.map(\.absolutePath), context)
            for (item, line) in zip(sendable, lines) { answers[item.index] = Self.outcome(line) }
        }
        return items.map { answers[$0.index] ?? .failed("its path holds a line break") }
    }

    static func outcome(_ line: String) -> CaptionOutcome {
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return .failed("the program answered an empty line") }
        if text.lowercased().hasPrefix("error:") {
            let reason = text.dropFirst("error:".count).trimmingCharacters(in: .whitespaces)
            return .failed(reason.isEmpty ? "the program reported an error" : reason)
        }
        return .captions([Caption(text)])
    }

    /// The program's output lines for `paths`, one per path.
    private func execute(_ paths: [String], _ context: PluginContext) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            throw failure("could not be started: \(error.localizedDescription)")
        }

        // Writing and reading run on their own threads, so that a program which answers
        // before reading all its input cannot deadlock against full pipe buffers.
        let stdout = PipeReader(output.fileHandleForReading)
        let stderr = PipeReader(errors.fileHandleForReading)
        let payload = Data(paths.map { $0 + "\n" }.joined().utf8)
        let writer = input.fileHandleForWriting
        Thread.detachNewThread {
            try? writer.write(contentsOf: payload)
            try? writer.close()
        }

        let deadline = Date(timeIntervalSinceNow: timeout * Double(paths.count))
        while exited.wait(timeout: .now() + 0.2) == .timedOut {
            do {
                try context.checkStop()
            } catch {
                Self.kill(process)
                throw error
            }
            if Date() > deadline {
                Self.kill(process)
                throw failure(
                    "timed out after \(Self.seconds(timeout * Double(paths.count))) "
                        + "for \(paths.count) image\(paths.count == 1 ? "" : "s")"
                        + stderr.tail(Self.stderrTail, wait: 1))
            }
        }
        let text = stdout.text(wait: 5)
        let status = process.terminationStatus
        guard process.terminationReason == .exit, status == 0 else {
            let how =
                process.terminationReason == .exit
                ? "exited with status \(status)" : "was killed by signal \(status)"
            throw failure(how + stderr.tail(Self.stderrTail, wait: 1))
        }
        // "\r\n" is one Character in Swift, so it is matched as a separator of its own.
        var lines = text.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }
        ).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.count == paths.count else {
            throw failure(
                "answered \(lines.count) line\(lines.count == 1 ? "" : "s") for "
                    + "\(paths.count) image\(paths.count == 1 ? "" : "s")"
                    + stderr.tail(Self.stderrTail, wait: 1))
        }
        return lines
    }

    private func failure(_ what: String) -> PluginAPIError {
        .failed(plugin: Self.name, reason: "program `\(command)` \(what)")
    }

    /// Kills the program and everything it started (Foundation gives it its own group).
    private static func kill(_ process: Process) {
        let pid = process.processIdentifier
        if pid > 0 { Glibc.kill(-pid, SIGKILL) }
        process.waitUntilExit()
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }
}

/// Drains a pipe on a thread of its own until the writer closes it.
private final class PipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var data = Data()

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            let all = (try? handle.readToEnd()) ?? Data()
            lock.withLock { data = all }
            done.signal()
        }
    }

    /// Everything read, waiting up to `wait` seconds for the writer to close.
    func text(wait: Double) -> String {
        _ = done.wait(timeout: .now() + wait)
        return lock.withLock { String(decoding: data, as: UTF8.self) }
    }

    /// The last `count` characters as "; stderr: ...", or "" when there are none.
    func tail(_ count: Int, wait: Double) -> String {
        let text = self.text(wait: wait).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return "" }
        return "; stderr: " + (text.count > count ? "..." + text.suffix(count) : text)
    }
}
