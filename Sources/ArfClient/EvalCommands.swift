// `arf eval`, `arf wise`, `arf results` and `arf report`: evaluating a model on registered
// datasets (a job), WiSE-FT curves between a zero-shot and a finetuned model (a job), reading
// stored results back (also exported as CLIP_benchmark JSON files), and writing the HTML
// results page. Accuracies print as percentages; JSON carries fractions.
import ArfSupport
import ArfWire
import Foundation

enum EvalCommands {
    static func eval(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf eval --model NAME [--data D]... [--role R]... [--template T]... [--force] "
            + "[--export DIR] [--detach]"
        _ = try arguments.operands(after: 1, count: 0...0, usage: usage)
        let model = try arguments.required("model", usage: usage)
        var params = try selection(&arguments).setting("model", .string(model))
        if arguments.flag("force") { params = params.setting("force", .bool(true)) }
        let export = arguments.option("export").map(absolutePath)
        let detach = arguments.flag("detach")
        try arguments.finish()

        guard
            let end = try JobProgress.submit(
                kind: "eval", params: params, title: "eval \(model)", unit: "img",
                what: "evaluate \(model)", detach: detach, session)
        else { return 0 }
        if let export { try exportResults(models: [model], to: export, session) }
        if session.json {
            session.console.print(JSON.raw(end.resultJSON).text)
            return 0
        }
        let result = try JobProgress.result(end)
        let rows = result["results"] as? [[String: Any]] ?? []
        var table = TextTable(
            headers: ["DATASET", "ROLE", "TOP-1", "TOP-5", "MEAN RECALL", "IMAGES", "CLASSIFIER"])
        for row in rows {
            table.rows.append([
                row["dataset"] as? String ?? "", row["role"] as? String ?? "",
                percent(row["top1"]), percent(row["top5"]),
                percent(row["mean_per_class_recall"]), "\(row["examples"] as? Int ?? 0)",
                row["head"] as? Bool == true ? "head" : "zero-shot",
            ])
        }
        session.console.print(table.text)
        return 0
    }

    static func wise(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf wise --zeroshot MODEL --finetuned MODEL [--alpha A,B,...] [--data D]... "
            + "[--role R]... [--template T]... [--register] [--force] [--detach]"
        _ = try arguments.operands(after: 1, count: 0...0, usage: usage)
        let zeroshot = try arguments.required("zeroshot", usage: usage)
        let finetuned = try arguments.required("finetuned", usage: usage)
        var params = try selection(&arguments)
            .setting("zeroshot", .string(zeroshot)).setting("finetuned", .string(finetuned))
        let alphaWords = arguments.options("alpha").flatMap { $0.split(separator: ",") }
        if !alphaWords.isEmpty {
            let alphas = try alphaWords.map { word -> JSON in
                guard let alpha = Double(word.trimmingCharacters(in: .whitespaces)),
                    alpha.isFinite
                else { throw UsageError("--alpha takes numbers such as 0,0.5,1, not \(word)") }
                return .double(alpha)
            }
            params = params.setting("alphas", .array(alphas))
        }
        if arguments.flag("register") { params = params.setting("register", .bool(true)) }
        if arguments.flag("force") { params = params.setting("force", .bool(true)) }
        let detach = arguments.flag("detach")
        try arguments.finish()

        guard
            let end = try JobProgress.submit(
                kind: "wise", params: params, title: "wise \(finetuned)", unit: "img",
                what: "WiSE-FT between \(zeroshot) and \(finetuned)", detach: detach, session)
        else { return 0 }
        if session.json {
            session.console.print(JSON.raw(end.resultJSON).text)
            return 0
        }
        let points = try JobProgress.result(end)["points"] as? [[String: Any]] ?? []
        let datasets = (points.first?["results"] as? [[String: Any]] ?? []).compactMap {
            $0["dataset"] as? String
        }
        var table = TextTable(headers: ["ALPHA", "MODEL"] + datasets.map { $0.uppercased() })
        for point in points {
            let results = point["results"] as? [[String: Any]] ?? []
            let cells = datasets.map { name in
                percent(results.first { $0["dataset"] as? String == name }?["top1"])
            }
            let alpha = String(format: "%.2f", point["alpha"] as? Double ?? 0)
            table.rows.append([alpha, point["model"] as? String ?? ""] + cells)
        }
        session.console.print(table.text)
        session.console.note("top-1 accuracy (%); draw the curves with: arf report")
        return 0
    }

    /// The dataset selection options shared by eval and wise, as job parameters.
    static func selection(_ arguments: inout Arguments) throws -> JSON {
        var params = JSON.object([])
        let datasets = arguments.options("data")
        let roles = arguments.options("role")
        let templates = arguments.options("template")
        if !datasets.isEmpty {
            params = params.setting("datasets", .array(datasets.map(JSON.string)))
        }
        if !roles.isEmpty { params = params.setting("roles", .array(roles.map(JSON.string))) }
        if !templates.isEmpty {
            params = params.setting("templates", .array(templates.map(JSON.string)))
        }
        return params
    }

    static func results(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        _ = try arguments.operands(
            after: 1, count: 0...0, usage: "arf results [--model M]... [--export DIR] [--json]")
        let models = arguments.options("model")
        let export = arguments.option("export").map(absolutePath)
        try arguments.finish()
        let results = try session.call(Methods.listResults, ListResultsRequest(models: models))
            .results
        if let export { try write(results, to: export, session) }
        if session.json {
            session.console.print(JSON.array(results.map(resultJSON)).text)
            return 0
        }
        guard !results.isEmpty else {
            session.console.print("no evaluation results; make some with: arf eval --model NAME")
            return 0
        }
        var table = TextTable(
            headers: ["MODEL", "DATASET", "ROLE", "TOP-1", "TOP-5", "MEAN RECALL", "IMAGES"])
        for result in results {
            table.rows.append([
                result.model, result.dataset, result.role, percent(result.top1),
                percent(result.top5), percent(result.meanPerClassRecall), "\(result.examples)",
            ])
        }
        session.console.print(table.text)
        return 0
    }

    static func report(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf report [--out FILE] [--title T] [--id DATASET] [--ood DATASET]... "
            + "[--curve METHOD=MODEL,MODEL]... [--json]"
        _ = try arguments.operands(after: 1, count: 0...0, usage: usage)
        let curves = try arguments.options("curve").map { text -> ReportCurve in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            let models = parts.count == 2 ? parts[1].split(separator: ",").map(String.init) : []
            guard parts.count == 2, !parts[0].isEmpty, !models.isEmpty else {
                throw UsageError(
                    "--curve takes METHOD=MODEL,MODEL (e.g. ft=ft-s0,ft-s1), not \(text)",
                    hint: "usage: \(usage)")
            }
            return ReportCurve(method: parts[0], models: models)
        }
        let request = WriteReportRequest(
            title: arguments.option("title") ?? "",
            path: arguments.option("out").map(absolutePath) ?? "",
            inDistribution: arguments.option("id") ?? "",
            outOfDistribution: arguments.options("ood"), curves: curves)
        try arguments.finish()
        let reply = try session.call(Methods.writeReport, request)
        if session.json {
            session.console.print(
                JSON.object([
                    ("path", .string(reply.path)), ("curves", .int(Int64(reply.curves))),
                    ("points", .int(Int64(reply.points))),
                ]).text)
        } else {
            session.console.print(reply.path)
            session.console.note("\(reply.curves) curves, \(reply.points) points")
        }
        return 0
    }

    /// Writes the stored results of `models` as CLIP_benchmark files under `folder`.
    static func exportResults(models: [String], to folder: String, _ session: Session) throws {
        let results = try session.call(Methods.listResults, ListResultsRequest(models: models))
            .results
        try write(results, to: folder, session)
    }

    /// One file per result: FOLDER/MODEL/DATASET.json.
    static func write(_ results: [EvalResultInfo], to folder: String, _ session: Session) throws {
        for result in results {
            let directory = (folder as NSString).appendingPathComponent(result.model)
            let path = (directory as NSString).appendingPathComponent(result.dataset + ".json")
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true)
                try Data((result.benchmarkJSON + "\n").utf8).write(
                    to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw UsageError(
                    "cannot write \(path): \(error.localizedDescription)",
                    hint: "give a folder you can write with --export DIR")
            }
        }
        session.console.note("wrote \(results.count) CLIP_benchmark result files under \(folder)")
    }

    static func resultJSON(_ result: EvalResultInfo) -> JSON {
        .object([
            ("model", .string(result.model)), ("dataset", .string(result.dataset)),
            ("role", .string(result.role)), ("top1", .double(result.top1)),
            ("top5", result.top5.map(JSON.double) ?? .null),
            ("mean_per_class_recall", .double(result.meanPerClassRecall)),
            ("examples", .int(Int64(result.examples))), ("classes", .int(Int64(result.classes))),
            ("checkpoint", .string(result.checkpoint)),
            ("created_unix", .double(result.createdUnix)),
        ])
    }

    /// A fraction as a percentage with two decimals, or "-".
    static func percent(_ value: Any?) -> String {
        guard let fraction = value as? Double else { return "-" }
        return String(format: "%.2f", fraction * 100)
    }
}
