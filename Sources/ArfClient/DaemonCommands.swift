// `arf status`, `arf model load` and `arf model list`: the daemon's state and its registry of
// models, as text for people or JSON for scripts.
import ArfSupport
import ArfWire
import Foundation

enum DaemonCommands {
    static func status(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        _ = try arguments.operands(after: 1, count: 0...0, usage: "arf status [--json]")
        try arguments.finish()
        let reply = try session.call(Methods.status, StatusRequest())
        if session.json {
            session.console.print(
                JSON.object([
                    ("version", .string(reply.version)), ("pid", .int(Int64(reply.pid))),
                    ("socket", .string(session.socketPath)),
                    ("uptime_seconds", .double(reply.uptimeSeconds)),
                    ("threads", .int(Int64(reply.threads))),
                    ("loaded_models", .array(reply.loadedModels.map(JSON.string))),
                    ("queued_jobs", .int(Int64(reply.queuedJobs))),
                    ("running_jobs", .int(Int64(reply.runningJobs))),
                ]).text)
            return 0
        }
        let models =
            reply.loadedModels.isEmpty ? "none" : reply.loadedModels.joined(separator: ", ")
        session.console.print(
            """
            arfd \(reply.version) (pid \(reply.pid)), up \(Format.duration(reply.uptimeSeconds))
            socket:  \(session.socketPath)
            threads: \(reply.threads)
            models in memory: \(models)
            jobs: \(reply.runningJobs) running, \(reply.queuedJobs) queued
            """)
        return 0
    }

    static func loadModel(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage = "arf model load NAME DIR [--replace] [--json]"
        let operands = try arguments.operands(after: 2, count: 2...2, usage: usage)
        let replace = arguments.flag("replace")
        try arguments.finish()
        let request = LoadModelRequest(
            name: operands[0], directory: absolutePath(operands[1]), replace: replace)
        let reply = try session.call(Methods.loadModel, request)
        if session.json {
            session.console.print(
                JSON.object(
                    model(reply.model) + [("load_seconds", .double(reply.loadSeconds))]
                ).text)
            return 0
        }
        let info = reply.model
        session.console.print(
            "loaded \(info.name) from \(info.directory) in "
                + String(format: "%.2f s", reply.loadSeconds) + ": "
                + Format.architecture(info.architecture) + ", "
                + Format.count(info.architecture.parameterCount) + " parameters")
        return 0
    }

    static func listModels(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        _ = try arguments.operands(after: 2, count: 0...0, usage: "arf model list [--json]")
        try arguments.finish()
        let reply = try session.call(Methods.listModels, ListModelsRequest())
        if session.json {
            session.console.print(JSON.array(reply.models.map { .object(model($0)) }).text)
            return 0
        }
        guard !reply.models.isEmpty else {
            session.console.print("no models registered; load one with: arf model load NAME DIR")
            return 0
        }
        var table = TextTable(headers: ["NAME", "LOADED", "PARAMS", "ARCHITECTURE", "DIRECTORY"])
        for info in reply.models {
            table.rows.append([
                info.name, info.loaded ? "yes" : "no",
                Format.count(info.architecture.parameterCount),
                Format.architecture(info.architecture), info.directory,
            ])
        }
        session.console.print(table.text)
        return 0
    }

    static func removeModel(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let name = try arguments.operands(
            after: 2, count: 1...1, usage: "arf model rm NAME [--json]")[0]
        try arguments.finish()
        let reply = try session.call(Methods.removeModel, RemoveModelRequest(name: name))
        if session.json {
            session.console.print(
                JSON.object([
                    ("name", .string(name)), ("embeddings", .int(Int64(reply.embeddings))),
                ]).text)
        } else {
            session.console.print(
                "removed model \(name) and \(reply.embeddings) stored embeddings; "
                    + "its checkpoint folder is still on disk")
        }
        return 0
    }

    /// A model's fields as scripts read them.
    static func model(_ info: ModelInfo) -> [(String, JSON)] {
        let a = info.architecture
        return [
            ("name", .string(info.name)), ("directory", .string(info.directory)),
            ("loaded", .bool(info.loaded)),
            (
                "architecture",
                .object([
                    ("vision_width", .int(Int64(a.visionWidth))),
                    ("vision_layers", .int(Int64(a.visionLayers))),
                    ("text_width", .int(Int64(a.textWidth))),
                    ("text_layers", .int(Int64(a.textLayers))),
                    ("patch_size", .int(Int64(a.patchSize))),
                    ("image_size", .int(Int64(a.imageSize))),
                    ("projection_dim", .int(Int64(a.projectionDim))),
                    ("parameter_count", .int(Int64(a.parameterCount))),
                ])
            ),
        ]
    }
}
