import CTurboJPEG
import Foundation
import Testing
@testable import VeilImage

/// JPEG variants written by libjpeg-turbo's cjpeg and by Pillow, checked against the smooth
/// formula they were encoded from. Quality 95 on smooth content: the stated tolerance is a
/// mean absolute error of at most 2 levels (4:1:1 chroma, the coarsest, reaches 1.65) and a maximum of 10 levels per channel.
struct JPEGDecodingTests {
    static let meanTolerance = 2.0
    static let maxTolerance = 10

    @Test(arguments: ["baseline-444.jpg", "baseline-422.jpg", "baseline-420.jpg", "baseline-440.jpg",
                      "baseline-411.jpg", "progressive-420.jpg", "optimized-420.jpg", "cmyk-adobe.jpg"])
    func colorVariantsMatchTheSource(name: String) throws {
        let image = try Fixtures.decode(name)
        #expect(image.width == Pattern.smoothWidth && image.height == Pattern.smoothHeight)
        let diff = PixelDifference(image) { x, y in Pattern.smooth(x, y) }
        #expect(diff.mean <= Self.meanTolerance && diff.maximum <= Self.maxTolerance, "\(name): \(diff)")
    }

    @Test func grayscaleIsReplicatedIntoRGB() throws {
        let image = try Fixtures.decode("grayscale.jpg")
        let diff = PixelDifference(image) { x, y in
            let p = Pattern.smooth(x, y)
            // ITU-R 601 luma, as Pillow's convert("L") computed it before cjpeg encoded it.
            let luma = Int((Double(p[0] * 299 + p[1] * 587 + p[2] * 114) / 1000).rounded())
            return [luma, luma, luma]
        }
        #expect(diff.mean <= Self.meanTolerance && diff.maximum <= Self.maxTolerance, "\(diff)")
        for y in 0..<image.height {
            for x in 0..<image.width {
                let p = image[x, y]
                #expect(p.red == p.green && p.green == p.blue)
            }
        }
    }

    /// TurboJPEG's own compressor turns CMYK pixels into a YCCK JPEG with an Adobe marker;
    /// Veil must read the ink values back and apply the Adobe (inverted) convention.
    @Test func ycckWrittenByTurboJPEGDecodesToRGB() throws {
        let width = 32, height = 24
        var cmyk = [UInt8](repeating: 0, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 4
                cmyk[i] = UInt8(255 - x * 4)      // stored inverted: 255 means no cyan
                cmyk[i + 1] = UInt8(255 - y * 5)
                cmyk[i + 2] = 200
                cmyk[i + 3] = UInt8(255 - (x + y))  // a little black
            }
        }
        let jpeg = try Self.compressCMYK(cmyk, width: width, height: height)
        let info = try Self.header(jpeg)
        #expect(info.colorspace == Int32(TJCS_YCCK.rawValue), "fixture must really be YCCK")

        let image = try ImageDecoder().decode(jpeg)
        let diff = PixelDifference(image) { x, y in
            let i = (y * width + x) * 4
            let k = Int(cmyk[i + 3])
            return (0..<3).map { (Int(cmyk[i + $0]) * k + 127) / 255 }
        }
        #expect(diff.mean <= Self.meanTolerance && diff.maximum <= Self.maxTolerance, "\(diff)")
    }

    /// DCT scaling picks the smallest M/8 scale that still covers the requested size.
    @Test(arguments: [
        (PixelSize(width: 64, height: 48), PixelSize(width: 64, height: 48)),    // 1/8
        (PixelSize(width: 65, height: 10), PixelSize(width: 128, height: 96)),   // 1/4
        (PixelSize(width: 100, height: 100), PixelSize(width: 192, height: 144)), // 3/8
        (PixelSize(width: 256, height: 192), PixelSize(width: 256, height: 192)), // 1/2
        (PixelSize(width: 300, height: 10), PixelSize(width: 320, height: 240)),  // 5/8
        (PixelSize(width: 1000, height: 1000), PixelSize(width: 512, height: 384)), // never upscales
    ])
    func scaledDecodingCoversTheTarget(minimum: PixelSize, expected: PixelSize) throws {
        let options = DecodingOptions(minimumSize: minimum)
        let decoded = try ImageDecoder(options: options).decodeWithDetails(contentsOf: Fixtures.path("large-512x384.jpg"))
        #expect(decoded.image.width == expected.width && decoded.image.height == expected.height)
        #expect(decoded.fullSize == PixelSize(width: 512, height: 384))
        // The scaled image still shows the same smooth content.
        let sx = Double(Pattern.smoothWidth - 1) / Double(expected.width - 1)
        let sy = Double(Pattern.smoothHeight - 1) / Double(expected.height - 1)
        let diff = PixelDifference(decoded.image) { x, y in
            let full = Pattern.smooth(Int((Double(x) * sx).rounded()), Int((Double(y) * sy).rounded()))
            return full
        }
        #expect(diff.mean <= 3, "\(minimum) → \(expected): \(diff)")
    }

    @Test func scaledDecodingMeasuresTheTargetInDisplayOrientation() throws {
        // orientation-6 is stored 32x48 and displayed 48x32. Asking for 40x20 displayed needs
        // 20x40 stored: 1/2 scale (16x24 stored) would not cover it, 5/8 (20x30) neither,
        // 7/8 gives 28x42 → displayed 42x28.
        let options = DecodingOptions(minimumSize: PixelSize(width: 40, height: 20))
        let decoded = try ImageDecoder(options: options).decodeWithDetails(contentsOf: Fixtures.path("orientation-6.jpg"))
        #expect(decoded.fullSize == PixelSize(width: 48, height: 32))
        #expect(decoded.image.width >= 40 && decoded.image.height >= 20)
        #expect(decoded.image.width < 48, "a smaller scale should have been chosen")
    }

    // MARK: - TurboJPEG helpers (the independent encoder)

    static func compressCMYK(_ cmyk: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        let handle = try #require(tjInitCompress())
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = tjCompress2(handle, cmyk, Int32(width), 0, Int32(height), Int32(TJPF_CMYK.rawValue),
                                 &output, &size, Int32(TJSAMP_420.rawValue), 95, 0)
        defer { tjFree(output) }
        try #require(status == 0, "tjCompress2: \(String(cString: tjGetErrorStr2(handle)))")
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    static func header(_ jpeg: [UInt8]) throws -> (width: Int32, height: Int32, colorspace: Int32) {
        let handle = try #require(tjInitDecompress())
        defer { tjDestroy(handle) }
        var w: Int32 = 0, h: Int32 = 0, s: Int32 = 0, c: Int32 = 0
        try #require(tjDecompressHeader3(handle, jpeg, UInt(jpeg.count), &w, &h, &s, &c) == 0)
        return (w, h, c)
    }
}
