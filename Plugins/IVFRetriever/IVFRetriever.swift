// The `ivf` retriever: pair anchors from ArfRetrieval's inverted-file index. The pool's
// images are split into `lists` by k-means and a query scans only its `nprobe` nearest
// lists, trading a little recall for speed on large pools.
//
// Inside arfd the trained index is kept in the store, one per model and pool, with a note of
// what it was built from: the k-means settings and a digest of every pool row and its item
// number. A later job whose note matches loads it instead of running k-means again; any
// change (other settings, a pool registered again, a model replaced) builds and stores a
// new one in its place. An index that cannot be read is rebuilt. The stored index holds a
// copy of the pool's rows, so it costs about as much disk as the pool's image embeddings.
import ArfPluginAPI
import ArfPluginAdapters
import ArfRetrieval
import ArfStore
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
        let store = (context as? StoreBackedContext)?.store
        let name = PluginStoreLayout.ivfIndexName(model: context.model, pool: request.pool.name)
        let source = store.map { _ in description(of: request, lists: count) }
        return try AnchorRetrievalAdapter.retrieve(
            request, plugin: Self.name, depthFactor: depthFactor
        ) { (vectors: VectorMatrix) -> any VectorIndex in
            if let store, let source, let index = loadIndex(store, name, source, context) {
                index.nprobe = min(nprobe, count)
                return index
            }
            context.log(
                "building ivf index",
                [("rows", String(rows)), ("lists", String(count)), ("nprobe", String(nprobe))])
            let index = try IVFIndex.build(
                taking: vectors,
                options: IVFIndex.Options(lists: count, iterations: iterations, seed: seed))
            index.nprobe = min(nprobe, count)
            if let store, let source {
                // Failing to keep the index (a full disk, say) costs the next job a rebuild,
                // not this job its answer.
                do {
                    try index.save(to: store, name: name, source: source)
                    context.log("ivf index stored", [("pool", request.pool.name)])
                } catch {
                    context.log("ivf index not stored", [("reason", "\(error)")])
                }
            }
            return index
        }
    }

    /// The stored index if it was built from what this request would build it from.
    private func loadIndex(
        _ store: Store, _ name: String, _ source: String, _ context: PluginContext
    ) -> IVFIndex? {
        guard (try? IVFIndex.storedSource(in: store, name: name)) == source else { return nil }
        do {
            let index = try IVFIndex.load(from: store, name: name)
            context.log("ivf index loaded", [("lists", String(index.lists))])
            return index
        } catch {
            context.log("ivf index unreadable, rebuilding", [("reason", "\(error)")])
            return nil
        }
    }

    /// The settings k-means runs with and a 64-bit FNV-1a digest of the pool rows (their
    /// float bits) and their item numbers.
    private func description(of request: RetrievalRequest, lists: Int) -> String {
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ word: UInt64) {
            digest = (digest ^ word) &* 0x100_0000_01b3
        }
        for value in request.poolImages.values { mix(UInt64(value.bitPattern)) }
        for row in request.poolRows { mix(UInt64(bitPattern: Int64(row))) }
        return "lists=\(lists) iterations=\(iterations) seed=\(seed) "
            + "rows=\(request.poolImages.rows) dimension=\(request.poolImages.dimension) "
            + "digest=\(String(digest, radix: 16))"
    }
}
