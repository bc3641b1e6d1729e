// The two C symbols that make this library an arf plugin library: the API version it was
// built against, which arfd checks before anything else, and the provider of its plugins.
import ArfPluginAPI

/// The plugins in this library.
final class ExampleProvider: PluginProvider {
    let apiVersion = PluginAPI.version
    let plugins: [any ArfPlugin.Type] = [SidecarTextCaptioner.self, PromptCosineLoss.self]
}

/// The API version this library was compiled against.
@_cdecl("arf_plugin_api_version")
public func arfPluginAPIVersion() -> Int32 { PluginAPI.version }

/// The library's plugin provider, retained for the daemon.
@_cdecl("arf_plugin_entry")
public func arfPluginEntry() -> UnsafeMutableRawPointer {
    PluginAPI.export(ExampleProvider())
}
