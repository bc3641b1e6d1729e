// The results page: one self-contained HTML file (inline CSS and SVG, no scripts, fonts or
// other outside assets) with a summary table of top-1 accuracy per method, interpolation
// weight and evaluation set, a table of every metric, and a scatter of in-distribution
// against average out-of-distribution accuracy with one WiSE-FT curve per method (see
// ScatterPlot.swift). Accuracies are shown as percentages with two decimals.
import Foundation

/// One evaluated model: a method's checkpoint at one WiSE-FT weight, on every dataset.
public struct ReportPoint: Codable, Equatable, Sendable {
    /// The interpolation weight: 0 is the zero-shot model, 1 the finetuned one.
    public var alpha: Double
    public var results: [EvaluationResult]

    public init(alpha: Double, results: [EvaluationResult]) {
        self.alpha = alpha
        self.results = results
    }

    /// Top-1 accuracy on `dataset`, if evaluated.
    public func top1(_ dataset: String) -> Double? {
        results.first { $0.dataset == dataset }?.metrics.top1
    }
}

/// A method's points, drawn as one curve.
public struct ReportSeries: Codable, Equatable, Sendable {
    public var method: String
    public var points: [ReportPoint]

    public init(method: String, points: [ReportPoint]) {
        self.method = method
        self.points = points
    }
}

/// What the page shows.
public struct ReportInput: Codable, Equatable, Sendable {
    public var title: String
    /// The dataset the methods were finetuned on (the x axis).
    public var inDistribution: String
    /// The shifted datasets whose mean top-1 is the y axis.
    public var outOfDistribution: [String]
    public var series: [ReportSeries]

    public init(
        title: String, inDistribution: String, outOfDistribution: [String],
        series: [ReportSeries]
    ) {
        self.title = title
        self.inDistribution = inDistribution
        self.outOfDistribution = outOfDistribution
        self.series = series
    }

    /// The mean top-1 over the out-of-distribution sets a point was evaluated on.
    public func averageOOD(_ point: ReportPoint) -> Double? {
        let values = outOfDistribution.compactMap { point.top1($0) }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}

/// Renders results as an HTML page.
public enum Report {
    /// The whole page.
    public static func html(_ input: ReportInput) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(escape(input.title))</title>
        <style>
        \(style)
        </style>
        </head>
        <body>
        <h1>\(escape(input.title))</h1>
        <p class="lede">Finetuned on <b>\(escape(input.inDistribution))</b>; out-of-distribution \
        sets: \(escape(input.outOfDistribution.joined(separator: ", "))). Curves join WiSE-FT \
        interpolations from the zero-shot model (&alpha; = 0) to the finetuned one \
        (&alpha; = 1, the larger marker).</p>
        <figure>
        \(ScatterPlot(input: input).svg())
        </figure>
        <h2>Top-1 accuracy (%)</h2>
        \(summaryTable(input))
        <h2>All metrics (%)</h2>
        \(metricsTable(input))
        </body>
        </html>

        """
    }

    static let style = """
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px 32px;
               color: #222; max-width: 1100px; }
        h1 { font-size: 22px; margin: 0 0 6px; }
        h2 { font-size: 17px; margin: 28px 0 8px; }
        p.lede { color: #555; font-size: 13px; margin: 0 0 12px; }
        figure { margin: 0; }
        table { border-collapse: collapse; font-size: 13px; }
        th, td { padding: 4px 12px; border-bottom: 1px solid #ddd; }
        th { background: #f3f3f3; text-align: left; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        tr.final td { font-weight: 600; }
        """

    static func summaryTable(_ input: ReportInput) -> String {
        var header = "<tr><th>Method</th><th>&alpha;</th>"
        header += "<th>\(escape(input.inDistribution)) (ID)</th>"
        for name in input.outOfDistribution { header += "<th>\(escape(name))</th>" }
        header += "<th>Avg. OOD</th></tr>"
        var body = ""
        for series in input.series {
            for point in series.points.sorted(by: { $0.alpha < $1.alpha }) {
                body += point.alpha == 1 ? "<tr class=\"final\">" : "<tr>"
                body += "<td>\(escape(series.method))</td>"
                body += "<td class=\"num\">\(alphaText(point.alpha))</td>"
                body += cell(point.top1(input.inDistribution))
                for name in input.outOfDistribution { body += cell(point.top1(name)) }
                body += cell(input.averageOOD(point)) + "</tr>\n"
            }
        }
        return table("summary", header: header, body: body)
    }

    static func metricsTable(_ input: ReportInput) -> String {
        let header =
            "<tr><th>Method</th><th>&alpha;</th><th>Dataset</th><th>Top-1</th>"
            + "<th>Top-5</th><th>Mean per-class recall</th><th>Examples</th></tr>"
        var body = ""
        for series in input.series {
            for point in series.points.sorted(by: { $0.alpha < $1.alpha }) {
                for result in point.results {
                    let m = result.metrics
                    body +=
                        "<tr><td>\(escape(series.method))</td>"
                        + "<td class=\"num\">\(alphaText(point.alpha))</td>"
                        + "<td>\(escape(result.dataset))</td>" + cell(m.top1) + cell(m.top5)
                        + cell(m.meanPerClassRecall) + "<td class=\"num\">\(m.examples)</td></tr>\n"
                }
            }
        }
        return table("metrics", header: header, body: body)
    }

    static func table(_ kind: String, header: String, body: String) -> String {
        "<table class=\"\(kind)\">\n<thead>\(header)</thead>\n<tbody>\n\(body)</tbody>\n</table>"
    }

    /// A table cell with a fraction shown as a percentage, or a dash.
    static func cell(_ fraction: Double?) -> String {
        "<td class=\"num\">\(fraction.map { percent($0) } ?? "&ndash;")</td>"
    }

    static func percent(_ fraction: Double) -> String { String(format: "%.2f", fraction * 100) }

    static func alphaText(_ alpha: Double) -> String {
        String(format: "%.2f", alpha)
    }

    /// Text safe inside HTML elements and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
