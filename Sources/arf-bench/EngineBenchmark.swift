// `arf-bench engine`: image forward, text forward (full 77-token context) and a whole
// contrastive train step (both towers, backward, AdamW) with random weights, against
// transformers' CLIPModel on the same shapes, batch and threads. Each side runs in a process
// of its own per architecture, so that each peak resident memory is that side's alone.
// Every phase is also compared with an sgemm ceiling: the same matrix products, recorded
// during the phase and replayed back to back, show how much of the time is outside BLAS.
import ArfCLIP
import ArfSupport
import ArfTensor
import Foundation

enum EngineBenchmark {
    static let help = """
        usage: arf-bench engine [--configs vit-b-32,small] [--batch 32] [--threads 2]
                                [--reps 3] [--warmup 1] [--no-torch] [--python python3] [--json]

        Prints, per architecture and phase: arf's rate, PyTorch's, their ratio (above 1 means
        arf is faster), both peak resident memories, arf's GFLOP/s in matrix products and the
        fraction of the sgemm ceiling it reaches. --json prints one object per line instead.
        The PyTorch side needs `pip install torch transformers safetensors`; without it, or
        with --no-torch, only arf's figures are printed.
        """

    struct Phase: Codable {
        var name: String
        var perSecond: Double
        var gflops: Double
        var ceilingFraction: Double
    }

    struct ChildResult: Codable {
        var phases: [Phase]
        var peakRSSMB: Double
    }

    static func main(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["json", "no-torch", "help"])
        if args.flag("help") {
            print(help)
            return
        }
        let configs = (args.option("configs") ?? "vit-b-32,small").split(separator: ",").map(
            String.init)
        let batch = try args.integer("batch", default: 32, in: 1...4096)
        let threads = try args.integer("threads", default: 2, in: 1...256)
        let reps = try args.integer("reps", default: 3, in: 1...100)
        let warmup = try args.integer("warmup", default: 1, in: 0...100)
        let json = args.flag("json")
        let useTorch = !args.flag("no-torch")
        let python = args.option("python") ?? "python3"
        try args.finish()
        for name in configs where CLIPConfig.presets[name] == nil {
            throw UsageError(
                "unknown architecture \(name)",
                hint: "one of \(CLIPConfig.presets.keys.sorted().joined(separator: ", "))")
        }

        let script = findUpward("bench/torch_reference.py")
        if useTorch && script == nil {
            log.warning("bench/torch_reference.py not found; printing arf's figures only")
        }
        if !json {
            print(
                "arch      phase           arf/s   torch/s  ratio  arf MB  torch MB  GFLOP/s"
                    + "  of sgemm"
            )
        }
        for name in configs {
            let ours = try runChild(
                name: name, batch: batch, threads: threads, reps: reps, warmup: warmup)
            var theirs: [String: Double] = [:]
            if useTorch, let script {
                theirs = runTorch(
                    script: script, python: python, name: name, batch: batch,
                    threads: threads, reps: reps, warmup: warmup)
            }
            for phase in ours.phases {
                let key =
                    [
                        "image_forward": "image_forward_per_s",
                        "text_forward": "text_forward_per_s",
                        "train_step": "train_step_pairs_per_s",
                    ][phase.name] ?? ""
                let torchRate = theirs[key]
                let ratio = torchRate.map { phase.perSecond / $0 }
                if json {
                    var line: [String: Any] = [
                        "name": "\(name) \(phase.name)", "arf_per_s": phase.perSecond,
                        "arf_peak_rss_mb": ours.peakRSSMB, "arf_gflops": phase.gflops,
                        "sgemm_ceiling_fraction": phase.ceilingFraction, "batch": batch,
                        "threads": threads,
                    ]
                    line["torch_per_s"] = torchRate ?? NSNull()
                    line["ratio"] = ratio ?? NSNull()
                    line["torch_peak_rss_mb"] = theirs["peak_rss_mb"] ?? NSNull()
                    let data = try JSONSerialization.data(
                        withJSONObject: line, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    func f(_ v: Double?, _ format: String) -> String {
                        v.map { String(format: format, $0) } ?? "-"
                    }
                    print(
                        name.padding(toLength: 9, withPad: " ", startingAt: 0) + " "
                            + phase.name.padding(toLength: 13, withPad: " ", startingAt: 0)
                            + String(format: "%9.2f", phase.perSecond)
                            + f(torchRate, "%10.2f") + f(ratio, "%7.2f")
                            + String(format: "%8.0f", ours.peakRSSMB)
                            + f(theirs["peak_rss_mb"], "%10.0f")
                            + String(format: "%9.1f", phase.gflops)
                            + String(format: "%9.2f", phase.ceilingFraction))
                }
            }
        }
    }

    /// Runs this program as `engine-child` for one architecture and decodes its result.
    static func runChild(name: String, batch: Int, threads: Int, reps: Int, warmup: Int) throws
        -> ChildResult
    {
        let output = try runProcess(
            CommandLine.arguments[0],
            [
                "engine-child", "--config", name, "--batch", "\(batch)", "--threads", "\(threads)",
                "--reps", "\(reps)", "--warmup", "\(warmup)",
            ])
        guard let data = output.data(using: .utf8),
            let result = try? JSONDecoder().decode(ChildResult.self, from: data)
        else { throw UsageError("the arf measurement for \(name) failed: \(output)") }
        return result
    }

    static func runTorch(
        script: URL, python: String, name: String, batch: Int, threads: Int, reps: Int,
        warmup: Int
    ) -> [String: Double] {
        let config = JSONValue.object(CLIPConfig.presets[name]!)
        let configText = config.serialized()
        guard
            let output = try? runProcess(
                "/usr/bin/env",
                [
                    python, script.path, "--config-json", configText, "--batch", "\(batch)",
                    "--threads", "\(threads)", "--reps", "\(reps)", "--warmup", "\(warmup)",
                ]),
            let line = output.split(separator: "\n").last,
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            log.warning(
                "the PyTorch reference did not run", ("arch", name),
                ("hint", "pip install torch transformers safetensors"))
            return [:]
        }
        return object.compactMapValues { $0 as? Double }
    }
}

/// Runs a program to completion and returns its standard output; standard error passes
/// through. Throws when it exits non-zero.
func runProcess(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw UsageError(
            "\(path) \(arguments.first ?? "") exited with \(process.terminationStatus)")
    }
    return text
}
