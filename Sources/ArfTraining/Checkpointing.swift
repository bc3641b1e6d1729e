// Checkpoints of a run and resuming from them. A checkpoint is a folder a Hugging Face
// loader reads as a model (config.json, model.safetensors, the base checkpoint's tokenizer
// and preprocessor files), plus classifier.safetensors for a ce head, and the training state
// beside them: optimizer.safetensors (AdamW moments by parameter name) and
// training-state.json (step, phases and schedules, generator state, data order positions,
// the configuration). Layout under the run's output folder:
//   checkpoints/step-000100/...   one folder per checkpoint, written under a temporary name
//                                 and renamed when complete
//   checkpoints/latest            the name of the newest complete checkpoint
// A crash while writing leaves at worst a temporary folder, never a half checkpoint that
// `latest` names.
import ArfCLIP
import ArfSupport
import ArfTensor
import Foundation

/// A loss term's identity as a saved run records it.
struct LossVersion: Codable, Equatable {
    var name: String
    var version: Int
}

/// Everything besides weights that a resumed run needs to continue exactly.
struct TrainingState: Codable {
    var format = "arf-training-state"
    var formatVersion = 1
    var config: FinetuneConfig
    var losses: [LossVersion]
    var step: Int
    var totalSteps: Int
    var phases: [TrainingPhase]
    var optimizerPhase: TrainingPhase.Kind?
    var optimizerStep: Int
    var random: SeededGenerator
    var order: EpochOrder
    var pairOrder: EpochOrder?
    var examples: Int
    var pairs: Int
    var base: String
}

extension Finetuner {
    public static let stateFileName = "training-state.json"
    public static let optimizerFileName = "optimizer.safetensors"
    /// Files copied from the base checkpoint so that a checkpoint loads as a model.
    static let companionFiles = [
        "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "preprocessor_config.json",
    ]
    /// Fields that may change between a run and its resumption.
    static let resumableFields: Set<String> = ["checkpointInterval", "keepCheckpoints"]

    public var checkpointsDirectory: URL {
        outputDirectory.appendingPathComponent("checkpoints")
    }

    /// The newest complete checkpoint under a run's output folder, if any.
    public static func latestCheckpoint(in output: URL) -> URL? {
        let folder = output.appendingPathComponent("checkpoints")
        guard
            let data = FileManager.default.contents(
                atPath: folder.appendingPathComponent("latest").path),
            let name = String(data: data, encoding: .utf8)?
                .trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty
        else { return nil }
        let url = folder.appendingPathComponent(name, isDirectory: true)
        return FileManager.default.fileExists(
            atPath: url.appendingPathComponent(stateFileName).path)
            ? url : nil
    }

    /// Writes a checkpoint of the current step and makes it the latest.
    @discardableResult
    public func saveCheckpoint() throws -> URL {
        let fm = FileManager.default
        let name = String(format: "step-%06d", completedSteps)
        let folder = checkpointsDirectory.appendingPathComponent(name, isDirectory: true)
        let partial = checkpointsDirectory.appendingPathComponent(".\(name).partial")
        try io(partial.path) {
            if fm.fileExists(atPath: partial.path) { try fm.removeItem(at: partial) }
            try fm.createDirectory(at: partial, withIntermediateDirectories: true)
        }

        try model.save(directory: partial)
        for file in Self.companionFiles {
            let source = baseDirectory.appendingPathComponent(file)
            guard fm.fileExists(atPath: source.path) else { continue }
            try io(source.path) {
                try fm.copyItem(at: source, to: partial.appendingPathComponent(file))
            }
        }
        try head?.save(to: partial.appendingPathComponent(ClassifierHead.fileName))

        // Moments are stored by parameter name, so a resumed run can match them up.
        var moments: [(name: String, tensor: Tensor)] = []
        for (parameter, pair) in zip(trainedParameters, optimizer.moments) {
            moments.append(("m.\(parameter.name)", pair.m))
            moments.append(("v.\(parameter.name)", pair.v))
        }
        try SafeTensorsFile.write(
            moments, metadata: ["format": "arf-optimizer", "step": "\(optimizer.step)"],
            to: partial.appendingPathComponent(Self.optimizerFileName))
        let state = TrainingState(
            config: config,
            losses: terms.map { LossVersion(name: $0.name, version: versionOf($0)) },
            step: completedSteps, totalSteps: totalSteps, phases: phases,
            optimizerPhase: optimizerPhase,
            optimizerStep: optimizer.step, random: random, order: order, pairOrder: pairOrder,
            examples: data.count, pairs: pairs?.count ?? 0, base: baseDirectory.path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try io(partial.path) {
            try encoder.encode(state).write(
                to: partial.appendingPathComponent(Self.stateFileName), options: .atomic)
            if fm.fileExists(atPath: folder.path) { try fm.removeItem(at: folder) }
            try fm.moveItem(at: partial, to: folder)
            try Data((name + "\n").utf8).write(
                to: checkpointsDirectory.appendingPathComponent("latest"), options: .atomic)
        }
        lastCheckpoint = (completedSteps, folder)
        try pruneCheckpoints(keeping: name)
        log.info("checkpoint saved", ("step", completedSteps), ("path", folder.path))
        return folder
    }

    /// Deletes all but the newest `keepCheckpoints` checkpoint folders.
    func pruneCheckpoints(keeping newest: String) throws {
        let fm = FileManager.default
        let names = try io(checkpointsDirectory.path) {
            try fm.contentsOfDirectory(atPath: checkpointsDirectory.path)
        }
        let steps = names.filter { $0.hasPrefix("step-") }.sorted()
        for name in steps.dropLast(config.keepCheckpoints) where name != newest {
            let url = checkpointsDirectory.appendingPathComponent(name)
            try io(url.path) { try fm.removeItem(at: url) }
        }
    }

    /// Continues from a checkpoint of this run: weights, head, optimizer moments, step,
    /// generator and data order. Refuses a checkpoint of a differently configured run.
    public func restore(from checkpoint: URL) throws {
        let stateURL = checkpoint.appendingPathComponent(Self.stateFileName)
        guard let data = FileManager.default.contents(atPath: stateURL.path) else {
            throw TrainingError.checkpointNotFound(path: stateURL.path)
        }
        let state: TrainingState
        do {
            state = try JSONDecoder().decode(TrainingState.self, from: data)
        } catch {
            throw TrainingError.unreadableState(path: stateURL.path, reason: "\(error)")
        }
        try checkResumable(state, path: stateURL.path)

        try model.loadWeights(
            from: SafeTensorsFile(url: checkpoint.appendingPathComponent("model.safetensors")))
        if let head {
            let saved = try ClassifierHead.load(
                from: checkpoint.appendingPathComponent(ClassifierHead.fileName))
            guard saved.weight.shape == head.weight.shape else {
                throw TrainingError.shapeMismatch(
                    name: "classifier.weight", first: head.weight.shape, second: saved.weight.shape)
            }
            head.weight.value.copy(from: saved.weight.value)
        }
        completedSteps = state.step
        random = state.random
        order = state.order
        pairOrder = state.pairOrder

        // Moments only carry over within the phase they were made in.
        optimizerPhase = nil
        if let phase = phases.first(where: { completedSteps < $0.end }) {
            enter(phase.kind)
            if state.optimizerPhase == phase.kind, state.optimizerStep > 0 {
                try restoreMoments(
                    from: checkpoint.appendingPathComponent(Self.optimizerFileName),
                    step: state.optimizerStep)
            }
        }
        lastCheckpoint = (completedSteps, checkpoint)
        log.info("finetune resumed", ("step", completedSteps), ("path", checkpoint.path))
    }

    func restoreMoments(from url: URL, step optimizerStep: Int) throws {
        let file = try SafeTensorsFile(url: url)
        var moments: [(m: Tensor, v: Tensor)] = []
        for parameter in trainedParameters {
            let m = try file.tensor("m.\(parameter.name)")
            let v = try file.tensor("v.\(parameter.name)")
            guard m.shape == parameter.shape, v.shape == parameter.shape else {
                throw TrainingError.shapeMismatch(
                    name: "m.\(parameter.name)", first: parameter.shape, second: m.shape)
            }
            moments.append((m, v))
        }
        optimizer.restore(step: optimizerStep, moments: moments)
    }

    /// Names every field of the saved run that differs from this one.
    func checkResumable(_ state: TrainingState, path: String) throws {
        var differing: [String] = []
        let mine = try configFields(config)
        let saved = try configFields(state.config)
        for key in Set(mine.keys).union(saved.keys).sorted()
        where !Self.resumableFields.contains(key) && mine[key] != saved[key] {
            differing.append(key)
        }
        if state.losses != terms.map({ LossVersion(name: $0.name, version: versionOf($0)) }) {
            differing.append("loss versions")
        }
        if state.examples != data.count { differing.append("number of examples") }
        if state.pairs != (pairs?.count ?? 0) { differing.append("number of pairs") }
        if state.totalSteps != totalSteps { differing.append("total steps") }
        if state.format != "arf-training-state" || state.formatVersion != 1 {
            differing.append("state format")
        }
        guard differing.isEmpty else {
            throw TrainingError.resumeMismatch(path: path, fields: differing)
        }
    }

    /// The configuration as top-level JSON fields, each re-encoded for comparison.
    private func configFields(_ c: FinetuneConfig) throws -> [String: Data] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let object =
            try JSONSerialization.jsonObject(with: encoder.encode(c)) as? [String: Any] ?? [:]
        return try object.mapValues {
            try JSONSerialization.data(
                withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed])
        }
    }

    private func versionOf(_ term: ActiveTerm) -> Int { type(of: term.loss).version }
}

/// Runs a file operation, turning Foundation's errors into `TrainingError.io` on `path`.
func io<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as TrainingError {
        throw error
    } catch {
        throw TrainingError.io(path: path, reason: error.localizedDescription)
    }
}
