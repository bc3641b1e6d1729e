// Small generated datasets for the dataset, caption and plugin tests: PNG files whose pixels
// depend on a seed, image folders with named classes, pair lists, and a way to run a job
// through the real client and read its result.
import ArfImage
import ArfWire
import Foundation
import Testing

/// Writes a `side` x `side` PNG whose pixels are a pattern chosen by `seed`.
func writePNG(_ path: String, seed: Int, side: Int = 24) throws {
    var pixels = [UInt8](repeating: 0, count: side * side * 3)
    for y in 0..<side {
        for x in 0..<side {
            let offset = (y * side + x) * 3
            pixels[offset] = UInt8(truncatingIfNeeded: x * (seed % 7 + 1) * 9 + seed * 37)
            pixels[offset + 1] = UInt8(truncatingIfNeeded: y * (seed % 5 + 2) * 7 + seed * 11)
            pixels[offset + 2] = UInt8(truncatingIfNeeded: (x ^ y) * (seed % 3 + 1) * 13 + seed)
        }
    }
    let folder = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let png = try ImageCodec.encodePNG(RGBImage(width: side, height: side, pixels: pixels))
    try png.write(to: URL(fileURLWithPath: path))
}

/// An image folder `parent/name` with `count` images in each class folder; returns its path.
func classFolder(_ parent: String, name: String = "train", classes: [(String, Int)]) throws
    -> String
{
    let root = parent + "/" + name
    var seed = 0
    for (label, count) in classes {
        for index in 0..<count {
            try writePNG("\(root)/\(label)/\(label)-\(index).png", seed: seed)
            seed += 1
        }
    }
    return root
}

/// A TSV pair list at `parent/name/pairs.tsv` over `captions.count` new images in
/// `parent/name/images`; returns the list's path.
func pairList(_ parent: String, name: String = "pool", captions: [String], seedOffset: Int = 500)
    throws -> String
{
    let folder = parent + "/" + name
    var text = "filepath\tcaption\n"
    for (index, caption) in captions.enumerated() {
        try writePNG("\(folder)/images/\(index).png", seed: seedOffset + index)
        text += "images/\(index).png\t\(caption)\n"
    }
    let path = folder + "/pairs.tsv"
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}

/// Writes a text file, creating its folder.
func writeText(_ text: String, to path: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// The one JSON object a `--json` command printed.
func jsonObject(_ result: CLIResult) throws -> [String: Any] {
    let data = Data(result.output.utf8)
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw HarnessError("not a JSON object: \(result)")
    }
    return object
}

/// The one JSON array a `--json` command printed.
func jsonArray(_ result: CLIResult) throws -> [[String: Any]] {
    let data = Data(result.output.utf8)
    guard let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
        throw HarnessError("not a JSON array: \(result)")
    }
    return array
}

/// Submits a job over the wire, waits for its end, and returns the final event.
func runJob(_ daemon: DaemonProcess, kind: String, params: String, timeout: Double = 90) throws
    -> JobEvent
{
    let client = try daemon.client()
    defer { client.close() }
    let job = try client.call(
        Methods.submitJob, SubmitJobRequest(kind: kind, paramsJSON: params)
    ).job
    return try watchJob(client, job.id, timeout: timeout)
}

/// A job's result JSON as a dictionary.
func result(_ event: JobEvent) throws -> [String: Any] {
    guard
        let object = try JSONSerialization.jsonObject(with: Data(event.resultJSON.utf8))
            as? [String: Any]
    else { throw HarnessError("no result in \(event)") }
    return object
}
