// The `nearest-caption` captioner: each image gets the caption from a caption bank whose text
// embedding is nearest its image embedding under the job's (usually pretrained) model. The
// bank is a registered pair list, by default the one pool dataset; its captions are
// deduplicated by text and embedded once (the daemon stores the embeddings, so a second job
// reuses them). With top_k above one, `diversity` chooses how the k captions are picked
// among the `candidates` nearest: by similarity alone, greedily with a penalty on similarity
// to captions already picked (maximal marginal relevance), or by sampling with a seed.
//
// Shape letters: B images in a batch, M bank captions, D embedding width.
//
// Left out: an approximate index over the bank (the scan is exact, in chunks of the bank).
import ArfPluginAPI
import ArfTensor
import Foundation

/// Captions images with the nearest captions of a caption bank.
public final class NearestCaptionCaptioner: Captioner {
    public static let name = "nearest-caption"
    public static let version = "1.0.0"
    public static let summary =
        "caption = the bank caption whose text embedding is nearest the image's"
    public static let options = [
        OptionSpec(
            "bank", .string, default: "",
            help: "pair-list dataset whose captions are the bank (default: the pool dataset)"),
        OptionSpec("top_k", .int, default: "1", help: "captions kept per image"),
        OptionSpec(
            "diversity", .string, default: "none",
            help: "how top_k > 1 captions are picked: by similarity (none), greedily with a "
                + "redundancy penalty (mmr), or by seeded sampling (sample)",
            choices: ["none", "mmr", "sample"]),
        OptionSpec(
            "penalty", .double, default: "0.5",
            help: "mmr: weight of the similarity to captions already picked"),
        OptionSpec(
            "candidates", .int, default: "32",
            help: "mmr and sample: how many nearest captions to pick among"),
        OptionSpec(
            "temperature", .double, default: "0.01",
            help: "sample: softmax temperature over similarities"),
        OptionSpec("seed", .int, default: "0", help: "sample: random seed"),
    ]

    /// Bank rows scored at once; bounds the score buffer at `chunkRows` x B floats.
    static let chunkRows = 16_384

    let bankName: String
    let picker: CaptionPicker

    /// The bank, loaded on the first batch: unique captions and their embeddings (M x D).
    private var bankTexts: [String] = []
    private var bankVectors: [Float] = []
    private var dimension = 0
    private var loadedFor: String?

    public init(options: PluginOptions) throws {
        bankName = options.string("bank")
        let topK = options.int("top_k")
        let candidates = options.int("candidates")
        func bad(_ name: String, _ value: String, _ expected: String) -> PluginAPIError {
            .badOptionValue(plugin: Self.name, name: name, value: value, expected: expected)
        }
        guard (1...100).contains(topK) else { throw bad("top_k", "\(topK)", "1 to 100") }
        guard candidates >= 1 else { throw bad("candidates", "\(candidates)", "at least 1") }
        let temperature = options.double("temperature")
        guard temperature > 0 else {
            throw bad("temperature", "\(temperature)", "a positive number")
        }
        let mode: CaptionPicker.Mode =
            switch options.string("diversity") {
            case "mmr": .mmr(penalty: options.double("penalty"))
            case "sample":
                .sample(
                    temperature: temperature,
                    seed: UInt64(
                        bitPattern: Int64(
                            options.int("seed"))))
            default: .similarity
            }
        picker = CaptionPicker(count: topK, candidates: max(topK, candidates), mode: mode)
    }

    public func caption(_ request: CaptionRequest, context: PluginContext) throws
        -> [CaptionOutcome]
    {
        guard !context.model.isEmpty else {
            throw PluginAPIError.badInput(
                plugin: Self.name, reason: "it needs a model to embed with; give --model")
        }
        try loadBank(context)
        let vectors = try context.embeddings(
            dataset: request.dataset.name, modality: .image, items: request.items.map(\.index),
            model: context.model)

        // Images that could not be embedded are failed; the rest are scored in one matrix.
        let rows = vectors.indices.filter { vectors[$0] != nil }
        var images = [Float]()
        images.reserveCapacity(rows.count * dimension)
        for row in rows {
            let vector = vectors[row]!
            guard vector.count == dimension else {
                throw PluginAPIError.failed(
                    plugin: Self.name,
                    reason: "image embeddings have width \(vector.count), the bank's \(dimension)")
            }
            images += vector
        }
        let nearest = nearestCaptions(images: images, count: rows.count)

        var outcomes = [CaptionOutcome](
            repeating: .failed("the image could not be read or embedded"),
            count: request.items.count)
        for (position, row) in rows.enumerated() {
            let picked = picker.pick(
                nearest[position], item: request.items[row].index, bank: bankVector)
            outcomes[row] = .captions(
                picked.map { Caption(bankTexts[$0.index], score: Double($0.score)) })
        }
        return outcomes
    }

    /// Loads the bank's unique captions and their text embeddings, once per model.
    private func loadBank(_ context: PluginContext) throws {
        if loadedFor == context.model { return }
        let name = try resolveBank(context)
        let bank = try context.dataset(named: name)
        var firstIndex: [String: Int] = [:]
        var texts: [String] = []
        var indices: [Int] = []
        for item in bank.items {
            guard let caption = item.caption, !caption.isEmpty else { continue }
            if firstIndex[caption] == nil {
                firstIndex[caption] = item.index
                texts.append(caption)
                indices.append(item.index)
            }
        }
        guard !texts.isEmpty else {
            throw PluginAPIError.badInput(
                plugin: Self.name,
                reason: "bank \(name) has no captions (a \(bank.format) dataset); "
                    + "give a pair list with bank=NAME")
        }
        context.log(
            "loading caption bank",
            [
                ("bank", name), ("captions", String(texts.count)),
                ("model", context.model),
            ])
        let vectors = try context.embeddings(
            dataset: name, modality: .text, items: indices, model: context.model)
        bankTexts = []
        bankVectors = []
        dimension = vectors.compactMap { $0 }.first?.count ?? 0
        for (text, vector) in zip(texts, vectors) {
            guard let vector, vector.count == dimension else { continue }
            bankTexts.append(text)
            bankVectors += vector
        }
        loadedFor = context.model
    }

    private func resolveBank(_ context: PluginContext) throws -> String {
        if !bankName.isEmpty { return bankName }
        let pools = try context.datasetNames(role: "pool")
        guard pools.count == 1 else {
            throw PluginAPIError.badInput(
                plugin: Self.name,
                reason: pools.isEmpty
                    ? "no pool dataset is registered to serve as the caption bank; "
                        + "register one or give bank=NAME"
                    : "several pool datasets (\(pools.joined(separator: ", "))); "
                        + "choose one with bank=NAME")
        }
        return pools[0]
    }

    /// Bank caption `index` as a vector, for the redundancy penalty.
    private func bankVector(_ index: Int) -> ArraySlice<Float> {
        bankVectors[index * dimension..<(index + 1) * dimension]
    }

    /// For each of `count` images (rows of `images`), the bank captions nearest it, best
    /// first, as many as the picker looks at.
    private func nearestCaptions(images: [Float], count: Int) -> [[ScoredCaption]] {
        let m = bankTexts.count
        var best = [TopList](repeating: TopList(capacity: picker.candidates), count: count)
        guard count > 0 else { return [] }
        var scores = [Float](repeating: 0, count: count * min(m, Self.chunkRows))
        for first in stride(from: 0, to: m, by: Self.chunkRows) {
            let rows = min(Self.chunkRows, m - first)
            // scores (B x rows) = images (B x D) . bank[first..<first+rows] (rows x D)^T, as
            // one pass of the process's BLAS work (see Compute.serialized).
            images.withUnsafeBufferPointer { a in
                bankVectors.withUnsafeBufferPointer { b in
                    scores.withUnsafeMutableBufferPointer { c in
                        Compute.serialized {
                            gemm(
                                transB: true, m: count, n: rows, k: dimension,
                                a: a.baseAddress!, lda: dimension,
                                b: b.baseAddress! + first * dimension, ldb: dimension,
                                c: c.baseAddress!, ldc: rows)
                        }
                    }
                }
            }
            for image in 0..<count {
                for column in 0..<rows {
                    best[image].offer(scores[image * rows + column], index: first + column)
                }
            }
        }
        return best.map(\.sorted)
    }
}
