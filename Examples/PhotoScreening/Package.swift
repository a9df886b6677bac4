// swift-tools-version:6.0
import PackageDescription

// A vendor's server in miniature: depends on Veil by path, with the product an embedder
// uses, and scores files through the public API only. `.ci/run` builds and runs it.
let package = Package(
    name: "PhotoScreening",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Veil", path: "../..")],
    targets: [
        .executableTarget(name: "PhotoScreening", dependencies: [.product(name: "Veil", package: "Veil")]),
    ]
)
