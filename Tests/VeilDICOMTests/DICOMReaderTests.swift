import Foundation
import Testing
import VeilImage
import VeilTestSupport
@testable import VeilDICOM

/// The fixtures and what independent tools say about them: Tools/fixtures/make_dicom_fixtures.py
/// wrote each object with pydicom (JPEG by Pillow) and recorded what pydicom parsed back and
/// the display pixels pydicom or NumPy computed.
enum DICOMFixtures {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func path(_ name: String) -> String { directory.appendingPathComponent(name + ".dcm").path }

    nonisolated(unsafe) static let expected: [String: [String: Any]] = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
    }()

    static var readable: [String] { expected.filter { $0.value["error"] == nil && $0.value["frameErrors"] == nil }.keys.sorted() }
    static var malformed: [String] { expected.filter { $0.value["error"] != nil }.keys.sorted() }

    static func pixels(_ name: String) throws -> [UInt8] {
        let file = try #require(expected[name]?["pixels"] as? String)
        return [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
    }
}

struct DICOMReaderTests {
    /// Every transfer syntax, photometric interpretation and layout decodes to the pixels
    /// pydicom/NumPy computed: exactly for uncompressed and RLE, within JPEG's error for JPEG.
    @Test(arguments: DICOMFixtures.readable)
    func decodesToTheReferencePixels(name: String) throws {
        let entry = try #require(DICOMFixtures.expected[name])
        let object = try DICOMObject(contentsOf: DICOMFixtures.path(name))
        let frames = entry["frames"] as? Int ?? 1
        #expect(object.numberOfFrames == frames)
        #expect(object.size == PixelSize(width: entry["columns"] as! Int, height: entry["rows"] as! Int))
        let reference = try DICOMFixtures.pixels(name)
        let frameBytes = reference.count / frames
        for f in 0..<frames {
            let image = try object.frame(f)
            let expected = reference[(f * frameBytes)..<((f + 1) * frameBytes)]
            #expect(image.pixels.count == expected.count)
            let diffs = zip(image.pixels, expected).map { abs(Int($0) - Int($1)) }
            if entry["jpeg"] as? Bool == true {
                let mean = Double(diffs.reduce(0, +)) / Double(diffs.count)
                // Against libjpeg's decoding of the same bytes (via Pillow): IDCT and chroma
                // upsampling may differ slightly between libjpeg builds and settings.
                #expect(mean <= 1 && diffs.max()! <= 10, "\(name) frame \(f + 1): mean \(mean), max \(diffs.max()!)")
            } else if ["YBR_FULL", "YBR_FULL_422", "YBR_ICT"].contains(entry["photometric"] as? String) {
                // Colour conversion in floating point on both sides (for YBR_ICT, inside two
                // OpenJPEG builds); rounding may differ by one.
                #expect(diffs.max()! <= 1, "\(name) frame \(f + 1): max difference \(diffs.max()!)")
            } else {
                #expect(diffs.max()! == 0, "\(name) frame \(f + 1): \(diffs.filter { $0 > 0 }.count) pixels differ")
            }
        }
    }

    /// Attributes match what pydicom read from the same file.
    @Test(arguments: DICOMFixtures.readable)
    func attributesMatchPydicom(name: String) throws {
        let entry = try #require(DICOMFixtures.expected[name])
        let object = try DICOMObject(contentsOf: DICOMFixtures.path(name))
        let m = object.metadata
        if let uid = entry["sopInstanceUID"] as? String { #expect(m.sopInstanceUID == uid) }
        if let uid = entry["sopClassUID"] as? String { #expect(m.sopClassUID == uid) }
        if let uid = entry["studyInstanceUID"] as? String { #expect(m.studyInstanceUID == uid) }
        if let uid = entry["seriesInstanceUID"] as? String { #expect(m.seriesInstanceUID == uid) }
        if let ts = entry["transferSyntax"] as? String { #expect(object.transferSyntax.uid == ts) }
        if let photometric = entry["photometric"] as? String { #expect(object.pixels.photometric.rawValue == photometric) }
        #expect(m.bodyPartExamined == entry["bodyPartExamined"] as? String)
        if entry.keys.contains("imageLaterality") { #expect(m.imageLaterality == entry["imageLaterality"] as? String) }
        if let minor = entry["minor"] as? Bool { #expect(m.isMinor == minor) }
    }

    /// Only visible-light captures are scored: the fixture script records, for each object,
    /// whether it must be skipped and why (a modality that is not a camera's, or a SOP class
    /// of another kind); every other readable fixture must pass.
    @Test(arguments: DICOMFixtures.readable)
    func visibleLightRuleMatchesTheFixture(name: String) throws {
        let entry = try #require(DICOMFixtures.expected[name])
        let reason = VisibleLight.exclusionReason(for: try DICOMObject(contentsOf: DICOMFixtures.path(name)).metadata)
        if let expected = entry["skip"] as? String {
            #expect(reason?.contains(expected) == true, "\(name): \(reason ?? "scored")")
        } else {
            #expect(reason == nil, "\(name) was skipped: \(reason ?? "")")
        }
    }

    /// A Sensitive Content Code Sequence stored as UN (as archives store attributes newer
    /// than their dictionary) is read as the sequence it is; one cut mid-item still counts.
    @Test func labelsSurviveUNEncodingAndDamage() throws {
        let un = try DICOMObject(contentsOf: DICOMFixtures.path("evidence-un-label")).metadata
        #expect(un.sensitiveContent.map(\.value) == ["LOCAL-17"])
        let cut = try Data(contentsOf: URL(fileURLWithPath: DICOMFixtures.path("evidence-cut-in-label")))
        #expect(throws: ImageDecodingError.self) { try DICOMObject(data: cut) }
        let salvaged = try #require(DICOMObject.salvageMetadata(from: cut))
        #expect(salvaged.sensitiveContent.count == 1)
        // Attributes before a damaged Pixel Data are all there, the size included.
        let truncated = try Data(contentsOf: URL(fileURLWithPath: DICOMFixtures.path("evidence-truncated")))
        let whole = try DICOMObject(contentsOf: DICOMFixtures.path("evidence")).metadata
        #expect(DICOMObject.salvageMetadata(from: truncated) == whole)
    }

    /// Each malformed class gives its typed error, naming the file, never a trap.
    @Test(arguments: DICOMFixtures.malformed)
    func malformedObjectGivesTypedError(name: String) throws {
        let entry = try #require(DICOMFixtures.expected[name]?["error"] as? [String: String])
        let path = DICOMFixtures.path(name)
        do {
            let object = try DICOMObject(contentsOf: path)
            let image = try object.frame(0)
            Issue.record("\(name) decoded to \(image.width)x\(image.height) instead of failing with \(entry["kind"]!)")
        } catch let error as ImageDecodingError {
            #expect(error.kind.name == entry["kind"], "\(name): \(error)")
            if let mention = entry["mentions"] { #expect(error.reason.contains(mention), "\(error)") }
            // Frame errors come from an object already read; the file is named by the caller then.
            #expect(error.file == path || error.file == nil)
        }
    }

    /// One damaged frame fails alone: the frames around it still decode.
    @Test func aDamagedFrameFailsAlone() throws {
        let object = try DICOMObject(contentsOf: DICOMFixtures.path("multiframe-bad-frame"))
        #expect(object.numberOfFrames == 3)
        #expect(throws: ImageDecodingError.self) { try object.frame(1) }
        #expect(try object.frame(0).width == 40 && object.frame(2).width == 40)
    }

    @Test func evidenceAttributesAreRead() throws {
        let object = try DICOMObject(contentsOf: DICOMFixtures.path("evidence"))
        let m = object.metadata
        #expect(m.anatomicRegions == [CodedEntry(value: "76752008", scheme: "SCT", meaning: "Breast")])
        #expect(m.sensitiveContent == [CodedEntry(value: "LOCAL-17", scheme: "99VEILTEST", meaning: "Site label: sensitive")])
        #expect(m.recognizableVisualFeatures == "YES")
        #expect(m.isMinor == true)
        #expect(m.minorBasis == "PatientBirthDate (0010,0030)")
        #expect(m.descriptions.map(\.text) == ["clinical photo"])
        let adult = try DICOMObject(contentsOf: DICOMFixtures.path("explicit-rgb")).metadata
        #expect(adult.isMinor == false && adult.minorBasis == "PatientAge (0010,1010)")
    }

    @Test func patientAgeAndBirthDateRules() {
        #expect(DICOMMetadata.ageInYears("017Y") == 17)
        #expect(DICOMMetadata.ageInYears("018Y") == 18)
        #expect(DICOMMetadata.ageInYears("215M") == 17)
        #expect(DICOMMetadata.ageInYears("003W") == 0)
        #expect(DICOMMetadata.ageInYears("0X") == nil)
        #expect(DICOMMetadata.ageInYears("") == nil)
        let birth = (year: 2008, month: 3, day: 2)
        #expect(DICOMMetadata.years(from: birth, to: (2026, 3, 1)) == 17)
        #expect(DICOMMetadata.years(from: birth, to: (2026, 3, 2)) == 18)
    }

    /// Nothing that could identify the patient survives parsing.
    @Test func noPatientIdentifiersAreKept() throws {
        let object = try DICOMObject(contentsOf: DICOMFixtures.path("explicit-rgb"))
        let text = String(describing: object.metadata)
        for secret in ["DOE", "JANE", "MRN-0042", "19800101", "045Y"] {
            #expect(!text.contains(secret), "metadata holds \(secret)")
        }
    }

    @Test func sniffsWithAndWithoutPreamble() throws {
        for name in ["explicit-rgb", "no-preamble", "bare-implicit", "jpeg-baseline"] {
            #expect(DICOMObject.sniff(try Data(contentsOf: URL(fileURLWithPath: DICOMFixtures.path(name)))), "\(name)")
        }
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0, count: 200))
        #expect(!DICOMObject.sniff(jpeg))
        #expect(!DICOMObject.sniff(Data("plain text notes about a photo".utf8)))
    }

    /// Scaled decoding: JPEG frames use DCT scaling, native frames a whole-factor box
    /// reduction, both still covering the requested size.
    @Test func framesDecodeScaled() throws {
        let minimum = PixelSize(width: 12, height: 9)
        for name in ["jpeg-baseline", "explicit-rgb", "rle-rgb"] {
            let image = try DICOMObject(contentsOf: DICOMFixtures.path(name)).frame(0, options: DecodingOptions(minimumSize: minimum))
            #expect(image.width >= 12 && image.height >= 9 && image.width <= 20, "\(name): \(image.width)x\(image.height)")
        }
    }

    /// Every prefix of a valid object, and thousands of random byte changes, end in a
    /// result or a typed error: never a trap or an out-of-bounds read.
    @Test(arguments: ["explicit-rgb", "implicit-rgb-planar", "rle-rgb", "jpeg-baseline", "multiframe-jpeg", "evidence", "deflated-rgb", "nested-ok"])
    func damagedBytesNeverCrash(name: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: DICOMFixtures.path(name))))
        func attempt(_ bytes: [UInt8]) {
            do {
                let object = try DICOMObject(data: Data(bytes))
                for f in 0..<min(object.numberOfFrames, 4) { _ = try object.frame(f) }
            } catch is ImageDecodingError {
            } catch {
                Issue.record("untyped error \(error)")
            }
        }
        for length in stride(from: 0, to: original.count, by: max(1, original.count / 400)) { attempt(Array(original.prefix(length))) }
        var random = TestRandom(seed: UInt64(name.utf8.count))
        for _ in 0..<400 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                // Hit the headers more often than the pixels: that is where lengths live.
                let limit = Bool.random(using: &random) ? min(bytes.count, 600) : bytes.count
                bytes[Int.random(in: 0..<limit, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            attempt(bytes)
        }
    }
}
