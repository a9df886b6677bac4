import CTurboJPEG
import Foundation
import Testing
@testable import VeilImage
import VeilTestSupport

/// Veil's own 1/8-scale JPEG decoder against TurboJPEG decoding the same bytes at 1/8: the
/// pixels must be identical, and whatever TurboJPEG reports as damaged, the decoder must
/// decline (so that TurboJPEG decodes it and reports it, as before).
struct EighthScaleJPEGTests {
    static let layouts: [(name: String, sampling: TJSAMP)] = [
        ("4:4:4", TJSAMP_444), ("4:2:2", TJSAMP_422), ("4:2:0", TJSAMP_420), ("4:4:0", TJSAMP_440), ("grey", TJSAMP_GRAY),
    ]

    @Test(arguments: layouts.indices, [50, 92, 100])
    func pixelsAreTurboJPEGsAtOneEighth(layout: Int, quality: Int) throws {
        let (name, sampling) = Self.layouts[layout]
        // Odd sizes leave partial blocks and partial MCUs on both edges.
        for (width, height) in [(1, 1), (7, 9), (16, 16), (17, 33), (100, 75), (257, 131)] {
            let jpeg = try Self.encode(Self.noisyPicture(width, height, seed: width * 31 + height), width, height,
                                       sampling: sampling, quality: quality)
            let expected = try #require(Self.turboEighth(jpeg), "TurboJPEG decodes its own \(width)x\(height)")
            let decoded = try #require(Self.eighth(jpeg), "\(name) \(width)x\(height) q\(quality) is a layout it takes")
            #expect(decoded.width == expected.width && decoded.height == expected.height)
            let differing = zip(decoded.rgb, expected.rgb).filter { $0 != $1 }.count
            #expect(decoded.rgb == expected.rgb, "\(name) \(width)x\(height) q\(quality): \(differing) bytes differ")
        }
    }

    /// cjpeg's and Pillow's files: restart markers and optimized tables (optimized-420), 4:1:1,
    /// progressive and CMYK (declined, for TurboJPEG).
    @Test(arguments: ["baseline-444.jpg", "baseline-422.jpg", "baseline-420.jpg", "baseline-440.jpg", "grayscale.jpg",
                      "optimized-420.jpg", "large-512x384.jpg", "orientation-6.jpg",
                      "baseline-411.jpg", "progressive-420.jpg", "cmyk-adobe.jpg"])
    func fixturesDecodeAsTurboJPEGDoesOrAreDeclined(name: String) throws {
        let jpeg = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))))
        let declined = ["baseline-411.jpg", "progressive-420.jpg", "cmyk-adobe.jpg"].contains(name)
        guard let decoded = Self.eighth(jpeg) else {
            #expect(declined, "\(name) should take the 1/8 path")
            return
        }
        #expect(!declined, "\(name) should have been left to TurboJPEG")
        let expected = try #require(Self.turboEighth(jpeg))
        #expect(decoded.width == expected.width && decoded.height == expected.height && decoded.rgb == expected.rgb, "\(name)")
    }

    /// Damage anywhere in the scan: where TurboJPEG warns or fails, the decoder declines; where
    /// TurboJPEG decodes cleanly, the decoder declines or gives the same pixels.
    @Test(arguments: ["4:2:0 q90", "optimized-420.jpg"])
    func damagedScansAreDeclinedOrDecodedAlike(source: String) throws {
        let original = source.hasSuffix(".jpg")
            ? try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path(source))))
            : try Self.encode(Self.noisyPicture(120, 88, seed: 5), 120, 88, sampling: TJSAMP_420, quality: 90)
        let scanStart = try #require((0..<(original.count - 1)).first { original[$0] == 0xFF && original[$0 + 1] == 0xDA })
        var random = TestRandom(seed: 2024)
        var declined = 0, alike = 0
        for trial in 0..<400 {
            var damaged = original
            switch trial % 4 {
            case 0: damaged[scanStart + 14 + random.next(below: damaged.count - scanStart - 16)] ^= UInt8(1 << random.next(below: 8))
            case 1: damaged[scanStart + 14 + random.next(below: damaged.count - scanStart - 16)] = 0xFF
            case 2: damaged.removeLast(1 + random.next(below: damaged.count - scanStart - 14))
            default:
                let at = scanStart + 14 + random.next(below: damaged.count - scanStart - 16)
                damaged.insert(UInt8(random.next(below: 256)), at: at)
            }
            let expected = Self.turboEighth(damaged)
            guard let decoded = Self.eighth(damaged) else { declined += 1; continue }
            let reference = try #require(expected, "trial \(trial): TurboJPEG reports damage the decoder missed")
            #expect(decoded.rgb == reference.rgb, "trial \(trial): decoded differently from TurboJPEG")
            alike += 1
        }
        // Both outcomes occur, so both branches above were exercised.
        #expect(declined > 0 && alike > 0, "declined \(declined), decoded alike \(alike)")
    }

    /// TurboJPEG takes the largest scale that fits the requested size, so 1/8 only when no
    /// larger one does: never for tiny images, whose 1/8 and 1/4 sizes can be equal.
    @Test func oneEighthIsChosenOnlyWhenTurboJPEGWouldChooseIt() {
        #expect(JPEGDecoder.decodesAtOneEighth(PixelSize(width: 4032, height: 3024), PixelSize(width: 504, height: 378)))
        #expect(!JPEGDecoder.decodesAtOneEighth(PixelSize(width: 4032, height: 3024), PixelSize(width: 1008, height: 756)))
        #expect(!JPEGDecoder.decodesAtOneEighth(PixelSize(width: 3, height: 3), PixelSize(width: 1, height: 1)))
        #expect(JPEGDecoder.decodesAtOneEighth(PixelSize(width: 17, height: 33), PixelSize(width: 3, height: 5)))
    }

    /// The decoder's entry point gives the same image either way, orientation included.
    @Test func imageDecoderUsesItWithTheSameResult() throws {
        let jpeg = try Self.encode(Self.noisyPicture(640, 480, seed: 9), 640, 480, sampling: TJSAMP_420, quality: 90)
        let decoded = try ImageDecoder(options: DecodingOptions(minimumSize: PixelSize(width: 80, height: 60))).decode(Data(jpeg))
        let expected = try #require(Self.turboEighth(jpeg))
        #expect(decoded.width == 80 && decoded.height == 60 && decoded.pixels == expected.rgb)
    }

    // MARK: - Helpers

    static func eighth(_ jpeg: [UInt8]) -> (width: Int, height: Int, rgb: [UInt8])? {
        jpeg.withUnsafeBufferPointer { EighthScaleJPEG.decode($0) }
    }

    /// TurboJPEG at 1/8, or nil when it reports an error or a warning.
    static func turboEighth(_ jpeg: [UInt8]) -> (width: Int, height: Int, rgb: [UInt8])? {
        guard let handle = tjInitDecompress() else { return nil }
        defer { tjDestroy(handle) }
        var w: Int32 = 0, h: Int32 = 0, s: Int32 = 0, c: Int32 = 0
        guard tjDecompressHeader3(handle, jpeg, UInt(jpeg.count), &w, &h, &s, &c) == 0 else { return nil }
        let width = (Int(w) + 7) / 8, height = (Int(h) + 7) / 8
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let status = tjDecompress2(handle, jpeg, UInt(jpeg.count), &rgb, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), 0)
        return status == 0 ? (width, height, rgb) : nil
    }

    static func encode(_ rgb: [UInt8], _ width: Int, _ height: Int, sampling: TJSAMP, quality: Int) throws -> [UInt8] {
        let handle = try #require(tjInitCompress())
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        defer { tjFree(output) }
        let status = tjCompress2(handle, rgb, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue),
                                 &output, &size, Int32(sampling.rawValue), Int32(quality), 0)
        try #require(status == 0, "tjCompress2: \(String(cString: tjGetErrorStr2(handle)))")
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    /// Colour gradients with sensor-like noise and a few hard edges: large AC terms, and DC
    /// values that reach both ends of the range.
    static func noisyPicture(_ width: Int, _ height: Int, seed: Int) -> [UInt8] {
        var random = TestRandom(seed: UInt64(seed))
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let edge = (x / 9 + y / 13) % 3 == 0 ? 90 : 0
                let base = [x * 255 / max(1, width - 1), y * 255 / max(1, height - 1), (x + y) * 127 / max(1, width + height - 2) + edge]
                for c in 0..<3 {
                    pixels[(y * width + x) * 3 + c] = UInt8(clamping: base[c] + random.next(below: 41) - 20)
                }
            }
        }
        return pixels
    }
}

extension TestRandom {
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
