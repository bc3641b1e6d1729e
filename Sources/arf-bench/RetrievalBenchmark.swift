// `arf-bench retrieval`: exact and IVF top-k search over a pool of clustered unit vectors,
// against faiss (IndexFlatIP and IVF<lists>,Flat) on the same vectors, threads and settings,
// in the same run. arf draws the pool and the queries and hands them to the faiss script as
// raw float32 files, so both sides search identical data; faiss's result ids come back the
// same way, so that every recall is measured against arf's exact answer.
//
// The pool is held once: the exact index searches it in place, then the IVF index takes it
// over and reorders it by list. Exact search runs first, since the IVF build reorders rows.
import ArfRetrieval
import ArfSupport
import ArfTensor
import Foundation

enum RetrievalBenchmark {
    static let help = """
        usage: arf-bench retrieval [--n 1000000] [--dim 512] [--queries 1000] [--k 16]
                                   [--lists 4096] [--nprobe 16] [--threads 2]
                                   [--centres N/100] [--spread 1.0] [--iterations 10]
                                   [--training-size 39*lists] [--reps 3]
                                   [--no-faiss] [--python python3] [--json]

        Draws N unit vectors of width D around random centres (a row's cosine with its centre
        is about 1/sqrt(1 + spread²)) and as many queries again, then prints per phase
        arf's rate, faiss's, their ratio (above 1 means arf is faster) and each side's
        recall@k against arf's exact search. Phases: exact search with each threading
        strategy, IVF search at nprobe, and the IVF build (rows indexed per second,
        k-means on a training sample included). --json prints one object per line.
        The faiss side needs `pip install faiss-cpu numpy`; without it, or with --no-faiss,
        only arf's figures are printed. Full size needs about 2.5 GB for arf and 4.5 GB
        for faiss, one after the other.
        """

    struct Settings {
        var n, dim, queries, k, lists, nprobe, threads, centres, iterations, trainingSize: Int
        var reps: Int
        var spread: Float
    }

    struct Row {
        var name: String
        var arf: Double
        var faiss: Double?
        var fields: [String: Any] = [:]
    }

    static func main(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["json", "no-faiss", "help"])
        if args.flag("help") {
            print(help)
            return
        }
        let n = try args.integer("n", default: 1_000_000, in: 1...100_000_000)
        let lists = try args.integer("lists", default: 4096, in: 1...1_000_000)
        let settings = Settings(
            n: n, dim: try args.integer("dim", default: 512, in: 1...8192),
            queries: try args.integer("queries", default: 1000, in: 1...1_000_000),
            k: try args.integer("k", default: 16, in: 1...10_000), lists: lists,
            nprobe: try args.integer("nprobe", default: 16, in: 1...1_000_000),
            threads: try args.integer("threads", default: 2, in: 1...256),
            centres: try args.integer("centres", default: max(1, n / 100), in: 1...n),
            iterations: try args.integer("iterations", default: 10, in: 0...1000),
            trainingSize: try args.integer(
                "training-size", default: min(n, 39 * lists), in: 1...100_000_000),
            reps: try args.integer("reps", default: 3, in: 1...100),
            spread: Float(try args.number("spread", default: 1.0)))
        let json = args.flag("json")
        let useFaiss = !args.flag("no-faiss")
        let python = args.option("python") ?? "python3"
        try args.finish()
        guard settings.lists <= settings.n, settings.trainingSize >= settings.lists else {
            throw UsageError("--lists must be at most --n and at most --training-size")
        }
        let rows = try run(settings, useFaiss: useFaiss, python: python)
        report(rows, settings: settings, json: json)
    }

    static func run(_ s: Settings, useFaiss: Bool, python: String) throws -> [Row] {
        Compute.threads = s.threads
        let loadBefore = loadAverage()
        let source = ClusteredVectors(
            centres: s.centres, dimension: s.dim, spread: s.spread, seed: 1)
        let base = source.sample(rows: s.n, seed: 2)
        let queries = source.sample(rows: s.queries, seed: 3)

        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("arf-bench-retrieval-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let baseFile = folder.appendingPathComponent("base.f32")
        let queryFile = folder.appendingPathComponent("queries.f32")
        try write(base, to: baseFile)
        try write(queries, to: queryFile)

        // Exact search, each strategy, before the IVF build reorders the pool.
        var exactRates: [ExactIndex.Strategy: Double] = [:]
        var exact: SearchResult?
        for strategy in ExactIndex.Strategy.allCases {
            let index = ExactIndex(base, strategy: strategy)
            let (seconds, result) = try timed { try index.search(queries, k: s.k) }
            exactRates[strategy] = Double(s.queries) / seconds
            if exact == nil { exact = result }
        }
        let truth = exact!

        var theirs: [String: Double] = [:]
        var flatRecall: Double?
        var faissIVFRecall: Double?
        if useFaiss, let script = findUpward("bench/faiss_reference.py") {
            let flatIDs = folder.appendingPathComponent("flat-ids.i64")
            let ivfIDs = folder.appendingPathComponent("ivf-ids.i64")
            theirs = runFaiss(
                script: script, python: python, settings: s, base: baseFile, queries: queryFile,
                flatIDs: flatIDs, ivfIDs: ivfIDs)
            flatRecall = (try? readIDs(flatIDs, k: s.k)).map { recall($0, against: truth) }
            faissIVFRecall = (try? readIDs(ivfIDs, k: s.k)).map { recall($0, against: truth) }
        } else if useFaiss {
            log.warning("bench/faiss_reference.py not found; printing arf's figures only")
        }

        let (buildSeconds, ivf) = try timed {
            try IVFIndex.build(
                taking: base,
                options: .init(lists: s.lists, iterations: s.iterations,
                               trainingSize: s.trainingSize, seed: 4))
        }
        _ = try ivf.search(queries, k: s.k, nprobe: s.nprobe)
        var samples: [Double] = []
        var approximate: SearchResult?
        for _ in 0..<s.reps {
            let (seconds, result) = try timed {
                try ivf.search(queries, k: s.k, nprobe: s.nprobe)
            }
            samples.append(seconds)
            approximate = result
        }
        let ivfRate = Double(s.queries) / samples.sorted()[samples.count / 2]
        let ivfRecall = recall(
            (0..<s.queries).map { approximate!.hits($0).map(\.id) }, against: truth)

        let common: [String: Any] = [
            "n": s.n, "dim": s.dim, "queries": s.queries, "k": s.k, "threads": s.threads,
            "arf_peak_rss_mb": peakResidentMB(),
            "faiss_peak_rss_mb": theirs["peak_rss_mb"] ?? NSNull(),
            "load_before": loadBefore, "load_after": loadAverage(),
        ]
        let flat = theirs["flat_per_s"]
        var rows = ExactIndex.Strategy.allCases.map { strategy in
            Row(name: "exact \(strategy.rawValue)", arf: exactRates[strategy]!, faiss: flat,
                fields: ["arf_recall": 1.0, "faiss_recall": flatRecall ?? NSNull(),
                         "distances_per_query": s.n])
        }
        rows.append(Row(
            name: "ivf search", arf: ivfRate, faiss: theirs["ivf_per_s"],
            fields: ["arf_recall": ivfRecall, "faiss_recall": faissIVFRecall ?? NSNull(),
                     "lists": s.lists, "nprobe": s.nprobe,
                     "distances_per_query": approximate!.meanDistances,
                     "arf_speedup_over_exact": ivfRate / exactRates[.splitWork]!,
                     "faiss_speedup_over_flat":
                        theirs["ivf_per_s"].map { $0 / flat! } ?? NSNull()]))
        rows.append(Row(
            name: "ivf build", arf: Double(s.n) / buildSeconds,
            faiss: theirs["ivf_build_s"].map { Double(s.n) / $0 },
            fields: ["arf_seconds": buildSeconds,
                     "faiss_seconds": theirs["ivf_build_s"] ?? NSNull(),
                     "iterations": s.iterations, "training_size": s.trainingSize]))
        return rows.map { row in
            var row = row
            row.fields.merge(common) { own, _ in own }
            return row
        }
    }

    static func report(_ rows: [Row], settings s: Settings, json: Bool) {
        if json {
            for row in rows {
                var line = row.fields
                line["name"] = row.name
                line["arf_per_s"] = row.arf
                line["faiss_per_s"] = row.faiss ?? NSNull()
                line["ratio"] = row.faiss.map { row.arf / $0 } ?? NSNull()
                let options: JSONSerialization.WritingOptions = [.sortedKeys]
                if let data = try? JSONSerialization.data(withJSONObject: line, options: options) {
                    print(String(decoding: data, as: UTF8.self))
                }
            }
            return
        }
        func f(_ v: Any?, _ format: String) -> String {
            if let v = v as? Double { return String(format: format, v) }
            if let v = v as? Int { return String(format: format, Double(v)) }
            let width = Int(format.dropFirst().prefix { $0.isNumber }) ?? 0
            return String(repeating: " ", count: max(0, width - 1)) + "-"
        }
        print("retrieval: \(s.n) x \(s.dim), \(s.queries) queries, k \(s.k), \(s.threads) threads")
        print("phase                       arf/s    faiss/s  ratio  arf recall  faiss recall")
        for row in rows {
            print(row.name.padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "%11.1f", row.arf) + f(row.faiss, "%11.1f")
                + f(row.faiss.map { row.arf / $0 }, "%7.2f")
                + f(row.fields["arf_recall"], "%12.4f") + f(row.fields["faiss_recall"], "%14.4f"))
        }
        if let ivf = rows.first(where: { $0.name == "ivf search" }),
            let build = rows.first(where: { $0.name == "ivf build" })
        {
            print("ivf: \(s.lists) lists, nprobe \(s.nprobe), "
                + f(ivf.fields["distances_per_query"], "%.0f") + " products per query, "
                + f(ivf.fields["arf_speedup_over_exact"], "%.1f") + "x arf exact; build "
                + f(build.fields["arf_seconds"], "%.1f") + " s (faiss "
                + f(build.fields["faiss_seconds"], "%.1f") + " s)")
            print("peak memory: arf " + f(ivf.fields["arf_peak_rss_mb"], "%.0f") + " MB, faiss "
                + f(ivf.fields["faiss_peak_rss_mb"], "%.0f") + " MB; load average "
                + f(ivf.fields["load_before"], "%.2f") + " before, "
                + f(ivf.fields["load_after"], "%.2f") + " after")
        }
    }

    static func runFaiss(
        script: URL, python: String, settings s: Settings, base: URL, queries: URL,
        flatIDs: URL, ivfIDs: URL
    ) -> [String: Double] {
        let arguments = [
            python, script.path, "--base", base.path, "--queries", queries.path,
            "--dim", "\(s.dim)", "--k", "\(s.k)", "--lists", "\(s.lists)",
            "--nprobe", "\(s.nprobe)", "--threads", "\(s.threads)",
            "--iterations", "\(s.iterations)", "--training-size", "\(s.trainingSize)",
            "--reps", "\(s.reps)", "--flat-ids", flatIDs.path, "--ivf-ids", ivfIDs.path,
        ]
        guard let output = try? runProcess("/usr/bin/env", arguments),
            let line = output.split(separator: "\n").last,
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            log.warning("the faiss reference did not run", ("hint", "pip install faiss-cpu numpy"))
            return [:]
        }
        return object.compactMapValues { $0 as? Double }
    }

    /// Writes a matrix's floats as they are in memory (little-endian float32, row-major).
    static func write(_ matrix: VectorMatrix, to url: URL) throws {
        let data = Data(
            bytesNoCopy: matrix.data, count: matrix.rows * matrix.dimension * 4,
            deallocator: .none)
        try data.write(to: url)
    }

    /// The int64 ids in `url`, k per query.
    static func readIDs(_ url: URL, k: Int) throws -> [[Int]] {
        let data = try Data(contentsOf: url)
        let ids = data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        return stride(from: 0, to: ids.count, by: k).map { start in
            ids[start..<min(ids.count, start + k)].map { Int($0) }
        }
    }

    /// The mean over queries of the share of `truth`'s hits found in `found`.
    static func recall(_ found: [[Int]], against truth: SearchResult) -> Double {
        guard found.count == truth.queryCount else { return 0 }
        var total = 0.0
        for q in 0..<truth.queryCount {
            let expected = Set(truth.hits(q).map(\.id))
            let hits = expected.intersection(found[q]).count
            total += Double(hits) / Double(max(1, expected.count))
        }
        return total / Double(max(1, truth.queryCount))
    }

    static func timed<R>(_ body: () throws -> R) rethrows -> (Double, R) {
        let start = Date()
        let result = try body()
        return (Date().timeIntervalSince(start), result)
    }

    static func peakResidentMB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// The one-minute load average, as the kernel reports it.
    static func loadAverage() -> Double {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return Double(text.split(separator: " ").first ?? "") ?? -1
    }
}
