import Foundation
import Testing
@testable import VeilImage
@testable import VeilDICOM

/// JPEG 2000 (OpenJPEG) and JPEG-LS (CharLS) beyond the fixture sweep in DICOMReaderTests:
/// reduced-resolution decoding against Pillow's, and the checks made before decoding.
struct CodecTests {
    /// Asked for at least 224×224, a 640×480 frame decodes one resolution level down, to the
    /// pixels Pillow's OpenJPEG gives at `reduce = 1`.
    @Test func decodesJPEG2000AtAReducedResolution() throws {
        let entry = try #require(DICOMFixtures.expected["j2k-large"]?["reducedPixels"] as? [String: Any])
        let object = try DICOMObject(contentsOf: DICOMFixtures.path("j2k-large"))
        let image = try object.frame(0, options: DecodingOptions(minimumSize: PixelSize(width: 224, height: 224)))
        #expect(image.width == entry["width"] as? Int && image.height == entry["height"] as? Int)
        let reference = [UInt8](try Data(contentsOf: DICOMFixtures.directory.appendingPathComponent(entry["file"] as! String)))
        #expect(image.pixels.count == reference.count)
        let worst = zip(image.pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(worst == 0, "largest difference from Pillow's reduced decoding: \(worst)")
        // Asked for more than half the frame, it decodes in full.
        let full = try object.frame(0, options: DecodingOptions(minimumSize: PixelSize(width: 400, height: 300)))
        #expect(full.width == 640 && full.height == 480)
    }

    /// The codestream's own size is checked against the pixel limit before decoding: a
    /// frame larger than the limit is refused even when Rows and Columns understate it.
    @Test func checksTheCodestreamSizeBeforeDecoding() throws {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: DICOMFixtures.path("j2k-large"))))
        let object = try DICOMObject(data: Data(data))
        let codestream = try object.encapsulatedFrame(0)
        #expect {
            _ = try JPEG2000Decoder.decode(codestream, expected: PixelSize(width: 640, height: 480), components: 3,
                                           minimumSize: nil, pixelLimit: 100_000)
        } throws: { ($0 as? ImageDecodingError)?.kind == .tooManyPixels }
        #expect {
            _ = try JPEG2000Decoder.decode(Array(codestream.prefix(200)), expected: PixelSize(width: 640, height: 480),
                                           components: 3, minimumSize: nil, pixelLimit: 1 << 30)
        } throws: { ($0 as? ImageDecodingError)?.kind == .corrupt }
        #expect {
            _ = try JPEGLSDecoder.decode(codestream, expected: PixelSize(width: 640, height: 480), components: 3, pixelLimit: 1 << 30)
        } throws: { ($0 as? ImageDecodingError)?.kind == .corrupt }
    }

    /// The codestream CodecFuzz found, on which OpenJPEG 2.5.0 reads past its own buffer,
    /// is refused by Veil's check of the main header before OpenJPEG reads it; every
    /// well-formed fixture passes that check.
    @Test func refusesTheMainHeaderOpenJPEGOverreads() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let crafted = try [UInt8](Data(contentsOf: repository.appendingPathComponent("Tools/fuzz/regressions/openjpeg-read-header-overread.j2k")))
        #expect {
            try JPEG2000Decoder.checkMainHeader(crafted)
        } throws: { ($0 as? ImageDecodingError)?.kind == .corrupt }
        for name in ["j2k-rgb-lossless", "j2k-rgb-lossy", "j2k-mono2-12", "j2k-large"] {
            let object = try DICOMObject(contentsOf: DICOMFixtures.path(name))
            try JPEG2000Decoder.checkMainHeader(try object.encapsulatedFrame(0))
        }
    }

    /// The two syntaxes are decoded now; JPEG Lossless (Process 14) still is not.
    @Test func supportedSyntaxes() {
        for uid in ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"] {
            #expect(TransferSyntax(uid: uid).isSupported, "\(uid)")
        }
        #expect(!TransferSyntax(uid: "1.2.840.10008.1.2.4.70").isSupported)
    }
}
