// WiSE-FT: weight-space ensembles of a zero-shot and a finetuned checkpoint of one
// architecture, theta = (1 - alpha) theta_0 + alpha theta_1, one checkpoint folder per alpha.
// At alpha 0 and 1 the arithmetic returns each endpoint's floats exactly. A ce checkpoint's
// head is interpolated too; the zero-shot endpoint's head is then the zero-shot classifier
// built from the zero-shot model with the class names and templates the head recorded.
// Buffers that are not weights (position_ids) are left out of the output, since loaders
// recreate them. Peak memory is about one checkpoint's weights on top of the two mapped
// files.
import ArfCLIP
import ArfSupport
import ArfTensor
import Foundation

/// One interpolated checkpoint.
public struct WiseFTPoint: Codable, Equatable, Sendable {
    public var alpha: Double
    public var checkpoint: URL
}

/// Weight-space interpolation of two checkpoints.
public enum WiseFT {
    /// (1 - alpha) a + alpha b, tensor by tensor; both lists must name the same tensors with
    /// the same shapes (in any order). The result follows `first`'s order.
    public static func interpolate(
        _ first: [(name: String, tensor: Tensor)], _ second: [(name: String, tensor: Tensor)],
        alpha: Double
    ) throws -> [(name: String, tensor: Tensor)] {
        guard alpha.isFinite else { throw TrainingError.badAlpha(alpha) }
        let byName = Dictionary(
            second.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let firstNames = Set(first.map(\.name))
        guard firstNames == Set(byName.keys) else {
            throw TrainingError.tensorSetsDiffer(
                onlyFirst: firstNames.subtracting(byName.keys).sorted(),
                onlySecond: Set(byName.keys).subtracting(firstNames).sorted())
        }
        return try first.map { name, a in
            let b = byName[name]!
            guard a.shape == b.shape else {
                throw TrainingError.shapeMismatch(name: name, first: a.shape, second: b.shape)
            }
            return (name, mix(a, b, alpha: Float(alpha)))
        }
    }

    static func mix(_ a: Tensor, _ b: Tensor, alpha: Float) -> Tensor {
        let out = Tensor(zeros: a.shape)
        let keep = 1 - alpha
        for i in 0..<a.count { out.data[i] = keep * a.data[i] + alpha * b.data[i] }
        return out
    }

    /// Writes `output`/alpha-<alpha> for each alpha: the interpolated weights, the finetuned
    /// checkpoint's config and tokenizer files, and for ce checkpoints the interpolated head.
    public static func interpolate(
        zeroShot: URL, finetuned: URL, alphas: [Double], output: URL
    ) throws -> [WiseFTPoint] {
        if let bad = alphas.first(where: { !$0.isFinite }) { throw TrainingError.badAlpha(bad) }
        let zeroFile = try SafeTensorsFile(
            url: zeroShot.appendingPathComponent("model.safetensors"))
        let tunedFile = try SafeTensorsFile(
            url: finetuned.appendingPathComponent("model.safetensors"))
        let isWeight = { (name: String) in !name.hasSuffix("position_ids") }
        let zeroNames = zeroFile.names.filter(isWeight)
        let tunedNames = tunedFile.names.filter(isWeight)
        guard Set(zeroNames) == Set(tunedNames) else {
            throw TrainingError.tensorSetsDiffer(
                onlyFirst: Set(zeroNames).subtracting(tunedNames).sorted(),
                onlySecond: Set(tunedNames).subtracting(zeroNames).sorted())
        }
        // Shapes are checked for every tensor before anything is written.
        for name in zeroNames {
            let a = zeroFile.entries[name]!.shape
            let b = tunedFile.entries[name]!.shape
            guard a == b else { throw TrainingError.shapeMismatch(name: name, first: a, second: b) }
        }
        let heads = try endpointHeads(zeroShot: zeroShot, finetuned: finetuned)

        var points: [WiseFTPoint] = []
        for alpha in alphas where !points.contains(where: { $0.alpha == alpha }) {
            let folder = output.appendingPathComponent("alpha-\(alpha)")
            try io(folder.path) {
                try FileManager.default.createDirectory(
                    at: folder, withIntermediateDirectories: true)
            }
            var tensors: [(name: String, tensor: Tensor)] = []
            for name in zeroNames {
                tensors.append(
                    (
                        name,
                        mix(
                            try zeroFile.tensor(name), try tunedFile.tensor(name),
                            alpha: Float(alpha))
                    ))
            }
            try SafeTensorsFile.write(
                tensors, to: folder.appendingPathComponent("model.safetensors"))
            for file in ["config.json"] + Finetuner.companionFiles {
                let source = finetuned.appendingPathComponent(file)
                let target = folder.appendingPathComponent(file)
                guard FileManager.default.fileExists(atPath: source.path) else { continue }
                try io(target.path) {
                    if FileManager.default.fileExists(atPath: target.path) {
                        try FileManager.default.removeItem(at: target)
                    }
                    try FileManager.default.copyItem(at: source, to: target)
                }
            }
            if let (zeroHead, tunedHead) = heads {
                let mixed = ClassifierHead(
                    classNames: tunedHead.classNames, templates: tunedHead.templates,
                    weights: mix(zeroHead.weight.value, tunedHead.weight.value, alpha: Float(alpha))
                )
                try mixed.save(to: folder.appendingPathComponent(ClassifierHead.fileName))
            }
            log.info("wise-ft checkpoint written", ("alpha", alpha), ("path", folder.path))
            points.append(WiseFTPoint(alpha: alpha, checkpoint: folder))
        }
        return points
    }

    /// The heads at both ends, or nil when neither checkpoint has one.
    static func endpointHeads(zeroShot: URL, finetuned: URL) throws
        -> (ClassifierHead, ClassifierHead)?
    {
        let zeroURL = zeroShot.appendingPathComponent(ClassifierHead.fileName)
        let tunedURL = finetuned.appendingPathComponent(ClassifierHead.fileName)
        let fm = FileManager.default
        guard fm.fileExists(atPath: tunedURL.path) else {
            if fm.fileExists(atPath: zeroURL.path) {
                throw TrainingError.badHead(
                    path: zeroURL.path, reason: "the finetuned checkpoint has no head to mix with")
            }
            return nil
        }
        let tuned = try ClassifierHead.load(from: tunedURL)
        let zero: ClassifierHead
        if fm.fileExists(atPath: zeroURL.path) {
            zero = try ClassifierHead.load(from: zeroURL)
        } else {
            let model = try CLIPModel.load(directory: zeroShot)
            let tokenizer = try CLIPTokenizer(
                directory: zeroShot, contextLength: model.config.text.contextLength)
            zero = try ClassifierHead.zeroShot(
                model: model, tokenizer: tokenizer, classNames: tuned.classNames,
                templates: tuned.templates)
        }
        guard zero.classNames == tuned.classNames, zero.weight.shape == tuned.weight.shape else {
            throw TrainingError.badHead(
                path: zeroURL.path,
                reason: "its classes \(zero.classNames) differ from the "
                    + "finetuned head's \(tuned.classNames)")
        }
        return (zero, tuned)
    }
}
