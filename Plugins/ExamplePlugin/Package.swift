// swift-tools-version:6.0
// arf plugins built outside arf, in one shared library: the `sidecar-text` captioner, which
// takes each image's caption from the text file beside it (photo.jpg -> photo.txt), the way
// web-scraped image-text collections are often stored, and the `prompt-cosine` loss, which
// pulls each finetune image towards its class prompt. Build it with
//
//     swift build -c release --package-path Plugins/ExamplePlugin
//
// and start arfd with `--plugins` naming the folder that holds libArfExamplePlugins.so.
// It must be built by the same compiler and against the same PluginAPI source as arfd.
import PackageDescription

let package = Package(
    name: "ExamplePlugin",
    products: [
        .library(name: "ArfExamplePlugins", type: .dynamic, targets: ["ArfExamplePlugins"])
    ],
    dependencies: [
        .package(path: "../../PluginAPI")
    ],
    targets: [
        .target(
            name: "ArfExamplePlugins",
            dependencies: [.product(name: "ArfPluginAPI", package: "PluginAPI")],
            path: "Sources/ArfExamplePlugins")
    ],
    swiftLanguageModes: [.v5]
)
