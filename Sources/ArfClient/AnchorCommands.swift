// `arf anchors caption|retrieve|show` and `arf plugins list`: making caption anchors with a
// captioner plugin and pair anchors with a retriever plugin (both jobs), showing a dataset's
// captions or a task's retrieved pairs with their provenance, and listing the
// daemon's plugins with their options. Plugin options are given as repeated
// `--option key=value` and travel to the daemon as a JSON object of strings; the daemon
// parses them against the plugin's schema.
import ArfSupport
import ArfWire
import Foundation

enum AnchorCommands {
    static func caption(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf anchors caption DATASET --captioner NAME [--model M] [--option key=value]... "
            + "[--batch N] [--detach]"
        let dataset = try arguments.operands(after: 2, count: 1...1, usage: usage)[0]
        let captioner = try arguments.required("captioner", usage: usage)
        var params: [(String, JSON)] = [
            ("dataset", .string(dataset)), ("captioner", .string(captioner)),
            ("options", try options(&arguments)),
            ("batch", .int(Int64(try arguments.integer("batch", default: 32, in: 1...1024)))),
        ]
        if let model = arguments.option("model") { params.append(("model", .string(model))) }
        let detach = arguments.flag("detach")
        try arguments.finish()
        return try JobCommands.submit(
            kind: "caption", params: .object(params), detach: detach, unit: "img",
            what: "caption \(dataset) with \(captioner)", session)
    }

    static func retrieve(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf anchors retrieve TASK --pool DATASET --finetune DATASET --model M "
            + "--retriever NAME --per-class K [--query text|image|both] [--exclude-eval] "
            + "[--dedup T] [--template T]... [--option key=value]... [--detach]"
        let task = try arguments.operands(after: 2, count: 1...1, usage: usage)[0]
        var params: [(String, JSON)] = [
            ("task", .string(task)),
            ("pool", .string(try arguments.required("pool", usage: usage))),
            ("finetune", .string(try arguments.required("finetune", usage: usage))),
            ("model", .string(try arguments.required("model", usage: usage))),
            ("retriever", .string(try arguments.required("retriever", usage: usage))),
            ("per_class", .int(Int64(try perClass(&arguments, usage: usage)))),
            ("exclude_eval", .bool(arguments.flag("exclude-eval"))),
            ("dedup", .double(try arguments.number("dedup", default: 0))),
            ("options", try options(&arguments)),
            ("batch", .int(Int64(try arguments.integer("batch", default: 32, in: 1...1024)))),
        ]
        if let query = arguments.option("query") { params.append(("query", .string(query))) }
        if let threshold = arguments.option("exclude-threshold") {
            guard let value = Double(threshold) else {
                throw UsageError("--exclude-threshold takes a number, not \(threshold)")
            }
            params.append(("exclude_threshold", .double(value)))
        }
        let templates = arguments.options("template")
        if !templates.isEmpty { params.append(("templates", .array(templates.map(JSON.string)))) }
        let detach = arguments.flag("detach")
        try arguments.finish()
        return try JobCommands.submit(
            kind: "retrieve", params: .object(params), detach: detach, unit: "stages",
            what: "retrieve anchors for \(task)", session)
    }

    static func show(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage = "arf anchors show DATASET|TASK [--sample N] [--set ID] [--json]"
        let name = try arguments.operands(after: 2, count: 1...1, usage: usage)[0]
        let request = ShowAnchorsRequest(
            name: name,
            sample: UInt32(try arguments.integer("sample", default: 10, in: 0...10_000)),
            captionSet: arguments.option("set") ?? "")
        try arguments.finish()
        let reply = try session.call(Methods.showAnchors, request)
        if session.json {
            session.console.print(json(reply).text)
            return 0
        }
        if reply.kind == "pairs" {
            let task = reply.task
            session.console.print(
                "\(task.task): \(task.count) pairs from \(task.pool) for \(task.finetune) by "
                    + "\(task.retriever) with \(task.model), \(task.perClass) per class, query "
                    + "\(task.query)" + (task.excludeEval ? ", evaluation images excluded" : "")
                    + (task.dedup > 0 ? ", near-duplicates above \(task.dedup) dropped" : ""))
            var table = TextTable(headers: ["RANK", "CLASS", "SCORE", "QUERY", "PATH", "CAPTION"])
            for pair in reply.pairs {
                table.rows.append([
                    String(pair.rank), pair.className, String(format: "%.4f", pair.score),
                    pair.query, pair.path, pair.caption,
                ])
            }
            if !reply.pairs.isEmpty { session.console.print(table.text) }
            return 0
        }
        guard !reply.captionSets.isEmpty else {
            session.console.print(
                "\(name) has no captions yet; make some with: arf anchors caption \(name) "
                    + "--captioner NAME")
            return 0
        }
        for set in reply.captionSets {
            session.console.print(
                "\(set.id == reply.captionSet ? "*" : " ") set \(set.id): \(set.count) images "
                    + "captioned by \(set.captioner) \(set.version) (\(set.source))"
                    + (set.model.isEmpty ? "" : " with \(set.model)")
                    + ", options \(set.optionsJSON)")
        }
        var table = TextTable(headers: ["ITEM", "PATH", "SCORE", "CAPTION"])
        for anchor in reply.captions {
            for (rank, caption) in anchor.captions.enumerated() {
                table.rows.append([
                    rank == 0 ? String(anchor.index) : "", rank == 0 ? anchor.path : "",
                    caption.score.map { String(format: "%.4f", $0) } ?? "-", caption.text,
                ])
            }
        }
        if !reply.captions.isEmpty { session.console.print(table.text) }
        return 0
    }

    static func listPlugins(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        _ = try arguments.operands(after: 2, count: 0...0, usage: "arf plugins list [--json]")
        try arguments.finish()
        let reply = try session.call(Methods.listPlugins, ListPluginsRequest())
        if session.json {
            session.console.print(
                JSON.object([
                    ("plugins", .array(reply.plugins.map(plugin))),
                    (
                        "refused",
                        .array(
                            reply.refused.map {
                                .object([
                                    ("path", .string($0.path)), ("reason", .string($0.reason)),
                                ])
                            })
                    ),
                ]).text)
            return 0
        }
        var table = TextTable(headers: ["KIND", "NAME", "VERSION", "SOURCE", "OPTIONS"])
        for info in reply.plugins {
            let options = info.options.map { option in
                option.name + (option.required ? " (required)" : "=\(option.defaultValue)")
            }
            table.rows.append([
                info.kind, info.name, info.version, info.source,
                options.isEmpty ? "-" : options.joined(separator: ", "),
            ])
        }
        session.console.print(table.text)
        for refusal in reply.refused {
            session.console.note("refused \(refusal.path): \(refusal.reason)")
        }
        return 0
    }

    private static func perClass(_ arguments: inout Arguments, usage: String) throws -> Int {
        let text = try arguments.required("per-class", usage: usage)
        guard let count = Int(text), (1...100_000).contains(count) else {
            throw UsageError("--per-class takes a whole number from 1 to 100000, not \(text)")
        }
        return count
    }

    /// The `--option key=value` pairs as a JSON object; a key given twice keeps the last.
    static func options(_ arguments: inout Arguments) throws -> JSON {
        var fields: [(String, JSON)] = []
        for pair in arguments.options("option") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw UsageError(
                    "--option takes key=value, not \(pair)", hint: "for example: --option top_k=3")
            }
            let key = String(pair[..<equals])
            fields.removeAll { $0.0 == key }
            fields.append((key, .string(String(pair[pair.index(after: equals)...]))))
        }
        return .object(fields)
    }

    private static func plugin(_ info: PluginInfo) -> JSON {
        .object([
            ("kind", .string(info.kind)), ("name", .string(info.name)),
            ("version", .string(info.version)), ("source", .string(info.source)),
            ("summary", .string(info.summary)),
            (
                "options",
                .array(
                    info.options.map {
                        .object([
                            ("name", .string($0.name)), ("type", .string($0.type)),
                            ("default", $0.required ? .null : .string($0.defaultValue)),
                            ("required", .bool($0.required)), ("help", .string($0.help)),
                            ("choices", .array($0.choices.map(JSON.string))),
                        ])
                    })
            ),
        ])
    }

    private static func json(_ reply: ShowAnchorsReply) -> JSON {
        let task = reply.task
        return .object([
            ("kind", .string(reply.kind)), ("name", .string(reply.name)),
            ("total", .int(Int64(reply.total))),
            ("caption_sets", .array(reply.captionSets.map(JSON.captionSet))),
            ("caption_set", .string(reply.captionSet)),
            (
                "captions",
                .array(
                    reply.captions.map { anchor in
                        .object([
                            ("index", .int(Int64(anchor.index))), ("path", .string(anchor.path)),
                            (
                                "captions",
                                .array(
                                    anchor.captions.map {
                                        .object([
                                            ("text", .string($0.text)),
                                            ("score", $0.score.map(JSON.double) ?? .null),
                                        ])
                                    })
                            ),
                        ])
                    })
            ),
            (
                "task",
                reply.kind == "pairs"
                    ? .object([
                        ("task", .string(task.task)), ("pool", .string(task.pool)),
                        ("finetune", .string(task.finetune)), ("model", .string(task.model)),
                        ("retriever", .string(task.retriever)),
                        ("options", .raw(task.optionsJSON)),
                        ("per_class", .int(Int64(task.perClass))), ("query", .string(task.query)),
                        ("exclude_eval", .bool(task.excludeEval)), ("dedup", .double(task.dedup)),
                        ("count", .int(Int64(task.count))),
                        ("created_unix", .double(task.createdUnix)),
                    ]) : .null
            ),
            (
                "pairs",
                .array(
                    reply.pairs.map {
                        .object([
                            ("rank", .int(Int64($0.rank))),
                            ("pool_index", .int(Int64($0.poolIndex))),
                            ("path", .string($0.path)), ("caption", .string($0.caption)),
                            ("class_index", .int(Int64($0.classIndex))),
                            ("class", .string($0.className)), ("score", .double($0.score)),
                            ("query", .string($0.query)),
                        ])
                    })
            ),
        ])
    }
}
