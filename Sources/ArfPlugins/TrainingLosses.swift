import ArfPluginAPI
// Loss plugins loaded from the plugins folder become losses a finetuning configuration can
// name: each is added to ArfTraining's loss registry behind a PluginLossTerm. The built-in
// loss plugins need no registration, since they are the trainer's own losses.
import ArfPluginAdapters
import ArfSupport

extension PluginCatalog {
    /// Registers every external loss plugin with the trainer; returns their names.
    @discardableResult
    public func registerTrainingLosses() -> [String] {
        var registered: [String] = []
        for entry in entries where entry.kind == .loss && entry.source != Self.builtinSource {
            guard let type = entry.type as? any LossPlugin.Type else { continue }
            do {
                try PluginLossTerm.register(type)
                registered.append(entry.name)
                log.info("loss plugin registered", ("name", entry.name), ("path", entry.source))
            } catch {
                log.error("loss plugin not registered", ("name", entry.name), ("error", error))
            }
        }
        return registered
    }
}
