// `arf-bench wire`: what the daemon adds to a call. It starts a private arfd (the one built
// next to this program), then times a status call, and a one-image zero-shot classification
// both through the daemon and as the same work done in this process with the same model.
// The difference of the two classify times is the daemon's overhead per call: framing,
// protobuf coding, the socket and the thread hand-offs.
import ArfCLIP
import ArfImage
import ArfSupport
import ArfTensor
import ArfWire
import Foundation

enum WireBenchmark {
    static let help = """
        usage: arf-bench wire [--calls 2000] [--classify-calls 200] [--model DIR]
                              [--threads 2] [--json]

        Prints the median round trip of a status call, of a one-image classify through arfd,
        of the same classify in process, and their difference. Both sides embed the labels
        once (arfd keeps class embeddings between calls), so each call is one image. The
        model defaults to models/toy-clip of this repository.
        """

    static func main(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["json", "help"])
        if args.flag("help") {
            print(help)
            return
        }
        let calls = try args.integer("calls", default: 2000, in: 1...1_000_000)
        let classifyCalls = try args.integer("classify-calls", default: 200, in: 1...100_000)
        let threads = try args.integer("threads", default: 2, in: 1...256)
        let json = args.flag("json")
        let modelOption = args.option("model")
        try args.finish()
        guard
            let model = modelOption.map({ URL(fileURLWithPath: $0) })
                ?? findUpward("models/toy-clip")
        else { throw UsageError("models/toy-clip not found", hint: "pass --model DIR") }
        log.level = .warning
        Compute.threads = threads

        let work = FileManager.default.temporaryDirectory
            .appendingPathComponent("arf-bench-wire-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let image = work.appendingPathComponent("picture.png")
        var rng = SeededGenerator(seed: 3)
        let pixels = (0..<(48 * 40 * 3)).map { _ in UInt8(rng.next() % 256) }
        try ImageCodec.encodePNG(RGBImage(width: 48, height: 40, pixels: pixels)).write(to: image)

        let socket = work.appendingPathComponent("arfd.sock").path
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            .resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("arfd")
        daemon.arguments = [
            "--socket", socket, "--data", work.appendingPathComponent("data").path,
            "--threads", "\(threads)", "--log-level", "warn",
        ]
        try daemon.run()
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        let client = try connect(socket)
        _ = try client.call(
            Methods.loadModel, LoadModelRequest(name: "bench", directory: model.path))

        let labels = ["dog", "cat", "bird", "car", "tree", "house", "boat", "plane"]
        let request = ClassifyRequest(
            model: "bench", labels: labels, images: [.path(image.path)],
            topK: 3)
        let status = try median(calls) { _ = try client.call(Methods.status, StatusRequest()) }

        // The two classify paths alternate call by call, so that a change in the machine's
        // load during the run falls on both alike.
        let pipeline = try CLIPPipeline(directory: model)
        let classes = try pipeline.classEmbeddings(labels: labels, templates: ["a photo of a {}."])
        var turn = 0
        var remoteSamples: [Double] = []
        var localSamples: [Double] = []
        _ = try median(2 * classifyCalls) {
            let start = DispatchTime.now().uptimeNanoseconds
            if turn % 2 == 0 {
                _ = try client.call(Methods.classify, request)
            } else {
                let decoded = try ImageCodec.decode(file: image)
                let embedded = try pipeline.embed(images: [decoded])
                _ = pipeline.probabilities(images: embedded, classes: classes)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if turn % 2 == 0 { remoteSamples.append(seconds) } else { localSamples.append(seconds) }
            turn += 1
        }
        let remote = remoteSamples.sorted()[remoteSamples.count / 2]
        let local = localSamples.sorted()[localSamples.count / 2]

        let rows: [(String, Double)] = [
            ("status round trip", status), ("classify through arfd", remote),
            ("classify in process", local), ("daemon overhead per call", remote - local),
        ]
        for (name, seconds) in rows {
            if json {
                let line: [String: Any] = ["name": name, "median_ms": seconds * 1000]
                let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(
                    name.padding(toLength: 26, withPad: " ", startingAt: 0)
                        + String(format: "%9.3f ms", seconds * 1000))
            }
        }
    }

    /// Connects, waiting up to ten seconds for the daemon to create its socket.
    static func connect(_ socket: String) throws -> WireClient {
        for _ in 0..<100 {
            if let client = try? WireClient.connect(socketPath: socket) { return client }
            usleep(100_000)
        }
        return try WireClient.connect(socketPath: socket)
    }

    /// The median time of `count` runs of `body`, after a few warm-up runs.
    static func median(_ count: Int, _ body: () throws -> Void) throws -> Double {
        for _ in 0..<min(10, count) { try body() }
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return samples.sorted()[count / 2]
    }
}

/// A path relative to the executable's folder or one of its parents, else to the working
/// directory or one of its parents: the repository's files, wherever the build folder is.
func findUpward(_ relative: String) -> URL? {
    let starts = [
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent(),
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true),
    ]
    for start in starts {
        var dir = start
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
    }
    return nil
}
