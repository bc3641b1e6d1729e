// swift-tools-version:6.0
// ArfPluginAPI: the protocols arf plugins implement (captioners, retrievers, losses) and the
// context the daemon hands them. It is a package of its own, built as a dynamic library, so
// that arfd and every plugin it loads at run time share one copy of these protocols: a type
// checked with `as? Captioner.Type` in the daemon is then the same type the plugin conforms
// to. It depends on Foundation only and knows nothing of the daemon.
import PackageDescription

let package = Package(
    name: "ArfPluginAPI",
    products: [
        .library(name: "ArfPluginAPI", type: .dynamic, targets: ["ArfPluginAPI"])
    ],
    targets: [
        .target(name: "ArfPluginAPI", path: "Sources/ArfPluginAPI")
    ],
    swiftLanguageModes: [.v5]
)
