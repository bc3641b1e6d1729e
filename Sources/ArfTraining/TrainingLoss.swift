// The interface every loss term implements, and the values a step passes between the
// finetuner and its terms. A step runs in two halves around the shared tower passes:
//   plan:    each term says which texts it needs and which image matches which text;
//   forward: one image pass over [finetune images; retrieved pair images], one text pass
//            over the texts of every term, concatenated;
//   compute: each term turns its slices of the features into a loss and feature gradients;
//            the finetuner sums them, weighted, and runs one backward pass per tower.
// Terms are therefore pure functions of features (plus their own parameters, such as a
// classifier head), which is also what makes them checkable by finite differences.
// Legend: N finetune images, Q pair images, M texts of one term, P projection width.
import ArfCLIP
import ArfTensor
import Foundation

/// One step's examples as the loss terms see them.
public struct TrainingBatch: Sendable {
    /// Indices of the finetune examples, in batch order.
    public var indices: [Int]
    public var labels: [Int]
    /// Each finetune example's captions (maybe none).
    public var captions: [[String]]
    /// Indices of the retrieved pairs, in batch order.
    public var pairIndices: [Int]
    public var pairCaptions: [String]

    public init(
        indices: [Int], labels: [Int], captions: [[String]], pairIndices: [Int] = [],
        pairCaptions: [String] = []
    ) {
        self.indices = indices
        self.labels = labels
        self.captions = captions
        self.pairIndices = pairIndices
        self.pairCaptions = pairCaptions
    }
}

/// Which images a contrastive term matches with its texts.
public enum ImageGroup: Sendable {
    case finetune, pairs
}

/// One image row matched with one of a term's texts.
public struct TextMatch: Equatable, Sendable {
    /// The row within the term's image group.
    public var image: Int
    /// The index into the plan's texts.
    public var text: Int

    public init(image: Int, text: Int) {
        self.image = image
        self.text = text
    }
}

/// What a term needs from one step: texts to encode, and which image matches which text.
public struct LossPlan: Sendable {
    public var texts: [String]
    public var group: ImageGroup
    public var matches: [TextMatch]

    public init(texts: [String] = [], group: ImageGroup = .finetune, matches: [TextMatch] = []) {
        self.texts = texts
        self.group = group
        self.matches = matches
    }

    /// Texts made unique (images sharing a text then share a target), with each image's match.
    public init(group: ImageGroup, keys: [(image: Int, text: String)]) {
        var position: [String: Int] = [:]
        var texts: [String] = []
        var matches: [TextMatch] = []
        for (image, text) in keys {
            let index = position[text] ?? texts.count
            if index == texts.count {
                position[text] = index
                texts.append(text)
            }
            matches.append(TextMatch(image: image, text: index))
        }
        self.init(texts: texts, group: group, matches: matches)
    }
}

/// The features a term computes its loss from.
public struct LossInputs {
    public var batch: TrainingBatch
    public var plan: LossPlan
    /// Finetune image features [N, P], not normalised.
    public var images: Tensor
    /// Pair image features [Q, P], not normalised (Q may be zero).
    public var pairImages: Tensor
    /// Features of the plan's texts [M, P], not normalised (M may be zero).
    public var texts: Tensor
    /// The logit scale parameter (its exponential multiplies cosine similarities).
    public var logitScale: Float

    public init(
        batch: TrainingBatch, plan: LossPlan, images: Tensor, pairImages: Tensor, texts: Tensor,
        logitScale: Float
    ) {
        self.batch = batch
        self.plan = plan
        self.images = images
        self.pairImages = pairImages
        self.texts = texts
        self.logitScale = logitScale
    }
}

/// A term's loss and its gradients with respect to its inputs and its own parameters (nil
/// where it has none); the finetuner weights them and adds them up.
public struct LossOutput {
    public var loss: Float
    public var dImages: Tensor?
    public var dPairImages: Tensor?
    public var dTexts: Tensor?
    public var dLogitScale: Float
    /// Gradients of the term's `parameters`, in their order (empty when it has none).
    public var dParameters: [Tensor]

    public init(
        loss: Float, dImages: Tensor? = nil, dPairImages: Tensor? = nil, dTexts: Tensor? = nil,
        dLogitScale: Float = 0, dParameters: [Tensor] = []
    ) {
        self.loss = loss
        self.dImages = dImages
        self.dPairImages = dPairImages
        self.dTexts = dTexts
        self.dLogitScale = dLogitScale
        self.dParameters = dParameters
    }
}

/// A loss term that a finetuning run can combine with others.
public protocol TrainingLoss: AnyObject {
    /// The options a term of this loss accepts, decoded from the configuration.
    associatedtype Options: Codable & Equatable

    /// The name configurations use.
    static var name: String { get }
    /// Bumped whenever what the loss computes changes, so a run cannot resume across it.
    static var version: Int { get }
    var options: Options { get }
    /// Whether the term needs retrieved pairs in every step.
    var usesPairs: Bool { get }
    /// Whether the term ever plans texts; a text tower no term uses is left frozen (and
    /// therefore not decayed).
    var usesTexts: Bool { get }
    /// Parameters the term owns and the optimizer trains (a classifier head).
    var parameters: [Parameter] { get }

    /// Decides the step's texts and matches; may draw from `random` (the run saves it).
    func plan(for batch: TrainingBatch, random: inout SeededGenerator) -> LossPlan

    /// The loss and its gradients; pure: nothing is accumulated anywhere.
    func compute(_ inputs: LossInputs) -> LossOutput
}

extension TrainingLoss {
    public var usesTexts: Bool { true }
}

/// What a loss may use when it is made.
public struct LossContext {
    public var model: CLIPModel
    public var tokenizer: CLIPTokenizer
    public var classNames: [String]
    public var templates: [String]
    /// Whether the run has a pair source.
    public var hasPairs: Bool

    public init(
        model: CLIPModel, tokenizer: CLIPTokenizer, classNames: [String], templates: [String],
        hasPairs: Bool
    ) {
        self.model = model
        self.tokenizer = tokenizer
        self.classNames = classNames
        self.templates = templates
        self.hasPairs = hasPairs
    }
}

/// Class prompts from templates.
public enum Prompts {
    /// `template` with `{}` replaced by `name`, or `name` appended when there is no `{}`.
    public static func fill(_ template: String, with name: String) -> String {
        template.contains("{}")
            ? template.replacingOccurrences(of: "{}", with: name) : "\(template) \(name)"
    }
}
