// The three contrastive terms: `flyp` (images against their class prompts), `caption-anchor`
// (images against one of their captions) and `pair-anchor` (retrieved pair images against
// their own captions). They differ only in their plan; all three use one computation in
// which texts are unique and images that share a text share its target: image -> text is
// one-hot on the image's text, text -> image is uniform over the images that match it. With
// one distinct text per image that is CLIP's symmetric loss exactly.
// Legend: K matched images, M texts, P projection width.
import ArfCLIP
import ArfTensor
import Foundation

/// How a term picks one of several candidate texts.
public enum TextChoice: String, Codable, Sendable {
    /// The first candidate, every step.
    case first
    /// A candidate drawn uniformly each step.
    case sample
}

/// Images against the prompts of their classes (FLYP).
public final class FLYPLoss: TrainingLoss {
    public struct Options: Codable, Equatable {
        /// How each class's prompt template is chosen per step; `sample` draws one template
        /// per class and step, shared by all images of that class.
        public var templates: TextChoice = .sample

        public init(templates: TextChoice = .sample) { self.templates = templates }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            templates = try c.decodeIfPresent(TextChoice.self, forKey: .templates) ?? .sample
        }
    }

    public static let name = "flyp"
    public static let version = 1
    public let options: Options
    public let classNames: [String]
    public let templates: [String]
    public var usesPairs: Bool { false }
    public var parameters: [Parameter] { [] }

    public init(classNames: [String], templates: [String], options: Options = Options()) {
        precondition(!templates.isEmpty, "FLYP needs at least one template")
        self.classNames = classNames
        self.templates = templates
        self.options = options
    }

    public func plan(for batch: TrainingBatch, random: inout SeededGenerator) -> LossPlan {
        // One template per class, drawn in order of first appearance so draws repeat.
        var chosen: [Int: String] = [:]
        var keys: [(image: Int, text: String)] = []
        for (row, label) in batch.labels.enumerated() {
            if chosen[label] == nil {
                let template =
                    options.templates == .first || templates.count == 1
                    ? templates[0] : templates[Int(random.next() % UInt64(templates.count))]
                chosen[label] = Prompts.fill(template, with: classNames[label])
            }
            keys.append((row, chosen[label]!))
        }
        return LossPlan(group: .finetune, keys: keys)
    }

    public func compute(_ inputs: LossInputs) -> LossOutput {
        matchedContrastive(inputs, groupFeatures: inputs.images)
    }
}

/// Finetune images against one of their captions each (the caption anchor).
public final class CaptionAnchorLoss: TrainingLoss {
    public struct Options: Codable, Equatable {
        /// Which of an image's captions it is matched with in a step.
        public var captions: TextChoice = .sample

        public init(captions: TextChoice = .sample) { self.captions = captions }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            captions = try c.decodeIfPresent(TextChoice.self, forKey: .captions) ?? .sample
        }
    }

    public static let name = "caption-anchor"
    public static let version = 1
    public let options: Options
    public var usesPairs: Bool { false }
    public var parameters: [Parameter] { [] }

    public init(options: Options = Options()) { self.options = options }

    /// Images without captions sit the term out.
    public func plan(for batch: TrainingBatch, random: inout SeededGenerator) -> LossPlan {
        var keys: [(image: Int, text: String)] = []
        for (row, captions) in batch.captions.enumerated() where !captions.isEmpty {
            let pick =
                options.captions == .first || captions.count == 1
                ? 0 : Int(random.next() % UInt64(captions.count))
            keys.append((row, captions[pick]))
        }
        return LossPlan(group: .finetune, keys: keys)
    }

    public func compute(_ inputs: LossInputs) -> LossOutput {
        matchedContrastive(inputs, groupFeatures: inputs.images)
    }
}

/// Retrieved pair images against their own captions (the image-text-pair anchor).
public final class PairAnchorLoss: TrainingLoss {
    public struct Options: Codable, Equatable {
        public init() {}
    }

    public static let name = "pair-anchor"
    public static let version = 1
    public let options = Options()
    public var usesPairs: Bool { true }
    public var parameters: [Parameter] { [] }

    public init() {}

    public func plan(for batch: TrainingBatch, random: inout SeededGenerator) -> LossPlan {
        LossPlan(
            group: .pairs, keys: batch.pairCaptions.enumerated().map { ($0.offset, $0.element) })
    }

    public func compute(_ inputs: LossInputs) -> LossOutput {
        matchedContrastive(inputs, groupFeatures: inputs.pairImages)
    }
}

/// The contrastive loss of a plan's matched images against its texts, with gradients for
/// the whole image group (zero on rows that sit out) and for the texts.
func matchedContrastive(_ inputs: LossInputs, groupFeatures: Tensor) -> LossOutput {
    let plan = inputs.plan
    let k = plan.matches.count
    let m = plan.texts.count
    guard k > 0, m > 0 else { return LossOutput(loss: 0) }
    let (rows, p) = (groupFeatures.shape[0], groupFeatures.shape[1])
    precondition(
        inputs.texts.shape == [m, p], "text features \(inputs.texts.shape) for \(m) texts")

    // Gather the matched rows, so that images sitting out do not enter the softmax.
    let images = Tensor(zeros: [k, p])
    for (row, match) in plan.matches.enumerated() {
        (images.data + row * p).update(from: groupFeatures.data + match.image * p, count: p)
    }
    var members = [[Int]](repeating: [], count: m)
    for (row, match) in plan.matches.enumerated() { members[match.text].append(row) }
    let imageTargets = plan.matches.map { [($0.text, Float(1))] }
    let textTargets = members.map { rows in rows.map { ($0, 1 / Float(rows.count)) } }
    let result = ContrastiveLoss.compute(
        images: images, texts: inputs.texts, logitScale: inputs.logitScale,
        imageTargets: imageTargets, textTargets: textTargets)

    let dGroup = Tensor(zeros: [rows, p])
    for (row, match) in plan.matches.enumerated() {
        let out = dGroup.data + match.image * p
        let d = result.dImages.data + row * p
        for i in 0..<p { out[i] += d[i] }
    }
    var output = LossOutput(
        loss: result.loss, dTexts: result.dTexts, dLogitScale: result.dLogitScale)
    if plan.group == .finetune { output.dImages = dGroup } else { output.dPairImages = dGroup }
    return output
}
