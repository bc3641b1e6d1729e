// `arf embed`, `arf classify` and `arf embeddings list`: inference on a loaded model, and the
// embeddings an embed-folder job stored. Image paths are sent absolute (the daemon reads them
// itself); `embed` keeps the order in which --image and --text were given.
import ArfSupport
import ArfWire
import Foundation

enum InferenceCommands {
    static func embed(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage = "arf embed --model NAME [--image FILE]... [--text TEXT]... [--json]"
        _ = try arguments.operands(after: 1, count: 0...0, usage: usage)
        let model = try arguments.required("model", usage: usage)
        let images = arguments.options("image")
        let texts = arguments.options("text")
        try arguments.finish()
        // Arguments groups values by option name; the order across names comes from the words.
        let inputs = orderedOptions(session.words, names: ["image", "text"]).map { name, value in
            name == "image" ? EmbedInput.imagePath(absolutePath(value)) : EmbedInput.text(value)
        }
        guard !inputs.isEmpty, inputs.count == images.count + texts.count else {
            throw UsageError(
                "give at least one --image FILE or --text TEXT", hint: "usage: \(usage)")
        }

        let reply = try session.call(Methods.embed, EmbedRequest(model: model, inputs: inputs))
        if session.json {
            for embedding in reply.embeddings {
                session.console.print(JSON.embedding(embedding).text)
            }
            return 0
        }
        var table = TextTable(headers: ["KIND", "DIM", "VALUES", "INPUT"])
        for embedding in reply.embeddings {
            table.rows.append([
                embedding.kind == .image ? "image" : "text", String(embedding.values.count),
                Format.head(embedding.values), embedding.input,
            ])
        }
        session.console.print(table.text)
        return 0
    }

    static func classify(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage =
            "arf classify --model NAME --labels A,B,C [--template T]... [--top K] [--json] FILE..."
        let files = try arguments.operands(after: 1, count: 1...Int.max, usage: usage)
        let model = try arguments.required("model", usage: usage)
        let labels = arguments.options("labels").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let templates = arguments.options("template")
        let top = try arguments.integer("top", default: 5, in: 1...100_000)
        try arguments.finish()
        guard !labels.isEmpty else {
            throw UsageError("--labels A,B,C is required", hint: "usage: \(usage)")
        }

        let request = ClassifyRequest(
            model: model, labels: labels, templates: templates,
            images: files.map { ImageInput.path(absolutePath($0)) }, topK: UInt32(top))
        let reply = try session.call(Methods.classify, request)
        if session.json {
            for result in reply.results {
                let ranked = result.ranked.map { score -> JSON in
                    .object([
                        ("label", .string(score.label)), ("probability", .float(score.probability)),
                    ])
                }
                session.console.print(
                    JSON.object([("input", .string(result.input)), ("ranked", .array(ranked))]).text
                )
            }
            return 0
        }
        var lines: [String] = []
        for result in reply.results {
            lines.append(result.input)
            for score in result.ranked {
                lines.append(String(format: "  %.4f  ", score.probability) + score.label)
            }
        }
        session.console.print(lines.joined(separator: "\n"))
        return 0
    }

    static func listStored(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage = "arf embeddings list --model NAME DIR [--limit N] [--after ITEM] [--json]"
        let operands = try arguments.operands(after: 2, count: 1...1, usage: usage)
        let model = try arguments.required("model", usage: usage)
        let limit = try arguments.integer("limit", default: 1000, in: 1...10_000)
        let after = arguments.option("after") ?? ""
        try arguments.finish()

        let request = ListStoredRequest(
            model: model, folder: absolutePath(operands[0]), limit: UInt32(limit), after: after)
        let reply = try session.call(Methods.listStored, request)
        if session.json {
            for embedding in reply.embeddings {
                session.console.print(JSON.embedding(embedding).text)
            }
            return 0
        }
        var table = TextTable(headers: ["DIM", "VALUES", "ITEM"])
        for embedding in reply.embeddings {
            table.rows.append([
                String(embedding.values.count), Format.head(embedding.values), embedding.input,
            ])
        }
        if !reply.embeddings.isEmpty { session.console.print(table.text) }
        session.console.note("\(reply.embeddings.count) shown of \(reply.total) stored")
        return 0
    }

    /// The values of the options `names`, in the order the words give them; the words are
    /// read the way `Arguments` reads them (flags take no value, `--` ends the options).
    static func orderedOptions(_ words: [String], names: Set<String>) -> [(String, String)] {
        var found: [(String, String)] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "--" { break }
            guard word.hasPrefix("--") else { continue }
            var name = String(word.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if ArfCLI.flags.contains(name) { continue }
            if value == nil, index < words.count {
                value = words[index]
                index += 1
            }
            if names.contains(name), let value { found.append((name, value)) }
        }
        return found
    }
}
