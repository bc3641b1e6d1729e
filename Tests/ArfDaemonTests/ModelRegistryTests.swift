// The model registry through a real arfd: a checkpoint is checked before it is registered (a
// bad one is a clear error and loses nothing), names are unique unless replaced, and the
// registry survives a restart, loading the weights again on first use.
import ArfWire
import Foundation
import Testing

/// The status code and message of a failed call, or nil when it succeeded.
func failure<T>(_ body: () throws -> T) -> (code: StatusCode, message: String, hint: String)? {
    do {
        _ = try body()
        return nil
    } catch WireError.status(let code, let message, let hint) {
        return (code, message, hint)
    } catch {
        return (.internal, "\(error)", "")
    }
}

@Suite("Model registry")
struct ModelRegistryTests {
    @Test("a missing or broken checkpoint is refused and loses nothing registered")
    func badCheckpointsAreRefused() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)

        let missing = failure {
            try client.call(
                Methods.loadModel,
                LoadModelRequest(name: "other", directory: daemon.folder + "/nothing"))
        }
        #expect(missing?.code == .notFound, "\(String(describing: missing))")

        // A folder with a config but no weights.
        let broken = daemon.folder + "/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Fixture.checkpoint + "/config.json", toPath: broken + "/config.json")
        let noWeights = failure {
            try client.call(
                Methods.loadModel, LoadModelRequest(name: "tiny", directory: broken, replace: true))
        }
        #expect(noWeights?.code == .notFound, "\(String(describing: noWeights))")
        #expect(noWeights?.message.contains("model.safetensors") == true)

        // A config that is not JSON.
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: broken + "/config.json"))
        let badConfig = failure {
            try client.call(
                Methods.loadModel, LoadModelRequest(name: "tiny", directory: broken, replace: true))
        }
        #expect(badConfig?.code == .invalidArgument, "\(String(describing: badConfig))")

        // "tiny" is still the fixture and still answers.
        let models = try client.call(Methods.listModels, ListModelsRequest()).models
        #expect(models.map(\.name) == ["tiny"])
        #expect(models.first?.directory == Fixture.checkpoint)
        let reply = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: [.text("x")]))
        #expect(reply.embeddings.first?.values.count == 32)
    }

    @Test("loading a taken name is alreadyExists unless replace is set")
    func namesAreUniqueUnlessReplaced() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        let client = try daemon.client()
        try loadTiny(client)

        let again = failure { try loadTiny(client) }
        #expect(again?.code == .alreadyExists, "\(String(describing: again))")
        #expect(again?.hint.contains("--replace") == true)

        let replaced = try client.call(
            Methods.loadModel,
            LoadModelRequest(name: "tiny", directory: Fixture.checkpoint, replace: true))
        #expect(replaced.model.loaded)
        #expect(replaced.model.architecture.projectionDim == 32)
        #expect(replaced.model.architecture.visionLayers == 2)
        #expect(replaced.model.architecture.parameterCount > 0)
    }

    @Test("a restart keeps the registry and loads the weights again on first use")
    func registrySurvivesRestart() throws {
        let daemon = try DaemonProcess()
        defer { daemon.cleanup() }
        var client = try daemon.client()
        try loadTiny(client)
        let before = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: [.text("a photo of a dog.")]))
        client.close()
        #expect(try daemon.terminate() == 0)

        try daemon.start()
        client = try daemon.client()
        let listed = try client.call(Methods.listModels, ListModelsRequest()).models
        #expect(listed.map(\.name) == ["tiny"])
        #expect(listed.first?.loaded == false, "weights load lazily, on first use")
        #expect(try client.call(Methods.status, StatusRequest()).loadedModels.isEmpty)

        let after = try client.call(
            Methods.embed, EmbedRequest(model: "tiny", inputs: [.text("a photo of a dog.")]))
        let error = relativeError(after.embeddings[0].values, before.embeddings[0].values)
        #expect(error.largest < 1e-6, "largest difference across the restart \(error.largest)")
        #expect(try client.call(Methods.status, StatusRequest()).loadedModels == ["tiny"])
    }
}
