// The `prompt-cosine` loss: the mean over finetune images of 1 - cos(image, prompt of its
// class), with one prompt per class from a chosen template. Unlike the contrastive terms it
// has no negatives and no temperature: it only pulls each image towards its own class text,
// so it is a light alignment term to weigh beside flyp, and a small, complete example of a
// loss plugin (plan, compute, gradients by hand).
//
// With x an image feature, y its prompt's feature and c = x.y / (|x| |y|), the gradient of
// -c is (c x / |x|^2 - y / (|x| |y|)) for x and symmetrically for y; every term is divided
// by the number of images, and a prompt shared by several images sums their parts.
import ArfPluginAPI
import Foundation

/// Pulls each finetune image towards the prompt of its class.
public final class PromptCosineLoss: LossPlugin {
    public static let name = "prompt-cosine"
    public static let version = "1.0.0"
    public static let summary = "1 - cosine between each image and its class prompt"
    public static let options = [
        OptionSpec(
            "template", .int, default: "0",
            help: "which of the run's prompt templates makes the class prompts (0 = the first)")
    ]

    private let templateIndex: Int
    private var prompts: [String] = []

    public init(options: PluginOptions) throws {
        templateIndex = options.int("template")
        guard templateIndex >= 0 else {
            throw PluginAPIError.badOptionValue(
                plugin: Self.name, name: "template", value: String(templateIndex),
                expected: "0 or more")
        }
    }

    public var usesPairs: Bool { false }
    public var usesTexts: Bool { true }
    public var parameters: [LossParameter] { [] }

    public func prepare(_ setup: LossSetup) throws {
        guard templateIndex < setup.templates.count else {
            throw PluginAPIError.badInput(
                plugin: Self.name,
                reason: "template \(templateIndex) asked for; the run has "
                    + "\(setup.templates.count) templates")
        }
        let template = setup.templates[templateIndex]
        prompts = setup.classNames.map { template.replacingOccurrences(of: "{}", with: $0) }
    }

    /// One text per class present in the step, in order of first appearance.
    public func plan(_ examples: LossExamples, random: () -> UInt64) -> LossTextPlan {
        var textOfClass: [Int: Int] = [:]
        var texts: [String] = []
        var matches: [LossMatch] = []
        for (image, label) in examples.labels.enumerated() {
            let text =
                textOfClass[label]
                ?? {
                    texts.append(prompts[label])
                    textOfClass[label] = texts.count - 1
                    return texts.count - 1
                }()
            matches.append(LossMatch(image: image, text: text))
        }
        return LossTextPlan(texts: texts, group: .finetune, matches: matches)
    }

    public func compute(_ examples: LossExamples, plan: LossTextPlan, features: LossFeatures)
        throws -> LossResult
    {
        let images = features.images
        let texts = features.texts
        let width = images.dimension
        guard texts.dimension == width, !plan.matches.isEmpty else {
            throw PluginAPIError.badInput(
                plugin: Self.name, reason: "image and text features differ in width, or no images")
        }
        let share = 1 / Float(plan.matches.count)
        var loss: Float = 0
        var imageGradient = [Float](repeating: 0, count: images.values.count)
        var textGradient = [Float](repeating: 0, count: texts.values.count)
        for match in plan.matches {
            let x = images.values[(match.image * width)..<((match.image + 1) * width)]
            let y = texts.values[(match.text * width)..<((match.text + 1) * width)]
            var dot: Float = 0
            var xx: Float = 0
            var yy: Float = 0
            for (a, b) in zip(x, y) {
                dot += a * b
                xx += a * a
                yy += b * b
            }
            let (nx, ny) = (xx.squareRoot(), yy.squareRoot())
            guard nx > 0, ny > 0 else {
                throw PluginAPIError.badInput(plugin: Self.name, reason: "a feature is all zeros")
            }
            let cosine = dot / (nx * ny)
            loss += share * (1 - cosine)
            for (k, (a, b)) in zip(x, y).enumerated() {
                imageGradient[match.image * width + k] += share * (cosine * a / xx - b / (nx * ny))
                textGradient[match.text * width + k] += share * (cosine * b / yy - a / (nx * ny))
            }
        }
        return LossResult(value: loss, imageGradient: imageGradient, textGradient: textGradient)
    }
}
