// What the built-in plugins, which are linked into arfd, may use beyond ArfPluginAPI's
// PluginContext: the daemon's store itself, for state that is worth keeping between jobs (the
// ivf retriever keeps its trained index there). External plugins see only PluginContext; a
// built-in plugin asks for this with `as?` and works without it.
import ArfPluginAPI
import ArfStore

/// A plugin context that also hands out the daemon's store.
public protocol StoreBackedContext: PluginContext {
    var store: Store { get }
}

/// Where built-in plugins keep things in the daemon's store, so that the daemon can drop
/// them with the datasets and models they were made from.
public enum PluginStoreLayout {
    /// The name of the ivf retriever's index over `pool` under `model`, in ArfRetrieval's
    /// index table; model names hold no line breaks, so every index of a model has a name
    /// starting with `model` and a line break.
    public static func ivfIndexName(model: String, pool: String) -> String {
        model + "\n" + pool
    }
}
