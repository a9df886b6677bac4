// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for every parser of untrusted input. Not part of the test suite: run
// them by hand with Tools/fuzz/run.sh, which builds with -sanitize=fuzzer,address and seeds
// each from the test fixtures. Debug builds, so that the model target's @testable import
// reaches the loader's in-memory entry.
let package = Package(
    name: "VeilFuzz",
    dependencies: [.package(name: "Veil", path: "../..")],
    targets: [
        // DICOM Part 10 parsing and frame decoding.
        .executableTarget(name: "DICOMFuzz", dependencies: [.product(name: "Veil", package: "Veil")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // JPEG 2000 (OpenJPEG) and JPEG-LS (CharLS) frames, on their own.
        .executableTarget(name: "CodecFuzz", dependencies: [.product(name: "Veil", package: "Veil")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // WADO-RS responses: the multipart/related reader and its Content-Type.
        .executableTarget(name: "MultipartFuzz", dependencies: [.product(name: "VeilDICOMweb", package: "Veil")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // JPEG and PNG: sniffing, headers, EXIF orientation, full and DCT-scaled decoding.
        .executableTarget(name: "ImageFuzz", dependencies: [.product(name: "Veil", package: "Veil")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // The model manifest (JSON) and safetensors weights, through the graph compiler.
        .executableTarget(name: "ModelFuzz", dependencies: [.product(name: "Veil", package: "Veil")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Policy YAML.
        .executableTarget(name: "PolicyFuzz", dependencies: [.product(name: "Veil", package: "Veil")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Truth CSVs and input manifests.
        .executableTarget(name: "TextFuzz", dependencies: [.product(name: "Veil", package: "Veil")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
