// `arf data add|list|show|rm|embed|embeddings`: registering datasets with the daemon, looking
// at them, embedding them (a job), and reading their stored embeddings back. Paths are made
// absolute here, since the daemon does not share the client's working folder.
import ArfSupport
import ArfWire
import Foundation

enum DataCommands {
    static func add(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf data add NAME PATH --role ROLE [--format imagefolder|pairs] "
            + "[--filepath-column C] [--caption-column C] [--separator tab|comma] [--replace]"
        let operands = try arguments.operands(after: 2, count: 2...2, usage: usage)
        let request = AddDatasetRequest(
            name: operands[0], path: absolutePath(operands[1]),
            role: try arguments.required("role", usage: usage),
            format: arguments.option("format") ?? "",
            filepathColumn: arguments.option("filepath-column") ?? "",
            captionColumn: arguments.option("caption-column") ?? "",
            separator: arguments.option("separator") ?? "",
            replace: arguments.flag("replace"))
        try arguments.finish()
        let info = try session.call(Methods.addDataset, request).dataset
        if session.json {
            session.console.print(JSON.dataset(info).text)
        } else {
            session.console.print(
                "registered \(info.name) (\(info.role), \(info.format)): "
                    + "\(info.items) items" + classesNote(info) + " from \(info.path)")
        }
        return 0
    }

    static func list(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        _ = try arguments.operands(after: 2, count: 0...0, usage: "arf data list [--json]")
        try arguments.finish()
        let datasets = try session.call(Methods.listDatasets, ListDatasetsRequest()).datasets
        if session.json {
            session.console.print(JSON.array(datasets.map(JSON.dataset)).text)
            return 0
        }
        guard !datasets.isEmpty else {
            session.console.print(
                "no datasets registered; add one with: arf data add NAME PATH --role ROLE")
            return 0
        }
        var table = TextTable(headers: ["NAME", "ROLE", "FORMAT", "ITEMS", "CLASSES", "PATH"])
        for info in datasets {
            table.rows.append([
                info.name, info.role, info.format, String(info.items),
                info.classes.isEmpty ? "-" : String(info.classes.count), info.path,
            ])
        }
        session.console.print(table.text)
        return 0
    }

    static func show(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage = "arf data show NAME [--sample N] [--json]"
        let name = try arguments.operands(after: 2, count: 1...1, usage: usage)[0]
        let sample = try arguments.integer("sample", default: 5, in: 0...10_000)
        try arguments.finish()
        let reply = try session.call(
            Methods.showDataset, ShowDatasetRequest(name: name, sample: UInt32(sample)))
        let info = reply.dataset
        if session.json {
            session.console.print(
                JSON.object([
                    ("dataset", JSON.dataset(info)),
                    ("class_counts", .array(reply.classCounts.map { .int(Int64($0)) })),
                    ("sample", .array(reply.sample.map(JSON.item))),
                    (
                        "embeddings",
                        .array(
                            reply.embeddings.map {
                                .object([
                                    ("model", .string($0.model)),
                                    ("modality", .string($0.modality)),
                                    ("count", .int(Int64($0.count))),
                                ])
                            })
                    ),
                    ("caption_sets", .array(reply.captionSets.map(JSON.captionSet))),
                ]).text)
            return 0
        }
        var lines = [
            "\(info.name): \(info.role), \(info.format), \(info.items) items" + classesNote(info),
            "path: \(info.path)",
        ]
        if !info.classes.isEmpty {
            let counts = zip(info.classes, reply.classCounts).prefix(20).map { "\($0) (\($1))" }
            lines.append(
                "classes: " + counts.joined(separator: ", ")
                    + (info.classes.count > 20 ? ", ..." : ""))
        }
        for stored in reply.embeddings {
            lines.append("embeddings: \(stored.count) \(stored.modality) with \(stored.model)")
        }
        for set in reply.captionSets {
            lines.append(
                "captions: \(set.count) by \(set.captioner) (set \(set.id), options "
                    + "\(set.optionsJSON))")
        }
        session.console.print(lines.joined(separator: "\n"))
        if !reply.sample.isEmpty {
            var table = TextTable(headers: [
                "ITEM", "PATH", info.classes.isEmpty ? "CAPTION" : "CLASS",
            ])
            for item in reply.sample {
                table.rows.append([
                    String(item.index), item.path,
                    info.classes.isEmpty ? item.caption : item.className,
                ])
            }
            session.console.print(table.text)
        }
        return 0
    }

    static func remove(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let name = try arguments.operands(after: 2, count: 1...1, usage: "arf data rm NAME")[0]
        try arguments.finish()
        let reply = try session.call(Methods.removeDataset, RemoveDatasetRequest(name: name))
        if session.json {
            session.console.print(
                JSON.object([
                    ("name", .string(name)), ("items", .int(Int64(reply.items))),
                    ("embeddings", .int(Int64(reply.embeddings))),
                    ("captions", .int(Int64(reply.captions))),
                ]).text)
        } else {
            session.console.print(
                "removed \(name): \(reply.items) items, \(reply.embeddings) embeddings, "
                    + "\(reply.captions) captions")
        }
        return 0
    }

    static func embed(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf data embed NAME --model M [--modality image|text|both] [--batch N] "
            + "[--max-rate R] [--detach]"
        let name = try arguments.operands(after: 2, count: 1...1, usage: usage)[0]
        var params: [(String, JSON)] = [
            ("model", .string(try arguments.required("model", usage: usage))),
            ("dataset", .string(name)),
            ("batch", .int(Int64(try arguments.integer("batch", default: 32, in: 1...1024)))),
            ("max_rate", .double(try arguments.number("max-rate", default: 0))),
        ]
        if let modality = arguments.option("modality") {
            params.append(("modality", .string(modality)))
        }
        let detach = arguments.flag("detach")
        try arguments.finish()
        return try JobCommands.submit(
            kind: "embed", params: .object(params), detach: detach, unit: "items",
            what: "embed \(name)", session)
    }

    static func embeddings(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf data embeddings NAME --model M [--modality image|text] [--limit N] [--start I]"
        let name = try arguments.operands(after: 2, count: 1...1, usage: usage)[0]
        let request = ListDatasetEmbeddingsRequest(
            name: name, model: try arguments.required("model", usage: usage),
            modality: arguments.option("modality") ?? "",
            limit: UInt32(try arguments.integer("limit", default: 1000, in: 1...10_000)),
            start: UInt64(try arguments.integer("start", default: 0, in: 0...Int.max)))
        try arguments.finish()
        let reply = try session.call(Methods.listDatasetEmbeddings, request)
        for (index, embedding) in zip(reply.indices, reply.embeddings) {
            if session.json {
                session.console.print(
                    JSON.object([("index", .int(Int64(index)))] + JSON.embeddingFields(embedding))
                        .text)
            } else {
                session.console.print(
                    "\(index)  \(embedding.input)  \(Format.head(embedding.values))")
            }
        }
        if !session.json {
            session.console.note("\(reply.embeddings.count) of \(reply.total) stored embeddings")
        }
        return 0
    }

    private static func classesNote(_ info: DatasetInfo) -> String {
        info.classes.isEmpty ? "" : " in \(info.classes.count) classes"
    }
}

extension JSON {
    /// A dataset as scripts read it.
    static func dataset(_ info: DatasetInfo) -> JSON {
        .object([
            ("name", .string(info.name)), ("role", .string(info.role)),
            ("format", .string(info.format)), ("path", .string(info.path)),
            ("root", .string(info.root)), ("items", .int(Int64(info.items))),
            ("classes", .array(info.classes.map(JSON.string))),
            ("created_unix", .double(info.createdUnix)),
        ])
    }

    static func item(_ item: DatasetItemInfo) -> JSON {
        .object([
            ("index", .int(Int64(item.index))), ("path", .string(item.path)),
            ("class", .string(item.className)), ("caption", .string(item.caption)),
        ])
    }

    static func captionSet(_ set: CaptionSetInfo) -> JSON {
        .object([
            ("id", .string(set.id)), ("captioner", .string(set.captioner)),
            ("version", .string(set.version)), ("source", .string(set.source)),
            ("model", .string(set.model)), ("options", .raw(set.optionsJSON)),
            ("count", .int(Int64(set.count))), ("created_unix", .double(set.createdUnix)),
        ])
    }

    /// The fields of `JSON.embedding`, to extend with more.
    static func embeddingFields(_ embedding: Embedding) -> [(String, JSON)] {
        guard case .object(let fields) = JSON.embedding(embedding) else { return [] }
        return fields
    }
}
