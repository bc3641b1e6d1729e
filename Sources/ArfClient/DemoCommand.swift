// `arf demo`: the whole experiment in one command. It finds or starts a daemon, generates the
// synthetic world (once), loads the shipped toy model, registers the world's sets as datasets,
// makes caption anchors (nearest-caption over the pool's captions) and pair anchors
// (retrieved from the pool per class by text queries, leaving out anything near an evaluation
// image), finetunes ft, flyp and arf with fixed settings chosen beforehand (never tuned on
// the evaluation sets), evaluates the zero-shot model and a WiSE-FT curve of each finetuned
// model on every evaluation set, then prints the table and writes the HTML report. Every step
// is a job that finds its finished work in the daemon, so running the demo again reuses the
// world, datasets, embeddings, anchors, runs and results. The table is in DemoTable.swift.
import ArfSupport
import ArfWire
import ArfWorld
import Foundation

/// What one demonstration does.
struct DemoSettings {
    var work: String
    var worldFolder: String
    var modelFolder: String?
    var seeds: Int
    var steps: Int
    var batch: Int
    var pairBatch: Int
    var quick: Bool
    /// Replaces every method's learning rate when set.
    var learningRate: Double?

    static let methods = ["ft", "flyp", "arf"]
    static let alphas = [0, 0.25, 0.5, 0.75, 1.0]
    /// Rates fixed before any evaluation: one budget for every method.
    static let learningRates = ["ft": 1e-4, "flyp": 1e-4, "arf": 1e-4]
    static let worldSeed: UInt64 = 0
    static let checkpointInterval = 50
}

enum DemoCommand {
    static let usage =
        "arf demo [--seeds N] [--json [FILE]] [--work DIR] [--steps N] [--quick] [--model DIR] "
        + "[--world DIR]"

    static func run(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        // `--json` takes no value globally; here a word after it names the file to write.
        let operands = try arguments.operands(after: 1, count: 0...1, usage: usage)
        if !operands.isEmpty, !session.json {
            throw UsageError("unexpected argument \(operands[0])", hint: "usage: \(usage)")
        }
        let jsonFile = operands.first.map(absolutePath)
        let quick = arguments.flag("quick")
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSTemporaryDirectory()
        let work = absolutePath(
            arguments.option("work") ?? (home as NSString).appendingPathComponent(".arf/demo"))
        let worldName = quick ? "world-small" : "world"
        let settings = DemoSettings(
            work: work,
            worldFolder: arguments.option("world").map(absolutePath)
                ?? (work as NSString).appendingPathComponent(worldName),
            modelFolder: arguments.option("model").map(absolutePath),
            seeds: try arguments.integer("seeds", default: 1, in: 1...20),
            steps: try arguments.integer("steps", default: quick ? 30 : 200, in: 1...1_000_000),
            batch: try arguments.integer("batch", default: quick ? 32 : 128, in: 1...4096),
            pairBatch: try arguments.integer("pair-batch", default: quick ? 32 : 128, in: 1...4096),
            quick: quick,
            learningRate: try arguments.option("lr").map {
                try TrainingCommands.positive($0, "lr")
            })
        try arguments.finish()

        let demo = Demo(settings: settings, console: session.console)
        let outcome = try demo.run(preferredSocket: session.socketPath)
        let json = outcome.json(settings: settings)
        if let jsonFile {
            do {
                try Data((json.text + "\n").utf8).write(
                    to: URL(fileURLWithPath: jsonFile), options: .atomic)
            } catch {
                throw ClientError.local(
                    "cannot write \(jsonFile): \(error.localizedDescription)",
                    hint: "give --json a file you can write")
            }
        }
        if session.json && jsonFile == nil {
            session.console.print(json.text)
        } else {
            session.console.print(outcome.table())
            session.console.print("")
            session.console.print("report: \(outcome.reportPath)")
            if let jsonFile { session.console.print("json: \(jsonFile)") }
        }
        return 0
    }
}

/// Runs a demonstration step by step against a daemon.
final class Demo {
    let settings: DemoSettings
    let console: Console
    private var session: Session!
    private var stageStart = Date()
    private var lastStage: String?

    init(settings: DemoSettings, console: Console) {
        self.settings = settings
        self.console = console
    }

    func run(preferredSocket: String) throws -> DemoOutcome {
        let started = Date()
        try FileManager.default.createDirectory(
            atPath: settings.work, withIntermediateDirectories: true)
        let daemon = try DemoDaemon.ensure(
            preferred: preferredSocket, work: settings.work, console)
        defer { daemon.stop() }
        session = Session(socketPath: daemon.socket, json: false, console: console, words: [])

        stage("world")
        try prepareWorld()
        stage("model and datasets")
        let base = try ensureModel(settings.modelFolder ?? DemoDaemon.shippedModel())
        let sets = try ensureDatasets()
        stage("anchors")
        let captions = try captionSet(base: base, sets: sets)
        let task = try pairAnchors(base: base, sets: sets)

        stage("zero-shot evaluation")
        let evalSets = WorldSplit.evaluationSets.map { sets[$0.rawValue]! }
        try job(
            "eval", title: "zero-shot \(base)",
            ["model": .string(base), "datasets": .array(evalSets.map(JSON.string)),
             "templates": templates])

        var runs: [String: [String]] = [:]
        for seed in 0..<settings.seeds {
            for method in DemoSettings.methods {
                stage("\(method), seed \(seed)")
                let run = try finetune(
                    method: method, seed: seed, base: base, finetune: sets["finetune"]!,
                    captions: captions, task: task)
                runs[method, default: []].append(run)
                try job(
                    "wise", title: "wise \(run)",
                    ["zeroshot": .string(base), "finetuned": .string(run),
                     "alphas": .array(DemoSettings.alphas.map(JSON.double)),
                     "datasets": .array(evalSets.map(JSON.string)), "templates": templates])
            }
        }

        stage("report")
        let subjects = [base] + runs.values.flatMap { $0 }.flatMap { run in
            [run] + DemoSettings.alphas.map { "\(run)+wise\(alphaText($0))" }
        }
        let results = try session.call(Methods.listResults, ListResultsRequest(models: subjects))
            .results
        let allRuns = try session.call(Methods.listRuns, ListRunsRequest()).runs
        let report = try session.call(
            Methods.writeReport,
            WriteReportRequest(
                title: "arf demo: world \(DemoSettings.worldSeed), \(settings.seeds) seed"
                    + (settings.seeds == 1 ? "" : "s") + ", \(settings.steps) steps",
                path: (settings.work as NSString).appendingPathComponent("report.html"),
                inDistribution: sets["id"]!,
                outOfDistribution: ["sketch", "cartoon", "painting"].map { sets[$0]! },
                curves: DemoSettings.methods.map {
                    ReportCurve(method: $0, models: runs[$0] ?? [])
                }))
        stage(nil)
        console.note("demo finished in \(Format.duration(Date().timeIntervalSince(started)))")
        return DemoOutcome(
            base: base, datasets: sets, runs: runs, results: results, runInfos: allRuns,
            reportPath: report.path, seconds: Date().timeIntervalSince(started))
    }

    /// The world's prompt templates, for training and evaluation alike.
    var templates: JSON { .array(ClassPrompts.templates.map(JSON.string)) }

    /// Ends the previous stage (printing its time) and announces the next.
    private func stage(_ name: String?) {
        let now = Date()
        if let previous = lastStage {
            console.note("  (\(previous): \(Format.duration(now.timeIntervalSince(stageStart))))")
        }
        if let name { console.note("== \(name)") }
        lastStage = name
        stageStart = now
    }

    private func prepareWorld() throws {
        let folder = settings.worldFolder
        let manifest = (folder as NSString).appendingPathComponent("world.json")
        if FileManager.default.fileExists(atPath: manifest) {
            console.note("reusing the world in \(folder)")
            return
        }
        // Only a folder of the demo's own may be cleared: an interrupted generation.
        if FileManager.default.fileExists(atPath: folder) {
            guard folder.hasPrefix(settings.work + "/") else {
                throw ClientError.local(
                    "\(folder) holds no world.json", hint: "give --world a generated world")
            }
            console.note("removing the unfinished world in \(folder)")
            try FileManager.default.removeItem(atPath: folder)
        }
        _ = try WorldCommands.generate(
            out: folder, seed: DemoSettings.worldSeed, scale: settings.quick ? .small : .default,
            threads: ProcessInfo.processInfo.activeProcessorCount, console)
    }

    /// The registered name of the checkpoint in `folder`, loading it when needed.
    private func ensureModel(_ folder: String) throws -> String {
        let models = try session.call(Methods.listModels, ListModelsRequest()).models
        if let known = models.first(where: { $0.directory == folder }) { return known.name }
        let plain = (folder as NSString).lastPathComponent
        let name = models.contains { $0.name == plain } ? "\(plain)-\(shortHash(folder))" : plain
        _ = try session.call(Methods.loadModel, LoadModelRequest(name: name, directory: folder))
        console.note("loaded \(folder) as model \(name)")
        return name
    }

    /// The registered name of each of the world's sets, by split name.
    private func ensureDatasets() throws -> [String: String] {
        let known = try session.call(Methods.listDatasets, ListDatasetsRequest()).datasets
        var names: [String: String] = [:]
        for split in WorldSplit.allCases {
            let folder = (settings.worldFolder as NSString).appendingPathComponent(split.folder)
            let path = split == .pool ? folder + "/pairs.tsv" : folder
            let role: String
            switch split {
            case .pool: role = "pool"
            case .finetune: role = "finetune"
            case .id, .idDecorrelated: role = "eval-id"
            case .sketch, .cartoon, .painting: role = "eval-shift"
            default: role = "eval-zeroshot"
            }
            if let same = known.first(where: { $0.path == path && $0.role == role }) {
                names[split.rawValue] = same.name
                continue
            }
            let plain = split.rawValue
            let name = known.contains { $0.name == plain } ? "\(plain)-\(shortHash(path))" : plain
            _ = try session.call(
                Methods.addDataset, AddDatasetRequest(name: name, path: path, role: role))
            names[split.rawValue] = name
        }
        let listed = WorldSplit.allCases.map { names[$0.rawValue]! }
        console.note("datasets: " + listed.joined(separator: ", "))
        return names
    }

    /// Captions of the finetune images by the nearest pool captions; the caption set's id.
    private func captionSet(base: String, sets: [String: String]) throws -> String {
        let result = try job(
            "caption", title: "captions",
            ["dataset": .string(sets["finetune"]!), "captioner": .string("nearest-caption"),
             "model": .string(base), "options": .object([("bank", .string(sets["pool"]!))])])
        guard let set = result["caption_set"] as? String else {
            throw ClientError.local("the caption job named no caption set", hint: "")
        }
        return set
    }

    /// Pairs retrieved from the pool for the finetune classes; the task's name.
    private func pairAnchors(base: String, sets: [String: String]) throws -> String {
        let task = "\(sets["finetune"]!)-\(base)-pairs"
        if let shown = try? session.call(Methods.showAnchors, ShowAnchorsRequest(name: task)),
            shown.kind == "pairs", shown.total > 0
        {
            console.note("reusing \(shown.total) retrieved pairs of task \(task)")
            return task
        }
        let pool = try session.call(Methods.showDataset, ShowDatasetRequest(name: sets["pool"]!))
        let perClass = max(16, min(500, Int(pool.dataset.items) / 32))
        try job(
            "retrieve", title: "pair anchors",
            ["task": .string(task), "pool": .string(sets["pool"]!),
             "finetune": .string(sets["finetune"]!), "model": .string(base),
             "retriever": .string("exact"), "per_class": .int(Int64(perClass)),
             "query": .string("text"), "exclude_eval": .bool(true), "templates": templates])
        return task
    }

    /// Trains one method with the demo's fixed settings; returns the run's name.
    private func finetune(
        method: String, seed: Int, base: String, finetune: String, captions: String, task: String
    ) throws -> String {
        let s = settings
        let rate = s.learningRate ?? DemoSettings.learningRates[method]!
        let config = JSON.object([
            ("method", .string(method)), ("steps", .int(Int64(s.steps))),
            ("batchSize", .int(Int64(s.batch))), ("pairBatchSize", .int(Int64(s.pairBatch))),
            ("warmupSteps", .int(Int64(s.steps / 10))), ("seed", .int(Int64(seed))),
            ("optimizer", .object([("learningRate", .double(rate))])), ("templates", templates),
            ("checkpointInterval", .int(Int64(DemoSettings.checkpointInterval))),
        ])
        let anchored = method == "arf"
        let tag = shortHash(
            "\(base)|\(finetune)|\(config.text)|\(anchored ? captions + "|" + task : "")")
        let run = "\(method)-s\(seed)-\(tag)"
        var params: [String: JSON] = [
            "run": .string(run), "model": .string(base), "dataset": .string(finetune),
            "config": config,
        ]
        if anchored {
            params["captions"] = .string(captions)
            params["anchors"] = .string(task)
        }
        let result = try job("finetune", title: "\(method) seed \(seed)", params)
        console.note(
            "\(run): \(result["steps"] as? Int ?? 0) steps, "
                + Format.duration(result["training_seconds"] as? Double ?? 0))
        return run
    }

    /// Submits a job, follows it with a progress bar and returns its result.
    @discardableResult
    private func job(_ kind: String, title: String, _ params: [String: JSON]) throws
        -> [String: Any]
    {
        let object = JSON.object(params.keys.sorted().map { ($0, params[$0]!) })
        guard
            let end = try JobProgress.submit(
                kind: kind, params: object, title: title, unit: "img", what: title,
                detach: false, session, printEvents: false)
        else { return [:] }
        return try JobProgress.result(end)
    }
}

/// α as the daemon names WiSE-FT points: 0, 0.25, 1.
func alphaText(_ alpha: Double) -> String {
    alpha == alpha.rounded() && abs(alpha) < 1e15 ? String(Int64(alpha)) : String(alpha)
}
