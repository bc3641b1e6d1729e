// Every loss a finetuning configuration can name, in one place: the built-in terms with
// their versions, and those a plugin registers at start-up. Making a term decodes its
// options into the loss's own typed options and refuses options the loss does not know.
import ArfCLIP
import ArfTensor
import Foundation

/// A loss that configurations can name: how to make a term of it.
public struct LossDescriptor: @unchecked Sendable {
    public let name: String
    public let version: Int
    /// One line for listings.
    public let summary: String
    /// Makes a term from the configuration's entry; throws on bad options or missing data.
    public let make: (LossTerm, LossContext) throws -> any TrainingLoss

    public init(
        name: String, version: Int, summary: String,
        make: @escaping (LossTerm, LossContext) throws -> any TrainingLoss
    ) {
        self.name = name
        self.version = version
        self.summary = summary
        self.make = make
    }
}

/// The losses known to this process.
public enum LossRegistry {
    /// The built-in losses.
    public static let builtIn: [LossDescriptor] = [
        LossDescriptor(
            name: CrossEntropyLoss.name, version: CrossEntropyLoss.version,
            summary: "cross-entropy on a linear head initialised as the zero-shot classifier"
        ) { term, context in
            let head = try ClassifierHead.zeroShot(
                model: context.model, tokenizer: context.tokenizer,
                classNames: context.classNames, templates: context.templates)
            return CrossEntropyLoss(
                head: head, options: try options(term, as: CrossEntropyLoss.Options.self))
        },
        LossDescriptor(
            name: FLYPLoss.name, version: FLYPLoss.version,
            summary: "contrastive loss between images and their class prompts"
        ) { term, context in
            FLYPLoss(
                classNames: context.classNames, templates: context.templates,
                options: try options(term, as: FLYPLoss.Options.self))
        },
        LossDescriptor(
            name: CaptionAnchorLoss.name, version: CaptionAnchorLoss.version,
            summary: "contrastive loss between images and captions of them"
        ) { term, _ in
            CaptionAnchorLoss(options: try options(term, as: CaptionAnchorLoss.Options.self))
        },
        LossDescriptor(
            name: PairAnchorLoss.name, version: PairAnchorLoss.version,
            summary: "contrastive loss on retrieved image-caption pairs"
        ) { term, context in
            _ = try options(term, as: PairAnchorLoss.Options.self)
            guard context.hasPairs else {
                throw TrainingError.missingData(
                    loss: PairAnchorLoss.name, reason: "the run has no retrieved pairs")
            }
            return PairAnchorLoss()
        },
    ]

    nonisolated(unsafe) private static var registered: [LossDescriptor] = []
    private static let lock = NSLock()

    /// Built-in losses followed by registered ones.
    public static var all: [LossDescriptor] { builtIn + lock.withLock { registered } }

    /// Adds a loss (from a plugin); a later registration of a name replaces an earlier one,
    /// but a built-in name cannot be taken.
    public static func register(_ descriptor: LossDescriptor) throws {
        guard !builtIn.contains(where: { $0.name == descriptor.name }) else {
            throw TrainingError.badLossOptions(
                loss: descriptor.name, reason: "a built-in loss already has this name")
        }
        lock.withLock {
            registered.removeAll { $0.name == descriptor.name }
            registered.append(descriptor)
        }
    }

    /// The descriptor of the loss called `name`.
    public static func descriptor(named name: String) throws -> LossDescriptor {
        let known = all
        guard let found = known.last(where: { $0.name == name }) else {
            throw TrainingError.unknownLoss(name: name, known: known.map(\.name))
        }
        return found
    }

    /// Makes the term a configuration entry describes.
    public static func make(_ term: LossTerm, context: LossContext) throws -> any TrainingLoss {
        try descriptor(named: term.name).make(term, context)
    }

    /// Decodes a term's options as `T`, refusing names `T` does not have.
    public static func options<T: Codable>(_ term: LossTerm, as type: T.Type) throws -> T {
        let decoded: T
        do {
            let data = try JSONEncoder().encode(term.options)
            decoded = try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw TrainingError.badLossOptions(loss: term.name, reason: "\(error)")
        }
        // Encoding the decoded options back lists every name they have.
        let known =
            (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(decoded)))
            as? [String: Any] ?? [:]
        if let unknown = term.options.keys.sorted().first(where: { known[$0] == nil }) {
            throw TrainingError.badLossOptions(
                loss: term.name,
                reason: "unknown option \(unknown); known: "
                    + known.keys.sorted().joined(separator: ", "))
        }
        return decoded
    }
}
