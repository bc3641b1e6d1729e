// Retrievers pick image-text pairs from a large pool by their similarity to a downstream
// task's classes: the pair anchors of finetuning. The daemon gathers the embeddings (pool
// images, class prompts, the mean finetune image of each class, evaluation images) and hands
// them over as row-major matrices; the retriever returns the chosen pool items with scores,
// at most `perClass` per class, leaving out near-duplicates of evaluation images and of each
// other. Each pool item goes to at most one class.
import Foundation

/// Row-major embeddings: `rows` vectors of `dimension` floats, L2-normalised.
public struct EmbeddingMatrix: Sendable, Equatable {
    public var rows: Int
    public var dimension: Int
    public var values: [Float]

    /// A matrix of the given rows, which must all have one length.
    public init(_ vectors: [[Float]]) {
        rows = vectors.count
        dimension = vectors.first?.count ?? 0
        values = []
        values.reserveCapacity(rows * dimension)
        for vector in vectors {
            precondition(vector.count == dimension, "embedding rows differ in length")
            values += vector
        }
    }

    public init(rows: Int, dimension: Int, values: [Float]) {
        precondition(values.count == rows * dimension, "matrix values do not fill its shape")
        self.rows = rows
        self.dimension = dimension
        self.values = values
    }

    /// Row `index` as an array.
    public func row(_ index: Int) -> [Float] {
        Array(values[index * dimension..<(index + 1) * dimension])
    }
}

/// One query vector standing for a class.
public struct RetrievalQuery: Sendable, Equatable {
    public var classIndex: Int
    /// text: a class prompt; image: a finetune image of the class.
    public var modality: Modality
    public var vector: [Float]

    public init(classIndex: Int, modality: Modality, vector: [Float]) {
        self.classIndex = classIndex
        self.modality = modality
        self.vector = vector
    }
}

/// Everything a retriever needs for one task.
public struct RetrievalRequest: Sendable {
    /// The pool's items (pairs of image and caption).
    public var pool: DatasetView
    /// Embeddings of the pool's images that could be read, one row each.
    public var poolImages: EmbeddingMatrix
    /// The pool item index of each row of `poolImages`.
    public var poolRows: [Int]
    /// The downstream class names, in label order.
    public var classes: [String]
    /// At most one query per class and modality.
    public var queries: [RetrievalQuery]
    /// The most pool items kept per class, over all of its queries.
    public var perClass: Int
    /// Evaluation images: pool items this similar or more to any of them are left out.
    public var excluded: EmbeddingMatrix?
    public var excludeThreshold: Double
    /// Pool items this similar or more to an item already chosen are left out; nil keeps all.
    public var dedupThreshold: Double?

    public init(
        pool: DatasetView, poolImages: EmbeddingMatrix, poolRows: [Int], classes: [String],
        queries: [RetrievalQuery], perClass: Int, excluded: EmbeddingMatrix? = nil,
        excludeThreshold: Double = 0.95, dedupThreshold: Double? = nil
    ) {
        precondition(poolRows.count == poolImages.rows, "one pool item per embedding row")
        self.pool = pool
        self.poolImages = poolImages
        self.poolRows = poolRows
        self.classes = classes
        self.queries = queries
        self.perClass = perClass
        self.excluded = excluded
        self.excludeThreshold = excludeThreshold
        self.dedupThreshold = dedupThreshold
    }
}

/// One chosen pool item.
public struct RetrievedPair: Sendable, Equatable {
    /// The item's index in the pool.
    public var poolIndex: Int
    public var classIndex: Int
    /// The similarity that chose it.
    public var score: Double
    /// Which kind of query matched it best.
    public var query: Modality

    public init(poolIndex: Int, classIndex: Int, score: Double, query: Modality) {
        self.poolIndex = poolIndex
        self.classIndex = classIndex
        self.score = score
        self.query = query
    }
}

/// A plugin that retrieves pair anchors from a pool.
public protocol Retriever: ArfPlugin {
    /// The chosen pairs, grouped by class, best first within a class.
    func retrieve(_ request: RetrievalRequest, context: PluginContext) throws -> [RetrievedPair]
}

extension Retriever {
    public static var kind: PluginKind { .retriever }
}
