// Loss plugins: one term of the finetuning objective. A training step runs in two halves
// around the shared tower passes, and a term takes part in both:
//
//   plan     from the step's examples (labels, captions, retrieved pairs) the term says which
//            texts it needs and which image row matches which text;
//   compute  from the features of the images and of its texts it returns its loss with the
//            gradients on those features, on the logit scale, and on parameters it owns
//            (a classifier head); the trainer weights the terms, sums them and backpropagates
//            once per tower.
//
// Terms are pure functions of features, which is what lets the trainer batch every term's
// texts into one text pass and what makes a term checkable by finite differences.
//
// Shape letters: N finetune images, Q retrieved pair images, M texts of the term, P width.
import Foundation

/// One step's examples as a loss term sees them.
public struct LossExamples: Sendable, Equatable {
    /// Class labels of the N finetune images.
    public var labels: [Int]
    /// Each finetune image's captions (maybe none).
    public var captions: [[String]]
    /// Captions of the Q retrieved pairs.
    public var pairCaptions: [String]

    public init(labels: [Int], captions: [[String]], pairCaptions: [String] = []) {
        self.labels = labels
        self.captions = captions
        self.pairCaptions = pairCaptions
    }
}

/// Which images a term's texts are matched with.
public enum LossImageGroup: String, Sendable, Codable {
    case finetune, pairs
}

/// One image row of a group matched with one of the plan's texts.
public struct LossMatch: Sendable, Equatable {
    public var image: Int
    public var text: Int

    public init(image: Int, text: Int) {
        self.image = image
        self.text = text
    }
}

/// What a term needs from one step: texts to encode, and which image matches which text.
public struct LossTextPlan: Sendable, Equatable {
    public var texts: [String]
    public var group: LossImageGroup
    public var matches: [LossMatch]

    public init(texts: [String] = [], group: LossImageGroup = .finetune, matches: [LossMatch] = [])
    {
        self.texts = texts
        self.group = group
        self.matches = matches
    }
}

/// What a term may use when a run prepares it.
public struct LossSetup {
    public var classNames: [String]
    /// Prompt templates with `{}` for the class name.
    public var templates: [String]
    /// Whether the run has retrieved pairs.
    public var hasPairs: Bool
    /// The logarithm of the model's logit scale before training.
    public var logLogitScale: Float
    /// Normalised text embeddings from the model before training, one row per text.
    public var embedTexts: ([String]) throws -> [[Float]]

    public init(
        classNames: [String], templates: [String], hasPairs: Bool, logLogitScale: Float,
        embedTexts: @escaping ([String]) throws -> [[Float]]
    ) {
        self.classNames = classNames
        self.templates = templates
        self.hasPairs = hasPairs
        self.logLogitScale = logLogitScale
        self.embedTexts = embedTexts
    }
}

/// A trainable array a term owns, such as a classifier head; the optimizer updates `values`
/// in place between steps.
public final class LossParameter {
    /// A name unique within the run, for checkpoints.
    public let name: String
    public let shape: [Int]
    /// Whether weight decay applies.
    public let decays: Bool
    public var values: [Float]

    public init(name: String, shape: [Int], decays: Bool, values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "values do not fill shape \(shape)")
        self.name = name
        self.shape = shape
        self.decays = decays
        self.values = values
    }
}

/// The features of one step, as the towers produced them (not normalised).
public struct LossFeatures: Sendable {
    /// N x P.
    public var images: EmbeddingMatrix
    /// Q x P; empty when the run has no pairs.
    public var pairImages: EmbeddingMatrix
    /// M x P, the plan's texts in order.
    public var texts: EmbeddingMatrix
    /// The logit scale's logarithm (its exponential multiplies cosine similarities).
    public var logLogitScale: Float

    public init(
        images: EmbeddingMatrix, pairImages: EmbeddingMatrix, texts: EmbeddingMatrix,
        logLogitScale: Float
    ) {
        self.images = images
        self.pairImages = pairImages
        self.texts = texts
        self.logLogitScale = logLogitScale
    }
}

/// A term's loss and its gradients; nil or empty where the term does not depend on an input.
public struct LossResult: Sendable {
    public var value: Float
    /// N x P.
    public var imageGradient: [Float]?
    /// Q x P.
    public var pairImageGradient: [Float]?
    /// M x P.
    public var textGradient: [Float]?
    public var logLogitScaleGradient: Float
    /// One per parameter, in the order of `parameters`.
    public var parameterGradients: [[Float]]

    public init(
        value: Float, imageGradient: [Float]? = nil, pairImageGradient: [Float]? = nil,
        textGradient: [Float]? = nil, logLogitScaleGradient: Float = 0,
        parameterGradients: [[Float]] = []
    ) {
        self.value = value
        self.imageGradient = imageGradient
        self.pairImageGradient = pairImageGradient
        self.textGradient = textGradient
        self.logLogitScaleGradient = logLogitScaleGradient
        self.parameterGradients = parameterGradients
    }
}

/// A plugin that computes one term of the training loss.
public protocol LossPlugin: ArfPlugin {
    /// Whether the term needs retrieved pairs in every step.
    var usesPairs: Bool { get }
    /// Whether the term ever plans texts (a text tower no term uses stays frozen).
    var usesTexts: Bool { get }
    /// Parameters the term owns, in a fixed order; empty for most terms.
    var parameters: [LossParameter] { get }
    /// Called once before training; throws when the run lacks what the term needs.
    func prepare(_ setup: LossSetup) throws
    /// The step's texts and matches; `random` gives uniform 64-bit numbers from the run's
    /// saved generator, so a resumed run plans the same.
    func plan(_ examples: LossExamples, random: () -> UInt64) -> LossTextPlan
    /// The loss and its gradients for the planned step; pure, accumulating nothing.
    func compute(_ examples: LossExamples, plan: LossTextPlan, features: LossFeatures) throws
        -> LossResult
}

extension LossPlugin {
    public static var kind: PluginKind { .loss }
}
