// Finding the reference checkpoints the parity tests run over: every folder under
// Tests/Fixtures that holds a config.json, plus the folders listed, colon-separated, in
// ARF_EXTRA_FIXTURES. Each folder's own config.json decides the architecture.
import ArfTensor
import Foundation

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Checkpoint folders with reference outputs.
    static var checkpoints: [URL] {
        let fm = FileManager.default
        var folders = ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
            .map { root.appendingPathComponent($0) }
        if let extra = ProcessInfo.processInfo.environment["ARF_EXTRA_FIXTURES"] {
            folders += extra.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        return folders.filter {
            fm.fileExists(atPath: $0.appendingPathComponent("config.json").path)
                && fm.fileExists(atPath: $0.appendingPathComponent("expected.safetensors").path)
        }
    }

    /// The parsed cases.json of a fixture folder.
    static func cases(_ folder: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("cases.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func inputIDs(_ folder: URL) throws -> [[Int32]] {
        let rows = try cases(folder)["input_ids"] as? [[Int]] ?? []
        return rows.map { $0.map(Int32.init) }
    }
}

/// |a - b| / |b| over all elements, and the largest absolute difference with its index.
func relativeError(_ a: [Float], _ b: [Float]) -> (relative: Double, largest: Double, at: Int) {
    precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
    var diff = 0.0, ref = 0.0, largest = 0.0, at = 0
    for k in 0..<a.count {
        let d = Double(a[k]) - Double(b[k])
        diff += d * d
        ref += Double(b[k]) * Double(b[k])
        if abs(d) > largest { (largest, at) = (abs(d), k) }
    }
    return (ref > 0 ? (diff / ref).squareRoot() : diff.squareRoot(), largest, at)
}
