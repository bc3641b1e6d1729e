// `arf world generate`: writes the synthetic world (pool pairs, finetuning photos and the
// evaluation sets) in the client's own process, since it only writes files; the daemon is not
// needed. Progress is drawn from the generator's worker threads under a lock.
import ArfSupport
import ArfWorld
import Foundation

enum WorldCommands {
    static func generate(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage = "arf world generate --out DIR --seed S [--scale default|small] [--threads N]"
        _ = try arguments.operands(after: 2, count: 0...0, usage: usage)
        let out = absolutePath(try arguments.required("out", usage: usage))
        guard let seedText = arguments.option("seed") else {
            throw UsageError("--seed is required", hint: "usage: \(usage)")
        }
        guard let seed = UInt64(seedText) else {
            throw UsageError("--seed takes a whole number of 0 or more, not \(seedText)")
        }
        let scale = try self.scale(arguments.option("scale") ?? "default")
        let threads = try arguments.integer(
            "threads", default: ProcessInfo.processInfo.activeProcessorCount, in: 1...256)
        try arguments.finish()

        let manifest = try generate(
            out: out, seed: seed, scale: scale, threads: threads, session.console)
        if session.json {
            session.console.print(
                JSON.object([
                    ("path", .string(out)), ("seed", .int(Int64(manifest.seed))),
                    ("files", .int(Int64(manifest.files))), ("bytes", .int(Int64(manifest.bytes))),
                    ("sha256", .string(manifest.sha256)),
                ]).text)
        } else {
            session.console.print(
                "world \(seed) written to \(out): \(manifest.files) files, "
                    + "\(Format.count(UInt64(manifest.bytes)))B, sha256 \(manifest.sha256)")
        }
        return 0
    }

    static func scale(_ name: String) throws -> WorldScale {
        switch name {
        case "default": return .default
        case "small": return .small
        default: throw UsageError("--scale takes default or small, not \(name)")
        }
    }

    /// Generates a world with a progress bar on `console`.
    static func generate(
        out: String, seed: UInt64, scale: WorldScale, threads: Int, _ console: Console
    ) throws -> WorldManifest {
        let bar = ProgressBar(console: console, title: "world \(seed)", unit: "img")
        let lock = NSLock()
        let started = Date()
        // The generator logs for the daemon's sake; here the bar says it all.
        let level = Logger.shared.level
        Logger.shared.level = max(level, .warning)
        defer {
            Logger.shared.level = level
            lock.withLock { bar.finish() }
        }
        do {
            return try WorldGenerator.generate(
                out: URL(fileURLWithPath: out), seed: seed, scale: scale, threads: threads
            ) { done, total in
                lock.withLock {
                    let seconds = max(Date().timeIntervalSince(started), 1e-6)
                    let rate = Double(done) / seconds
                    bar.update(
                        step: UInt64(done), total: UInt64(total), rate: rate,
                        eta: rate > 0 ? Double(total - done) / rate : 0)
                }
            }
        } catch let error as WorldError {
            throw ClientError.local(
                "cannot generate the world: \(error)",
                hint: "give --out an empty or new folder you can write")
        }
    }
}
