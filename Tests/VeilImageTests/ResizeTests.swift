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
        let resized = try source.resized(to: PixelSize(width: expected.width, height: expected.height), filter: filter)
        let diff = PixelDifference(resized) { x, y in
            let p = expected[x, y]
            return [Int(p.red), Int(p.green), Int(p.blue)]
        }
        #expect(diff.maximum <= 1, "\(golden): \(diff)")
    }

    @Test func boxDownscaleByAnIntegerFactorAveragesBlocks() throws {
        let image = try RGBImage(width: 4, height: 2) { x, _ in (UInt8(x * 10), 0, 255) }
        let half = try image.resized(to: PixelSize(width: 2, height: 1), filter: .box)
        #expect(half[0, 0] == (5, 0, 255))
        #expect(half[1, 0] == (25, 0, 255))
    }

    /// The resizer's rounding to bytes, written without libm's `roundf` or checked
    /// conversions, against the plain formula: every float from -2 to 258 in steps of 1/64,
    /// the 64 floats on either side of every half-integer in 0...256 (where rounding
    /// decides), every float from 0.4 to 0.6 (where a float sum with 0.5 can round up to 1),
    /// and the extremes. (The formula was also checked on all 2³² floats outside the suite.)
    @Test func byteRoundingMatchesRoundedAndClamped() {
        func plain(_ v: Float) -> UInt8 { v.isNaN ? 0 : UInt8(max(0, min(255, v.rounded()))) }
        var values: [Float] = [-.greatestFiniteMagnitude, -1e9, 1e9, .greatestFiniteMagnitude, -0.0, 0,
                               .infinity, -.infinity, .nan, .leastNonzeroMagnitude]
        values += stride(from: Float(-2), through: 258, by: 1.0 / 64)
        for k in 0...256 {
            for anchor in [Float(k) + 0.5, Float(k)] {
                var (down, up) = (anchor, anchor)
                for _ in 0..<64 {
                    down = down.nextDown
                    up = up.nextUp
                    values += [down, up]
                }
                values.append(anchor)
            }
        }
        var v = Float(0.4)
        while v <= 0.6 {
            values.append(v)
            v = v.nextUp
        }
        let mismatches = values.filter { clampToByte($0) != plain($0) }
        #expect(mismatches.isEmpty, "differs at \(mismatches.prefix(5))")
        // The sixteen-lane form the resize passes use, and the scalar tail after it.
        var bytes = [UInt8](repeating: 0, count: values.count)
        bytes.withUnsafeMutableBufferPointer { storeClamped(values, count: values.count, into: $0.baseAddress!) }
        let differing = values.indices.filter { bytes[$0] != plain(values[$0]) }
        #expect(values.count % 16 != 0 && differing.isEmpty, "lanes differ at \(differing.prefix(5).map { values[$0] })")
    }

    /// The vertical pass runs along rows of the image; it must give the same bytes as the
    /// horizontal pass run on the transposed image, which is what it replaced.
    @Test(arguments: [ResizeFilter.bilinear, .box])
    func verticalPassEqualsTheHorizontalOneTransposed(filter: ResizeFilter) throws {
        var state: UInt32 = 12345
        for (width, height, newWidth, newHeight) in [(37, 61, 37, 20), (50, 33, 20, 90), (504, 378, 256, 256), (9, 200, 9, 7)] {
            let pixels = (0..<(width * height * 3)).map { _ -> UInt8 in
                state = state &* 1_664_525 &+ 1_013_904_223
                return UInt8(truncatingIfNeeded: state >> 24)
            }
            let image = try RGBImage(width: width, height: height, pixels: pixels)
            let across = try image.resized(to: PixelSize(width: newWidth, height: height), filter: filter)
            let viaTranspose = try across.oriented(.transpose)
                .resized(to: PixelSize(width: newHeight, height: newWidth), filter: filter).oriented(.transpose)
            let direct = try image.resized(to: PixelSize(width: newWidth, height: newHeight), filter: filter)
            #expect(direct.width == newWidth && direct.height == newHeight)
            #expect(direct.pixels == viaTranspose.pixels, "\(width)x\(height) → \(newWidth)x\(newHeight)")
        }
    }

    @Test func sameSizeIsIdentity() throws {
        let image = try RGBImage(width: 5, height: 3) { x, y in (UInt8(x), UInt8(y), 7) }
        #expect(try image.resized(to: PixelSize(width: 5, height: 3)) == image)
    }

    /// Sizes that do not fit are typed errors, never traps: an embedder's bad arguments must
    /// not bring its server down.
    @Test func impossibleGeometryIsAnError() throws {
        let image = try RGBImage(width: 10, height: 8) { x, y in (UInt8(x), UInt8(y), 0) }
        #expect(throws: ImageGeometryError.self) { try RGBImage(width: 2, height: 2, pixels: [0, 0, 0]) }
        #expect(throws: ImageGeometryError.self) { try RGBImage(width: 0, height: 2, pixels: []) }
        #expect(throws: ImageGeometryError.self) { try RGBImage(width: Int.max, height: 2, pixels: []) }
        #expect(throws: ImageGeometryError.self) { try RGBImage(width: -1, height: 3) { _, _ in (0, 0, 0) } }
        #expect(throws: ImageGeometryError.self) { try image.resized(to: PixelSize(width: 0, height: 4)) }
        #expect(throws: ImageGeometryError.self) { try image.cropped(x: 8, y: 0, size: PixelSize(width: 4, height: 4)) }
        #expect(throws: ImageGeometryError.self) { try image.cropped(x: -1, y: 0, size: PixelSize(width: 4, height: 4)) }
        #expect(throws: ImageGeometryError.self) { try image.centerCropped(to: PixelSize(width: 11, height: 4)) }
    }

    @Test func cropsTakeTheRightPixels() throws {
        let image = try RGBImage(width: 10, height: 8) { x, y in (UInt8(x), UInt8(y), 0) }
        let crop = try image.cropped(x: 3, y: 2, size: PixelSize(width: 4, height: 5))
        #expect(crop.width == 4 && crop.height == 5)
        #expect(crop[0, 0] == (3, 2, 0))
        #expect(crop[3, 4] == (6, 6, 0))
        // Odd margins round down, as Caffe's centre crop does: (10 - 7) / 2 = 1.
        let center = try image.centerCropped(to: PixelSize(width: 7, height: 5))
        #expect(center[0, 0] == (1, 1, 0))
    }
}
