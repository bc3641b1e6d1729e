// The daemon's one error enum, and the one place where every error a handler can meet (the
// daemon's own, and those of the checkpoint loader, tokenizer, image codec, store and argument
// parser) is mapped onto a wire status code with a hint. Handlers run their work through
// `mappingErrors`, so nothing reaches the wire as a bare `internal` unless it really is one.
import ArfCLIP
import ArfImage
import ArfStore
import ArfSupport
import ArfTensor
import ArfWire
import Foundation

/// Everything the daemon itself reports as going wrong.
public enum DaemonError: Error, CustomStringConvertible, StatusConvertible {
    /// A request broke a rule the daemon checks (empty model name, no inputs).
    case badRequest(String)
    case unknownModel(name: String, known: [String])
    case modelExists(name: String, directory: String)
    case checkpointNotFound(path: String)
    case notADirectory(path: String)
    /// A folder a job was asked to read does not exist.
    case folderNotFound(path: String)
    /// A registered model's checkpoint no longer loads.
    case registeredModelUnavailable(name: String, directory: String, reason: String)
    case unknownJob(id: String)
    case unknownJobKind(kind: String, known: [String])
    case badJobParams(kind: String, reason: String)
    /// Another daemon holds the data folder's lock.
    case dataFolderInUse(path: String)
    case dataFolderUnusable(path: String, reason: String)
    case configFile(path: String, reason: String)
    case unknownDataset(name: String, known: [String])
    case datasetExists(name: String, path: String)
    /// A folder or pair list that cannot be registered as a dataset.
    case badDataset(path: String, reason: String)
    /// A dataset, model or run ("dataset pets") that a queued or running job still uses.
    case inUse(what: String, job: String)
    /// No finetuning run has this name.
    case unknownRun(name: String, known: [String])
    /// Neither a dataset nor a retrieval task has this name.
    case unknownAnchors(name: String)
    case unknownCaptionSet(dataset: String, id: String, known: [String])
    /// A finetuning run of this name exists with other settings.
    case runExists(name: String)

    public var description: String {
        switch self {
        case .badRequest(let message):
            message
        case .unknownModel(let name, _):
            "no model named \(name)"
        case .modelExists(let name, let directory):
            "a model named \(name) is already registered (from \(directory))"
        case .checkpointNotFound(let path):
            "no checkpoint folder at \(path)"
        case .notADirectory(let path):
            "\(path) is not a folder"
        case .folderNotFound(let path):
            "no folder at \(path)"
        case .registeredModelUnavailable(let name, let directory, let reason):
            "model \(name) is registered from \(directory) but does not load: \(reason)"
        case .unknownJob(let id):
            "no job with id \(id)"
        case .unknownJobKind(let kind, _):
            "no job kind \(kind)"
        case .badJobParams(let kind, let reason):
            "bad parameters for a \(kind) job: \(reason)"
        case .dataFolderInUse(let path):
            "another arfd is using the data folder \(path)"
        case .dataFolderUnusable(let path, let reason):
            "cannot use data folder \(path): \(reason)"
        case .configFile(let path, let reason):
            "cannot use config file \(path): \(reason)"
        case .unknownDataset(let name, _):
            "no dataset named \(name)"
        case .datasetExists(let name, let path):
            "a dataset named \(name) is already registered (from \(path))"
        case .badDataset(let path, let reason):
            "cannot register \(path) as a dataset: \(reason)"
        case .inUse(let what, let job):
            "\(what) is used by job \(job), which has not ended"
        case .unknownRun(let name, _):
            "no finetuning run named \(name)"
        case .unknownAnchors(let name):
            "no dataset or retrieval task named \(name)"
        case .unknownCaptionSet(let dataset, let id, _):
            "dataset \(dataset) has no caption set \(id)"
        case .runExists(let name):
            "a finetuning run named \(name) exists with other settings"
        }
    }

    public var callStatus: CallStatus {
        switch self {
        case .badRequest:
            CallStatus(.invalidArgument, description)
        case .unknownModel(_, let known):
            CallStatus(
                .notFound, description,
                hint: known.isEmpty
                    ? "load one with: arf model load NAME DIR"
                    : "loaded models: \(known.joined(separator: ", "))")
        case .modelExists:
            CallStatus(.alreadyExists, description, hint: "pass --replace to load it again")
        case .checkpointNotFound:
            CallStatus(
                .notFound, description,
                hint: "give a folder with config.json, model.safetensors and the tokenizer files")
        case .notADirectory:
            CallStatus(.invalidArgument, description, hint: "give a folder, not a file")
        case .folderNotFound:
            CallStatus(.notFound, description, hint: "check the path")
        case .registeredModelUnavailable:
            CallStatus(
                .failedPrecondition, description,
                hint: "restore the checkpoint or load another with arf model load --replace")
        case .unknownJob:
            CallStatus(.notFound, description, hint: "see arf jobs list")
        case .unknownJobKind(_, let known):
            CallStatus(
                .invalidArgument, description, hint: "kinds: \(known.joined(separator: ", "))")
        case .badJobParams:
            CallStatus(.invalidArgument, description)
        case .dataFolderInUse:
            CallStatus(.failedPrecondition, description, hint: "stop the other arfd first")
        case .dataFolderUnusable:
            CallStatus(
                .failedPrecondition, description, hint: "give a folder you can write: --data DIR")
        case .configFile:
            CallStatus(.invalidArgument, description)
        case .unknownDataset(_, let known):
            CallStatus(
                .notFound, description,
                hint: known.isEmpty
                    ? "register one with: arf data add NAME PATH --role ROLE"
                    : "datasets: \(known.joined(separator: ", "))")
        case .datasetExists(let name, _):
            CallStatus(
                .alreadyExists, description,
                hint: "read it again in its place with --replace, or remove it: arf data rm \(name)"
            )
        case .badDataset:
            CallStatus(.invalidArgument, description, hint: "see arf data add --help")
        case .inUse(_, let job):
            CallStatus(
                .failedPrecondition, description, hint: "wait for it or: arf jobs cancel \(job)")
        case .unknownAnchors:
            CallStatus(
                .notFound, description,
                hint: "caption a dataset with arf anchors caption, or retrieve with "
                    + "arf anchors retrieve")
        case .unknownCaptionSet(_, _, let known):
            CallStatus(
                .notFound, description,
                hint: known.isEmpty
                    ? "caption it with: arf anchors caption DATASET --captioner NAME"
                    : "caption sets: \(known.joined(separator: ", "))")
        case .runExists:
            CallStatus(
                .alreadyExists, description,
                hint: "give the run another name (--run NAME); arf runs list shows the runs")
        case .unknownRun(_, let known):
            CallStatus(
                .notFound, description,
                hint: known.isEmpty ? "no runs yet" : "runs: \(known.joined(separator: ", "))")
        }
    }
}

/// The wire status for any error a handler may meet.
func callStatus(for error: Error) -> CallStatus {
    switch error {
    case let error as StatusConvertible:
        return error.callStatus
    case let error as UsageError:
        return CallStatus(.invalidArgument, error.message, hint: error.hint)
    case let error as CLIPError:
        return status(of: error)
    case let error as TokenizerError:
        if case .missingFile = error {
            return CallStatus(.notFound, error.description, hint: checkpointHint)
        }
        return CallStatus(.invalidArgument, error.description, hint: checkpointHint)
    case let error as SafeTensorsError:
        return CallStatus(.invalidArgument, error.description, hint: checkpointHint)
    case let error as ImageError:
        return status(of: error)
    case let error as StoreError:
        if case .mapSizeLimit = error {
            return CallStatus(.resourceExhausted, error.description, hint: "free disk space")
        }
        return CallStatus(.internal, "store: \(error)", hint: "see the arfd log")
    default:
        return CallStatus(.internal, "\(error)", hint: "see the arfd log")
    }
}

/// Runs a handler's work and rethrows any failure as a wire status.
func mappingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw WireError(callStatus(for: error))
    }
}

private let checkpointHint = "check the checkpoint folder (a Hugging Face CLIP checkpoint)"

private func status(of error: CLIPError) -> CallStatus {
    switch error {
    case .missingFile:
        CallStatus(.notFound, error.description, hint: checkpointHint)
    case .badConfig, .missingTensor, .unexpectedTensor, .shapeMismatch:
        CallStatus(.invalidArgument, error.description, hint: checkpointHint)
    case .badInput:
        CallStatus(.invalidArgument, error.description)
    }
}

private func status(of error: ImageError) -> CallStatus {
    switch error {
    case .unreadable(let path, _):
        let exists = FileManager.default.fileExists(atPath: path)
        return CallStatus(
            exists ? .invalidArgument : .notFound, error.description,
            hint: exists ? "check the file's permissions" : "check the path")
    case .unknownFormat, .corrupt, .truncated, .unsupported:
        return CallStatus(.invalidArgument, error.description, hint: "arf reads JPEG and PNG")
    case .tooLarge:
        return CallStatus(.invalidArgument, error.description, hint: "scale the image down")
    case .outOfMemory:
        return CallStatus(.resourceExhausted, error.description)
    case .encodingFailed:
        return CallStatus(.internal, error.description)
    case .badConfig:
        return CallStatus(.invalidArgument, error.description, hint: checkpointHint)
    }
}
