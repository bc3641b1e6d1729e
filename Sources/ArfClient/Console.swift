// Where the client writes: results to standard output, progress, notes and errors to standard
// error. Commands never touch the file handles themselves, so tests can run the whole command
// line in-process and read back exactly what a person or a script would have seen.
import Foundation

/// The client's two output streams.
public final class Console: @unchecked Sendable {
    /// Whether standard error is a terminal, so progress bars may redraw in place.
    public let errorIsTerminal: Bool
    private let writeOutput: @Sendable (String) -> Void
    private let writeError: @Sendable (String) -> Void

    /// A console over two writers.
    public init(
        errorIsTerminal: Bool, output: @escaping @Sendable (String) -> Void,
        error: @escaping @Sendable (String) -> Void
    ) {
        self.errorIsTerminal = errorIsTerminal
        writeOutput = output
        writeError = error
    }

    /// The process's standard output and standard error.
    public static let standard = Console(
        errorIsTerminal: isatty(STDERR_FILENO) == 1,
        output: { FileHandle.standardOutput.write(Data($0.utf8)) },
        error: { FileHandle.standardError.write(Data($0.utf8)) })

    /// A console that keeps everything written to it, and what it keeps.
    public static func capturing() -> (Console, CapturedOutput) {
        let captured = CapturedOutput()
        let console = Console(
            errorIsTerminal: false, output: { captured.append(output: $0) },
            error: { captured.append(error: $0) })
        return (console, captured)
    }

    /// Writes one line of results.
    public func print(_ line: String) { writeOutput(line + "\n") }

    /// Writes text to standard error as it is (a progress bar redraws with it).
    public func error(_ text: String) { writeError(text) }

    /// Writes one line to standard error.
    public func note(_ line: String) { writeError(line + "\n") }
}

/// What a capturing console was given.
public final class CapturedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var outputText = ""
    private var errorText = ""

    /// Everything written to standard output.
    public var output: String { lock.withLock { outputText } }
    /// Everything written to standard error.
    public var error: String { lock.withLock { errorText } }

    func append(output text: String) { lock.withLock { outputText += text } }
    func append(error text: String) { lock.withLock { errorText += text } }
}
