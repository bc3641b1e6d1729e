// swift-tools-version:6.0
// arf: robust finetuning of CLIP-style models, as a daemon (arfd), a client (arf) and a
// benchmark (arf-bench). One target per layer; C libraries come in through small
// system-library shims so that nothing outside the toolchain and Debian's packages is needed.
import PackageDescription

/// Numeric targets are compiled without bounds checks in release builds: their loops index
/// raw buffers whose sizes are checked once, at the edges.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

/// The plugin API is a package of its own, built as a shared library, so that arfd and the
/// plugins it loads at run time share one copy of its protocols.
let pluginAPI: Target.Dependency = .product(name: "ArfPluginAPI", package: "PluginAPI")

let package = Package(
    name: "arf",
    products: [
        .executable(name: "arf", targets: ["arf"]),
        .executable(name: "arf-bench", targets: ["arf-bench"]),
    ],
    dependencies: [
        .package(path: "PluginAPI")
    ],
    targets: [
        // C libraries.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB"),
        .target(
            name: "CImageCodec", path: "Sources/CImageCodec",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),

        .target(
            name: "ArfProto", path: "Sources/ArfProto",
            linkerSettings: [.linkedLibrary("protobuf-c")]),

        // Layers, bottom up.
        .target(name: "ArfSupport", path: "Sources/ArfSupport"),
        .target(
            name: "ArfTensor", dependencies: ["CBLAS", "ArfSupport"], path: "Sources/ArfTensor",
            swiftSettings: fast),
        .target(
            name: "ArfImage", dependencies: ["CImageCodec"], path: "Sources/ArfImage",
            swiftSettings: fast),
        .target(name: "ArfWire", dependencies: ["ArfProto", "ArfSupport"], path: "Sources/ArfWire"),
        .target(name: "ArfStore", dependencies: ["CLMDB", "ArfSupport"], path: "Sources/ArfStore"),
        .target(
            name: "ArfCLIP", dependencies: ["ArfTensor", "ArfImage", "ArfSupport"],
            path: "Sources/ArfCLIP", swiftSettings: fast),
        .target(
            name: "ArfDaemon",
            dependencies: [
                "ArfWire", "ArfStore", "ArfCLIP", "ArfImage", "ArfSupport", "ArfTensor",
                "ArfPlugins", pluginAPI, "ArfTraining", "ArfPluginAdapters", "ArfRetrieval",
            ],
            path: "Sources/ArfDaemon"),
        .target(
            name: "ArfClient", dependencies: ["ArfWire", "ArfSupport", "ArfWorld"],
            path: "Sources/ArfClient"),

        // Plugins: the registry and loader, then one target per built-in plugin.
        .target(
            name: "ArfPlugins",
            dependencies: [
                pluginAPI, "ArfSupport", "ArfPluginAdapters", "NearestCaptionCaptioner",
                "FileCaptioner", "CommandCaptioner", "ExactRetriever", "IVFRetriever",
                "CrossEntropyLossPlugin", "FLYPLossPlugin", "CaptionAnchorLossPlugin",
                "PairAnchorLossPlugin",
            ],
            path: "Sources/ArfPlugins"),
        .target(
            name: "ArfPluginAdapters",
            dependencies: [
                pluginAPI, "ArfTraining", "ArfRetrieval", "ArfStore", "ArfTensor", "ArfCLIP",
                "ArfSupport",
            ],
            path: "Sources/ArfPluginAdapters"),
        .target(
            name: "NearestCaptionCaptioner", dependencies: [pluginAPI, "ArfTensor"],
            path: "Plugins/NearestCaptionCaptioner", swiftSettings: fast),
        .target(name: "FileCaptioner", dependencies: [pluginAPI], path: "Plugins/FileCaptioner"),
        .target(
            name: "CommandCaptioner", dependencies: [pluginAPI], path: "Plugins/CommandCaptioner"),
        .target(
            name: "ExactRetriever", dependencies: [pluginAPI, "ArfPluginAdapters", "ArfRetrieval"],
            path: "Plugins/ExactRetriever"),
        .target(
            name: "IVFRetriever",
            dependencies: [pluginAPI, "ArfPluginAdapters", "ArfRetrieval", "ArfStore"],
            path: "Plugins/IVFRetriever"),
        .target(
            name: "CrossEntropyLossPlugin",
            dependencies: [pluginAPI, "ArfPluginAdapters", "ArfTraining", "ArfTensor"],
            path: "Plugins/CrossEntropyLossPlugin"),
        .target(
            name: "FLYPLossPlugin", dependencies: [pluginAPI, "ArfPluginAdapters", "ArfTraining"],
            path: "Plugins/FLYPLossPlugin"),
        .target(
            name: "CaptionAnchorLossPlugin",
            dependencies: [pluginAPI, "ArfPluginAdapters", "ArfTraining"],
            path: "Plugins/CaptionAnchorLossPlugin"),
        .target(
            name: "PairAnchorLossPlugin",
            dependencies: [pluginAPI, "ArfPluginAdapters", "ArfTraining"],
            path: "Plugins/PairAnchorLossPlugin"),

        .target(
            name: "ArfRetrieval", dependencies: ["ArfTensor", "ArfStore", "ArfSupport"],
            path: "Sources/ArfRetrieval", swiftSettings: fast),
        .target(
            name: "ArfWorld", dependencies: ["ArfImage", "ArfTensor", "ArfSupport"],
            path: "Sources/ArfWorld", swiftSettings: fast),
        .target(
            name: "ArfTraining", dependencies: ["ArfCLIP", "ArfTensor", "ArfSupport", "ArfImage"],
            path: "Sources/ArfTraining", swiftSettings: fast),

        // Programs.
        .executableTarget(name: "arf", dependencies: ["ArfClient"], path: "Sources/arf"),
        .executableTarget(
            name: "arfd", dependencies: ["ArfDaemon", "ArfTensor"], path: "Sources/arfd"),
        .executableTarget(
            name: "arf-bench",
            dependencies: ["ArfCLIP", "ArfRetrieval", "ArfWire", "ArfImage", "CBLAS"],
            path: "Sources/arf-bench", swiftSettings: fast),

        .executableTarget(
            name: "arf-store-crash-writer", dependencies: ["ArfStore"],
            path: "Sources/arf-store-crash-writer"),

        // Tests mirror the targets.
        .testTarget(name: "ArfTensorTests", dependencies: ["ArfTensor"]),
        .testTarget(name: "ArfImageTests", dependencies: ["ArfImage", "ArfTensor"]),
        .testTarget(name: "ArfCLIPTests", dependencies: ["ArfCLIP"]),
        .testTarget(name: "ArfWireTests", dependencies: ["ArfWire"]),
        .testTarget(
            name: "ArfTrainingTests",
            dependencies: ["ArfTraining", "ArfCLIP", "ArfTensor", "ArfImage"]),
        .testTarget(
            name: "ArfRetrievalTests", dependencies: ["ArfRetrieval", "ArfStore", "ArfTensor"]),
        .testTarget(name: "ArfWorldTests", dependencies: ["ArfWorld", "ArfImage"]),
        .testTarget(name: "ArfStoreTests", dependencies: ["ArfStore", "ArfSupport"]),
        .testTarget(
            name: "ArfPluginsTests",
            dependencies: [
                "ArfPlugins", pluginAPI, "NearestCaptionCaptioner", "FileCaptioner",
                "CommandCaptioner", "ArfPluginAdapters", "CrossEntropyLossPlugin", "FLYPLossPlugin",
                "CaptionAnchorLossPlugin", "PairAnchorLossPlugin", "ExactRetriever", "IVFRetriever",
                "ArfTraining", "ArfTensor", "ArfCLIP",
            ]),
        .testTarget(
            name: "ArfDaemonTests",
            dependencies: [
                "ArfDaemon", "ArfClient", "ArfWire", "ArfTensor", "ArfCLIP", "ArfImage",
                "ArfWorld", "ArfPlugins", pluginAPI,
            ]),
    ],
    swiftLanguageModes: [.v5]
)
