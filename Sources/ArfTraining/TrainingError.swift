// The training layer's one error enum: bad configurations, unknown or misconfigured losses,
// data that does not fit the model, checkpoints that cannot be read, resumed or interpolated.
// Each case carries the values that explain it, so a message can be shown to a user as is.
import Foundation

/// Everything that can go wrong configuring, running, evaluating or interpolating a finetune.
public enum TrainingError: Error, CustomStringConvertible {
    /// A configuration field has a value that cannot be used.
    case badConfig(field: String, reason: String)
    case unknownLoss(name: String, known: [String])
    case badLossOptions(loss: String, reason: String)
    /// A loss needs data the run was not given (retrieved pairs, captions).
    case missingData(loss: String, reason: String)
    case emptyDataset(what: String)
    case badLabel(index: Int, label: Int, classes: Int)
    /// A source's images do not have the model's channels x side x side values.
    case imageSizeMismatch(expected: Int, found: Int)
    case classNamesDiffer(config: [String], data: [String])
    case checkpointNotFound(path: String)
    case unreadableState(path: String, reason: String)
    /// A run was resumed with a configuration or data that differ from the saved run's.
    case resumeMismatch(path: String, fields: [String])
    case missingTensor(name: String, file: String)
    case shapeMismatch(name: String, first: [Int], second: [Int])
    case tensorSetsDiffer(onlyFirst: [String], onlySecond: [String])
    case badHead(path: String, reason: String)
    case badAlpha(Double)
    case io(path: String, reason: String)
    /// A pair-list file that cannot be read as one (see PairListFile).
    case badPairList(path: String, reason: String)

    public var description: String {
        switch self {
        case .badConfig(let field, let reason):
            "configuration field \(field): \(reason)"
        case .unknownLoss(let name, let known):
            "no loss named \(name); known losses: \(known.joined(separator: ", "))"
        case .badLossOptions(let loss, let reason):
            "bad options for loss \(loss): \(reason)"
        case .missingData(let loss, let reason):
            "loss \(loss) cannot run: \(reason)"
        case .emptyDataset(let what):
            "\(what) is empty"
        case .badLabel(let index, let label, let classes):
            "example \(index) has label \(label), outside the \(classes) classes"
        case .imageSizeMismatch(let expected, let found):
            "an image has \(found) pixel values; the model takes \(expected) (channels x side "
                + "x side, preprocessed at the model's size)"
        case .classNamesDiffer(let config, let data):
            "the configuration names classes \(config) but the data has \(data)"
        case .checkpointNotFound(let path):
            "no checkpoint at \(path)"
        case .unreadableState(let path, let reason):
            "cannot read training state \(path): \(reason)"
        case .resumeMismatch(let path, let fields):
            "cannot resume from \(path): \(fields.joined(separator: ", ")) differ from this run"
        case .missingTensor(let name, let file):
            "\(file) has no tensor \(name)"
        case .shapeMismatch(let name, let first, let second):
            "tensor \(name) has shape \(first) in one checkpoint and \(second) in the other"
        case .tensorSetsDiffer(let onlyFirst, let onlySecond):
            "the checkpoints hold different tensors: only in the first "
                + "\(onlyFirst.prefix(5)), only in the second \(onlySecond.prefix(5))"
        case .badHead(let path, let reason):
            "classifier head \(path): \(reason)"
        case .badAlpha(let alpha):
            "interpolation weight \(alpha) is not a finite number"
        case .io(let path, let reason):
            "\(path): \(reason)"
        case .badPairList(let path, let reason):
            "pair list \(path): \(reason)"
        }
    }
}
