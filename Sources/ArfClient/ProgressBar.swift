// A progress bar for streamed work, drawn on standard error. On a terminal it redraws one line
// in place (step/total, percentage, rate, ETA); otherwise (a log file, a pipe, a CI job) it
// writes a plain line at each tenth of the way and at least every few seconds, so a log shows
// steady progress without a line per event. Messages go on lines of their own above the bar.
import Foundation

/// Draws the progress of one job or stream.
final class ProgressBar {
    private let console: Console
    private let title: String
    private let unit: String
    private let width = 28
    /// Seconds between plain lines when nothing else calls for one.
    private let plainInterval = 5.0
    private var drawn = false
    private var lastTenth = -1
    private var lastLine = Date.distantPast
    private var lastStep: UInt64?

    init(console: Console, title: String, unit: String) {
        self.console = console
        self.title = title
        self.unit = unit
    }

    /// Shows the latest step; `rate` is in units per second, `eta` in seconds (0: unknown),
    /// `detail` is appended (a training loss, say).
    func update(step: UInt64, total: UInt64, rate: Double, eta: Double, detail: String = "") {
        // Before a job has counted its work there is nothing to draw.
        if total == 0 && step == 0 { return }
        let status =
            Self.status(step: step, total: total, rate: rate, eta: eta, unit: unit)
            + (detail.isEmpty ? "" : " " + detail)
        if console.errorIsTerminal {
            let fraction = total > 0 ? min(1, Double(step) / Double(total)) : 0
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar =
                String(repeating: "=", count: filled)
                + (filled < width ? ">" + String(repeating: " ", count: width - filled - 1) : "")
            console.error("\r\u{1B}[2K\(title) [\(bar)] \(status)")
            drawn = true
            return
        }
        let tenth = total > 0 ? Int(Double(step) * 10 / Double(total)) : 0
        let due = Date().timeIntervalSince(lastLine) >= plainInterval && step != lastStep
        guard tenth != lastTenth || due else { return }
        lastTenth = tenth
        lastLine = Date()
        lastStep = step
        console.note("\(title): \(status)")
    }

    /// Writes a message on a line of its own, keeping the bar below it.
    func message(_ text: String) {
        clear()
        console.note(text)
    }

    /// Removes the bar from a terminal line before normal output resumes.
    func finish() { clear() }

    private func clear() {
        if drawn {
            console.error("\r\u{1B}[2K")
            drawn = false
        }
    }

    /// "120/400 30% 85.2 img/s ETA 3s", leaving out what is not known yet.
    static func status(step: UInt64, total: UInt64, rate: Double, eta: Double, unit: String)
        -> String
    {
        var parts = [total > 0 ? "\(step)/\(total)" : "\(step)"]
        if total > 0 {
            parts.append(String(format: "%3.0f%%", min(100, Double(step) * 100 / Double(total))))
        }
        if rate > 0 { parts.append(String(format: "%.1f %@/s", rate, unit)) }
        if eta > 0, step < total { parts.append("ETA \(Format.duration(eta))") }
        return parts.joined(separator: " ")
    }
}
