// Output formats of the client: JSON documents written field by field (so keys come out in
// the order a person expects, and floats in their shortest exact form), aligned tables, and
// the small number formats the commands share.
import ArfWire
import Foundation

/// A JSON value that keeps its object keys in the order given.
indirect enum JSON {
    case string(String)
    case int(Int64)
    case double(Double)
    case float(Float)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])
    /// A JSON document the daemon produced, inserted as it is; empty text becomes null.
    case raw(String)

    /// The compact text of the value, on one line.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .string(let value):
            JSON.quote(value, into: &out)
        case .int(let value):
            out += String(value)
        case .double(let value):
            out += value.isFinite ? "\(value)" : "null"
        case .float(let value):
            out += value.isFinite ? "\(value)" : "null"
        case .bool(let value):
            out += value ? "true" : "false"
        case .null:
            out += "null"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += ", " }
                item.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out += ", " }
                JSON.quote(key, into: &out)
                out += ": "
                value.write(to: &out)
            }
            out += "}"
        case .raw(let text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            out += trimmed.isEmpty ? "null" : trimmed
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// Rows printed under a header, each column as wide as its widest cell.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []

    var text: String {
        let columns = headers.count
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.prefix(columns).enumerated() {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for index in 0..<columns {
                let cell = index < cells.count ? cells[index] : ""
                // The last column is not padded, so lines carry no trailing spaces.
                let padded =
                    index == columns - 1
                    ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
                text += (index == 0 ? "" : "  ") + padded
            }
            return text
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Small formats shared by the commands.
enum Format {
    /// Seconds as "45s", "3m05s" or "2h03m".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }

    /// A count with a metric suffix: 151277313 -> "151.3M".
    static func count(_ value: UInt64) -> String {
        let number = Double(value)
        if number >= 1e9 { return String(format: "%.1fG", number / 1e9) }
        if number >= 1e6 { return String(format: "%.1fM", number / 1e6) }
        if number >= 1e3 { return String(format: "%.1fk", number / 1e3) }
        return String(value)
    }

    /// The lower-case name of a job state.
    static func state(_ state: JobState) -> String {
        switch state {
        case .unspecified: "unknown"
        case .queued: "queued"
        case .running: "running"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .cancelled: "cancelled"
        }
    }

    /// A model's shape on one line.
    static func architecture(_ a: ModelArchitecture) -> String {
        "vision \(a.visionLayers)x\(a.visionWidth) patch \(a.patchSize) on \(a.imageSize)px, "
            + "text \(a.textLayers)x\(a.textWidth), projection \(a.projectionDim)"
    }

    /// The first few values of a vector, for a readable summary.
    static func head(_ values: [Float], count: Int = 4) -> String {
        let shown = values.prefix(count).map { String(format: "%+.4f", $0) }
        return "[" + shown.joined(separator: ", ") + (values.count > count ? ", ...]" : "]")
    }
}

extension JSON {
    /// A job summary as scripts read it.
    static func job(_ job: JobInfo) -> JSON {
        .object([
            ("id", .string(job.id)), ("kind", .string(job.kind)),
            ("state", .string(Format.state(job.state))), ("step", .int(Int64(job.step))),
            ("total", .int(Int64(job.total))), ("created_unix", .double(job.createdUnix)),
            ("message", .string(job.message)), ("params", .raw(job.paramsJSON)),
            ("result", .raw(job.resultJSON)),
        ])
    }

    /// A progress event as scripts read it; loss and learning rate are zero for jobs that do
    /// not train.
    static func event(_ event: JobEvent) -> JSON {
        .object([
            ("job", .string(event.jobID)), ("state", .string(Format.state(event.state))),
            ("step", .int(Int64(event.step))), ("total", .int(Int64(event.total))),
            ("loss", .double(event.loss)), ("learning_rate", .double(event.learningRate)),
            ("rate", .double(event.rate)), ("eta_seconds", .double(event.etaSeconds)),
            ("message", .string(event.message)), ("result", .raw(event.resultJSON)),
        ])
    }

    /// An embedding as `arf embed --json` prints it.
    static func embedding(_ embedding: Embedding) -> JSON {
        let kind: String =
            switch embedding.kind {
            case .image: "image"
            case .text: "text"
            case .unspecified: "unknown"
            }
        return .object([
            ("kind", .string(kind)), ("input", .string(embedding.input)),
            ("embedding", .array(embedding.values.map(JSON.float))),
        ])
    }
}
