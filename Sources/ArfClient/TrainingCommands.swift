// `arf finetune`, `arf pretrain` and `arf runs list`. Finetuning options become a
// FinetuneConfig object (a --config file first, then each option over it; the daemon fills the
// rest from the method's preset), pretraining options a PretrainConfig object; both run as
// jobs followed with a progress bar that shows the loss and learning rate.
import ArfSupport
import ArfWire
import Foundation

enum TrainingCommands {
    static let finetuneUsage =
        "arf finetune --model NAME --data DATASET [--method M] [--run NAME] [--config FILE] "
        + "[--steps N] [--batch N] [--lr X] [--loss NAME[=W]]... [--detach] (see --help)"

    static func finetune(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage = finetuneUsage
        _ = try arguments.operands(after: 1, count: 0...0, usage: usage)
        let model = try arguments.required("model", usage: usage)
        let dataset = try arguments.required("data", usage: usage)
        var config = try arguments.option("config").map(readObject) ?? .object([])
        if let method = arguments.option("method") {
            config = config.setting("method", .string(method))
        }
        guard let method = config.fields.first(where: { $0.0 == "method" })?.1,
            case .string(let methodName) = method
        else {
            throw UsageError(
                "--method is required (zeroshot, ft, lp-ft, flyp or arf)", hint: "usage: \(usage)")
        }
        config = try finetuneOverrides(&arguments, config)
        let seed = seedValue(in: config)
        let run = arguments.option("run") ?? "\(methodName)-\(dataset)-s\(seed)"
        var params: [(String, JSON)] = [
            ("run", .string(run)), ("model", .string(model)), ("dataset", .string(dataset)),
            ("config", config),
        ]
        if let set = arguments.option("captions") { params.append(("captions", .string(set))) }
        if let task = arguments.option("anchors") { params.append(("anchors", .string(task))) }
        if arguments.flag("no-register") { params.append(("register", .bool(false))) }
        let detach = arguments.flag("detach")
        try arguments.finish()

        guard
            let end = try JobProgress.submit(
                kind: "finetune", params: .object(params), title: run, unit: "img",
                what: "finetune \(model) on \(dataset) with \(methodName) as run \(run)",
                detach: detach, session)
        else { return 0 }
        if session.json {
            session.console.print(JSON.raw(end.resultJSON).text)
            return 0
        }
        let result = try JobProgress.result(end)
        let steps = result["steps"] as? Int ?? 0
        let seconds = result["training_seconds"] as? Double ?? 0
        let loss = (result["final_loss"] as? Double).map { String(format: ", final loss %.4f", $0) }
        session.console.print(
            "run \(run): \(steps) steps in \(Format.duration(seconds))\(loss ?? ""); "
                + "checkpoint \(result["checkpoint"] as? String ?? "?")")
        session.console.note("evaluate it with: arf eval --model \(run)")
        return 0
    }

    /// Applies the finetuning options to a config object.
    static func finetuneOverrides(_ arguments: inout Arguments, _ base: JSON) throws -> JSON {
        var config = base
        let integers = [
            ("steps", "steps"), ("epochs", "epochs"), ("batch", "batchSize"),
            ("warmup", "warmupSteps"), ("seed", "seed"), ("pair-batch", "pairBatchSize"),
            ("checkpoint-every", "checkpointInterval"), ("probe-steps", "probeSteps"),
        ]
        for (option, field) in integers {
            let value = try arguments.integer(option, default: -1, in: 0...Int(Int32.max))
            if value >= 0 { config = config.setting(field, .int(Int64(value))) }
        }
        if let towers = arguments.option("towers") {
            guard ["none", "image", "text", "both"].contains(towers) else {
                throw UsageError("--towers takes none, image, text or both, not \(towers)")
            }
            config = config.setting("towers", .string(towers))
        }
        if let clip = arguments.option("clip") {
            config = config.setting("maxGradientNorm", .double(try positive(clip, "clip")))
        }
        var optimizer = config.fields.first { $0.0 == "optimizer" }?.1 ?? .object([])
        if let rate = arguments.option("lr") {
            optimizer = optimizer.setting("learningRate", .double(try positive(rate, "lr")))
        }
        if let decay = arguments.option("wd") {
            guard let value = Double(decay), value >= 0 else {
                throw UsageError("--wd takes a number of 0 or more, not \(decay)")
            }
            optimizer = optimizer.setting("weightDecay", .double(value))
        }
        if !optimizer.fields.isEmpty { config = config.setting("optimizer", optimizer) }
        let templates = arguments.options("template")
        if !templates.isEmpty {
            config = config.setting("templates", .array(templates.map(JSON.string)))
        }
        let losses = try arguments.options("loss").map { text -> JSON in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            var term: [(String, JSON)] = [("name", .string(parts[0]))]
            if parts.count == 2 { term.append(("weight", .double(try positive(parts[1], "loss")))) }
            return .object(term)
        }
        if !losses.isEmpty { config = config.setting("losses", .array(losses)) }
        return config
    }

    static func seedValue(in config: JSON) -> Int64 {
        if case .int(let seed)? = config.fields.first(where: { $0.0 == "seed" })?.1 { return seed }
        return 0
    }

    static func positive(_ text: String, _ option: String) throws -> Double {
        guard let value = Double(text), value.isFinite, value > 0 else {
            throw UsageError("--\(option) takes a positive number, not \(text)")
        }
        return value
    }

    /// A JSON object read from a file.
    static func readObject(_ path: String) throws -> JSON {
        guard let data = FileManager.default.contents(atPath: absolutePath(path)) else {
            throw UsageError("cannot read \(path)", hint: "give a JSON file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UsageError("\(path) is not a JSON object", hint: "give a JSON object")
        }
        return JSON.from(object)
    }

    static let pretrainFields: [(option: String, field: String)] = [
        ("vision-width", "visionWidth"), ("vision-layers", "visionLayers"),
        ("vision-heads", "visionHeads"), ("patch", "patchSize"), ("image-size", "imageSize"),
        ("text-width", "textWidth"), ("text-layers", "textLayers"), ("text-heads", "textHeads"),
        ("context", "contextLength"), ("projection", "projectionDim"), ("merges", "merges"),
        ("steps", "steps"), ("batch", "batchSize"), ("warmup", "warmupSteps"),
        ("seed", "seed"), ("checkpoint-every", "checkpointInterval"),
    ]

    static func pretrain(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf pretrain (--pairs FILE | --data POOL) --out DIR [--steps N] [--seed S] "
            + "[--batch N] [--lr X] [...] [--load-as NAME] [--detach]"
        _ = try arguments.operands(after: 1, count: 0...0, usage: usage)
        let out = absolutePath(try arguments.required("out", usage: usage))
        var config = try arguments.option("config").map(readObject) ?? .object([])
        for (option, field) in pretrainFields {
            let value = try arguments.integer(option, default: -1, in: 0...Int(Int32.max))
            if value >= 0 { config = config.setting(field, .int(Int64(value))) }
        }
        if let rate = arguments.option("lr") {
            config = config.setting("learningRate", .double(try positive(rate, "lr")))
        }
        if let decay = arguments.option("wd") {
            guard let value = Double(decay), value >= 0 else {
                throw UsageError("--wd takes a number of 0 or more, not \(decay)")
            }
            config = config.setting("weightDecay", .double(value))
        }
        var params: [(String, JSON)] = [("out", .string(out)), ("config", config)]
        switch (arguments.option("pairs"), arguments.option("data")) {
        case (let pairs?, nil): params.append(("pairs", .string(absolutePath(pairs))))
        case (nil, let pool?): params.append(("dataset", .string(pool)))
        default:
            throw UsageError("give one of --pairs FILE or --data POOL", hint: "usage: \(usage)")
        }
        if let model = arguments.option("load-as") { params.append(("register", .string(model))) }
        let detach = arguments.flag("detach")
        try arguments.finish()

        guard
            let end = try JobProgress.submit(
                kind: "pretrain", params: .object(params), title: "pretrain", unit: "pairs",
                what: "pretrain into \(out)", detach: detach, session)
        else { return 0 }
        if session.json {
            session.console.print(JSON.raw(end.resultJSON).text)
            return 0
        }
        let result = try JobProgress.result(end)
        let loss = (result["final_loss"] as? Double).map { String(format: ", final loss %.4f", $0) }
        session.console.print(
            "pretrained \(result["steps"] as? Int ?? 0) steps in "
                + Format.duration(result["seconds"] as? Double ?? 0) + (loss ?? "")
                + ": \(out)")
        if let model = result["model"] as? String {
            session.console.note("registered as model \(model)")
        } else {
            session.console.note("load it with: arf model load NAME \(out)")
        }
        return 0
    }

    static func removeRun(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let name = try arguments.operands(
            after: 2, count: 1...1, usage: "arf runs rm NAME [--json]")[0]
        try arguments.finish()
        let reply = try session.call(Methods.removeRun, RemoveRunRequest(name: name))
        if session.json {
            session.console.print(
                JSON.object([
                    ("name", .string(name)), ("models", .array(reply.models.map(JSON.string))),
                    ("results", .int(Int64(reply.results))), ("bytes", .int(Int64(reply.bytes))),
                ]).text)
        } else {
            let models = reply.models.isEmpty ? "no models" : reply.models.joined(separator: ", ")
            session.console.print(
                "removed run \(name): \(models), \(reply.results) results, "
                    + String(format: "%.1f MB", Double(reply.bytes) / 1e6) + " of files")
        }
        return 0
    }

    static func listRuns(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        _ = try arguments.operands(after: 2, count: 0...0, usage: "arf runs list [--json]")
        try arguments.finish()
        let runs = try session.call(Methods.listRuns, ListRunsRequest()).runs
        if session.json {
            session.console.print(
                JSON.array(
                    runs.map { run in
                        .object([
                            ("name", .string(run.name)), ("method", .string(run.method)),
                            ("model", .string(run.model)), ("dataset", .string(run.dataset)),
                            ("state", .string(run.state)), ("step", .int(Int64(run.step))),
                            ("total_steps", .int(Int64(run.totalSteps))),
                            ("training_seconds", .double(run.trainingSeconds)),
                            ("final_loss", .double(run.finalLoss)),
                            ("checkpoint", .string(run.checkpoint)),
                            ("config", .raw(run.configJSON)),
                            ("created_unix", .double(run.createdUnix)),
                        ])
                    }
                ).text)
            return 0
        }
        guard !runs.isEmpty else {
            session.console.print("no finetuning runs; start one with: arf finetune --help")
            return 0
        }
        var table = TextTable(
            headers: ["NAME", "METHOD", "MODEL", "DATASET", "STATE", "STEPS", "TIME", "LOSS"])
        for run in runs {
            table.rows.append([
                run.name, run.method, run.model, run.dataset, run.state,
                "\(run.step)/\(run.totalSteps)", Format.duration(run.trainingSeconds),
                run.step > 0 ? String(format: "%.4f", run.finalLoss) : "-",
            ])
        }
        session.console.print(table.text)
        return 0
    }
}
