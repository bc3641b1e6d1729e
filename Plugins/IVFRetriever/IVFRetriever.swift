import ArfPluginAPI
// The `ivf` retriever: pair anchors from ArfRetrieval's inverted-file index. The pool's
// images are split into `lists` by k-means and a query scans only its `nprobe` nearest
// lists, trading a little recall for speed on large pools. The index is built per job from
// the stored pool embeddings.
//
// Left out: keeping the trained index in the store between jobs (k-means is redone).
import ArfPluginAdapters
import ArfRetrieval
import Foundation

/// Retrieves pair anchors with an inverted-file index.
public final class IVFRetriever: Retriever {
    public static let name = "ivf"
    public static let version = "1.0.0"
    public static let summary = "inverted-file (k-means lists) search; scans nprobe lists"
    public static let options = [
        OptionSpec(
            "lists", .int, default: "0",
            help: "k-means lists (0: about the square root of the pool size)"),
        OptionSpec("nprobe", .int, default: "16", help: "lists scanned per query"),
        OptionSpec("iterations", .int, default: "10", help: "k-means iterations"),
        OptionSpec("seed", .int, default: "0", help: "seed of k-means's sample and start"),
        OptionSpec(
            "depth_factor", .int, default: "4",
            help: "each query searches this many times its quota deep"),
    ]

    let lists: Int
    let nprobe: Int
    let iterations: Int
    let seed: UInt64
    let depthFactor: Int

    public init(options: PluginOptions) throws {
        lists = options.int("lists")
        nprobe = options.int("nprobe")
        iterations = options.int("iterations")
        seed = UInt64(bitPattern: Int64(options.int("seed")))
        depthFactor = options.int("depth_factor")
        func bad(_ name: String, _ value: Int, _ expected: String) -> PluginAPIError {
            .badOptionValue(plugin: Self.name, name: name, value: String(value), expected: expected)
        }
        guard lists >= 0 else { throw bad("lists", lists, "0 or more") }
        guard nprobe >= 1 else { throw bad("nprobe", nprobe, "at least 1") }
        guard (1...1000).contains(iterations) else {
            throw bad("iterations", iterations, "1 to 1000")
        }
        guard (1...1000).contains(depthFactor) else {
            throw bad("depth_factor", depthFactor, "1 to 1000")
        }
    }

    public func retrieve(_ request: RetrievalRequest, context: PluginContext) throws
        -> [RetrievedPair]
    {
        let rows = request.poolImages.rows
        let count = lists > 0 ? min(lists, rows) : max(1, Int(Double(rows).squareRoot()))
        context.log(
            "building ivf index",
            [
                ("rows", String(rows)), ("lists", String(count)),
                ("nprobe", String(nprobe)),
            ])
        return try AnchorRetrievalAdapter.retrieve(
            request, plugin: Self.name, depthFactor: depthFactor
        ) { vectors in
            let index = try IVFIndex.build(
                taking: vectors,
                options: IVFIndex.Options(lists: count, iterations: iterations, seed: seed))
            index.nprobe = min(nprobe, count)
            return index
        }
    }
}
