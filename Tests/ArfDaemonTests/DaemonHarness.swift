// Shared pieces of the daemon tests: a real arfd (the executable SwiftPM builds next to the
// test binary) on a socket and data folder in a fresh temporary folder, the arf command line
// run in-process against it, generated image folders, the fixture checkpoint and its reference
// embeddings, and a raw socket for bytes no real client would send.
import ArfClient
import ArfImage
import ArfTensor
import ArfWire
import Foundation
import Testing

/// The fixture checkpoint and its reference outputs.
enum Fixture {
    static let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/clip-tiny").path

    static func cases() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: checkpoint + "/cases.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func texts() throws -> [String] { try cases()["texts"] as? [String] ?? [] }

    /// Absolute paths of the reference images, in the order of `image_embeds`.
    static func images() throws -> [String] {
        (try cases()["images"] as? [String] ?? []).map { checkpoint + "/images/" + $0 }
    }

    /// Rows of a reference tensor in expected.safetensors.
    static func expected(_ name: String) throws -> [[Float]] {
        let file = try SafeTensorsFile(
            url: URL(fileURLWithPath: checkpoint + "/expected.safetensors"))
        let tensor = try file.tensor(name)
        let width = tensor.shape.last ?? 0
        let values = tensor.values
        return stride(from: 0, to: values.count, by: width).map { Array(values[$0..<$0 + width]) }
    }

    /// The model's logit scale (its logarithm, as the checkpoint stores it).
    static func logitScale() throws -> Float {
        let file = try SafeTensorsFile(url: URL(fileURLWithPath: checkpoint + "/model.safetensors"))
        return try file.tensor("logit_scale").values[0]
    }
}

/// ||a - b|| / ||b|| and the largest element difference.
func relativeError(_ a: [Float], _ b: [Float]) -> (relative: Double, largest: Double) {
    guard a.count == b.count else { return (.infinity, .infinity) }
    var diff = 0.0
    var reference = 0.0
    var largest = 0.0
    for (x, y) in zip(a, b) {
        let d = Double(x) - Double(y)
        diff += d * d
        reference += Double(y) * Double(y)
        largest = max(largest, abs(d))
    }
    return ((diff / max(reference, 1e-30)).squareRoot(), largest)
}

/// A fresh folder under /tmp, short enough for a socket path inside it.
func temporaryFolder(_ prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw HarnessError("mkdtemp failed: errno \(errno)") }
    return String(cString: template)
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An executable built next to the test binary.
func builtExecutable(_ name: String) throws -> String {
    let folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent()
    let path = folder.appendingPathComponent(name).path
    try #require(
        FileManager.default.isExecutableFile(atPath: path),
        "\(path) is missing: build the package (swift build --build-tests) first")
    return path
}

/// A real arfd in a temporary folder; restartable on the same socket and data folder.
final class DaemonProcess: @unchecked Sendable {
    let folder: String
    let socket: String
    let data: String
    let logPath: String
    private(set) var process: Process?

    init(start: Bool = true, extraArguments: [String] = []) throws {
        folder = try temporaryFolder("arfd")
        socket = folder + "/arfd.sock"
        data = folder + "/data"
        logPath = folder + "/arfd.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        if start { try self.start(extraArguments: extraArguments) }
    }

    deinit { cleanup() }

    /// Starts arfd and waits until it answers Status.
    func start(extraArguments: [String] = []) throws {
        let process = try launch(
            ["--socket", socket, "--data", data, "--threads", "1"] + extraArguments)
        self.process = process
        let deadline = Date(timeIntervalSinceNow: 20)
        while Date() < deadline {
            if !process.isRunning {
                throw HarnessError("arfd exited with \(process.terminationStatus):\n\(log)")
            }
            if let client = try? WireClient.connect(socketPath: socket) {
                defer { client.close() }
                if (try? client.call(Methods.status, StatusRequest(), timeout: 5)) != nil { return }
            }
            usleep(20_000)
        }
        throw HarnessError("arfd did not answer within 20 s:\n\(log)")
    }

    /// Runs arfd with `arguments` and its log appended to `logPath`, without waiting for it.
    func launch(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try builtExecutable("arfd"))
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment[SocketPath.environmentKey] = nil
        process.environment = environment
        let logFile = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        logFile.seekToEndOfFile()
        process.standardError = logFile
        process.standardOutput = logFile
        try process.run()
        return process
    }

    /// A new connection to the daemon.
    func client() throws -> WireClient { try WireClient.connect(socketPath: socket) }

    /// Sends SIGTERM and waits for the exit; returns the exit status.
    @discardableResult
    func terminate(timeout: Double = 30) throws -> Int32 {
        guard let process else { throw HarnessError("arfd is not running") }
        kill(process.processIdentifier, SIGTERM)
        try wait(process, timeout: timeout)
        self.process = nil
        return process.terminationStatus
    }

    /// Kills arfd with SIGKILL, as a crash or a power cut would stop it.
    func killHard() throws {
        guard let process else { throw HarnessError("arfd is not running") }
        kill(process.processIdentifier, SIGKILL)
        try wait(process, timeout: 10)
        self.process = nil
    }

    /// Everything arfd has logged, over all its runs.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs the arf command line in-process against this daemon.
    func arf(_ words: String...) -> CLIResult { arf(words) }

    func arf(_ words: [String]) -> CLIResult {
        let (console, captured) = Console.capturing()
        let code = ArfCLI.run(["--socket", socket] + words, console: console)
        return CLIResult(code: code, output: captured.output, error: captured.error)
    }

    /// Stops arfd if it still runs and removes the folder.
    func cleanup() {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process = nil
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func wait(_ process: Process, timeout: Double) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning {
            if Date() > deadline {
                throw HarnessError("arfd did not exit in \(timeout) s:\n\(log)")
            }
            usleep(10_000)
        }
    }
}

/// What one in-process run of arf printed and returned.
struct CLIResult: CustomStringConvertible {
    let code: Int32
    let output: String
    let error: String

    var lines: [String] { output.split(separator: "\n").map(String.init) }

    /// Standard output's lines parsed as JSON.
    func jsonLines() throws -> [[String: Any]] {
        try lines.map { line in
            guard
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
                    as? [String: Any]
            else { throw HarnessError("not a JSON object: \(line)") }
            return object
        }
    }

    var description: String { "exit \(code)\nstdout:\n\(output)\nstderr:\n\(error)" }
}

/// Writes `count` distinct small PNG images (and nothing else) into a new folder.
func imageFolder(count: Int, side: Int = 40, in parent: String) throws -> String {
    let folder = parent + "/images"
    try FileManager.default.createDirectory(
        atPath: folder + "/nested", withIntermediateDirectories: true)
    for index in 0..<count {
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        for y in 0..<side {
            for x in 0..<side {
                let offset = (y * side + x) * 3
                pixels[offset] = UInt8(truncatingIfNeeded: x * 7 + index * 13)
                pixels[offset + 1] = UInt8(truncatingIfNeeded: y * 5 + index * 3)
                pixels[offset + 2] = UInt8(truncatingIfNeeded: (x + y) * 11 + index)
            }
        }
        let png = try ImageCodec.encodePNG(RGBImage(width: side, height: side, pixels: pixels))
        // Every tenth image sits one level down, so the walk has to recurse.
        let name = index % 10 == 0 ? "nested/img\(index).png" : "img\(index).png"
        try png.write(to: URL(fileURLWithPath: folder + "/" + name))
    }
    return folder
}

/// Submits an embed-folder job and returns its id.
func submitEmbedFolder(
    _ client: WireClient, folder: String, batch: Int = 16, maxRate: Double = 0
) throws -> String {
    let params =
        "{\"model\": \"tiny\", \"folder\": \"\(folder)\", \"batch\": \(batch), "
        + "\"max_rate\": \(maxRate)}"
    return try client.call(
        Methods.submitJob, SubmitJobRequest(kind: "embed-folder", paramsJSON: params)
    ).job.id
}

/// Watches a job until `until` holds for an event or the job ends; returns that event.
@discardableResult
func watchJob(
    _ client: WireClient, _ id: String, timeout: Double = 60,
    until: (JobEvent) -> Bool = { $0.state.isFinal }
) throws -> JobEvent {
    let stream = try client.openStream(Methods.watchJob, WatchJobRequest(jobID: id))
    defer { stream.cancel() }
    let deadline = Date(timeIntervalSinceNow: timeout)
    while let event = try stream.next(timeout: max(0.1, deadline.timeIntervalSinceNow)) {
        if until(event) || event.state.isFinal { return event }
    }
    throw HarnessError("the stream of job \(id) ended before the job did")
}

/// The decoded result of an embed-folder job.
struct FolderResult: Decodable {
    var total: Int
    var embedded: Int
    var skipped: Int
    var changed: Int
    var removed: Int
    var failed: Int
    var failures: [Failure]

    struct Failure: Decodable {
        var path: String
        var error: String
    }

    init(_ json: String) throws {
        self = try JSONDecoder().decode(FolderResult.self, from: Data(json.utf8))
    }
}

/// Loads the fixture checkpoint as "tiny".
func loadTiny(_ client: WireClient) throws {
    _ = try client.call(
        Methods.loadModel, LoadModelRequest(name: "tiny", directory: Fixture.checkpoint))
}
