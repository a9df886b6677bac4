// swift-tools-version:6.1
import PackageDescription

// A package of its own, so that embedders of Veil never resolve package-benchmark.
// Run: cd Benchmarks && swift package benchmark (see Benchmarks/README.md).
let package = Package(
    name: "VeilBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Veil", path: "../"),
        .package(url: "https://github.com/ordo-one/package-benchmark", exact: "1.38.1",
                 traits: ["MallocInterposer"]),
    ],
    targets: [
        // Generated inputs shared by the benchmarks (no image is downloaded).
        // The synthetic photos are shared with veil-compare, a target of the root package.
        .target(name: "BenchmarkSupport", dependencies: [.product(name: "Veil", package: "Veil")], path: "Compare",
                exclude: ["main.swift"]),
        .executableTarget(
            name: "Decoding",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Veil", package: "Veil"),
            ],
            path: "Benchmarks/Decoding",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "Engine",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Veil", package: "Veil"),
            ],
            path: "Benchmarks/Engine",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "Workflow",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Veil", package: "Veil"),
                .product(name: "VeilReview", package: "Veil"),
            ],
            path: "Benchmarks/Workflow",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
