// Where the reference data lives and how the tests read it. Tests/Fixtures holds the
// preprocessing folders (preprocessor_config.json, images/, cases.json, expected.safetensors
// with pixel_values, optionally pixel_values_torchvision and decoded_rgb_<i>) and
// image-cases/; scripts/make-image-cases.py writes all but clip-tiny.
// ARF_EXTRA_FIXTURES adds preprocessing folders elsewhere, separated by colons.
import ArfImage
import ArfTensor
import Foundation

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static let imageCases = root.appendingPathComponent("image-cases")

    /// Every folder with a preprocessor_config.json, an images/ folder and a cases.json:
    /// those under Tests/Fixtures and those listed in ARF_EXTRA_FIXTURES.
    static func preprocessingFolders() -> [URL] {
        let manager = FileManager.default
        var candidates = ((try? manager.contentsOfDirectory(atPath: root.path)) ?? [])
            .sorted().map { root.appendingPathComponent($0) }
        let extra = ProcessInfo.processInfo.environment["ARF_EXTRA_FIXTURES"] ?? ""
        candidates += extra.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        return candidates.filter { folder in
            ["preprocessor_config.json", "images", "cases.json"].allSatisfy {
                manager.fileExists(atPath: folder.appendingPathComponent($0).path)
            }
        }
    }

    /// The image file names of a preprocessing folder, in the order of its expected tensors.
    static func imageNames(in folder: URL) throws -> [String] {
        let data = try Data(contentsOf: folder.appendingPathComponent("cases.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return json?["images"] as? [String] ?? []
    }

    static func manifest() throws -> [String: Any] {
        let data = try Data(contentsOf: imageCases.appendingPathComponent("manifest.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func expected(in folder: URL) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: folder.appendingPathComponent("expected.safetensors"))
    }

    /// A stored [H, W, 3] uint8 tensor as an image.
    static func image(_ file: SafeTensorsFile, _ name: String) throws -> RGBImage {
        let (shape, values) = try file.bytes(name)
        return RGBImage(width: shape[1], height: shape[0], pixels: values)
    }
}

/// The largest absolute difference between two byte images of the same size, and how many
/// bytes differ; a size mismatch counts as an infinite difference.
func difference(_ a: RGBImage, _ b: RGBImage) -> (max: Int, count: Int) {
    guard a.width == b.width, a.height == b.height else { return (Int.max, a.pixels.count) }
    var largest = 0
    var count = 0
    for (x, y) in zip(a.pixels, b.pixels) where x != y {
        largest = max(largest, abs(Int(x) - Int(y)))
        count += 1
    }
    return (largest, count)
}

/// The largest absolute difference between two float arrays of the same length.
func largestDifference(_ a: [Float], _ b: ArraySlice<Float>) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
