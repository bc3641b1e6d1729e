// Reading a Hugging Face checkpoint's preprocessor_config.json into an ImagePreprocessor.
// Keys missing from the file take CLIPImageProcessor's class defaults, and sizes given in
// the older forms (a plain integer, a [height, width] list) are read as transformers reads
// them for CLIP: an integer `size` is a shortest edge, an integer `crop_size` a square.
// Every setting that would make the output size depend on the image, or that this module
// cannot reproduce exactly, is an error that names the file and the key.
import Foundation

extension ImagePreprocessor {
    /// Reads `preprocessor_config.json` from a checkpoint directory, to be computed as
    /// `backend` computes it.
    public init(directory: URL, backend: Backend = .pil) throws {
        let url = directory.appendingPathComponent("preprocessor_config.json")
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImageError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ImageError.badConfig(path: path, reason: "not a JSON object")
        }
        try self.init(config: json, path: path, backend: backend)
    }

    /// Builds a preprocessor from the decoded JSON of a preprocessor_config.json.
    init(config json: [String: Any], path: String, backend: Backend = .pil) throws {
        let keys = ConfigReader(json: json, path: path)
        let rule = try keys.flag("do_resize") ? try keys.resizeRule() : nil
        let crop = try keys.flag("do_center_crop") ? try keys.cropSide() : nil

        let side: Int
        if let crop {
            side = crop
        } else if case .fixed(let w, let h) = rule, w == h {
            side = w
        } else {
            throw keys.fail("without a center crop or a square fixed size, the output size varies")
        }

        let code = try keys.number("resample")?.intValue ?? ResampleFilter.bicubic.rawValue
        guard let filter = ResampleFilter(rawValue: code) else {
            throw keys.fail(
                "resample \(code) is not supported "
                    + "(1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)")
        }
        guard backend == .pil || filter == .bicubic || filter == .bilinear else {
            throw keys.fail("resample \(code) is reproduced for the PIL backend only")
        }
        var factor: Double? = nil
        if try keys.flag("do_rescale") {
            factor = try keys.number("rescale_factor")?.doubleValue ?? 1.0 / 255.0
        }
        var mean: [Float]? = nil
        var std: [Float]? = nil
        if try keys.flag("do_normalize") {
            mean = try keys.triple("image_mean") ?? Self.clipMean
            let deviations = try keys.triple("image_std") ?? Self.clipStd
            guard deviations.allSatisfy({ $0 != 0 }) else {
                throw keys.fail("image_std has a zero")
            }
            std = deviations
        }
        self.init(
            resize: rule, crop: crop, resample: filter, rescaleFactor: factor, mean: mean,
            std: std, cropSize: side, backend: backend)
    }
}

/// Typed access to the keys of a preprocessor configuration, with errors naming the file.
private struct ConfigReader {
    let json: [String: Any]
    let path: String

    func fail(_ reason: String) -> ImageError { .badConfig(path: path, reason: reason) }

    /// The value of `key`, treating JSON null as absent.
    func value(_ key: String) -> Any? {
        guard let value = json[key], !(value is NSNull) else { return nil }
        return value
    }

    func flag(_ key: String) throws -> Bool {
        guard let value = value(key) else { return true }
        guard let number = value as? NSNumber else { throw fail("\(key) is not a boolean") }
        return number.boolValue
    }

    func number(_ key: String) throws -> NSNumber? {
        guard let value = value(key) else { return nil }
        guard let number = value as? NSNumber else { throw fail("\(key) is not a number") }
        return number
    }

    func positive(_ value: Any, _ name: String) throws -> Int {
        guard let number = value as? NSNumber, number.doubleValue.rounded() == number.doubleValue,
            number.intValue > 0
        else { throw fail("\(name) \(value) is not a positive integer") }
        return number.intValue
    }

    /// Three per-channel values; a single number stands for all three.
    func triple(_ key: String) throws -> [Float]? {
        guard let value = value(key) else { return nil }
        if let number = value as? NSNumber { return Array(repeating: number.floatValue, count: 3) }
        guard let list = value as? [NSNumber], list.count == 3 else {
            throw fail("\(key) must be a number or three numbers, not \(value)")
        }
        return list.map { Float($0.doubleValue) }
    }

    /// `size`: shortest_edge (and longest_edge), height and width, an integer or [h, w].
    func resizeRule() throws -> ImagePreprocessor.ResizeRule {
        let size = value("size") ?? ["shortest_edge": 224]
        if let dict = size as? [String: Any] {
            let entries = dict.filter { !($0.value is NSNull) }
            if let shortest = entries["shortest_edge"] {
                let longest = try entries["longest_edge"].map { try positive($0, "longest_edge") }
                return .shortestEdge(try positive(shortest, "shortest_edge"), longest: longest)
            }
            if let h = entries["height"], let w = entries["width"] {
                return .fixed(
                    width: try positive(w, "size.width"), height: try positive(h, "size.height"))
            }
            throw fail(
                "size with keys \(entries.keys.sorted()) is not supported: "
                    + "use shortest_edge, or height and width")
        }
        if let list = size as? [Any], list.count == 2 {
            return .fixed(
                width: try positive(list[1], "size[1]"), height: try positive(list[0], "size[0]"))
        }
        return .shortestEdge(try positive(size, "size"), longest: nil)
    }

    /// `crop_size`: height and width, an integer or [h, w]; it must be square.
    func cropSide() throws -> Int {
        let crop = value("crop_size") ?? ["height": 224, "width": 224]
        let h: Int
        let w: Int
        if let dict = crop as? [String: Any], let height = dict["height"], let width = dict["width"]
        {
            h = try positive(height, "crop_size.height")
            w = try positive(width, "crop_size.width")
        } else if let list = crop as? [Any], list.count == 2 {
            h = try positive(list[0], "crop_size[0]")
            w = try positive(list[1], "crop_size[1]")
        } else {
            h = try positive(crop, "crop_size")
            w = h
        }
        guard h == w else { throw fail("crop_size \(h) x \(w) is not square") }
        return h
    }
}
