// arfd's settings: its command line and an optional JSON config file. The command line wins
// over the file, the file over the defaults. The file is for what an administrator sets once,
// chiefly which other users may talk to the daemon:
//
//     {"allowed_uids": [1001, 1002], "threads": 2, "inference_slots": 2, "log_level": "info"}
//
// Unknown keys are refused, so a misspelt setting is not silently ignored.
import ArfSupport
import ArfWire
import Foundation

/// Everything arfd needs to start.
public struct DaemonOptions: Sendable {
    public var socketPath: String
    /// The folder holding the store and the lock file.
    public var dataFolder: String
    /// Threads for compute (BLAS and the element-wise kernels).
    public var threads: Int
    /// Users who may connect, besides the daemon's own.
    public var allowedUIDs: Set<UInt32>
    /// Inference calls that may compute at once.
    public var inferenceSlots: Int
    public var logLevel: LogLevel
    /// How long a shutdown waits for the running job to reach its next step.
    public var jobStopSeconds: Double
    /// A folder of plugin libraries to load at start-up.
    public var pluginsFolder: String?

    public init(
        socketPath: String, dataFolder: String,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        allowedUIDs: Set<UInt32> = [], inferenceSlots: Int = 2, logLevel: LogLevel = .info,
        jobStopSeconds: Double = 60, pluginsFolder: String? = nil
    ) {
        self.socketPath = socketPath
        self.dataFolder = dataFolder
        self.threads = threads
        self.allowedUIDs = allowedUIDs
        self.inferenceSlots = inferenceSlots
        self.logLevel = logLevel
        self.jobStopSeconds = jobStopSeconds
        self.pluginsFolder = pluginsFolder
    }

    /// arfd's help text.
    public static let usage = """
        usage: arfd --data DIR [--socket PATH] [--config FILE] [--threads N] [--log-level L]
                    [--plugins DIR]

        Runs the arf daemon in the foreground: it loads CLIP models, answers embedding and
        classification calls, and runs long jobs one at a time. Stop it with SIGTERM or Ctrl-C;
        a running job stops at its next step and resumes at the next start.

        options:
          --data DIR        folder for the model and job registry and stored embeddings
          --socket PATH     Unix socket to listen on (default: $ARF_SOCKET, else
                            $XDG_RUNTIME_DIR/arf/arfd.sock, else ~/.arf/arfd.sock)
          --config FILE     JSON settings: allowed_uids, threads, inference_slots, log_level
          --threads N       compute threads (default: the number of cores)
          --log-level L     debug, info, warn or error (default: info)
          --plugins DIR     load every plugin library (*.so) in DIR; one that does not load
                            is refused with the reason and the rest still load
          --help            show this text
        """

    /// Parses arfd's arguments (without the program name); nil means `--help` was asked for.
    public static func parse(
        _ words: [String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DaemonOptions? {
        var arguments = try Arguments(words, flags: ["help"])
        if arguments.flag("help") || words.contains("-h") { return nil }
        guard arguments.positionals.isEmpty else {
            throw UsageError(
                "unexpected argument \(arguments.positionals[0])", hint: "see arfd --help")
        }
        guard let data = arguments.option("data") else {
            throw UsageError("--data DIR is required", hint: "for example: arfd --data ~/.arf/data")
        }
        let file = try arguments.option("config").map(ConfigFile.init(path:)) ?? ConfigFile()
        let socket = try arguments.option("socket") ?? SocketPath.resolve(environment: environment)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threads = try arguments.integer(
            "threads", default: file.threads ?? cores, in: 1...1024)
        let levelName = arguments.option("log-level") ?? file.logLevel ?? "info"
        guard let level = LogLevel(name: levelName) else {
            throw UsageError(
                "unknown log level \(levelName)", hint: "use debug, info, warn or error")
        }
        let plugins = arguments.option("plugins").map {
            URL(fileURLWithPath: $0).standardizedFileURL.path
        }
        try arguments.finish()
        return DaemonOptions(
            socketPath: socket,
            dataFolder: URL(fileURLWithPath: data).standardizedFileURL.path,
            threads: threads, allowedUIDs: file.allowedUIDs,
            inferenceSlots: file.inferenceSlots ?? max(2, threads), logLevel: level,
            pluginsFolder: plugins)
    }
}

/// The settings a config file may hold.
struct ConfigFile {
    var allowedUIDs: Set<UInt32> = []
    var threads: Int?
    var inferenceSlots: Int?
    var logLevel: String?

    static let keys: Set<String> = ["allowed_uids", "threads", "inference_slots", "log_level"]

    init() {}

    init(path: String) throws {
        func fail(_ reason: String) -> DaemonError { .configFile(path: path, reason: reason) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw fail(error.localizedDescription)
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        if let unknown = Set(root.keys).subtracting(Self.keys).sorted().first {
            throw fail(
                "unknown key \(unknown); known: \(Self.keys.sorted().joined(separator: ", "))")
        }
        if let uids = root["allowed_uids"] {
            guard let list = uids as? [Any] else { throw fail("allowed_uids must be a list") }
            for item in list {
                guard let number = item as? NSNumber, let uid = UInt32(exactly: number.doubleValue)
                else { throw fail("allowed_uids holds \(item), not a user id") }
                allowedUIDs.insert(uid)
            }
        }
        threads = try Self.count(root["threads"], "threads", fail)
        inferenceSlots = try Self.count(root["inference_slots"], "inference_slots", fail)
        if let level = root["log_level"] {
            guard let name = level as? String else { throw fail("log_level must be a string") }
            logLevel = name
        }
    }

    private static func count(_ value: Any?, _ key: String, _ fail: (String) -> DaemonError)
        throws -> Int?
    {
        guard let value else { return nil }
        guard let number = value as? NSNumber, let count = Int(exactly: number.doubleValue),
            (1...1024).contains(count)
        else { throw fail("\(key) must be a whole number from 1 to 1024") }
        return count
    }
}
