import Foundation
import Testing
@testable import VeilDICOM
import VeilImage
import VeilTestSupport

/// Labelled copies of DICOM objects in every transfer syntax Veil reads: Veil reads its own
/// copy back, pydicom (Debian's, installed by the test command) finds every other attribute
/// and Pixel Data unchanged, and DCMTK's dcmdump parses the copy.
struct SensitiveContentWriterTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let added = [CodedEntry(value: "131391", scheme: "DCM", meaning: "Nudity Content"),
                        CodedEntry(value: "76752008", scheme: "SCT", meaning: "Breast"),
                        CodedEntry(value: "341000119102", scheme: "SCT", meaning: "Tattoo of skin")]

    static func run(_ tool: String, _ arguments: [String]) -> (status: Int32, output: String)? { ReferenceTool.run(tool, arguments) }

    static var hasPydicom: Bool { run("/usr/bin/python3", ["-c", "import pydicom"])?.status == 0 }

    @Test(arguments: ["explicit-rgb", "implicit-rgb-planar", "deflated-rgb", "jpeg-baseline", "rle-rgb", "no-preamble",
                      "bare-implicit", "multiframe-jpeg", "evidence", "sensitive-all-codes"])
    func labelledCopyChangesOnlyTheLabels(_ name: String) throws {
        let path = Self.fixtures.appendingPathComponent(name + ".dcm")
        let original = try Data(contentsOf: path)
        let before = try DICOMObject(data: original)
        let (copy, added) = try SensitiveContentWriter.labelled(original, adding: Self.added)
        // Codes the object already holds are not added twice.
        let expectedAdded = Self.added.filter { code in !before.metadata.sensitiveContent.contains { $0.value == code.value && $0.scheme == code.scheme } }
        #expect(added == expectedAdded)
        let after = try DICOMObject(data: copy)
        #expect(after.metadata.sensitiveContent == before.metadata.sensitiveContent + expectedAdded, "\(name)")
        #expect(after.transferSyntax == before.transferSyntax)
        #expect(after.metadata.sopInstanceUID == before.metadata.sopInstanceUID)
        for frame in 0..<before.numberOfFrames { #expect(try after.frame(frame) == before.frame(frame), "\(name) frame \(frame + 1)") }
        // Labelling again adds nothing and changes no byte.
        let again = try SensitiveContentWriter.labelled(copy, adding: Self.added)
        #expect(again.added.isEmpty && again.data == copy)

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("veil-labelled-\(UUID())-\(name).dcm")
        try copy.write(to: out)
        defer { try? FileManager.default.removeItem(at: out) }
        if let dump = Self.run("/usr/bin/dcmdump", ["-q", out.path]) {
            #expect(dump.status == 0 && !dump.output.contains("E: "), "dcmdump: \(dump.output.prefix(500))")
        }
        try #require(Self.hasPydicom, "pydicom is missing from /usr/bin/python3: run bash scripts/ensure-system-packages.sh --test")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: expectedAdded.map { [$0.value, $0.scheme, $0.meaning] }), as: UTF8.self)
        let check = try #require(Self.run("/usr/bin/python3", [Self.repository.appendingPathComponent("Tools/reference/compare_labelled.py").path,
                                                               path.path, out.path, json]))
        #expect(check.status == 0 && check.output.hasPrefix("OK"), "\(name): \(check.output)")
    }

    /// With the original kept, the sequence as it was is in a new Original Attributes
    /// Sequence item, as pydicom reads it; without an earlier sequence, or when no code is new
    /// (all-codes already holds these), there is nothing to keep and nothing changes.
    @Test(arguments: ["evidence", "sensitive-all-codes", "explicit-rgb"])
    func originalSequenceIsKept(_ name: String) throws {
        let path = Self.fixtures.appendingPathComponent(name + ".dcm")
        let original = try Data(contentsOf: path)
        let (copy, added) = try SensitiveContentWriter.labelled(original, adding: Self.added, keepingOriginal: true,
                                                                at: Date(timeIntervalSince1970: 1_800_000_000))
        let hadLabels = !(try DICOMObject(data: original).metadata.sensitiveContent.isEmpty)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("veil-kept-\(UUID())-\(name).dcm")
        try copy.write(to: out)
        defer { try? FileManager.default.removeItem(at: out) }
        if let dump = Self.run("/usr/bin/dcmdump", ["-q", out.path]) { #expect(dump.status == 0, "\(dump.output.prefix(300))") }
        try #require(Self.hasPydicom, "pydicom is missing from /usr/bin/python3")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: added.map { [$0.value, $0.scheme, $0.meaning] }), as: UTF8.self)
        let check = try #require(Self.run("/usr/bin/python3", [Self.repository.appendingPathComponent("Tools/reference/compare_labelled.py").path,
                                                               path.path, out.path, json] + (hadLabels && !added.isEmpty ? ["--keep-original"] : [])))
        #expect(check.status == 0 && check.output.hasPrefix("OK"), "\(name): \(check.output)")
    }

    /// dcmdump exists where the test command ran: a missing DCMTK must not pass silently.
    @Test func dcmdumpIsInstalled() {
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/dcmdump"), "run bash scripts/ensure-system-packages.sh --test")
    }

    /// A sequence stored as UN, and text the object's character set cannot hold, are refused.
    @Test func unsafeRewritesAreRefused() throws {
        let un = try Data(contentsOf: Self.fixtures.appendingPathComponent("evidence-un-label.dcm"))
        #expect(throws: ImageDecodingError.self) { try SensitiveContentWriter.labelled(un, adding: Self.added) }
        let plain = try Data(contentsOf: Self.fixtures.appendingPathComponent("explicit-rgb.dcm"))
        #expect(throws: ImageDecodingError.self) {
            try SensitiveContentWriter.labelled(plain, adding: [CodedEntry(value: "W1", scheme: "99SITE", meaning: "Brûlure")])
        }
        #expect(try SensitiveContentWriter.labelled(plain, adding: []).data == plain)
    }
}
