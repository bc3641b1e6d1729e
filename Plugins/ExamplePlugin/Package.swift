// swift-tools-version:6.0
// An arf plugin built outside arf: the `sidecar-text` captioner, which takes each image's
// caption from the text file beside it (photo.jpg -> photo.txt), the way web-scraped
// image-text collections are often stored. Build it with
//
//     swift build -c release --package-path Plugins/ExamplePlugin
//
// and start arfd with `--plugins` naming the folder that holds libSidecarTextCaptioner.so.
// It must be built by the same compiler and against the same PluginAPI source as arfd.
import PackageDescription

let package = Package(
    name: "ExamplePlugin",
    products: [
        .library(name: "SidecarTextCaptioner", type: .dynamic, targets: ["SidecarTextCaptioner"])
    ],
    dependencies: [
        .package(path: "../../PluginAPI")
    ],
    targets: [
        .target(
            name: "SidecarTextCaptioner",
            dependencies: [.product(name: "ArfPluginAPI", package: "PluginAPI")],
            path: "Sources/SidecarTextCaptioner")
    ],
    swiftLanguageModes: [.v5]
)
