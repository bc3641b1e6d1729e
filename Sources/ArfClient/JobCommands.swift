// `arf embed-folder` and `arf jobs list|watch|cancel|prune`, and the submission of jobs for
// the other commands. Watching is one stream of events from the daemon, drawn as a progress
// bar; a watcher that goes away (Ctrl-C, a killed terminal) leaves the job running, and
// `arf jobs watch ID` picks it up again from its current step.
import ArfSupport
import ArfWire
import Foundation

enum JobCommands {
    static func embedFolder(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let usage = "arf embed-folder --model NAME DIR [--batch N] [--max-rate R] [--detach]"
        let folder = absolutePath(try arguments.operands(after: 1, count: 1...1, usage: usage)[0])
        let model = try arguments.required("model", usage: usage)
        let batch = try arguments.integer("batch", default: 32, in: 1...1024)
        let maxRate = try arguments.number("max-rate", default: 0)
        let detach = arguments.flag("detach")
        try arguments.finish()
        guard maxRate >= 0 else {
            throw UsageError("--max-rate takes a number of images per second, 0 for no limit")
        }

        let params = JSON.object([
            ("model", .string(model)), ("folder", .string(folder)), ("batch", .int(Int64(batch))),
            ("max_rate", .double(maxRate)),
        ])
        return try submit(
            kind: "embed-folder", params: params, detach: detach, unit: "img",
            what: "embed \(folder) with \(model)", session)
    }

    /// Submits a job and, unless `detach`, follows it to its end.
    static func submit(
        kind: String, params: JSON, detach: Bool, unit: String, what: String, _ session: Session
    ) throws -> Int32 {
        let request = SubmitJobRequest(kind: kind, paramsJSON: params.text)
        let job = try session.call(Methods.submitJob, request).job
        if detach {
            printDetached(job, session)
            return 0
        }
        if !session.json { session.console.note("job \(job.id) queued: \(what)") }
        return try follow(job.id, unit: unit, session)
    }

    static func list(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        _ = try arguments.operands(after: 2, count: 0...0, usage: "arf jobs list [--json]")
        try arguments.finish()
        let jobs = try session.call(Methods.listJobs, ListJobsRequest()).jobs
        if session.json {
            session.console.print(JSON.array(jobs.map(JSON.job)).text)
            return 0
        }
        guard !jobs.isEmpty else {
            session.console.print("no jobs")
            return 0
        }
        let now = Date().timeIntervalSince1970
        var table = TextTable(headers: ["ID", "KIND", "STATE", "PROGRESS", "AGE", "MESSAGE"])
        for job in jobs {
            let progress = job.total > 0 ? "\(job.step)/\(job.total)" : "-"
            table.rows.append([
                job.id, job.kind, Format.state(job.state), progress,
                Format.duration(now - job.createdUnix), job.message,
            ])
        }
        session.console.print(table.text)
        return 0
    }

    static func watch(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let id = try arguments.operands(after: 2, count: 1...1, usage: "arf jobs watch ID")[0]
        try arguments.finish()
        let kind = try session.call(Methods.listJobs, ListJobsRequest()).jobs
            .first { $0.id == id }?.kind
        return try follow(id, unit: kind == "embed-folder" ? "img" : "items", session)
    }

    static func cancel(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        let id = try arguments.operands(after: 2, count: 1...1, usage: "arf jobs cancel ID")[0]
        try arguments.finish()
        let state = try session.call(Methods.cancelJob, CancelJobRequest(jobID: id)).state
        if session.json {
            session.console.print(
                JSON.object([("job", .string(id)), ("state", .string(Format.state(state)))]).text)
        } else {
            session.console.print("job \(id): \(Format.state(state))")
        }
        return 0
    }

    static func prune(_ arguments: inout Arguments, _ session: Session) throws -> Int32 {
        _ = try arguments.operands(
            after: 2, count: 0...0, usage: "arf jobs prune [--older-than AGE] [--keep N]")
        let age = try arguments.option("older-than").map(Self.seconds) ?? 0
        let keep = try arguments.integer("keep", default: 20, in: 0...1_000_000)
        try arguments.finish()
        let reply = try session.call(
            Methods.pruneJobs, PruneJobsRequest(olderThanSeconds: age, keep: UInt32(keep)))
        if session.json {
            session.console.print(
                JSON.object([
                    ("removed", .array(reply.removed.map(JSON.string))),
                    ("remaining", .int(Int64(reply.remaining))),
                ]).text)
        } else {
            let ids =
                reply.removed.count > 10
                ? reply.removed.prefix(5).joined(separator: ", ") + ", ... "
                    + reply.removed.suffix(3).joined(separator: ", ")
                : reply.removed.joined(separator: ", ")
            session.console.print(
                reply.removed.isEmpty
                    ? "no ended jobs to forget; \(reply.remaining) jobs remain"
                    : "forgot \(reply.removed.count) ended jobs (\(ids)); "
                        + "\(reply.remaining) remain")
        }
        return 0
    }

    /// An age such as "90s", "30m", "12h" or "7d", in seconds.
    static func seconds(_ text: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last.flatMap({ units[$0] }), let value = Double(text.dropLast()),
            value.isFinite, value >= 0
        else {
            throw UsageError(
                "--older-than takes a number with a unit, such as 90s, 30m, 12h or 7d; not \(text)")
        }
        return value * unit
    }

    /// Streams a job's events until it ends (see JobProgress.follow); 0 when it succeeded.
    static func follow(_ id: String, unit: String, _ session: Session) throws -> Int32 {
        let last = try JobProgress.follow(id, title: "job \(id)", unit: unit, session)
        if !session.json { printSummary(last, session) }
        return 0
    }

    /// What a detached submission prints: the job as JSON, or its id and how to follow it.
    static func printDetached(_ job: JobInfo, _ session: Session) {
        if session.json {
            session.console.print(JSON.job(job).text)
        } else {
            session.console.print(job.id)
            session.console.note("job \(job.id) queued; follow it with: arf jobs watch \(job.id)")
        }
    }

    /// The final message and, for jobs that report them, the items they skipped.
    private static func printSummary(_ event: JobEvent, _ session: Session) {
        session.console.print("job \(event.jobID) succeeded: \(event.message)")
        guard let object = try? JSONSerialization.jsonObject(with: Data(event.resultJSON.utf8)),
            let result = object as? [String: Any],
            let failures = result["failures"] as? [[String: Any]]
        else { return }
        for failure in failures {
            let path = failure["path"] as? String ?? "?"
            let error = failure["error"] as? String ?? "?"
            session.console.print("  skipped \(path): \(error)")
        }
    }
}
