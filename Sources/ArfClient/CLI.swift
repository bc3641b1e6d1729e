// The arf command line: global options, dispatch to the commands, and the one place where a
// failure becomes "arf: ..." plus "hint: ..." on standard error and an exit code (0 success,
// 1 failure, 2 usage). The commands live in *Commands.swift; each reads its options, checks
// that nothing unknown is left, and only then talks to the daemon.
import ArfSupport
import ArfWire
import Foundation

/// The arf program.
public enum ArfCLI {
    /// Options that take no value, for every command.
    static let flags: Set<String> = [
        "json", "help", "replace", "detach", "exclude-eval", "force", "register", "no-register",
        "quick",
    ]

    /// Runs arf with `words` (the arguments without the program name); returns the exit code.
    public static func run(
        _ words: [String], console: Console = .standard,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Int32 {
        var socket = environment[SocketPath.environmentKey] ?? "the default socket"
        let wordCount = words.count
        do {
            let words = words.filter { $0 != "-h" }
            var arguments = try Arguments(words, flags: flags)
            let path = arguments.positionals
            if arguments.flag("help") || words.count != wordCount || path.first == "help" {
                let topic = path.first == "help" ? Array(path.dropFirst()) : path
                console.print(Help.text(for: topic))
                return 0
            }
            guard let command = path.first else {
                console.error(Help.main + "\n")
                return 2
            }
            socket =
                try arguments.option("socket")
                ?? SocketPath.resolve(environment: environment, createDirectory: false)
            let session = Session(
                socketPath: socket, json: arguments.flag("json"), console: console, words: words)
            return try dispatch(command, &arguments, session)
        } catch {
            let failure = ClientError(error, socket: socket)
            console.error("arf: \(failure.message)\n")
            if !failure.hint.isEmpty { console.error("hint: \(failure.hint)\n") }
            return failure.exitCode
        }
    }

    private static func dispatch(
        _ command: String, _ arguments: inout Arguments, _ session: Session
    )
        throws -> Int32
    {
        let path = arguments.positionals
        switch command {
        case "status":
            return try DaemonCommands.status(&arguments, session)
        case "model":
            switch path.dropFirst().first {
            case "load": return try DaemonCommands.loadModel(&arguments, session)
            case "list": return try DaemonCommands.listModels(&arguments, session)
            case "rm": return try DaemonCommands.removeModel(&arguments, session)
            default: throw unknownSubcommand(path, of: "model", choices: "load, list, rm")
            }
        case "embed":
            return try InferenceCommands.embed(&arguments, session)
        case "classify":
            return try InferenceCommands.classify(&arguments, session)
        case "embeddings":
            guard path.dropFirst().first == "list" else {
                throw unknownSubcommand(path, of: "embeddings", choices: "list")
            }
            return try InferenceCommands.listStored(&arguments, session)
        case "embed-folder":
            return try JobCommands.embedFolder(&arguments, session)
        case "jobs":
            switch path.dropFirst().first {
            case "list": return try JobCommands.list(&arguments, session)
            case "watch": return try JobCommands.watch(&arguments, session)
            case "cancel": return try JobCommands.cancel(&arguments, session)
            case "prune": return try JobCommands.prune(&arguments, session)
            default:
                throw unknownSubcommand(path, of: "jobs", choices: "list, watch, cancel, prune")
            }
        case "data":
            switch path.dropFirst().first {
            case "add": return try DataCommands.add(&arguments, session)
            case "list": return try DataCommands.list(&arguments, session)
            case "show": return try DataCommands.show(&arguments, session)
            case "rm": return try DataCommands.remove(&arguments, session)
            case "embed": return try DataCommands.embed(&arguments, session)
            case "embeddings": return try DataCommands.embeddings(&arguments, session)
            default:
                throw unknownSubcommand(
                    path, of: "data", choices: "add, list, show, rm, embed, embeddings")
            }
        case "anchors":
            switch path.dropFirst().first {
            case "caption": return try AnchorCommands.caption(&arguments, session)
            case "retrieve": return try AnchorCommands.retrieve(&arguments, session)
            case "show": return try AnchorCommands.show(&arguments, session)
            default:
                throw unknownSubcommand(path, of: "anchors", choices: "caption, retrieve, show")
            }
        case "plugins":
            guard path.dropFirst().first == "list" else {
                throw unknownSubcommand(path, of: "plugins", choices: "list")
            }
            return try AnchorCommands.listPlugins(&arguments, session)
        case "finetune", "pretrain", "runs", "eval", "wise", "results", "report", "world", "demo":
            return try TrainingCommands.dispatch(command, &arguments, session)
        default:
            throw UsageError("unknown command \(command)", hint: "see arf --help")
        }
    }

    private static func unknownSubcommand(_ path: [String], of command: String, choices: String)
        -> UsageError
    {
        guard path.count > 1 else {
            return UsageError(
                "arf \(command) needs a subcommand: \(choices)",
                hint: "see arf \(command) --help")
        }
        return UsageError(
            "unknown subcommand \(command) \(path[1]); use \(choices)",
            hint: "see arf \(command) --help")
    }
}

/// What every command gets: the socket, the output format and the console.
struct Session {
    let socketPath: String
    let json: Bool
    let console: Console
    /// The command line as given, for options whose relative order matters.
    let words: [String]

    /// A connection to the daemon.
    func connect() throws -> WireClient {
        try WireClient.connect(socketPath: socketPath)
    }

    /// Calls a unary method on a fresh connection.
    func call<Request, Response>(_ method: UnaryMethod<Request, Response>, _ request: Request)
        throws -> Response
    {
        let client = try connect()
        defer { client.close() }
        return try client.call(method, request)
    }
}

extension Arguments {
    /// The positional arguments after the command words, checked against a count.
    mutating func operands(after words: Int, count range: ClosedRange<Int>, usage: String) throws
        -> [String]
    {
        let operands = Array(positionals.dropFirst(words))
        guard range.contains(operands.count) else {
            let expected =
                range.lowerBound == range.upperBound
                ? "\(range.lowerBound)" : "\(range.lowerBound) or more"
            let what =
                operands.count > range.upperBound
                ? "unexpected argument \(operands[range.upperBound])"
                : "expected \(expected) argument\(range.upperBound == 1 ? "" : "s")"
            throw UsageError(what, hint: "usage: \(usage)")
        }
        return operands
    }

    /// A required option's value.
    mutating func required(_ name: String, usage: String) throws -> String {
        guard let value = option(name), !value.isEmpty else {
            throw UsageError("--\(name) is required", hint: "usage: \(usage)")
        }
        return value
    }
}

/// An absolute, standardised form of a path typed relative to the working folder.
func absolutePath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}
