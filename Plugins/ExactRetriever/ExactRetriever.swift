// The `exact` retriever: pair anchors by brute-force inner product over every pool image
// (ArfRetrieval's exact index), so nothing a better index would find is missed. Its cost grows
// with pool size times queries; for pools of millions, `ivf` searches a fraction of the pool.
import ArfPluginAPI
import ArfPluginAdapters
import ArfRetrieval

/// Retrieves pair anchors by an exact scan of the pool.
public final class ExactRetriever: Retriever {
    public static let name = "exact"
    public static let version = "1.0.0"
    public static let summary = "exact inner-product search over every pool image"
    public static let options = [
        OptionSpec(
            "depth_factor", .int, default: "4",
            help: "each query searches this many times its quota deep, to refill places lost "
                + "to other classes and near-duplicates")
    ]

    let depthFactor: Int

    public init(options: PluginOptions) throws {
        depthFactor = options.int("depth_factor")
        guard (1...1000).contains(depthFactor) else {
            throw PluginAPIError.badOptionValue(
                plugin: Self.name, name: "depth_factor", value: String(depthFactor),
                expected: "1 to 1000")
        }
    }

    public func retrieve(_ request: RetrievalRequest, context: PluginContext) throws
        -> [RetrievedPair]
    {
        try AnchorRetrievalAdapter.retrieve(
            request, plugin: Self.name, depthFactor: depthFactor
        ) { ExactIndex($0) }
    }
}
