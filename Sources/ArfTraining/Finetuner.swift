// A finetuning run: the model, its loss terms, optimizer, schedule, data order and sampling
// generator, stepped one batch at a time. Each step forwards the finetune images and the
// retrieved pair images in one image pass and every term's texts in one text pass, lets the
// terms turn features into losses and gradients, sums those (weighted), and runs one
// backward pass per trained tower before the AdamW update. Checkpoints and resuming are in
// Checkpointing.swift. Everything random comes from the run's seed, so a run repeats
// exactly on one machine with one thread count.
// Legend: N finetune images, Q pair images, T texts of all terms, P projection width.
import ArfCLIP
import ArfSupport
import ArfTensor
import Dispatch
import Foundation

/// What one training step measured.
public struct StepMetrics: Codable, Sendable {
    /// Steps completed, this one included.
    public var step: Int
    public var totalSteps: Int
    public var epoch: Int
    public var phase: TrainingPhase.Kind
    /// The weighted sum of the terms.
    public var loss: Float
    /// Each term's own (unweighted) loss, by loss name.
    public var terms: [String: Float]
    public var learningRate: Float
    /// The global gradient norm before clipping.
    public var gradientNorm: Float
    /// Images (finetune and pair) through the step per second.
    public var pairsPerSecond: Double
    public var milliseconds: Double
}

/// How a call to `run` ended.
public struct FinetuneOutcome: Sendable {
    public var completedSteps: Int
    public var totalSteps: Int
    /// True when `shouldStop` ended the run early.
    public var stopped: Bool
    /// The newest checkpoint: the finished model, or where a stopped run resumes from. For a
    /// run that trains nothing (zero-shot), the base checkpoint.
    public var checkpoint: URL
}

/// One term of the run: its configuration entry and the loss made from it.
public struct ActiveTerm {
    public let term: LossTerm
    public let loss: any TrainingLoss

    public var name: String { term.name }
}

/// Trains a CLIP model under a `FinetuneConfig`.
public final class Finetuner {
    public let config: FinetuneConfig
    public let baseDirectory: URL
    public let outputDirectory: URL
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let data: LabeledImageSource
    public let pairs: PairSource?
    public let terms: [ActiveTerm]
    public let totalSteps: Int
    public let phases: [TrainingPhase]
    /// Steps completed.
    public internal(set) var completedSteps = 0

    var optimizer: AdamW
    /// The phase the optimizer's moments belong to; nil before the first step.
    var optimizerPhase: TrainingPhase.Kind?
    var random: SeededGenerator
    var order: EpochOrder
    var pairOrder: EpochOrder?
    var lastCheckpoint: (step: Int, url: URL)?
    let imageState = TowerState()
    let textState = TowerState()
    let pixelBuffer = Tensor(zeros: [0])

    /// The largest logit scale CLIP allows (log 100); the parameter is clamped after updates.
    static let maxLogitScale = Foundation.log(Float(100))

    /// Loads the base checkpoint and prepares a run that has taken no step yet.
    public init(
        config: FinetuneConfig, base: URL, data: LabeledImageSource, pairs: PairSource? = nil,
        output: URL
    ) throws {
        try config.validate()
        guard data.count > 0 else { throw TrainingError.emptyDataset(what: "the training data") }
        var config = config
        if config.classNames.isEmpty { config.classNames = data.classNames }
        guard config.classNames == data.classNames else {
            throw TrainingError.classNamesDiffer(config: config.classNames, data: data.classNames)
        }
        self.config = config
        baseDirectory = base
        outputDirectory = output
        self.data = data
        self.pairs = pairs
        model = try CLIPModel.load(directory: base)
        tokenizer = try CLIPTokenizer(
            directory: base, contextLength: model.config.text.contextLength)

        let context = LossContext(
            model: model, tokenizer: tokenizer, classNames: config.classNames,
            templates: config.templates, hasPairs: (pairs?.count ?? 0) > 0)
        terms = try config.losses.map {
            ActiveTerm(term: $0, loss: try LossRegistry.make($0, context: context))
        }
        totalSteps = config.trains ? config.totalSteps(examples: data.count) : 0
        phases = TrainingPhase.phases(config: config, total: totalSteps)
        optimizer = AdamW(settings: config.optimizer)
        random = SeededGeneratorFactory.make(seed: config.seed, stream: 3)
        order = EpochOrder(seed: config.seed, stream: 1, count: data.count)
        if terms.contains(where: { $0.loss.usesPairs }), let pairs {
            pairOrder = EpochOrder(seed: config.seed, stream: 2, count: pairs.count)
        }
        log.info(
            "finetune prepared", ("method", config.method.rawValue),
            ("losses", terms.map { "\($0.name)*\($0.term.weight)" }.joined(separator: "+")),
            ("examples", data.count), ("pairs", pairs?.count ?? 0), ("steps", totalSteps),
            ("batch", config.batchSize), ("lr", config.optimizer.learningRate))
    }

    /// The ce head, when a term trains one.
    public var head: ClassifierHead? {
        terms.lazy.compactMap { ($0.loss as? CrossEntropyLoss)?.head }.first
    }

    /// Runs steps until the end or until `shouldStop` (asked before each step) says so,
    /// saving checkpoints at the configured interval and one when the run ends or stops.
    public func run(
        shouldStop: () -> Bool = { false }, onStep: (StepMetrics) -> Void = { _ in }
    ) throws -> FinetuneOutcome {
        guard totalSteps > 0 else {
            return FinetuneOutcome(
                completedSteps: 0, totalSteps: 0, stopped: false, checkpoint: baseDirectory)
        }
        log.info("finetune start", ("step", completedSteps), ("steps", totalSteps))
        defer {
            imageState.release()
            textState.release()
        }
        while completedSteps < totalSteps, !shouldStop() {
            onStep(try trainStep())
            if config.checkpointInterval > 0,
                completedSteps % config.checkpointInterval == 0, completedSteps < totalSteps
            {
                try saveCheckpoint()
            }
        }
        let checkpoint: URL
        if let last = lastCheckpoint, last.step == completedSteps {
            checkpoint = last.url
        } else {
            checkpoint = try saveCheckpoint()
        }
        let stopped = completedSteps < totalSteps
        log.info(
            stopped ? "finetune stopped" : "finetune finished", ("step", completedSteps),
            ("checkpoint", checkpoint.path))
        return FinetuneOutcome(
            completedSteps: completedSteps, totalSteps: totalSteps, stopped: stopped,
            checkpoint: checkpoint)
    }

    /// Takes one optimisation step.
    @discardableResult
    public func trainStep() throws -> StepMetrics {
        precondition(completedSteps < totalSteps, "the run has finished")
        let started = DispatchTime.now().uptimeNanoseconds
        let phase = phases.first { completedSteps < $0.end }!
        enter(phase.kind)

        let indices = order.next(config.batchSize)
        var pairIndices: [Int] = []
        if pairOrder != nil { pairIndices = pairOrder!.next(config.pairBatchSize) }
        let (loss, termLosses) = try accumulateGradients(indices: indices, pairIndices: pairIndices)

        let parameters = trainedParameters
        let gradients = parameters.map(\.gradient)
        let norm =
            config.maxGradientNorm.map { clipGradients(gradients, maxNorm: $0) }
            ?? gradientNorm(gradients)
        let rate = phase.schedule.rate(at: completedSteps - phase.start)
        optimizer.update(
            parameters.map {
                OptimizedTensor(value: $0.value, gradient: $0.gradient, decays: $0.decays)
            },
            learningRate: rate)
        if model.logitScale.trainable {
            model.logitScale.value[0] = Swift.min(model.logitScale.value[0], Self.maxLogitScale)
        }
        completedSteps += 1

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let metrics = StepMetrics(
            step: completedSteps, totalSteps: totalSteps, epoch: order.epoch, phase: phase.kind,
            loss: loss, terms: termLosses, learningRate: rate, gradientNorm: norm,
            pairsPerSecond: Double(indices.count + pairIndices.count) / Swift.max(seconds, 1e-9),
            milliseconds: seconds * 1000)
        log.info(
            "train step", ("step", completedSteps), ("loss", String(format: "%.5f", loss)),
            ("lr", String(format: "%.3e", rate)), ("grad_norm", String(format: "%.4f", norm)),
            ("ms", String(format: "%.1f", metrics.milliseconds)))
        return metrics
    }

    /// Every parameter the current phase trains, model first, in a fixed order.
    var trainedParameters: [Parameter] {
        let own = terms.flatMap { $0.loss.parameters }
        return (model.parameters + own).filter(\.trainable)
    }

    /// Sets which parameters train in `kind` and starts a fresh optimizer when the phase
    /// changes (lp-ft's probe and finetune phases do not share moments).
    func enter(_ kind: TrainingPhase.Kind) {
        guard optimizerPhase != kind else { return }
        for p in model.parameters {
            switch kind {
            case .probe:
                p.trainable = false
            case .finetune:
                if p === model.logitScale {
                    p.trainable = config.trainLogitScale
                } else if p.name.hasPrefix("text_") {
                    p.trainable = config.towers.text && terms.contains { $0.loss.usesTexts }
                } else {
                    p.trainable = config.towers.image
                }
            }
        }
        for p in terms.flatMap({ $0.loss.parameters }) { p.trainable = true }
        optimizer = AdamW(settings: config.optimizer)
        optimizerPhase = kind
    }

    /// Whether any parameter of the image (or text) tower trains now.
    func towerTrains(text: Bool) -> Bool {
        model.parameters.contains {
            $0.trainable && $0 !== model.logitScale && $0.name.hasPrefix("text_") == text
        }
    }

    /// One forward and backward pass over the given examples, without the update: fills the
    /// gradients of every trained parameter and returns the weighted loss and each term's.
    public func accumulateGradients(indices: [Int], pairIndices: [Int] = []) throws
        -> (loss: Float, terms: [String: Float])
    {
        if optimizerPhase == nil { enter(phases.first?.kind ?? .finetune) }
        let batch = try loadBatch(indices: indices, pairIndices: pairIndices)
        let plans = terms.map { $0.loss.plan(for: batch, random: &random) }
        model.zeroGradients()
        for p in terms.flatMap({ $0.loss.parameters }) { p.zeroGradient() }

        // One image pass over [finetune images; pair images].
        let (n, q, p) = (indices.count, pairIndices.count, model.config.projectionDim)
        let imageTrains = towerTrains(text: false)
        let features = try model.imageFeatures(
            pixels: pixelBuffer, state: imageState, training: imageTrains)
        let images = rows(of: features, from: 0, count: n)
        let pairImages = rows(of: features, from: n, count: q)

        // One text pass over every term's texts.
        let texts = plans.flatMap(\.texts)
        let textTrains = towerTrains(text: true)
        let textFeatures =
            texts.isEmpty
            ? Tensor(zeros: [0, p])
            : try model.textFeatures(
                ids: tokenizer.encode(texts), state: textState, training: textTrains)

        let dImages = Tensor(zeros: [n + q, p])
        let dTexts = Tensor(zeros: [texts.count, p])
        var dLogitScale: Float = 0
        var total: Float = 0
        var termLosses: [String: Float] = [:]
        var offset = 0
        for (term, plan) in zip(terms, plans) {
            let m = plan.texts.count
            let output = term.loss.compute(
                LossInputs(
                    batch: batch, plan: plan, images: images, pairImages: pairImages,
                    texts: rows(of: textFeatures, from: offset, count: m),
                    logitScale: model.logitScale.value[0]))
            let w = term.term.weight
            total += w * output.loss
            termLosses[term.name] = output.loss
            if let d = output.dImages { add(d, times: w, into: dImages, at: 0) }
            if let d = output.dPairImages { add(d, times: w, into: dImages, at: n) }
            if let d = output.dTexts { add(d, times: w, into: dTexts, at: offset) }
            dLogitScale += w * output.dLogitScale
            for (parameter, d) in zip(term.loss.parameters, output.dParameters)
            where parameter.trainable {
                add(d, times: w, into: parameter.gradient, at: 0)
            }
            offset += m
        }

        // One backward pass per trained tower.
        if imageTrains { model.imageBackward(dFeatures: dImages, state: imageState) }
        if textTrains, !texts.isEmpty { model.textBackward(dFeatures: dTexts, state: textState) }
        if model.logitScale.trainable { model.logitScale.gradient[0] += dLogitScale }
        return (total, termLosses)
    }

    /// Reads the examples' pixels into the batch buffer and their labels and captions.
    func loadBatch(indices: [Int], pairIndices: [Int]) throws -> TrainingBatch {
        let v = model.config.vision
        let perImage = v.channels * v.imageSize * v.imageSize
        pixelBuffer.resize([
            indices.count + pairIndices.count, v.channels, v.imageSize, v.imageSize,
        ])
        let slot = { (row: Int) in
            UnsafeMutableBufferPointer(
                start: self.pixelBuffer.data + row * perImage, count: perImage)
        }
        var labels: [Int] = []
        for (row, i) in indices.enumerated() {
            let label = data.label(i)
            guard label >= 0, label < config.classNames.count else {
                throw TrainingError.badLabel(
                    index: i, label: label, classes: config.classNames.count)
            }
            labels.append(label)
            try data.pixels(i, into: slot(row))
        }
        var pairCaptions: [String] = []
        if !pairIndices.isEmpty, let pairs {
            for (row, i) in pairIndices.enumerated() {
                try pairs.pixels(i, into: slot(indices.count + row))
                pairCaptions.append(pairs.caption(i))
            }
        }
        return TrainingBatch(
            indices: indices, labels: labels, captions: indices.map { data.captions($0) },
            pairIndices: pairIndices, pairCaptions: pairCaptions)
    }
}

/// A copy of rows [from, from + count) of a [R, P] matrix.
func rows(of m: Tensor, from start: Int, count: Int) -> Tensor {
    let p = m.shape[1]
    let out = Tensor(zeros: [count, p])
    if count > 0 { out.data.update(from: m.data + start * p, count: count * p) }
    return out
}

/// target[at + r] += weight * source[r] for every row r of source.
func add(_ source: Tensor, times weight: Float, into target: Tensor, at row: Int) {
    let width = source.shape.count > 1 ? source.shape[1] : 1
    let base = target.data + row * width
    for i in 0..<source.count { base[i] += weight * source.data[i] }
}
