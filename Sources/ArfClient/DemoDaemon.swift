// What `arf demo` needs around it: a daemon (the one answering on the socket, else a private
// arfd started from the executable beside arf, on a socket and data folder under the work
// folder, stopped again at the end), and the shipped model (models/toy-clip in the first
// folder above the executable that has one). A private daemon logs to <work>/arfd.log.
import ArfSupport
import ArfWire
import Foundation

/// The daemon a demonstration talks to.
final class DemoDaemon {
    let socket: String
    /// The daemon this demonstration started, if it started one.
    private(set) var process: Process?
    let logPath: String?

    private init(socket: String, process: Process?, logPath: String?) {
        self.socket = socket
        self.process = process
        self.logPath = logPath
    }

    /// The daemon on `preferred` if one answers there, else a private one under `work`.
    static func ensure(preferred: String, work: String, _ console: Console) throws -> DemoDaemon {
        let privateSocket = socketPath(work: work)
        for socket in [preferred, privateSocket] where answers(socket) {
            console.note("using the arfd that answers on \(socket)")
            return DemoDaemon(socket: socket, process: nil, logPath: nil)
        }
        let arfd = try executable("arfd")
        try? FileManager.default.createDirectory(
            atPath: (privateSocket as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let data = (work as NSString).appendingPathComponent("data")
        let logPath = (work as NSString).appendingPathComponent("arfd.log")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arfd)
        process.arguments = ["--socket", privateSocket, "--data", data]
        var environment = ProcessInfo.processInfo.environment
        environment[SocketPath.environmentKey] = nil
        process.environment = environment
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        guard let log = FileHandle(forWritingAtPath: logPath) else {
            throw ClientError.local(
                "cannot write \(logPath)", hint: "give --work a folder you can write")
        }
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw ClientError.local(
                "cannot start \(arfd): \(error.localizedDescription)", hint: "build arfd first")
        }
        let daemon = DemoDaemon(socket: privateSocket, process: process, logPath: logPath)
        let deadline = Date(timeIntervalSinceNow: 60)
        while !answers(privateSocket) {
            guard process.isRunning, Date() < deadline else {
                daemon.stop()
                throw ClientError.local(
                    "arfd did not start on \(privateSocket)", hint: "its log: \(logPath)")
            }
            usleep(50_000)
        }
        console.note(
            "started arfd (pid \(process.processIdentifier)) on \(privateSocket); log \(logPath)")
        return daemon
    }

    /// Stops the daemon this demonstration started: SIGTERM, then wait (the running job, if
    /// any, goes back to the queue and resumes at the next start).
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: 90)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    /// <work>/arfd.sock, or a folder under /tmp when that path is too long for a socket.
    static func socketPath(work: String) -> String {
        let path = (work as NSString).appendingPathComponent("arfd.sock")
        if path.utf8.count < 100 { return path }
        return "/tmp/arf-demo-\(getuid())-\(shortHash(work))/arfd.sock"
    }

    static func answers(_ socket: String) -> Bool {
        guard let client = try? WireClient.connect(socketPath: socket) else { return false }
        defer { client.close() }
        return (try? client.call(Methods.status, StatusRequest(), timeout: 10)) != nil
    }

    /// The folder of the running executable, symbolic links resolved.
    static var executableFolder: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent()
    }

    /// A program built beside the running one.
    static func executable(_ name: String) throws -> String {
        let path = executableFolder.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ClientError.local(
                "no \(name) beside the arf executable (looked for \(path))",
                hint: "build it: swift build -c release --product \(name)")
        }
        return path
    }

    /// models/toy-clip in the nearest folder above the executable (or the working folder)
    /// that has one.
    static func shippedModel() throws -> String {
        let starts = [
            executableFolder, URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        ]
        for start in starts {
            var folder = start
            while true {
                let candidate = folder.appendingPathComponent("models/toy-clip")
                if FileManager.default.fileExists(
                    atPath: candidate.appendingPathComponent("config.json").path)
                {
                    return candidate.path
                }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        throw ClientError.local(
            "no shipped model: no models/toy-clip above \(executableFolder.path)",
            hint: "give a checkpoint with --model DIR, or make one with arf pretrain")
    }
}

/// Eight hex digits of FNV-1a over `text`: short, stable names for settings.
func shortHash(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return String(String(hash, radix: 16).suffix(8))
}
