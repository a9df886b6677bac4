// swift-tools-version:6.0
import PackageDescription

// A libFuzzer target for Veil's DICOM parser and frame decoders. Not part of the test
// suite: run it by hand with Tools/fuzz/run.sh, which builds with -sanitize=fuzzer,address.
let package = Package(
    name: "VeilFuzz",
    dependencies: [.package(name: "Veil", path: "../..")],
    targets: [
        .executableTarget(
            name: "DICOMFuzz",
            dependencies: [.product(name: "Veil", package: "Veil")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
