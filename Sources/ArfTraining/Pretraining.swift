// CLIP pretraining from scratch on a list of image-caption pairs: a byte-level BPE
// vocabulary learnt from the captions, fresh weights from a seed, the symmetric contrastive
// loss, AdamW with warmup then cosine decay. The result is an ordinary Hugging Face checkpoint
// folder (config, weights, vocabulary, preprocessing). A run saves its state at an interval
// and a stopped run resumes from it to the same weights.
// Left out: data augmentation and mixed precision; every pool image is decoded once and kept
// in memory (3 x S x S floats each: 600 MB for 50k images of 32 px).
import ArfCLIP
import ArfImage
import ArfSupport
import ArfTensor
import Foundation

/// What to pretrain and how.
public struct PretrainConfig: Codable, Equatable, Sendable {
    /// Vision tower: width, layers, heads, patch side, image side.
    public var visionWidth = 96, visionLayers = 4, visionHeads = 4, patchSize = 8, imageSize = 32
    /// Text tower: width, layers, heads, and the context length in tokens.
    public var textWidth = 96, textLayers = 2, textHeads = 4, contextLength = 32
    public var projectionDim = 96
    /// The most BPE merges to learn from the captions.
    public var merges = 2000
    public var steps = 1500
    public var batchSize = 256
    public var learningRate: Float = 1e-3
    public var warmupSteps = 75
    public var weightDecay: Float = 0.1
    public var seed: UInt64 = 0
    public var checkpointInterval = 250

    public init() {}

    func validate() throws {
        let positive = [
            ("visionWidth", visionWidth), ("visionLayers", visionLayers),
            ("visionHeads", visionHeads), ("patchSize", patchSize), ("imageSize", imageSize),
            ("textWidth", textWidth), ("textLayers", textLayers), ("textHeads", textHeads),
            ("contextLength", contextLength), ("projectionDim", projectionDim),
            ("steps", steps), ("batchSize", batchSize), ("checkpointInterval", checkpointInterval),
        ]
        for (field, value) in positive where value <= 0 {
            throw TrainingError.badConfig(field: field, reason: "must be positive, not \(value)")
        }
        guard visionWidth % visionHeads == 0, textWidth % textHeads == 0 else {
            throw TrainingError.badConfig(field: "heads", reason: "widths must divide by heads")
        }
        guard imageSize % patchSize == 0 else {
            throw TrainingError.badConfig(field: "patchSize", reason: "must divide imageSize")
        }
        guard warmupSteps >= 0, warmupSteps < steps, learningRate > 0 else {
            throw TrainingError.badConfig(
                field: "learningRate", reason: "needs a positive rate and warmup below steps")
        }
    }
}

/// One pretraining step's report.
public struct PretrainStep: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Float
    public var learningRate: Float
    public var gradientNorm: Float
    public var pairsPerSecond: Double
    public var milliseconds: Double
}

/// The saved progress of a pretraining run, beside its latest weights.
struct PretrainState: Codable {
    var config: PretrainConfig
    var step: Int
    var order: EpochOrder
    var pairs: Int
}

/// Runs CLIP pretraining into an output folder.
public final class Pretrainer {
    public let config: PretrainConfig
    public let output: URL
    let captions: [String]
    let files: [URL]

    /// Pretrains on the given pairs: image files and their captions, in order.
    public init(config: PretrainConfig, pairs: [(file: URL, caption: String)], output: URL)
        throws
    {
        try config.validate()
        guard !pairs.isEmpty else { throw TrainingError.emptyDataset(what: "the pair list") }
        self.config = config
        self.output = output
        self.files = pairs.map(\.file)
        self.captions = pairs.map(\.caption)
    }

    /// Pretrains on the pairs of a list file with `filepath` and `caption` columns (see
    /// PairListFile).
    public convenience init(config: PretrainConfig, pairList: URL, output: URL) throws {
        let list = try PairListFile(pairList.path)
        try self.init(
            config: config,
            pairs: list.pairs.indices.map { (list.file($0), list.pairs[$0].caption) },
            output: output)
    }

    var stateURL: URL { output.appendingPathComponent("pretrain-state.json") }
    var optimizerURL: URL { output.appendingPathComponent("optimizer.safetensors") }

    /// Trains to the configured number of steps, resuming when the output folder holds a
    /// run of the same configuration; returns the checkpoint folder (the output folder).
    @discardableResult
    public func run(
        shouldStop: () -> Bool = { false }, onStep: (PretrainStep) -> Void = { _ in }
    ) throws -> URL {
        let fm = FileManager.default
        try fm.createDirectory(at: output, withIntermediateDirectories: true)
        let resumed = try loadState()
        if resumed == nil { try writeCheckpointFolder() }
        let model =
            try resumed.map { _ in try CLIPModel.load(directory: output) }
            ?? freshModel()
        let tokenizer = try CLIPTokenizer(directory: output, contextLength: config.contextLength)
        let preprocessor = try ImagePreprocessor(directory: output)

        let ids = tokenizer.encode(captions)
        let pixels = try decodeAll(preprocessor)
        let trainer = ContrastiveTrainer(
            model: model,
            settings: AdamWSettings(
                learningRate: config.learningRate,
                weightDecay: config.weightDecay))
        var order = resumed?.order ?? EpochOrder(seed: config.seed, stream: 1, count: files.count)
        var step = resumed?.step ?? 0
        if resumed != nil { try restoreOptimizer(trainer, step: step) }
        let schedule = LearningRateSchedule(
            peak: config.learningRate, warmupSteps: config.warmupSteps, totalSteps: config.steps)
        log.info(
            "pretraining", ("pairs", files.count), ("vocabulary", tokenizer.vocabularySize),
            ("architecture", model.config.summary), ("steps", config.steps),
            ("from_step", step), ("batch", config.batchSize))

        let perImage = pixels.shape[1]
        let side = config.imageSize
        while step < config.steps {
            if shouldStop() { break }
            let start = DispatchTime.now().uptimeNanoseconds
            let batch = order.next(config.batchSize)
            let images = Tensor(zeros: [batch.count, 3, side, side])
            for (row, index) in batch.enumerated() {
                (images.data + row * perImage).update(
                    from: pixels.data + index * perImage,
                    count: perImage)
            }
            let rate = schedule.rate(at: step)
            let report = try trainer.step(
                pixels: images, ids: batch.map { ids[$0] },
                learningRate: rate)
            // CLIP keeps the temperature from growing past 100.
            model.logitScale.value[0] = min(model.logitScale.value[0], Foundation.log(100))
            step += 1
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            onStep(
                PretrainStep(
                    step: step, totalSteps: config.steps, loss: report.loss, learningRate: rate,
                    gradientNorm: report.gradientNorm,
                    pairsPerSecond: Double(batch.count) / (ms / 1000), milliseconds: ms))
            if step % config.checkpointInterval == 0 || step == config.steps {
                try saveCheckpoint(model: model, trainer: trainer, step: step, order: order)
            }
        }
        if step < config.steps {
            try saveCheckpoint(model: model, trainer: trainer, step: step, order: order)
        }
        return output
    }

    /// The vocabulary, preprocessing and architecture files of a new run.
    func writeCheckpointFolder() throws {
        let (vocab, merges) = CLIPTokenizer.train(corpus: captions, mergeCount: config.merges)
        try CLIPTokenizer.write(vocab: vocab, merges: merges, to: output)
        let preprocessor: [String: JSONValue] = [
            "crop_size": .object([
                "height": .integer(Int64(config.imageSize)),
                "width": .integer(Int64(config.imageSize)),
            ]),
            "do_center_crop": .bool(true), "do_convert_rgb": .bool(true),
            "do_normalize": .bool(true), "do_rescale": .bool(true), "do_resize": .bool(true),
            "image_mean": .array([0.48145466, 0.4578275, 0.40821073].map(JSONValue.number)),
            "image_std": .array([0.26862954, 0.26130258, 0.27577711].map(JSONValue.number)),
            "image_processor_type": .string("CLIPImageProcessor"), "resample": .integer(3),
            "rescale_factor": .number(1.0 / 255.0),
            "size": .object(["shortest_edge": .integer(Int64(config.imageSize))]),
        ]
        try Data((JSONValue.object(preprocessor).serialized() + "\n").utf8)
            .write(to: output.appendingPathComponent("preprocessor_config.json"), options: .atomic)
        try freshModel(vocabulary: vocab.count).save(directory: output)
    }

    func freshModel(vocabulary: Int? = nil) throws -> CLIPModel {
        let size = try vocabulary ?? CLIPTokenizer(directory: output).vocabularySize
        let c = config
        var json = CLIPConfig.shape(
            text: (c.textWidth, c.textLayers, c.textHeads, 4 * c.textWidth),
            vision: (c.visionWidth, c.visionLayers, c.visionHeads, 4 * c.visionWidth),
            patch: c.patchSize, image: c.imageSize, projection: c.projectionDim,
            vocabulary: size, context: c.contextLength)
        json["arf_pretrain_seed"] = .integer(Int64(c.seed))
        let model = CLIPModel(config: try CLIPConfig(json: json))
        model.initializeRandomly(seed: c.seed)
        return model
    }

    /// Every image, preprocessed, as rows of one [N, 3 * S * S] tensor; decoded in parallel.
    func decodeAll(_ preprocessor: ImagePreprocessor) throws -> Tensor {
        let perImage = 3 * config.imageSize * config.imageSize
        let all = Tensor(zeros: [files.count, perImage])
        let failure = NSLock()
        var firstError: Error?
        let base = all.data
        let files = self.files
        DispatchQueue.concurrentPerform(iterations: max(1, Compute.threads)) { worker in
            var i = worker
            while i < files.count {
                do {
                    let image = try ImageCodec.decode(file: files[i])
                    preprocessor.pixelValues(
                        image,
                        into: UnsafeMutableBufferPointer(
                            start: base + i * perImage,
                            count: perImage))
                } catch {
                    failure.withLock { if firstError == nil { firstError = error } }
                }
                i += max(1, Compute.threads)
            }
        }
        if let firstError { throw firstError }
        return all
    }

    func loadState() throws -> PretrainState? {
        guard let data = FileManager.default.contents(atPath: stateURL.path) else { return nil }
        let state: PretrainState
        do {
            state = try JSONDecoder().decode(PretrainState.self, from: data)
        } catch {
            throw TrainingError.unreadableState(path: stateURL.path, reason: "\(error)")
        }
        guard state.config == config, state.pairs == files.count else {
            throw TrainingError.resumeMismatch(
                path: stateURL.path, fields: state.config == config ? ["pairs"] : ["config"])
        }
        return state
    }

    func saveCheckpoint(model: CLIPModel, trainer: ContrastiveTrainer, step: Int, order: EpochOrder)
        throws
    {
        try model.save(directory: output)
        let trained = model.parameters.filter(\.trainable)
        var moments: [(name: String, tensor: Tensor)] = []
        for (p, m) in zip(trained, trainer.optimizer.moments) {
            moments.append(("\(p.name).m", m.m))
            moments.append(("\(p.name).v", m.v))
        }
        try SafeTensorsFile.write(
            moments, metadata: ["step": "\(trainer.optimizer.step)"],
            to: optimizerURL)
        let state = PretrainState(config: config, step: step, order: order, pairs: files.count)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state).write(to: stateURL, options: .atomic)
    }

    func restoreOptimizer(_ trainer: ContrastiveTrainer, step: Int) throws {
        let file = try SafeTensorsFile(url: optimizerURL)
        let trained = trainer.model.parameters.filter(\.trainable)
        let moments = try trained.map {
            (m: try file.tensor("\($0.name).m"), v: try file.tensor("\($0.name).v"))
        }
        trainer.optimizer.restore(step: Int(file.metadata["step"] ?? "") ?? step, moments: moments)
    }
}
