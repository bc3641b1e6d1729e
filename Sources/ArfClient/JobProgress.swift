// Submitting and following jobs, for every command that runs one: the bar shows progress with
// rate and ETA and, for training, the latest loss and learning rate; JSON events carry them;
// the final event is handed back so a command (or the demo) can read the job's result. Also
// the conversion of parsed JSON (a config file, a job result) into the client's ordered JSON
// values.
import ArfSupport
import ArfWire
import Foundation

enum JobProgress {
    /// Submits a job; unless `detach`, follows it to its end and returns its final event.
    static func submit(
        kind: String, params: JSON, title: String, unit: String, what: String, detach: Bool,
        _ session: Session, printEvents: Bool = true
    ) throws -> JobEvent? {
        let request = SubmitJobRequest(kind: kind, paramsJSON: params.text)
        let job = try session.call(Methods.submitJob, request).job
        if detach {
            JobCommands.printDetached(job, session)
            return nil
        }
        if !session.json && printEvents { session.console.note("job \(job.id) queued: \(what)") }
        return try follow(job.id, title: title, unit: unit, session, printEvents: printEvents)
    }

    /// Streams a job's events until it ends; returns the final event of a job that succeeded
    /// and throws for one that failed or was cancelled. With `--json` (and `printEvents`) each
    /// event is printed as a JSON line instead of the bar.
    static func follow(
        _ id: String, title: String, unit: String, _ session: Session, printEvents: Bool = true
    ) throws -> JobEvent {
        let client = try session.connect()
        defer { client.close() }
        let stream = try client.openStream(Methods.watchJob, WatchJobRequest(jobID: id))
        let asJSON = session.json && printEvents
        let bar = ProgressBar(console: session.console, title: title, unit: unit)
        var last: JobEvent?
        var lastMessage = ""
        do {
            while let event = try stream.next() {
                last = event
                if asJSON {
                    session.console.print(JSON.event(event).text)
                    continue
                }
                if printEvents, !event.message.isEmpty, event.message != lastMessage,
                    !event.state.isFinal
                {
                    bar.message("\(title): \(event.message)")
                    lastMessage = event.message
                }
                bar.update(
                    step: event.step, total: event.total, rate: event.rate,
                    eta: event.etaSeconds, detail: detail(event))
            }
        } catch {
            bar.finish()
            guard let last, !last.state.isFinal else { throw error }
            let reason = ClientError(error, socket: session.socketPath).message
            throw ClientError.watchEnded(id: id, state: last.state, reason: reason)
        }
        bar.finish()
        guard let last else {
            throw ClientError.watchEnded(id: id, state: .unspecified, reason: "no events came")
        }
        switch last.state {
        case .succeeded:
            return last
        case .failed, .cancelled:
            throw ClientError.jobEnded(id: id, state: last.state, message: last.message)
        default:
            throw ClientError.watchEnded(
                id: id, state: last.state, reason: "the daemon ended the stream")
        }
    }

    /// "loss 0.5312 lr 1.00e-04" for events that carry them.
    static func detail(_ event: JobEvent) -> String {
        guard event.loss != 0 || event.learningRate != 0 else { return "" }
        return String(format: "loss %.4f lr %.2e", event.loss, event.learningRate)
    }

    /// The result of a finished job as a JSON object.
    static func result(_ event: JobEvent) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(event.resultJSON.utf8)),
            let result = object as? [String: Any]
        else {
            throw ClientError.daemon(
                CallStatus(.internal, "job \(event.jobID) returned no readable result"))
        }
        return result
    }
}

extension JSON {
    /// A value parsed by JSONSerialization, objects with their keys sorted.
    static func from(_ value: Any) -> JSON {
        switch value {
        case let text as String:
            return .string(text)
        case let number as NSNumber:
            // JSONSerialization marks booleans "c" and fractions "d"; the rest are integers.
            switch String(cString: number.objCType) {
            case "c": return .bool(number.boolValue)
            case "d", "f": return .double(number.doubleValue)
            default: return .int(number.int64Value)
            }
        case let items as [Any]:
            return .array(items.map(from))
        case let object as [String: Any]:
            return .object(object.keys.sorted().map { ($0, from(object[$0]!)) })
        default:
            return .null
        }
    }

    /// The fields of an object value; empty for any other value.
    var fields: [(String, JSON)] {
        if case .object(let fields) = self { return fields }
        return []
    }

    /// An object with `key` set to `value`, replacing an earlier value of the key.
    func setting(_ key: String, _ value: JSON) -> JSON {
        var fields = self.fields.filter { $0.0 != key }
        fields.append((key, value))
        return .object(fields)
    }
}
