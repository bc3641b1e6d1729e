// Checkpoint handling with the clip-tiny fixture: saving and loading back, the errors that
// name a renamed, missing or reshaped tensor and a missing file, garbage in place of the
// weights, and F16 and BF16 files written byte by byte here. Whether transformers reads a
// saved checkpoint is checked outside the suite, by scripts/check-saved-checkpoint.py.
import ArfCLIP
import ArfTensor
import Foundation
import Testing

/// The fixture's folder and tensors, read once and never modified.
private let fixture = Fixtures.root.appendingPathComponent("clip-tiny")
private let fixtureTensors: [(name: String, tensor: Tensor)] = {
    let file = try! SafeTensorsFile(url: fixture.appendingPathComponent("model.safetensors"))
    return file.names.map { ($0, try! file.tensor($0)) }
}()

/// Runs `body` with a new empty folder that is removed afterwards.
private func withTemporaryFolder(_ body: (URL) throws -> Void) throws {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("arf-checkpoint-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try body(folder)
}

/// Writes the fixture's config.json and the given tensors as a checkpoint in `folder`.
private func writeCheckpoint(_ tensors: [(name: String, tensor: Tensor)], to folder: URL) throws {
    try FileManager.default.copyItem(
        at: fixture.appendingPathComponent("config.json"),
        to: folder.appendingPathComponent("config.json"))
    try SafeTensorsFile.write(tensors, to: folder.appendingPathComponent("model.safetensors"))
}

/// One tensor of a hand-written safetensors file: its dtype, shape and raw little-endian data.
private struct RawTensor {
    let name, dtype: String
    let shape: [Int]
    let bytes: [UInt8]
}

/// A safetensors file built by hand: an 8-byte little-endian header length, the JSON header,
/// then the data. The header is not padded, so data offsets are generally unaligned.
private func safeTensorsBytes(_ tensors: [RawTensor]) -> Data {
    var header: [String] = []
    var offset = 0
    for t in tensors {
        let shape = t.shape.map(String.init).joined(separator: ",")
        header.append(#""\#(t.name)":{"dtype":"\#(t.dtype)","shape":[\#(shape)],"#
            + #""data_offsets":[\#(offset),\#(offset + t.bytes.count)]}"#)
        offset += t.bytes.count
    }
    let json = Data(("{" + header.joined(separator: ",") + "}").utf8)
    var file = Data((0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) })
    file.append(json)
    for t in tensors { file.append(contentsOf: t.bytes) }
    return file
}

private func bytes(ofHalves words: [UInt16]) -> [UInt8] {
    words.map(\.littleEndian).withUnsafeBytes { Array($0) }
}

private func bytes(ofFloats values: [Float]) -> [UInt8] {
    values.map(\.bitPattern.littleEndian).withUnsafeBytes { Array($0) }
}

/// BF16 by round-to-nearest-even on the float32 bits (no NaNs occur in the fixture).
private func bfloat16Bits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    return UInt16((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16)
}

@Suite("Checkpoints") struct CheckpointTests {
    @Test("saving then loading gives identical tensors and config")
    func saveThenLoadIsIdentity() throws {
        let original = try CLIPModel.load(directory: fixture)
        try withTemporaryFolder { folder in
            try original.save(directory: folder)
            let loaded = try CLIPModel.load(directory: folder)

            #expect(loaded.config == original.config, "the config changed on the way")
            #expect(loaded.parameters.map(\.name) == original.parameters.map(\.name))
            for (a, b) in zip(loaded.parameters, original.parameters) {
                #expect(a.shape == b.shape, "\(a.name): shape \(a.shape) against \(b.shape)")
                #expect(a.value.values == b.value.values, "\(a.name): values changed")
            }
            for (name, tensor) in fixtureTensors {
                let p = loaded.parameters.first { $0.name == name }
                #expect(p?.value.values == tensor.values, "\(name) differs from the fixture")
            }

            // transformers refuses safetensors files that do not say they hold PyTorch data.
            let saved = try SafeTensorsFile(url: folder.appendingPathComponent("model.safetensors"))
            #expect(saved.metadata["format"] == "pt")
            let savedJSON = try Data(contentsOf: folder.appendingPathComponent("config.json"))
            let fixtureJSON = try Data(contentsOf: fixture.appendingPathComponent("config.json"))
            #expect(try JSONValue(parsing: savedJSON) == JSONValue(parsing: fixtureJSON),
                    "config.json changed on the way")
        }
    }

    @Test("buffers that are not weights, such as position_ids, are ignored")
    func positionIdsAreIgnored() throws {
        try withTemporaryFolder { folder in
            let ids = Tensor((0..<77).map(Float.init), shape: [1, 77])
            try writeCheckpoint(
                fixtureTensors + [("text_model.embeddings.position_ids", ids)], to: folder)
            let model = try CLIPModel.load(directory: folder)
            #expect(model.parameters.count == fixtureTensors.count)
        }
    }

    @Test("a renamed tensor is reported as unexpected, by its new name")
    func renamedTensorIsUnexpected() throws {
        let old = "text_model.final_layer_norm.weight", new = "text_model.final_layer_norm.gamma"
        try withTemporaryFolder { folder in
            try writeCheckpoint(fixtureTensors.map { ($0.name == old ? new : $0.name, $0.tensor) },
                                to: folder)
            let error = #expect(throws: CLIPError.self) { try CLIPModel.load(directory: folder) }
            guard case .unexpectedTensor(let name, let shape, _)? = error else {
                Issue.record("expected unexpectedTensor, got \(String(describing: error))")
                return
            }
            #expect(name == new)
            #expect(shape == [64])
            #expect("\(error!)".contains(new), "the message lacks the name: \(error!)")
        }
    }

    @Test("a dropped tensor is reported as missing, with the shape it should have")
    func droppedTensorIsMissing() throws {
        let dropped = "vision_model.encoder.layers.1.mlp.fc1.weight"
        try withTemporaryFolder { folder in
            try writeCheckpoint(fixtureTensors.filter { $0.name != dropped }, to: folder)
            let error = #expect(throws: CLIPError.self) { try CLIPModel.load(directory: folder) }
            guard case .missingTensor(let name, let expectedShape, _)? = error else {
                Issue.record("expected missingTensor, got \(String(describing: error))")
                return
            }
            #expect(name == dropped)
            #expect(expectedShape == [128, 64])
            #expect("\(error!)".contains(dropped), "the message lacks the name: \(error!)")
        }
    }

    @Test("a reshaped tensor is reported with its name and both shapes")
    func reshapedTensorIsAShapeMismatch() throws {
        let reshaped = "visual_projection.weight"
        try withTemporaryFolder { folder in
            let tensors = fixtureTensors.map { entry -> (name: String, tensor: Tensor) in
                guard entry.name == reshaped else { return entry }
                let copy = Tensor(copying: entry.tensor)
                copy.reshape([64, 32])
                return (entry.name, copy)
            }
            try writeCheckpoint(tensors, to: folder)
            let error = #expect(throws: CLIPError.self) { try CLIPModel.load(directory: folder) }
            guard case .shapeMismatch(let name, let expected, let found, _)? = error else {
                Issue.record("expected shapeMismatch, got \(String(describing: error))")
                return
            }
            #expect(name == reshaped)
            #expect(expected == [32, 64])
            #expect(found == [64, 32])
            let message = "\(error!)"
            #expect(message.contains(reshaped) && message.contains("[32, 64]")
                && message.contains("[64, 32]"), "the message lacks a name or shape: \(message)")
        }
    }

    @Test("a failed load leaves the model's weights as they were",
          arguments: ["a misshapen tensor", "an unreadable dtype"])
    func failedLoadChangesNothing(fault: String) throws {
        // A zero model, so that any value copied from the file would show.
        let config = try CLIPConfig(contentsOf: fixture.appendingPathComponent("config.json"))
        let model = CLIPModel(config: config)
        let before = model.parameters.map(\.value.values)

        // Every tensor is fine but the last one the model reads.
        let last = model.parameters.last!.name
        let raw = fixtureTensors.map { entry in
            guard entry.name == last else {
                return RawTensor(name: entry.name, dtype: "F32", shape: entry.tensor.shape,
                                 bytes: bytes(ofFloats: entry.tensor.values))
            }
            return fault == "a misshapen tensor"
                ? RawTensor(name: last, dtype: "F32", shape: [2], bytes: bytes(ofFloats: [1, 2]))
                : RawTensor(name: last, dtype: "I8", shape: [], bytes: [7])
        }
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("model.safetensors")
            try safeTensorsBytes(raw).write(to: url)
            #expect(throws: (any Error).self) {
                try model.loadWeights(from: SafeTensorsFile(url: url))
            }
        }
        let changed = zip(model.parameters, before).filter { $0.0.value.values != $0.1 }
            .map(\.0.name)
        #expect(changed.isEmpty,
                "\(fault): \(changed.count) tensors changed, first \(changed.first ?? "")")
    }

    @Test("a scalar entry with a negative or overflowing shape is an error, not a crash",
          arguments: [[-1, -1], [1 << 32, 1 << 32]])
    func hostileScalarShape(shape: [Int]) async {
        await #expect(processExitsWith: .success, "logit_scale with shape \(shape)") { [shape] in
            let raw = fixtureTensors.map { entry in
                RawTensor(name: entry.name, dtype: "F32",
                          shape: entry.name == "logit_scale" ? shape : entry.tensor.shape,
                          bytes: bytes(ofFloats: entry.tensor.values))
            }
            try? withTemporaryFolder { folder in
                try FileManager.default.copyItem(
                    at: fixture.appendingPathComponent("config.json"),
                    to: folder.appendingPathComponent("config.json"))
                try safeTensorsBytes(raw)
                    .write(to: folder.appendingPathComponent("model.safetensors"))
                _ = try? CLIPModel.load(directory: folder)
            }
        }
    }

    @Test("a missing weights file or config file is a missingFile error naming it",
          arguments: ["model.safetensors", "config.json"])
    func missingFile(file: String) throws {
        try withTemporaryFolder { folder in
            try writeCheckpoint(fixtureTensors, to: folder)
            try FileManager.default.removeItem(at: folder.appendingPathComponent(file))
            let error = #expect(throws: CLIPError.self) { try CLIPModel.load(directory: folder) }
            guard case .missingFile(let path)? = error else {
                Issue.record("expected missingFile, got \(String(describing: error))")
                return
            }
            #expect(path == folder.appendingPathComponent(file).path)
        }
    }

    /// Files that are not safetensors, from empty to almost right.
    static let garbage: [(String, Data)] = {
        let header = #"{"logit_scale":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#
        func withHeader(_ json: String, data: Int) -> Data {
            Data((0..<8).map { UInt8(truncatingIfNeeded: json.utf8.count >> (8 * $0)) })
                + Data(json.utf8) + Data(count: data)
        }
        return [
            ("an empty file", Data()),
            ("five bytes", Data([1, 2, 3, 4, 5])),
            ("pseudo-random bytes",
             Data((0..<4096).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) })),
            ("a huge header length", Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x7B])),
            ("a header that is not JSON", withHeader("{not json at all", data: 4)),
            ("a JSON array for a header", withHeader("[1, 2, 3]", data: 4)),
            ("an entry without a dtype", withHeader(#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#,
                                                    data: 4)),
            ("data shorter than the header says", withHeader(header, data: 2)),
            ("offsets that run backwards",
             withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: 4)),
            ("negative offsets",
             withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: 4)),
        ]
    }()

    @Test("garbage in place of model.safetensors is a SafeTensorsError, not a crash",
          arguments: garbage.indices)
    func garbageWeightsFile(index: Int) throws {
        let (what, bytes) = Self.garbage[index]
        try withTemporaryFolder { folder in
            try FileManager.default.copyItem(
                at: fixture.appendingPathComponent("config.json"),
                to: folder.appendingPathComponent("config.json"))
            try bytes.write(to: folder.appendingPathComponent("model.safetensors"))
            #expect(throws: SafeTensorsError.self, "\(what)") {
                try CLIPModel.load(directory: folder)
            }
        }
    }

    @Test("F16 and BF16 bit patterns convert to the float32 values they stand for")
    func halfPrecisionValuesConvert() throws {
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x3555]
        let f16Values: [Float] = [1, -2, 65504, 0x1p-24, -0.0, .infinity, 0.333251953125]
        let bf16: [UInt16] = [0x3F80, 0xC0A0, 0x4049, 0x0001, 0x7F80, 0xFF7F]
        let bf16Values: [Float] = [1, -5, 3.140625, 0x1p-133, .infinity, -0x1.fep127]
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("half.safetensors")
            // One odd-sized F16 tensor first, so that the others start at odd offsets.
            try safeTensorsBytes([
                RawTensor(name: "odd", dtype: "F16", shape: [1], bytes: bytes(ofHalves: [0x3800])),
                RawTensor(name: "f16", dtype: "F16", shape: [7], bytes: bytes(ofHalves: f16)),
                RawTensor(name: "bf16", dtype: "BF16", shape: [2, 3], bytes: bytes(ofHalves: bf16)),
                RawTensor(name: "f32", dtype: "F32", shape: [2], bytes: bytes(ofFloats: [1.5, -7])),
            ]).write(to: url)
            let file = try SafeTensorsFile(url: url)

            #expect(try file.tensor("odd").values == [0.5])
            let halves = try file.tensor("f16").values
            #expect(halves.map(\.bitPattern) == f16Values.map(\.bitPattern), "F16 gave \(halves)")
            let brains = try file.tensor("bf16")
            #expect(brains.shape == [2, 3])
            #expect(brains.values.map(\.bitPattern) == bf16Values.map(\.bitPattern),
                    "BF16 gave \(brains.values)")
            #expect(try file.tensor("f32").values == [1.5, -7])
        }
    }

    @Test("a checkpoint stored in F16, BF16 or both loads with its values rounded",
          arguments: ["F16", "BF16", "mixed"])
    func halfPrecisionCheckpointLoads(storage: String) throws {
        let dtypes = storage == "mixed" ? ["F16", "BF16", "F32"] : [storage]
        var expected: [String: [Float]] = [:]
        let raw = fixtureTensors.enumerated().map { index, entry in
            let dtype = dtypes[index % dtypes.count]
            let values = entry.tensor.values
            switch dtype {
            case "F16":
                let bits = values.map { Float16($0).bitPattern }
                // F16 keeps 11 significant bits; below 2^-14 its spacing is 2^-24.
                let rounded = bits.map { Float(Float16(bitPattern: $0)) }
                let far = zip(values, rounded).first {
                    abs($0 - $1) > max(abs($0) * 0x1p-11, 0x1p-25)
                }
                #expect(far == nil, "\(entry.name): F16 rounded \(far!.0) to \(far!.1)")
                expected[entry.name] = rounded
                return RawTensor(name: entry.name, dtype: dtype, shape: entry.tensor.shape,
                                 bytes: bytes(ofHalves: bits))
            case "BF16":
                let bits = values.map(bfloat16Bits)
                expected[entry.name] = bits.map { Float(bitPattern: UInt32($0) << 16) }
                return RawTensor(name: entry.name, dtype: dtype, shape: entry.tensor.shape,
                                 bytes: bytes(ofHalves: bits))
            default:
                expected[entry.name] = values
                return RawTensor(name: entry.name, dtype: dtype, shape: entry.tensor.shape,
                                 bytes: bytes(ofFloats: values))
            }
        }
        try withTemporaryFolder { folder in
            try FileManager.default.copyItem(
                at: fixture.appendingPathComponent("config.json"),
                to: folder.appendingPathComponent("config.json"))
            try safeTensorsBytes(raw).write(to: folder.appendingPathComponent("model.safetensors"))
            let model = try CLIPModel.load(directory: folder)
            for p in model.parameters {
                #expect(p.value.values.map(\.bitPattern) == expected[p.name]?.map(\.bitPattern),
                        "\(p.name) did not load as its \(storage) values")
            }
        }
    }
}
