// Running a plugin retrieval request on ArfRetrieval's anchor retriever: the pool's rows
// become a vector matrix whose ids are pool item indices, evaluation images exclude their
// near-duplicates, and the queries become one query set per modality. A class's quota is
// split between its text and image queries (text takes the larger half), and each query
// searches `depthFactor` times its quota deep, so that places lost to another class or to a
// near-duplicate are refilled from further down its list.
import ArfPluginAPI
import ArfRetrieval
import Foundation

/// Plugin retrieval requests on ArfRetrieval.
public enum AnchorRetrievalAdapter {
    /// The request's pairs from an index that `makeIndex` builds over the pool's rows, grouped
    /// by class and best first within a class.
    public static func retrieve(
        _ request: RetrievalRequest, plugin: String, depthFactor: Int,
        makeIndex: (VectorMatrix) throws -> any VectorIndex
    ) throws -> [RetrievedPair] {
        let pool = request.poolImages
        guard pool.rows > 0, !request.queries.isEmpty else { return [] }
        do {
            let vectors = try VectorMatrix(
                pool.values, dimension: pool.dimension, ids: request.poolRows)
            let retriever = AnchorRetriever(index: try makeIndex(vectors))
            if let excluded = request.excluded, excluded.rows > 0 {
                try retriever.exclude(
                    near: try VectorMatrix(excluded.values, dimension: excluded.dimension),
                    threshold: Float(request.excludeThreshold))
            }

            let text = request.queries.filter { $0.modality == .text }
            let image = request.queries.filter { $0.modality == .image }
            let textQuota = image.isEmpty ? request.perClass : (request.perClass + 1) / 2
            let imageQuota = request.perClass - (text.isEmpty ? 0 : textQuota)
            var sets: [AnchorQuerySet] = []
            var classes: [AnchorSource: [Int]] = [:]
            for (source, queries, quota) in [
                (AnchorSource.classPrompt, text, textQuota), (.image, image, imageQuota),
            ] where !queries.isEmpty && quota > 0 {
                let values = queries.flatMap(\.vector)
                sets.append(
                    AnchorQuerySet(
                        source: source,
                        vectors: try VectorMatrix(values, dimension: pool.dimension),
                        quota: quota))
                classes[source] = queries.map(\.classIndex)
            }
            let depth = max(1, depthFactor) * max(textQuota, imageQuota)
            let anchors = try retriever.retrieve(
                sets, depth: depth, duplicateThreshold: request.dedupThreshold.map(Float.init))
            let pairs = anchors.map { anchor in
                RetrievedPair(
                    poolIndex: anchor.id, classIndex: classes[anchor.source]![anchor.query],
                    score: Double(anchor.score),
                    query: anchor.source == .classPrompt ? .text : .image)
            }
            return pairs.sorted {
                $0.classIndex != $1.classIndex
                    ? $0.classIndex < $1.classIndex
                    : ($0.score != $1.score ? $0.score > $1.score : $0.poolIndex < $1.poolIndex)
            }
        } catch let error as RetrievalError {
            throw PluginAPIError.failed(plugin: plugin, reason: error.description)
        }
    }
}
