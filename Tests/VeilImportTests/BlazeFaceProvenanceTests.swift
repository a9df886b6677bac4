import Foundation
import Testing
import VeilTestSupport
@testable import VeilEngine
@testable import VeilImport

/// Re-imports both BlazeFace models from the mediapipe==0.10.14 wheel and checks that the
/// results are the committed models, bit for bit. Like the open_nsfw provenance test it may download (the
/// wheel, with pip); without pip or a network it is skipped, and says so.
struct BlazeFaceProvenanceTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized

    static let wheelFolder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-mediapipe-wheel")
    static let shortRangeFile = "mediapipe/modules/face_detection/face_detection_short_range.tflite"
    static let fullRangeFile = "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"

    /// The extracted short-range .tflite, or nil when the wheel cannot be fetched.
    static let modelFile: String? = wheelFiles.map { $0.appendingPathComponent(shortRangeFile).path }
    /// The extracted full-range .tflite, or nil when the wheel cannot be fetched.
    static let fullRangeModelFile: String? = wheelFiles.map { $0.appendingPathComponent(fullRangeFile).path }

    /// The folder both model files were extracted into, or nil when the wheel cannot be fetched.
    static let wheelFiles: URL? = {
        let dir = wheelFolder
        let files = [shortRangeFile, fullRangeFile]
        if files.allSatisfy({ FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }) { return dir }
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
            python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 311 \
              --platform manylinux_2_17_x86_64 -d '\(dir.path)' mediapipe==0.10.14 && \
            python3 -c "import glob, zipfile; w = zipfile.ZipFile(glob.glob('\(dir.path)/mediapipe-0.10.14-*.whl')[0]); [w.extract(f, '\(dir.path)') for f in ('\(files[0])', '\(files[1])')]"
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["300", "/bin/sh", "-c", script + " >/dev/null 2>&1"]
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let extracted = files.allSatisfy { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
        return process.terminationStatus == 0 && extracted ? dir : nil
    }()

    @Test(.enabled(if: wheelFiles != nil, "skipped: the mediapipe==0.10.14 wheel could not be fetched with pip (no pip or no network)"),
          arguments: [("blazeface_short_range", shortRangeFile, "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
                      ("blazeface_full_range", fullRangeFile, "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1")])
    func reimportReproducesTheCommittedModel(folder: String, file: String, sourceSHA256: String) throws {
        let path = try #require(Self.wheelFiles).appendingPathComponent(file).path
        let committedPath = Self.repository.appendingPathComponent("Models/\(folder)/manifest.json").path
        let committed = try JSONDecoder().decode(ModelManifest.self, from: Data(contentsOf: URL(fileURLWithPath: committedPath)))
        let description = folder == "blazeface_full_range" ? BlazeFacePreset.fullRange : BlazeFacePreset.shortRange
        let output = try TFLiteImporter.importModel(tflite: path, description: description)
        #expect(SHA256Hasher.hex(output.weights) == committed.weights.sha256)
        #expect(output.manifest == committed)
        #expect(committed.provenance.sources.first?.sha256 == sourceSHA256)
    }

    /// Single damaged bytes anywhere in the sparse full-range file (its sparsity metadata
    /// included) give an ImportError or a model, never a trap.
    @Test(.enabled(if: wheelFiles != nil, "skipped: the mediapipe==0.10.14 wheel could not be fetched with pip (no pip or no network)"))
    func corruptedSparseModelNeverTraps() throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try #require(Self.fullRangeModelFile))))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("veil-corrupt-\(UUID()).tflite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var generator = TestRandom(seed: 20)  // the same bytes damaged on every run
        var refused = 0
        for _ in 0..<40 {
            var bytes = original
            // The flatbuffer's tables and metadata sit in its first and last few kilobytes.
            let at = Bool.random(using: &generator) ? Int.random(in: 0..<8192, using: &generator)
                                                    : Int.random(in: (bytes.count - 65536)..<bytes.count, using: &generator)
            bytes[at] ^= UInt8.random(in: 1...255, using: &generator)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do { _ = try TFLiteImporter.importModel(tflite: path, description: BlazeFacePreset.fullRange) } catch is ImportError { refused += 1 }
        }
        #expect(refused > 0, "some corruption of the tables must be refused")
    }

    /// Cut-short model files give an ImportError naming the file, never a trap. (The last
    /// bytes of a flatbuffer may be unreferenced padding, so only prefixes that lose data
    /// are certain to fail.)
    @Test(.enabled(if: modelFile != nil, "skipped: the mediapipe==0.10.14 wheel could not be fetched with pip (no pip or no network)"))
    func damagedModelFilesAreNamed() throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try #require(Self.modelFile))))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("veil-damaged-\(UUID()).tflite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for length in [0, 3, 8, 64, 1000, original.count / 4, original.count / 2] {
            try Data(original.prefix(length)).write(to: URL(fileURLWithPath: path))
            #expect(throws: ImportError.self, "a \(length)-byte prefix must fail") {
                _ = try TFLiteImporter.importModel(tflite: path, description: BlazeFacePreset.shortRange)
            }
        }
    }

    @Test func garbageIsNotAModel() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("veil-garbage-\(UUID()).tflite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }).write(to: URL(fileURLWithPath: path))
        do {
            _ = try TFLiteImporter.importModel(tflite: path, description: BlazeFacePreset.shortRange)
            Issue.record("garbage imported")
        } catch let error as ImportError {
            #expect(error.file == path)
        }
    }
}
