import Foundation
import Testing
@testable import VeilImage

/// Resizing against Pillow's `Image.resize`, an independent implementation of the same filter
/// scheme. Pillow works in fixed point and Veil in floating point, so one level of rounding
/// difference is allowed.
struct ResizeTests {
    @Test(arguments: [
        ("resize-pillow-bilinear-40x23.png", ResizeFilter.bilinear),
        ("resize-pillow-bilinear-150x90.png", .bilinear),
        ("resize-pillow-box-40x23.png", .box),
        ("resize-pillow-bilinear-33x61.png", .bilinear),
    ])
    func matchesPillow(golden: String, filter: ResizeFilter) throws {
        let source = try Fixtures.decode("resize-source.png")
        let expected = try Fixtures.decode(golden)
        let resized = source.resized(to: PixelSize(width: expected.width, height: expected.height), filter: filter)
        let diff = PixelDifference(resized) { x, y in
            let p = expected[x, y]
            return [Int(p.red), Int(p.green), Int(p.blue)]
        }
        #expect(diff.maximum <= 1, "\(golden): \(diff)")
    }

    @Test func boxDownscaleByAnIntegerFactorAveragesBlocks() {
        let image = RGBImage(width: 4, height: 2) { x, _ in (UInt8(x * 10), 0, 255) }
        let half = image.resized(to: PixelSize(width: 2, height: 1), filter: .box)
        #expect(half[0, 0] == (5, 0, 255))
        #expect(half[1, 0] == (25, 0, 255))
    }

    @Test func sameSizeIsIdentity() {
        let image = RGBImage(width: 5, height: 3) { x, y in (UInt8(x), UInt8(y), 7) }
        #expect(image.resized(to: PixelSize(width: 5, height: 3)) == image)
    }

    @Test func cropsTakeTheRightPixels() {
        let image = RGBImage(width: 10, height: 8) { x, y in (UInt8(x), UInt8(y), 0) }
        let crop = image.cropped(x: 3, y: 2, size: PixelSize(width: 4, height: 5))
        #expect(crop.width == 4 && crop.height == 5)
        #expect(crop[0, 0] == (3, 2, 0))
        #expect(crop[3, 4] == (6, 6, 0))
        // Odd margins round down, as Caffe's centre crop does: (10 - 7) / 2 = 1.
        let center = image.centerCropped(to: PixelSize(width: 7, height: 5))
        #expect(center[0, 0] == (1, 1, 0))
    }
}
