// The demo's results as a table and as JSON. Rows are methods (zero-shot, each finetuning
// method, and its WiSE-FT point at α = 0.5 in the table, every α in the JSON); columns are
// top-1 accuracy on the in-distribution set, the same classes with colour decorrelated, each
// shifted domain, the mean over the shifted domains, the mean over the four sets of unseen
// classes, and the training time. Over several seeds a cell is the mean ± the sample
// standard deviation of the per-seed values.
import ArfWire
import Foundation

/// What a demonstration produced.
struct DemoOutcome {
    let base: String
    /// Registered dataset names by split name.
    let datasets: [String: String]
    /// Run names by method, one per seed.
    let runs: [String: [String]]
    let results: [EvalResultInfo]
    let runInfos: [RunInfo]
    let reportPath: String
    let seconds: Double

    static let shifted = ["sketch", "cartoon", "painting"]
    static let unseen = ["unseen_photo", "unseen_sketch", "unseen_cartoon", "unseen_painting"]
    static let evaluation = ["id", "id_decorrelated"] + shifted + unseen

    /// One row: a label and the subject evaluated for each seed.
    struct Row {
        var label: String
        var subjects: [String]
        /// The runs whose training time the row reports; empty for the zero-shot model.
        var runs: [String]
    }

    /// The table's rows, or with `allAlphas` every WiSE-FT point strictly inside (0, 1).
    func rows(allAlphas: Bool) -> [Row] {
        var rows = [Row(label: "zeroshot", subjects: [base], runs: [])]
        let alphas = allAlphas ? DemoSettings.alphas.filter { $0 > 0 && $0 < 1 } : [0.5]
        for method in DemoSettings.methods {
            let runs = self.runs[method] ?? []
            rows.append(Row(label: method, subjects: runs, runs: runs))
            for alpha in alphas {
                rows.append(
                    Row(
                        label: "\(method)+wise\(alphaText(alpha))",
                        subjects: runs.map { "\($0)+wise\(alphaText(alpha))" }, runs: runs))
            }
        }
        return rows
    }

    /// Top-1 of a subject on a split's dataset.
    func top1(_ subject: String, _ split: String) -> Double? {
        guard let dataset = datasets[split] else { return nil }
        return results.first { $0.model == subject && $0.dataset == dataset }?.top1
    }

    /// The measures of one subject, as fractions, by key.
    func measures(_ subject: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for split in Self.evaluation { values[split] = top1(subject, split) }
        func mean(_ splits: [String]) -> Double? {
            let found = splits.compactMap { values[$0] }
            return found.count == splits.count ? found.reduce(0, +) / Double(found.count) : nil
        }
        values["shift_avg"] = mean(Self.shifted)
        values["zeroshot_avg"] = mean(Self.unseen)
        return values
    }

    /// Mean and sample standard deviation of each measure over a row's seeds.
    func summary(_ row: Row) -> (mean: [String: Double], std: [String: Double]) {
        let perSeed = row.subjects.map(measures)
        var mean: [String: Double] = [:]
        var std: [String: Double] = [:]
        for key in Set(perSeed.flatMap(\.keys)) {
            let values = perSeed.compactMap { $0[key] }
            guard values.count == perSeed.count, !values.isEmpty else { continue }
            let m = values.reduce(0, +) / Double(values.count)
            mean[key] = m
            if values.count > 1 {
                let variance =
                    values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)
                std[key] = variance.squareRoot()
            }
        }
        return (mean, std)
    }

    /// Training seconds of each of a row's runs.
    func trainingSeconds(_ row: Row) -> [Double] {
        row.runs.compactMap { run in runInfos.first { $0.name == run }?.trainingSeconds }
    }

    func table() -> String {
        let columns = ["id", "id_decorrelated"] + Self.shifted + ["shift_avg", "zeroshot_avg"]
        var table = TextTable(
            headers: [
                "METHOD", "ID", "ID DECORR.", "SKETCH", "CARTOON", "PAINTING", "SHIFT AVG",
                "ZERO-SHOT AVG", "TRAIN TIME",
            ])
        for row in rows(allAlphas: false) {
            let (mean, std) = summary(row)
            let cells = columns.map { key -> String in
                guard let m = mean[key] else { return "-" }
                let text = String(format: "%.2f", m * 100)
                return std[key].map { text + String(format: " ± %.2f", $0 * 100) } ?? text
            }
            let seconds = trainingSeconds(row)
            let time =
                seconds.isEmpty
                ? "-" : Format.duration(seconds.reduce(0, +) / Double(seconds.count))
            table.rows.append([row.label] + cells + [time])
        }
        let seeds = runs.values.map(\.count).max() ?? 1
        return table.text + "\ntop-1 accuracy (%)"
            + (seeds > 1 ? ", mean ± standard deviation over \(seeds) seeds" : "")
            + "; training time per run"
    }

    func json(settings: DemoSettings) -> JSON {
        var methods: [(String, JSON)] = []
        for row in rows(allAlphas: true) {
            let (mean, std) = summary(row)
            func number(_ key: String, in values: [String: Double]) -> JSON {
                values[key].map(JSON.double) ?? .null
            }
            var fields: [(String, JSON)] = [
                ("id", number("id", in: mean)),
                ("id_decorrelated", number("id_decorrelated", in: mean)),
                ("shift_avg", number("shift_avg", in: mean)),
                ("zeroshot_avg", number("zeroshot_avg", in: mean)),
                (
                    "domains",
                    .object(Self.evaluation.map { ($0, number($0, in: mean)) })
                ),
            ]
            let seconds = trainingSeconds(row)
            fields.append((
                "training_seconds",
                seconds.isEmpty ? .null : .double(seconds.reduce(0, +) / Double(seconds.count))))
            fields.append(("seeds", .int(Int64(row.subjects.count))))
            if !std.isEmpty {
                fields.append(("std", .object(std.keys.sorted().map { ($0, .double(std[$0]!)) })))
            }
            fields.append(("models", .array(row.subjects.map(JSON.string))))
            methods.append((row.label, .object(fields)))
        }
        return .object([
            ("methods", .object(methods)),
            ("seeds", .int(Int64(settings.seeds))), ("steps", .int(Int64(settings.steps))),
            ("batch", .int(Int64(settings.batch))), ("world", .string(settings.worldFolder)),
            ("model", .string(base)), ("report", .string(reportPath)),
            ("seconds", .double(seconds)),
        ])
    }
}
