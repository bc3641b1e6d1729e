// The retrieve job: image-text-pair anchors for a task, chosen from a pool dataset by a
// retriever plugin. The job gathers what the retriever needs through the plugin context,
// which embeds (and stores, committing batch by batch) whatever is not stored yet: the pool's
// images, the finetune images (their mean per class is the image query), and with
// "exclude_eval" every evaluation dataset's images. Text queries are the class names put in
// the templates, averaged per class. The chosen pairs are stored under the task in one
// transaction with copies of their path and caption (provenance that outlives the pool), so
// a task is either complete or absent; running a task again replaces it.
//
// Parameters (JSON): "task", "pool", "finetune", "model", "retriever", "per_class", optional
// "query" (text, image or both; text), "exclude_eval" (false), "exclude_threshold" (0.95),
// "dedup" (a cosine above which near-duplicates are dropped; 0 keeps them), "templates"
// (["a photo of a {}."]), "options" (the retriever's) and "batch" (embedding batch).
import ArfPluginAPI
import ArfPlugins
import ArfStore
import ArfSupport
import Foundation

/// The parameters of a retrieve job.
struct RetrieveParams: Codable, Equatable {
    var task: String
    var pool: String
    var finetune: String
    var model: String
    var retriever: String
    var perClass: Int
    var query: String?
    var excludeEval: Bool?
    var excludeThreshold: Double?
    var dedup: Double?
    var templates: [String]?
    /// Kept as the canonical JSON text of the resolved options.
    var options: String?
    var batch: Int?

    enum CodingKeys: String, CodingKey {
        case task, pool, finetune, model, retriever, query, dedup, templates, options, batch
        case perClass = "per_class"
        case excludeEval = "exclude_eval"
        case excludeThreshold = "exclude_threshold"
    }
}

/// Retrieves pair anchors for a task with a retriever plugin.
struct RetrieveJob: JobKind {
    let name = "retrieve"
    let datasets: DatasetRegistry
    let plugins: PluginCatalog

    func prepare(paramsJSON: String, models: ModelRegistry) throws -> String {
        var params = try JobParams.decode(
            RetrieveParams.self, try JobParams.optionsAsText(paramsJSON, kind: name), kind: name)
        func bad(_ reason: String) -> DaemonError { .badJobParams(kind: name, reason: reason) }
        try ModelRegistry.check(name: params.task)
        if datasets.names().contains(params.task) {
            throw bad("task \(params.task) has the name of a dataset; choose another")
        }
        guard models.contains(params.model) else {
            throw DaemonError.unknownModel(name: params.model, known: models.names)
        }
        guard try datasets.record(named: params.pool).format == "pairs" else {
            throw bad("pool \(params.pool) is an image folder; a pool is a pair list")
        }
        guard !(try datasets.record(named: params.finetune).classes.isEmpty) else {
            throw bad("finetune dataset \(params.finetune) has no classes")
        }
        guard (1...100_000).contains(params.perClass) else {
            throw bad("per_class \(params.perClass) is not 1 to 100000")
        }
        let query = params.query ?? "text"
        guard ["text", "image", "both"].contains(query) else {
            throw bad("query \(query) is not text, image or both")
        }
        let dedup = params.dedup ?? 0
        guard (0...1).contains(dedup) else { throw bad("dedup \(dedup) is not 0 to 1") }
        let threshold = params.excludeThreshold ?? 0.95
        guard (-1...1).contains(threshold) else {
            throw bad("exclude_threshold \(threshold) is not -1 to 1")
        }
        let templates = params.templates ?? [Inference.defaultTemplate]
        guard !templates.isEmpty, templates.allSatisfy({ !$0.isEmpty }) else {
            throw bad("templates must be non-empty")
        }
        let entry = try plugins.entry(.retriever, named: params.retriever)
        let options = try PluginOptions(
            json: params.options ?? "", schema: entry.options, plugin: entry.name)
        _ = try plugins.retriever(named: entry.name, optionsJSON: options.canonicalJSON)
        params.query = query
        params.dedup = dedup
        params.excludeEval = params.excludeEval ?? false
        params.excludeThreshold = threshold
        params.templates = templates
        params.options = options.canonicalJSON
        params.batch = try JobParams.batch(params.batch, kind: name)
        return try JobParams.encode(params)
    }

    func run(_ job: JobContext) throws -> String {
        let params = try JobParams.decode(RetrieveParams.self, job.paramsJSON, kind: name)
        let entry = try plugins.entry(.retriever, named: params.retriever)
        let retriever = try plugins.retriever(
            named: entry.name, optionsJSON: params.options ?? "{}")
        let context = try JobPluginContext(
            job: job, model: params.model, datasets: datasets,
            batch: params.batch ?? EmbedFolderParams.defaultBatch)
        let pool = try datasets.view(named: params.pool)
        let finetune = try datasets.view(named: params.finetune)
        let start = Date()
        let stages: UInt64 = 4
        try job.report(step: 0, total: stages, message: "embedding the pool \(pool.name)")

        // The pool: every image that could be embedded is a row.
        let poolVectors = try context.embeddings(
            dataset: pool.name, modality: .image, items: nil, model: params.model)
        let poolRows = poolVectors.indices.filter { poolVectors[$0] != nil }
        let images = EmbeddingMatrix(poolRows.map { poolVectors[$0]! })
        try job.report(step: 1, total: stages, message: "embedding the queries")

        let queries = try self.queries(params, finetune: finetune, context: context)
        try job.report(step: 2, total: stages, message: "gathering evaluation images")
        var excluded: [[Float]] = []
        var evaluation: [String] = []
        if params.excludeEval == true {
            for name in datasets.names() {
                guard let role = try? datasets.record(named: name).role, role.hasPrefix("eval")
                else { continue }
                evaluation.append(name)
                excluded += try context.embeddings(
                    dataset: name, modality: .image, items: nil, model: params.model
                ).compactMap { $0 }
            }
        }

        try job.checkStop()
        try job.report(step: 3, total: stages, message: "retrieving with \(entry.name)")
        let request = RetrievalRequest(
            pool: pool, poolImages: images, poolRows: poolRows, classes: finetune.classes,
            queries: queries, perClass: params.perClass,
            excluded: excluded.isEmpty ? nil : EmbeddingMatrix(excluded),
            excludeThreshold: params.excludeThreshold ?? 0.95,
            dedupThreshold: (params.dedup ?? 0) > 0 ? params.dedup : nil)
        let pairs = try retriever.retrieve(request, context: context)
        if let bad = pairs.first(where: {
            !pool.items.indices.contains($0.poolIndex)
                || !finetune.classes.indices.contains($0.classIndex)
        }) {
            throw PluginAPIError.failed(
                plugin: entry.name,
                reason: "it returned pool item \(bad.poolIndex) for class \(bad.classIndex)")
        }

        let record = AnchorTaskRecord(
            task: params.task, pool: pool.name, finetune: finetune.name, model: params.model,
            retriever: entry.name, retrieverVersion: entry.version, source: entry.source,
            options: params.options ?? "{}", perClass: params.perClass,
            query: params.query ?? "text", excludeEval: params.excludeEval ?? false,
            dedup: params.dedup ?? 0, count: pairs.count,
            createdUnix: Date().timeIntervalSince1970)
        let (tasks, anchors) = (
            try job.store.table(StoreLayout.anchorTasks), try job.store.table(StoreLayout.anchors)
        )
        let perClass = Dictionary(grouping: pairs, by: \.classIndex).mapValues(\.count)
        try job.report(
            step: stages, total: stages,
            message: "retrieved \(pairs.count) pairs for \(finetune.classes.count) classes"
        ) { txn in
            try txn.deleteAll(in: anchors, prefix: Key(params.task))
            try txn.putJSON(record, in: tasks, at: Key(params.task))
            for (rank, pair) in pairs.enumerated() {
                let item = pool.items[pair.poolIndex]
                try txn.putJSON(
                    PairAnchorRecord(
                        poolIndex: pair.poolIndex, path: item.path, absolutePath: item.absolutePath,
                        caption: item.caption ?? "", classIndex: pair.classIndex,
                        className: finetune.classes[pair.classIndex], score: pair.score,
                        query: pair.query.rawValue),
                    in: anchors, at: StoreLayout.anchorKey(task: params.task, rank: rank))
            }
        }
        log.info(
            "anchors retrieved", ("job", job.id), ("task", params.task), ("pairs", pairs.count),
            ("pool_rows", images.rows), ("excluded_from", evaluation.joined(separator: ",")),
            ("retriever", entry.name))
        job.finish(
            message: "retrieved \(pairs.count) pairs from \(pool.name) for \(params.task) "
                + "(\(finetune.classes.count) classes, at most \(params.perClass) each)")
        let result: [String: AnyEncodable] = [
            "task": .init(params.task), "pairs": .init(pairs.count),
            "pool_rows": .init(images.rows), "classes": .init(finetune.classes.count),
            "per_class_counts": .init(finetune.classes.indices.map { perClass[$0] ?? 0 }),
            "excluded_datasets": .init(evaluation),
            "seconds": .init(Date().timeIntervalSince(start)),
        ]
        return try JobParams.encode(result)
    }

    /// One query per class and modality: the mean of its prompts' text embeddings, and the
    /// mean of its finetune images' embeddings, each normalised.
    private func queries(
        _ params: RetrieveParams, finetune: DatasetView, context: JobPluginContext
    ) throws -> [RetrievalQuery] {
        var queries: [RetrievalQuery] = []
        let query = params.query ?? "text"
        if query != "image" {
            let templates = params.templates ?? [Inference.defaultTemplate]
            let prompts = finetune.classes.flatMap { name in
                templates.map { $0.replacingOccurrences(of: "{}", with: name) }
            }
            let rows = try context.embed(texts: prompts, model: params.model)
            for c in finetune.classes.indices {
                let mine = rows[c * templates.count..<(c + 1) * templates.count].map { $0 }
                queries.append(
                    RetrievalQuery(classIndex: c, modality: .text, vector: Self.meanDirection(mine))
                )
            }
        }
        if query != "text" {
            let vectors = try context.embeddings(
                dataset: finetune.name, modality: .image, items: nil, model: params.model)
            var byClass = [[[Float]]](repeating: [], count: finetune.classes.count)
            for (item, vector) in zip(finetune.items, vectors) {
                if let label = item.label, let vector { byClass[label].append(vector) }
            }
            for (c, rows) in byClass.enumerated() where !rows.isEmpty {
                queries.append(
                    RetrievalQuery(
                        classIndex: c, modality: .image, vector: Self.meanDirection(rows)))
            }
        }
        return queries
    }

    /// The normalised mean of unit vectors.
    static func meanDirection(_ rows: [[Float]]) -> [Float] {
        guard let width = rows.first?.count else { return [] }
        var mean = [Float](repeating: 0, count: width)
        for row in rows { for i in 0..<width { mean[i] += row[i] } }
        let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return mean.map { $0 / norm }
    }
}

/// A value of any encodable type, for results with mixed fields.
struct AnyEncodable: Encodable {
    private let encodeValue: (Encoder) throws -> Void

    init<T: Encodable>(_ value: T) { encodeValue = value.encode }

    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}
