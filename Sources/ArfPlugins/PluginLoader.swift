// Loads external plugin libraries: every `*.so` file in the plugins folder, in name order.
// Each is opened with RTLD_NOW (a missing symbol fails the load, not a later call) and
// RTLD_LOCAL (one plugin's symbols cannot capture another's), its API version is read through
// a plain C call and compared before any Swift object of it is touched, and only then is its
// provider taken and checked. A library that fails any step is refused with the reason; the
// others still load. No library is ever closed, refused ones included: loading a Swift
// library registers its types with the runtime, and unloading would leave dangling metadata.
import ArfPluginAPI
import ArfSupport
import Foundation

/// A plugin library that was not loaded, and why.
public struct PluginRefusal: Sendable, Equatable {
    public var path: String
    public var reason: String
}

/// Opens plugin libraries.
enum PluginLoader {
    /// The API library itself may sit beside the plugins; it is not a plugin.
    static let apiLibraryName = "libArfPluginAPI.so"

    private typealias VersionFunction = @convention(c) () -> Int32
    private typealias EntryFunction = @convention(c) () -> UnsafeMutableRawPointer?

    /// The `.so` files of `folder`, sorted by name.
    static func libraries(in folder: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw PluginError.folderNotFound(path: folder)
        }
        guard isFolder.boolValue else { throw PluginError.notAFolder(path: folder) }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw PluginError.folderUnreadable(path: folder, reason: error.localizedDescription)
        }
        return names.filter { $0.hasSuffix(".so") && $0 != apiLibraryName }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { (folder as NSString).appendingPathComponent($0) }
    }

    /// The plugin types of the library at `path`; throws `PluginError.refused` naming the
    /// file and the reason.
    static func load(_ path: String) throws -> [any ArfPlugin.Type] {
        func refuse(_ reason: String) -> PluginError { .refused(path: path, reason: reason) }

        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw refuse("it does not load: \(reason)")
        }
        guard let versionSymbol = dlsym(handle, PluginAPI.versionSymbol) else {
            throw refuse(
                "it has no \(PluginAPI.versionSymbol) symbol, so it is not an arf plugin")
        }
        let version = unsafeBitCast(versionSymbol, to: VersionFunction.self)()
        guard version == PluginAPI.version else {
            throw refuse(
                "it was built against plugin API version \(version), but this arfd has API "
                    + "version \(PluginAPI.version); rebuild it against this arf's PluginAPI")
        }
        guard let entrySymbol = dlsym(handle, PluginAPI.entrySymbol) else {
            throw refuse("it has no \(PluginAPI.entrySymbol) symbol")
        }
        guard let pointer = unsafeBitCast(entrySymbol, to: EntryFunction.self)() else {
            throw refuse("\(PluginAPI.entrySymbol) returned no provider")
        }
        let object = Unmanaged<AnyObject>.fromOpaque(pointer).takeRetainedValue()
        guard let provider = object as? PluginProvider else {
            throw refuse(
                "its provider does not conform to PluginProvider (was it linked against its "
                    + "own copy of ArfPluginAPI rather than the shared library?)")
        }
        guard provider.apiVersion == PluginAPI.version else {
            throw refuse(
                "its provider reports plugin API version \(provider.apiVersion), but this "
                    + "arfd has API version \(PluginAPI.version)")
        }
        let plugins = provider.plugins
        guard !plugins.isEmpty else { throw refuse("it provides no plugins") }
        for plugin in plugins {
            guard PluginCatalog.conformsToItsKind(plugin) else {
                throw refuse(
                    "\(plugin.name) says it is a \(plugin.kind.rawValue) but does not conform "
                        + "to that kind's protocol")
            }
        }
        return plugins
    }
}
