// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
// header mapping each tensor name to its dtype, shape and byte range, then the raw data.
// F32, F16 and BF16 tensors are read into float32; every tensor is written as F32. Integer
// dtypes are read too (as floats) because reference files store ids and masks that way.
import Foundation

/// What went wrong reading or writing a safetensors file.
public enum SafeTensorsError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformedHeader(path: String, reason: String)
    case unsupportedType(path: String, tensor: String, dtype: String)
    case outOfBounds(path: String, tensor: String, range: [Int], fileSize: Int)
    case missingTensor(path: String, tensor: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read \(path): \(reason)"
        case .malformedHeader(let path, let reason):
            "\(path) is not a safetensors file: \(reason)"
        case .unsupportedType(let path, let tensor, let dtype):
            "\(path): tensor \(tensor) has dtype \(dtype); F32, F16, BF16 and integers are read"
        case .outOfBounds(let path, let tensor, let range, let fileSize):
            "\(path): tensor \(tensor) claims bytes \(range) but the file has \(fileSize)"
        case .missingTensor(let path, let tensor):
            "\(path) has no tensor \(tensor)"
        }
    }
}

/// One tensor's entry in a safetensors header.
public struct SafeTensorsEntry: Sendable {
    public let name: String
    public let dtype: String
    public let shape: [Int]
    let begin: Int
    let end: Int
}

/// A safetensors file opened for reading; tensor data is memory-mapped and converted on demand.
public struct SafeTensorsFile {
    public let path: String
    public let entries: [String: SafeTensorsEntry]
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    /// Opens and validates the header of the file at `url`.
    public init(url: URL) throws {
        path = url.path
        do {
            bytes = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError.unreadable(
                path: url.path, reason: "\(error.localizedDescription)")
        }
        guard bytes.count >= 8 else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "shorter than 8 bytes")
        }
        let headerLength = bytes.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafeTensorsError.malformedHeader(
                path: path, reason: "header length \(headerLength) exceeds the file")
        }
        dataStart = 8 + Int(headerLength)
        let header = bytes.subdata(in: 8..<dataStart)
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw SafeTensorsError.malformedHeader(
                path: path, reason: "header is not a JSON object")
        }

        var entries: [String: SafeTensorsEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                for (key, item) in value as? [String: Any] ?? [:] { metadata[key] = "\(item)" }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int],
                offsets.count == 2
            else {
                throw SafeTensorsError.malformedHeader(path: path, reason: "bad entry for \(name)")
            }
            // Extents come from the file: each must be non-negative and their product must
            // not overflow before it is compared with the byte range.
            var elements = 1
            for extent in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
                guard extent >= 0, !overflow else {
                    throw SafeTensorsError.malformedHeader(
                        path: path, reason: "tensor \(name) has an invalid shape \(shape)")
                }
                elements = product
            }
            // A dtype arf does not read is only refused when that tensor is asked for.
            let width = Self.byteWidth(dtype) ?? 0
            let (size, sizeOverflow) = elements.multipliedReportingOverflow(by: width)
            if width > 0, sizeOverflow || offsets[1] - offsets[0] != size {
                throw SafeTensorsError.malformedHeader(
                    path: path,
                    reason: "tensor \(name) \(dtype) \(shape) does not fill bytes "
                        + "\(offsets[0])..<\(offsets[1])")
            }
            let dataSize = bytes.count - dataStart
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw SafeTensorsError.outOfBounds(
                    path: path, tensor: name, range: offsets, fileSize: dataSize)
            }
            entries[name] = SafeTensorsEntry(
                name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
        self.entries = entries
        self.metadata = metadata
    }

    /// The names of all tensors, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads one tensor as float32.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else {
            throw SafeTensorsError.missingTensor(path: path, tensor: name)
        }
        let count = entry.shape.reduce(1, *)
        guard let width = Self.byteWidth(entry.dtype) else {
            throw SafeTensorsError.unsupportedType(path: path, tensor: name, dtype: entry.dtype)
        }
        guard entry.end - entry.begin == count * width else {
            throw SafeTensorsError.outOfBounds(
                path: path, tensor: name, range: [entry.begin, entry.end], fileSize: count * width)
        }
        let result = Tensor(zeros: entry.shape)
        let out = result.data
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            // Data in a safetensors file need not be aligned for its type: load unaligned.
            let base = raw.baseAddress! + dataStart + entry.begin
            switch entry.dtype {
            case "F32":
                for i in 0..<count {
                    out[i] = Float(
                        bitPattern: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                }
            case "F16":
                for i in 0..<count {
                    let bits = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    out[i] = Float(Float16(bitPattern: bits))
                }
            case "BF16":
                for i in 0..<count {
                    let bits = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    out[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            case "F64":
                for i in 0..<count {
                    out[i] = Float(base.loadUnaligned(fromByteOffset: 8 * i, as: Double.self))
                }
            case "I64":
                for i in 0..<count {
                    out[i] = Float(base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                }
            case "I32":
                for i in 0..<count {
                    out[i] = Float(base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                }
            case "U8":
                for i in 0..<count { out[i] = Float(base.load(fromByteOffset: i, as: UInt8.self)) }
            default:
                break
            }
        }
        return result
    }

    /// Reads a U8 tensor's raw bytes (decoded images are stored that way).
    public func bytes(_ name: String) throws -> (shape: [Int], values: [UInt8]) {
        guard let entry = entries[name] else {
            throw SafeTensorsError.missingTensor(path: path, tensor: name)
        }
        let start = dataStart + entry.begin
        return (entry.shape, [UInt8](bytes[start..<(dataStart + entry.end)]))
    }

    static func byteWidth(_ dtype: String) -> Int? {
        switch dtype {
        case "F32", "I32": 4
        case "F16", "BF16": 2
        case "F64", "I64": 8
        case "U8": 1
        default: nil
        }
    }

    /// Writes `tensors` as F32 in the layout transformers reads, with optional metadata.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = ["format": "pt"],
        to url: URL
    ) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            let size = tensor.count * 4
            header[name] = [
                "dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size],
            ]
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // The data section starts 8-byte aligned; the header is padded with spaces to get there.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }

        var file = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { file.append(contentsOf: $0) }
        file.append(json)
        for (_, tensor) in tensors {
            file.append(UnsafeBufferPointer(start: tensor.data, count: tensor.count))
        }
        do {
            try file.write(to: url, options: .atomic)
        } catch {
            throw SafeTensorsError.unreadable(
                path: url.path, reason: "\(error.localizedDescription)")
        }
    }
}
