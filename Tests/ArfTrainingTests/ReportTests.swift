// The HTML report: its tables hold the input's numbers, its SVG has one curve per method
// with one vertex per WiSE-FT point, it uses no outside assets, and, when chromium is
// installed, it renders to a screenshot that is not blank.
//
// To look at the page yourself (repeatable):
//   ARF_KEEP_REPORT=/tmp/arf-report swift test -c release --filter ReportTests
//   chromium --headless --no-sandbox --screenshot=/tmp/r.png --window-size=1200,900 \
//       /tmp/arf-report/report.html
import ArfImage
import ArfTraining
import Foundation
import Testing

/// A report of three methods evaluated on one ID and two OOD sets; values are made up but
/// shaped like WiSE-FT's curves (OOD accuracy peaks at an intermediate alpha).
func sampleReport() -> ReportInput {
    let alphas = [0, 0.25, 0.5, 0.75, 1.0]
    func point(_ alpha: Double, id: Double, ood: [Double]) -> ReportPoint {
        let sets = [("shapes", id), ("shapes-sketch", ood[0]), ("shapes-noisy", ood[1])]
        return ReportPoint(
            alpha: alpha,
            results: sets.map { name, top1 in
                EvaluationResult(
                    dataset: name, model: "m", classes: 10,
                    metrics: ClassificationMetrics(
                        top1: top1, top5: min(1, top1 + 0.2), meanPerClassRecall: top1 - 0.01,
                        examples: 500))
            })
    }
    let zero = point(0, id: 0.612, ood: [0.553, 0.501])
    func curve(_ method: String, finalID: Double, gain: Double, loss: Double) -> ReportSeries {
        ReportSeries(
            method: method,
            points: alphas.map { a in
                if a == 0 { return zero }
                let id = 0.612 + (finalID - 0.612) * (1 - (1 - a) * (1 - a))
                let bump = gain * 4 * a * (1 - a) - loss * a
                return point(a, id: id, ood: [0.553 + bump, 0.501 + bump * 0.8])
            })
    }
    return ReportInput(
        title: "Shapes: robust finetuning", inDistribution: "shapes",
        outOfDistribution: ["shapes-sketch", "shapes-noisy"],
        series: [
            ReportSeries(method: "zeroshot", points: [zero]),
            curve("ft", finalID: 0.874, gain: 0.05, loss: 0.09),
            curve("flyp", finalID: 0.889, gain: 0.06, loss: 0.04),
            curve("arf", finalID: 0.884, gain: 0.07, loss: 0.005),
        ])
}

/// Every match of a regular expression's first capture group.
private func captures(_ pattern: String, in text: String) -> [String] {
    let regex = try! NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators])
    let range = NSRange(text.startIndex..., in: text)
    return regex.matches(in: text, range: range).map {
        String(text[Range($0.range(at: 1), in: text)!])
    }
}

@Suite("Report") struct ReportTests {
    @Test("the page has both tables, one polyline per method and the input's numbers")
    func structure() throws {
        let input = sampleReport()
        let html = Report.html(input)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(
            html.contains("<table class=\"summary\">") && html.contains("<table class=\"metrics\">")
        )
        #expect(captures("(<svg)", in: html).count == 1)

        // One polyline per method, with one vertex per point (drawing order may differ).
        let methods = captures("<polyline data-method=\"([^\"]*)\"", in: html)
        let vertices = captures("<polyline[^>]* points=\"([^\"]*)\"", in: html)
            .map { $0.split(separator: " ").count }
        #expect(methods.count == input.series.count)
        let drawn = Dictionary(zip(methods, vertices), uniquingKeysWith: { a, _ in a })
        let given = Dictionary(
            uniqueKeysWithValues: input.series.map { ($0.method, $0.points.count) })
        #expect(drawn == given)

        // Summary rows: method, alpha, ID, each OOD set, their mean, as percentages.
        let summary = captures("<table class=\"summary\">(.*?)</table>", in: html)[0]
        let rows = captures("<tr[^>]*>(.*?)</tr>", in: summary).dropFirst()
        var expected: [[String]] = []
        for series in input.series {
            for point in series.points {
                let values = [
                    point.top1("shapes")!, point.top1("shapes-sketch")!,
                    point.top1("shapes-noisy")!, input.averageOOD(point)!,
                ]
                expected.append(
                    [series.method, String(format: "%.2f", point.alpha)]
                        + values.map { String(format: "%.2f", $0 * 100) })
            }
        }
        let found = rows.map { captures("<td[^>]*>(.*?)</td>", in: $0) }
        #expect(found == expected)

        // Every metric of every result appears in the metrics table.
        let metrics = captures("<table class=\"metrics\">(.*?)</table>", in: html)[0]
        let cells = Set(captures("<td[^>]*>(.*?)</td>", in: metrics))
        for result in input.series.flatMap(\.points).flatMap(\.results) {
            let m = result.metrics
            for value in [m.top1, m.top5!, m.meanPerClassRecall] {
                #expect(cells.contains(String(format: "%.2f", value * 100)))
            }
        }
    }

    @Test("the page is self-contained and escapes names")
    func selfContained() {
        var input = sampleReport()
        input.series[1].method = "ft <lr=3e-5> & \"wd\""
        let html = Report.html(input)
        #expect(!html.contains("<script") && !html.contains("<link") && !html.contains("src="))
        #expect(!html.contains("url("))
        let outside = captures("(https?://[^\"\\s]*)", in: html)
        #expect(outside == ["http://www.w3.org/2000/svg"], "\(outside)")
        #expect(html.contains("ft &lt;lr=3e-5&gt; &amp; &quot;wd&quot;"))
        #expect(!html.contains("<lr="))
    }

    @Test("chromium renders the page to a screenshot that is not blank")
    func rendersInChromium() throws {
        let candidates = [
            "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
        ]
        guard
            let chromium = candidates.first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            print("skipped: chromium is not installed (apt-get install -y chromium)")
            return
        }
        let keep = ProcessInfo.processInfo.environment["ARF_KEEP_REPORT"]
        try withTemporaryFolder { folder in
            let target = keep.map { URL(fileURLWithPath: $0) } ?? folder
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            let page = target.appendingPathComponent("report.html")
            let shot = target.appendingPathComponent("report.png")
            try Data(Report.html(sampleReport()).utf8).write(to: page)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: chromium)
            process.arguments = [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--screenshot=\(shot.path)", "--window-size=1200,900", page.path,
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "chromium exited \(process.terminationStatus)")

            let image = try ImageCodec.decode(file: shot)
            #expect(image.width == 1200 && image.height == 900)
            // Not blank: a real share of non-white pixels, and several distinct colours (the
            // curves' palette).
            var inked = 0
            var colours = Set<Int>()
            for i in stride(from: 0, to: image.pixels.count, by: 3) {
                let (r, g, b) = (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
                if Int(r) + Int(g) + Int(b) < 600 { inked += 1 }
                colours.insert(Int(r) << 16 | Int(g) << 8 | Int(b))
            }
            let share = Double(inked) / Double(image.width * image.height)
            #expect(share > 0.02 && colours.count > 20, "inked \(share), colours \(colours.count)")
        }
    }
}
