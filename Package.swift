// swift-tools-version:6.2
import PackageDescription

// Dependencies point one way: image I/O and the tensor engine are leaves, the engine and
// vocabulary sit on them, the `Veil` façade sits on those, and only the `veil` executable
// pulls in swift-argument-parser and the model importers.
let package = Package(
    name: "Veil",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Veil", targets: ["Veil"]),
        // The review ledger is its own product, so that scoring-only embedders never link SQLite.
        .library(name: "VeilReview", targets: ["VeilReview"]),
        // The DICOMweb client is its own product too, so that embedders who score files never
        // link an HTTP stack.
        .library(name: "VeilDICOMweb", targets: ["VeilDICOMweb"]),
        .executable(name: "veil", targets: ["veil"]),
    ],
    // The engine's vector kernels for AVX2 and AVX-512 are compiled with CPU flags that
    // SwiftPM accepts from a dependency only in a 6.2 manifest; the engine checks the CPU
    // before it calls them. An embedder who wants baseline code only (or builds for a
    // processor other than x86-64) turns the trait off: `traits: []`.
    traits: [
        .trait(name: "AcceleratedKernels",
               description: "Matrix kernels for x86-64-v3 (AVX2, FMA) and x86-64-v4 (AVX-512), chosen at run time."),
        .default(enabledTraits: ["AcceleratedKernels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // The review desk: its HTTP server, TLS, templates, and bcrypt for its passwords. No
        // traits: the desk needs neither swift-configuration nor the rest of Foundation.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", exact: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        // The DICOMweb client (QIDO-RS, WADO-RS, STOW-RS): AsyncHTTPClient on the same SwiftNIO.
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
    ],
    targets: [
        // System libraries, found through pkg-config; see scripts/ensure-system-packages.
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "COpenJPEG", pkgConfig: "libopenjp2",
                       providers: [.apt(["libopenjp2-7-dev"])]),
        .systemLibrary(name: "CCharLS", pkgConfig: "charls",
                       providers: [.apt(["libcharls-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        .target(name: "VeilImage", dependencies: ["CTurboJPEG", "CPNG", "COpenJPEG", "CCharLS"]),
        .target(name: "VeilDICOM", dependencies: ["VeilImage", "CZlib"]),
        // The kernels, written once as generic code; each module below compiles them for one
        // instruction set (Swift picks vector instructions per module, not per function).
        .target(name: "VeilKernels"),
        .target(name: "VeilKernelsX86_64_v3", dependencies: ["VeilKernels"],
                swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"])]),
        .target(name: "VeilKernelsX86_64_v4", dependencies: ["VeilKernels"],
                swiftSettings: [.unsafeFlags(["-target-cpu", "skylake-avx512"])]),
        .target(name: "VeilTensor", dependencies: [
            "COpenBLAS", "VeilKernels",
            .target(name: "VeilKernelsX86_64_v3", condition: .when(traits: ["AcceleratedKernels"])),
            .target(name: "VeilKernelsX86_64_v4", condition: .when(traits: ["AcceleratedKernels"])),
        ]),
        .target(name: "VeilEngine", dependencies: ["VeilTensor", "VeilKernels", "CCrypto"]),
        // Fitting site-trained heads: logistic regression, cross-validation, calibration and
        // the measures a committee reads. Only the CLI fits; the library runs fitted heads.
        .target(name: "VeilFitting", dependencies: ["COpenBLAS"]),
        .target(name: "VeilImport", dependencies: ["VeilEngine"]),
        .target(name: "VeilVocabulary", resources: [.copy("Resources")]),
        .target(name: "VeilPolicy", dependencies: ["VeilVocabulary", .product(name: "Yams", package: "Yams")]),
        .target(name: "VeilReview", dependencies: ["VeilPolicy", "VeilVocabulary", "VeilDICOM", .product(name: "GRDB", package: "GRDB.swift")]),
        // Archives over DICOMweb: search, retrieve and store, with retries and permits.
        .target(name: "VeilDICOMweb", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The review desk (`veil review serve`): its users, sessions, pages and previews.
        .target(name: "VeilDesk", dependencies: ["Veil", "VeilReview", "VeilPolicy", "VeilVocabulary", "VeilImage",
                                                 .product(name: "Hummingbird", package: "hummingbird"),
                                                 .product(name: "HummingbirdCore", package: "hummingbird"),
                                                 .product(name: "HummingbirdTLS", package: "hummingbird"),
                                                 .product(name: "HTTPTypes", package: "swift-http-types"),
                                                 .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                 .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                                                 .product(name: "Mustache", package: "swift-mustache"),
                                                 .product(name: "Logging", package: "swift-log"),
                                                 .product(name: "Yams", package: "Yams")],
                resources: [.copy("Templates")]),
        // The bundled models: Models/ holds each model's folder (manifest, weights, LICENSE,
        // PROVENANCE) and one Swift file that lets SwiftPM ship them as resources.
        .target(name: "VeilModels", path: "Models", exclude: ["README.md"],
                sources: ["BundledModels.swift"], resources: [.copy("open_nsfw"), .copy("blazeface_full_range"), .copy("blazeface_short_range")]),
        .target(name: "Veil", dependencies: ["VeilImage", "VeilDICOM", "VeilEngine", "VeilTensor", "VeilModels", "VeilVocabulary", "VeilPolicy"]),
        .executableTarget(
            name: "veil",
            dependencies: [
                "Veil", "VeilImage", "VeilDICOM", "VeilVocabulary", "VeilPolicy", "VeilReview",
                // The model importers and the engine's diagnostics are the CLI's alone.
                "VeilImport", "VeilEngine", "VeilTensor", "COpenBLAS", "VeilFitting", "VeilDesk", "VeilDICOMweb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Side-by-side measurements with ratios (`swift run -c release veil-compare`): here, not
        // in Benchmarks/, because it times the engine's package-only parts. Not a product.
        .executableTarget(name: "veil-compare",
                          dependencies: ["Veil", "VeilEngine", "VeilTensor", "VeilKernels", "VeilImage", "VeilVocabulary"],
                          path: "Benchmarks/Compare"),

        // Helpers shared by the test targets.
        .target(name: "VeilTestSupport", path: "Tests/Support"),
        .testTarget(name: "VeilTensorTests", dependencies: ["VeilTensor", "VeilKernels", "VeilTestSupport"]),
        .testTarget(name: "VeilEngineTests", dependencies: ["VeilEngine", "VeilTensor"]),
        .testTarget(name: "VeilFittingTests", dependencies: ["VeilFitting"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VeilImportTests", dependencies: ["VeilImport", "VeilEngine", "VeilTensor", "VeilTestSupport"]),
        .testTarget(name: "VeilCLITests", dependencies: ["veil", "Veil", "VeilImage", "VeilTestSupport"]),
        .testTarget(name: "VeilVocabularyTests", dependencies: ["VeilVocabulary"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VeilPolicyTests", dependencies: ["VeilPolicy"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VeilReviewTests", dependencies: ["VeilReview", "VeilPolicy", "VeilVocabulary"]),
        // Its fixtures are read from the checkout (they are uploaded to Orthanc, not bundled).
        .testTarget(name: "VeilDICOMwebTests", dependencies: ["VeilDICOMweb", "veil", "VeilTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "VeilDeskTests", dependencies: ["VeilDesk", "veil", "Veil", "VeilReview", "VeilPolicy", "VeilImage", "VeilTestSupport"]),
        .testTarget(name: "VeilTests", dependencies: ["Veil", "VeilImage", "VeilDICOM", "VeilPolicy", "VeilVocabulary", "VeilEngine", "VeilTensor"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VeilDICOMTests", dependencies: ["VeilDICOM", "VeilImage", "VeilTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "VeilImageTests", dependencies: ["VeilImage", "CTurboJPEG", "VeilTestSupport"],
                    resources: [.copy("Fixtures")]),
    ]
)
