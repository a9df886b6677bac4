import Foundation
import Testing
import VeilTestSupport
@testable import VeilImage

/// Every class of bad input gives a typed error naming the file and the cause, never a trap.
struct MalformedInputTests {
    @Test(arguments: [
        ("empty.jpg", ImageDecodingError.Kind.emptyFile),
        ("truncated.jpg", .truncated),
        ("truncated-header.jpg", .truncated),
        ("truncated.png", .truncated),
        ("signature-only.png", .truncated),
        ("corrupt-sof.jpg", .corrupt),
        ("corrupt-idat.png", .corrupt),
        ("not-an-image.jpg", .unknownFormat),
        ("animation.gif", .unsupportedFormat),
        ("bomb-60000.png", .tooManyPixels),
        ("bomb-60000.jpg", .tooManyPixels),
    ])
    func badFileGivesTypedError(name: String, kind: ImageDecodingError.Kind) {
        let path = Fixtures.path(name)
        do {
            let image = try ImageDecoder().decode(contentsOf: path)
            Issue.record("\(name) decoded to \(image.width)x\(image.height) instead of failing with \(kind)")
        } catch let error as ImageDecodingError {
            #expect(error.kind == kind, "\(name): \(error)")
            #expect(error.file == path)
            #expect(error.description.hasPrefix(path))
            #expect(!error.reason.isEmpty)
        } catch {
            Issue.record("\(name): untyped error \(error)")
        }
    }

    @Test func pixelLimitIsCheckedFromTheHeader() throws {
        let options = DecodingOptions(pixelLimit: 24 * 16 - 1)
        #expect(throws: ImageDecodingError.self) { try Fixtures.decode("rgb8.png", options: options) }
        #expect(throws: ImageDecodingError.self) { try Fixtures.decode("baseline-420.jpg", options: DecodingOptions(pixelLimit: 100)) }
        // Exactly at the limit is allowed.
        let image = try Fixtures.decode("rgb8.png", options: DecodingOptions(pixelLimit: 24 * 16))
        #expect(image.width == 24)
        do {
            _ = try Fixtures.decode("bomb-60000.jpg")
        } catch let error as ImageDecodingError {
            #expect(error.kind == .tooManyPixels)
            #expect(error.reason.contains("60000x60000"))
        }
    }

    /// Each says what is wrong in the operator's terms, not as a Foundation error number.
    @Test func missingFileAndFolderAreNamed() throws {
        for (path, kind) in [("/nonexistent/veil/photo.jpg", ImageDecodingError.Kind.noSuchFile), (Fixtures.directory.path, .isAFolder)] {
            do {
                _ = try ImageDecoder().decode(contentsOf: path)
                Issue.record("\(path) should not decode")
            } catch let error as ImageDecodingError {
                #expect(error.kind == kind, "\(path): \(error)")
                #expect(error.file == path && !error.reason.contains("Domain"))
            }
        }
    }

    /// Every prefix of a valid JPEG and PNG fails cleanly (or, for a JPEG cut inside its final
    /// marker, decodes): no prefix may crash the process.
    @Test(arguments: ["baseline-420.jpg", "progressive-420.jpg", "rgb8-interlaced.png", "rgba16.png"])
    func everyPrefixFailsCleanly(name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))))
        var failures = 0
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 150)) {
            do {
                _ = try ImageDecoder().decode(Array(bytes.prefix(length)))
            } catch is ImageDecodingError {
                failures += 1
            }
        }
        #expect(failures > 100, "\(name): only \(failures) prefixes failed")
    }

    /// Random byte flips in the middle of a file never crash; they decode or throw.
    @Test(arguments: ["baseline-420.jpg", "rgb8.png", "palette4-trns.png"])
    func flippedBytesNeverCrash(name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))))
        var generator = TestRandom(seed: 42)
        for _ in 0..<300 {
            var damaged = bytes
            for _ in 0..<4 {
                let at = Int(generator.next() % UInt64(damaged.count))
                damaged[at] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            }
            _ = try? ImageDecoder().decode(damaged)
        }
    }

    @Test func formatIsSniffedNotTakenFromTheName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("veil-sniff-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let disguised = directory.appendingPathComponent("photo.jpg")
        try FileManager.default.copyItem(atPath: Fixtures.path("rgb8.png"), toPath: disguised.path)
        let decoded = try ImageDecoder().decodeWithDetails(contentsOf: disguised.path)
        #expect(decoded.format == .png)
        let noExtension = directory.appendingPathComponent("IMG0001")
        try FileManager.default.copyItem(atPath: Fixtures.path("baseline-420.jpg"), toPath: noExtension.path)
        #expect(try ImageDecoder().decodeWithDetails(contentsOf: noExtension.path).format == .jpeg)
    }

    @Test func sniffRecognisesOtherFormats() {
        #expect(ImageFormat.sniff(Array("GIF89a....".utf8)) == .gif)
        #expect(ImageFormat.sniff([0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0]) == .tiff)
        #expect(ImageFormat.sniff(Array("RIFF\0\0\0\0WEBPVP8 ".utf8)) == .webp)
        #expect(ImageFormat.sniff(Array(repeating: 0, count: 128) + Array("DICM".utf8)) == .dicom)
        #expect(ImageFormat.sniff([0, 0, 0, 0x18] + Array("ftypheic".utf8)) == .heif)
        #expect(ImageFormat.sniff(Array("hello".utf8)) == nil)
    }
}
