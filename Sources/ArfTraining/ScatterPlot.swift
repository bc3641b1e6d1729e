// The effective-robustness scatter as inline SVG: in-distribution top-1 on x, average
// out-of-distribution top-1 on y, one polyline per method through its WiSE-FT points in
// order of alpha, a marker per point (larger at alpha 1, a star for a lone point such as
// zero-shot's, drawn on top), gridlines at round tick values, labelled axes and a legend to
// the right. Axes span the data with a margin, so small differences stay visible.
import Foundation

/// Draws a report's points.
struct ScatterPlot {
    let input: ReportInput

    // Canvas layout, in SVG units.
    let width = 900.0, height = 560.0
    let left = 78.0, top = 24.0, plotWidth = 560.0, plotHeight = 460.0

    static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
        "#17becf", "#7f7f7f", "#bcbd22",
    ]

    /// A point in percent, with its weight.
    struct Mark {
        var alpha: Double
        var x: Double
        var y: Double
    }

    /// Each series' drawable points, sorted by alpha.
    var marks: [[Mark]] {
        input.series.map { series in
            series.points.sorted { $0.alpha < $1.alpha }.compactMap { point in
                guard let x = point.top1(input.inDistribution), let y = input.averageOOD(point)
                else { return nil }
                return Mark(alpha: point.alpha, x: x * 100, y: y * 100)
            }
        }
    }

    func svg() -> String {
        let all = marks.flatMap { $0 }
        let xAxis = Axis(values: all.map(\.x))
        let yAxis = Axis(values: all.map(\.y))
        let sx = { (x: Double) in left + (x - xAxis.low) / (xAxis.high - xAxis.low) * plotWidth }
        let sy = { (y: Double) in
            top + plotHeight - (y - yAxis.low) / (yAxis.high - yAxis.low) * plotHeight
        }
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" "
            + "height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
            + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
        s +=
            "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "fill=\"white\"/>\n"

        // Gridlines and tick labels.
        for t in xAxis.ticks {
            let x = f(sx(t))
            s +=
                "<line class=\"grid\" x1=\"\(x)\" y1=\"\(f(top))\" x2=\"\(x)\" "
                + "y2=\"\(f(top + plotHeight))\" stroke=\"#e4e4e4\"/>\n"
            s +=
                "<text x=\"\(x)\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\" "
                + "fill=\"#444\">\(xAxis.label(t))</text>\n"
        }
        for t in yAxis.ticks {
            let y = f(sy(t))
            s +=
                "<line class=\"grid\" x1=\"\(f(left))\" y1=\"\(y)\" x2=\"\(f(left + plotWidth))\" "
                + "y2=\"\(y)\" stroke=\"#e4e4e4\"/>\n"
            s +=
                "<text x=\"\(f(left - 8))\" y=\"\(f(sy(t) + 4))\" text-anchor=\"end\" "
                + "fill=\"#444\">\(yAxis.label(t))</text>\n"
        }
        s +=
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" "
            + "height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#888\"/>\n"

        // Axis titles.
        let xTitle = "In-distribution top-1 accuracy (%), \(input.inDistribution)"
        let yTitle = "Average OOD top-1 accuracy (%), \(input.outOfDistribution.count) sets"
        s +=
            "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 46))\" "
            + "text-anchor=\"middle\" font-size=\"14\">\(Report.escape(xTitle))</text>\n"
        let cy = top + plotHeight / 2
        s +=
            "<text x=\"\(f(22))\" y=\"\(f(cy))\" text-anchor=\"middle\" font-size=\"14\" "
            + "transform=\"rotate(-90 22 \(f(cy)))\">\(Report.escape(yTitle))</text>\n"

        // One curve per method with its markers; lone points (zero-shot) last, on top.
        let drawn = zip(input.series, marks).enumerated().sorted {
            ($0.element.1.count == 1 ? 1 : 0, $0.offset) < (
                $1.element.1.count == 1 ? 1 : 0, $1.offset
            )
        }
        for (index, (series, points)) in drawn {
            let color = Self.palette[index % Self.palette.count]
            let method = Report.escape(series.method)
            let coordinates = points.map { "\(f(sx($0.x))),\(f(sy($0.y)))" }.joined(separator: " ")
            s +=
                "<polyline data-method=\"\(method)\" points=\"\(coordinates)\" fill=\"none\" "
                + "stroke=\"\(color)\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n"
            for mark in points {
                let (x, y) = (sx(mark.x), sy(mark.y))
                let tip =
                    "<title>\(method), alpha \(Report.alphaText(mark.alpha)): "
                    + "ID \(String(format: "%.2f", mark.x)), OOD \(String(format: "%.2f", mark.y))"
                    + "</title>"
                if points.count == 1 {
                    s +=
                        "<path d=\"\(star(x, y, 11))\" fill=\"\(color)\" stroke=\"white\">"
                        + "\(tip)</path>\n"
                } else {
                    let r = mark.alpha == 1 ? 6.5 : 4
                    s +=
                        "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"\(color)\" "
                        + "stroke=\"white\" stroke-width=\"1.2\">\(tip)</circle>\n"
                }
            }
        }
        s += legend()
        return s + "</svg>"
    }

    func legend() -> String {
        let x = left + plotWidth + 24
        var s = "<g class=\"legend\">\n"
        s += "<text x=\"\(f(x))\" y=\"\(f(top + 12))\" font-weight=\"bold\">Method</text>\n"
        for (index, series) in input.series.enumerated() {
            let y = top + 36 + Double(index) * 24
            let color = Self.palette[index % Self.palette.count]
            if series.points.count == 1 {
                s += "<path d=\"\(star(x + 13, y, 8))\" fill=\"\(color)\"/>\n"
            } else {
                s +=
                    "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 26))\" y2=\"\(f(y))\" "
                    + "stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                s += "<circle cx=\"\(f(x + 13))\" cy=\"\(f(y))\" r=\"4\" fill=\"\(color)\"/>\n"
            }
            let name = Report.escape(series.method)
            s += "<text x=\"\(f(x + 34))\" y=\"\(f(y + 4))\">\(name)</text>\n"
        }
        let noteY = top + 48 + Double(input.series.count) * 24
        s +=
            "<text x=\"\(f(x))\" y=\"\(f(noteY))\" fill=\"#666\" font-size=\"12\">"
            + "points: &#945; = 0 &#8230; 1</text>\n"
        s +=
            "<text x=\"\(f(x))\" y=\"\(f(noteY + 16))\" fill=\"#666\" font-size=\"12\">"
            + "large marker: &#945; = 1</text>\n"
        return s + "</g>\n"
    }

    /// A five-pointed star's path centred on (x, y).
    func star(_ x: Double, _ y: Double, _ r: Double) -> String {
        var d = ""
        for k in 0..<10 {
            let radius = k % 2 == 0 ? r : r * 0.45
            let angle = -Double.pi / 2 + Double(k) * Double.pi / 5
            d +=
                (k == 0 ? "M" : "L") + "\(f(x + radius * cos(angle))),\(f(y + radius * sin(angle)))"
        }
        return d + "Z"
    }

    func f(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// An axis range around some values, with round ticks inside it.
struct Axis {
    let low: Double, high: Double, step: Double

    init(values: [Double]) {
        var lo = values.min() ?? 0
        var hi = values.max() ?? 100
        if hi - lo < 1 {
            lo -= 0.5
            hi += 0.5
        }
        let margin = (hi - lo) * 0.08
        lo -= margin
        hi += margin
        // The step of 1, 2 or 5 times a power of ten that gives closest to six ticks.
        let span = hi - lo
        let power = Foundation.pow(10, Foundation.floor(Foundation.log10(span / 6)))
        step = [1.0, 2, 5, 10].map { $0 * power }.min {
            abs(span / $0 - 6) < abs(span / $1 - 6)
        }!
        low = lo
        high = hi
    }

    var ticks: [Double] {
        var t = (low / step).rounded(.up) * step
        var out: [Double] = []
        while t <= high + 1e-9 {
            out.append(t)
            t += step
        }
        return out
    }

    /// As many decimals as the step needs.
    func label(_ value: Double) -> String {
        let decimals = Swift.max(0, Int(-Foundation.floor(Foundation.log10(step) + 1e-9)))
        return String(format: "%.\(decimals)f", value)
    }
}
