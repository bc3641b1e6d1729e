// The configuration of a finetuning run, with one preset per method. Decoding starts from
// the preset of the `method` the JSON names and overrides only the fields it gives, so a
// client can send `{"method": "arf", "steps": 300}` and get the rest from the preset.
// Loss options are kept as a small JSON-like map here and decoded into each loss's own typed
// options when the loss is made (see LossRegistry).
import ArfTensor
import Foundation

/// A finetuning method: which losses train which parameters.
public enum FinetuneMethod: String, Codable, CaseIterable, Sendable {
    /// No training: the base model as it is.
    case zeroshot
    /// Cross-entropy on a linear head initialised as the zero-shot classifier; image tower.
    case ft
    /// A linear probe (head only) for `probeSteps` steps, then `ft` from it.
    case lpFT = "lp-ft"
    /// Contrastive loss between images and their class prompts; both towers.
    case flyp
    /// FLYP plus caption anchors and image-text-pair anchors.
    case arf
}

/// Which parts of the model a run updates (a ce head, when there is one, always trains).
public enum TrainedTowers: String, Codable, Sendable {
    case none, image, text, both

    var image: Bool { self == .image || self == .both }
    var text: Bool { self == .text || self == .both }
}

/// A loss option's value.
public enum OptionValue: Codable, Equatable, Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        }
    }
}

/// One term of the training loss: a registered loss, its weight and its options.
public struct LossTerm: Codable, Equatable, Sendable {
    public var name: String
    public var weight: Float
    public var options: [String: OptionValue]

    public init(_ name: String, weight: Float = 1, options: [String: OptionValue] = [:]) {
        self.name = name
        self.weight = weight
        self.options = options
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        weight = try c.decodeIfPresent(Float.self, forKey: .weight) ?? 1
        options = try c.decodeIfPresent([String: OptionValue].self, forKey: .options) ?? [:]
    }
}

/// Everything that decides what a finetuning run computes.
public struct FinetuneConfig: Codable, Equatable, Sendable {
    public var method: FinetuneMethod
    /// Class names in label order; empty means "take them from the data".
    public var classNames: [String]
    /// Prompt templates, `{}` standing for the class name. The zero-shot classifier and the
    /// ce head average over all of them; `flyp` samples one per class and step (or takes
    /// the first, with its `templates: "first"` option).
    public var templates: [String]
    public var losses: [LossTerm]
    /// AdamW; weight decay skips biases, norms, embeddings and the logit scale.
    public var optimizer: AdamWSettings
    /// Linear warmup steps, after which the rate follows a cosine down to zero.
    public var warmupSteps: Int
    public var batchSize: Int
    /// The number of steps; when nil, `epochs` passes over the data decide.
    public var steps: Int?
    public var epochs: Int?
    public var towers: TrainedTowers
    public var trainLogitScale: Bool
    /// Global gradient-norm clip; nil for none.
    public var maxGradientNorm: Float?
    public var seed: UInt64
    /// Retrieved pairs per step, for `pair-anchor`.
    public var pairBatchSize: Int
    /// Steps between checkpoints; 0 saves only at the end (and when stopped).
    public var checkpointInterval: Int
    /// How many interval checkpoints to keep; older ones are deleted.
    public var keepCheckpoints: Int
    /// lp-ft: steps that train only the head, at `probeLearningRate`.
    public var probeSteps: Int
    public var probeLearningRate: Float

    /// CLIP's own short template ensemble.
    public static let defaultTemplates = [
        "a photo of a {}.", "a picture of a {}.", "an image of a {}.",
    ]

    /// The preset of `method`.
    public init(method: FinetuneMethod, classNames: [String] = []) {
        self.method = method
        self.classNames = classNames
        templates = Self.defaultTemplates
        optimizer = AdamWSettings(learningRate: 1e-5, weightDecay: 0.1)
        warmupSteps = 100
        batchSize = 32
        steps = nil
        epochs = 10
        towers = .both
        trainLogitScale = true
        maxGradientNorm = nil
        seed = 0
        pairBatchSize = 32
        checkpointInterval = 500
        keepCheckpoints = 2
        probeSteps = 0
        probeLearningRate = 1e-3
        switch method {
        case .zeroshot:
            losses = []
            towers = .none
            trainLogitScale = false
            epochs = nil
            steps = 0
        case .ft:
            losses = [LossTerm("ce")]
            towers = .image
            trainLogitScale = false
            optimizer.learningRate = 3e-5
        case .lpFT:
            losses = [LossTerm("ce")]
            towers = .image
            trainLogitScale = false
            probeSteps = 200
        case .flyp:
            losses = [LossTerm("flyp")]
        case .arf:
            losses = [
                LossTerm("flyp"), LossTerm("caption-anchor", weight: 1),
                LossTerm("pair-anchor", weight: 1),
            ]
        }
    }

    enum CodingKeys: String, CodingKey {
        case method, classNames, templates, losses, optimizer, warmupSteps, batchSize, steps
        case epochs, towers, trainLogitScale, maxGradientNorm, seed, pairBatchSize
        case checkpointInterval, keepCheckpoints, probeSteps, probeLearningRate
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(method: try c.decode(FinetuneMethod.self, forKey: .method))
        func read<T: Decodable>(_ key: CodingKeys, into value: inout T) throws {
            if let found = try c.decodeIfPresent(T.self, forKey: key) { value = found }
        }
        try read(.classNames, into: &classNames)
        try read(.templates, into: &templates)
        try read(.losses, into: &losses)
        if let partial = try c.decodeIfPresent(PartialAdamW.self, forKey: .optimizer) {
            optimizer = partial.applied(to: optimizer)
        }
        try read(.warmupSteps, into: &warmupSteps)
        try read(.batchSize, into: &batchSize)
        // Giving steps clears the preset's epochs and the other way round.
        if c.contains(.steps) || c.contains(.epochs) {
            steps = try c.decodeIfPresent(Int.self, forKey: .steps)
            epochs = try c.decodeIfPresent(Int.self, forKey: .epochs)
        }
        try read(.towers, into: &towers)
        try read(.trainLogitScale, into: &trainLogitScale)
        maxGradientNorm =
            try c.decodeIfPresent(Float.self, forKey: .maxGradientNorm)
            ?? maxGradientNorm
        try read(.seed, into: &seed)
        try read(.pairBatchSize, into: &pairBatchSize)
        try read(.checkpointInterval, into: &checkpointInterval)
        try read(.keepCheckpoints, into: &keepCheckpoints)
        try read(.probeSteps, into: &probeSteps)
        try read(.probeLearningRate, into: &probeLearningRate)
    }

    /// Whether this configuration trains anything at all.
    public var trains: Bool { method != .zeroshot && !losses.isEmpty }

    /// Steps per pass over `examples` examples: partial last batches are dropped.
    public func stepsPerEpoch(examples: Int) -> Int { Swift.max(1, examples / batchSize) }

    /// The run's length in steps for a dataset of `examples` examples.
    public func totalSteps(examples: Int) -> Int {
        if let steps { return steps }
        return (epochs ?? 0) * stepsPerEpoch(examples: examples)
    }

    /// Checks every field that has a valid range; the loss names are checked by the registry.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ reason: String) throws {
            if !ok { throw TrainingError.badConfig(field: field, reason: reason) }
        }
        let o = optimizer
        try check(batchSize >= 1, "batchSize", "must be at least 1, not \(batchSize)")
        try check(warmupSteps >= 0, "warmupSteps", "must not be negative")
        try check((steps ?? 0) >= 0, "steps", "must not be negative")
        try check((epochs ?? 0) >= 0, "epochs", "must not be negative")
        try check(
            !trains || steps != nil || epochs != nil, "steps", "give steps or epochs")
        try check(!templates.isEmpty, "templates", "at least one template is needed")
        try check(
            o.learningRate.isFinite && o.learningRate > 0, "optimizer.learningRate",
            "must be positive")
        try check(o.beta1 >= 0 && o.beta1 < 1, "optimizer.beta1", "must be in [0, 1)")
        try check(o.beta2 >= 0 && o.beta2 < 1, "optimizer.beta2", "must be in [0, 1)")
        try check(o.epsilon > 0, "optimizer.epsilon", "must be positive")
        try check(
            o.weightDecay.isFinite && o.weightDecay >= 0, "optimizer.weightDecay",
            "must not be negative")
        for term in losses {
            try check(
                term.weight.isFinite && term.weight >= 0, "losses.\(term.name).weight",
                "must be a non-negative number, not \(term.weight)")
        }
        try check(pairBatchSize >= 1, "pairBatchSize", "must be at least 1")
        try check(checkpointInterval >= 0, "checkpointInterval", "must not be negative")
        try check(keepCheckpoints >= 1, "keepCheckpoints", "must be at least 1")
        try check(probeSteps >= 0, "probeSteps", "must not be negative")
        try check(
            probeLearningRate.isFinite && probeLearningRate > 0, "probeLearningRate",
            "must be positive")
        if let clip = maxGradientNorm {
            try check(clip.isFinite && clip > 0, "maxGradientNorm", "must be positive")
        }
    }
}

/// AdamW settings where any field may be left out, keeping the preset's value.
private struct PartialAdamW: Decodable {
    var learningRate, beta1, beta2, epsilon, weightDecay: Float?

    func applied(to base: AdamWSettings) -> AdamWSettings {
        AdamWSettings(
            learningRate: learningRate ?? base.learningRate, beta1: beta1 ?? base.beta1,
            beta2: beta2 ?? base.beta2, epsilon: epsilon ?? base.epsilon,
            weightDecay: weightDecay ?? base.weightDecay)
    }
}
