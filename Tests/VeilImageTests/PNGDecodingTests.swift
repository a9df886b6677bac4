import Foundation
import Testing
@testable import VeilImage

/// Every PNG colour type, bit depth and interlacing, checked pixel by pixel against the
/// formula the independent encoder (pypng) was given.
struct PNGDecodingTests {
    @Test(arguments: [1, 2, 4, 8, 16])
    func grayscale(bits: Int) throws {
        let image = try Fixtures.decode("gray\(bits).png")
        #expect(image.width == Pattern.width && image.height == Pattern.height)
        // 16 → 8 bits may round either way by one step; lower depths scale exactly.
        let tolerance = bits == 16 ? 1 : 0
        let diff = PixelDifference(image) { x, y in
            let v = Pattern.to8(Pattern.gray(x, y, bits: bits), bits: bits)
            return [v, v, v]
        }
        #expect(diff.maximum <= tolerance, "gray\(bits).png: \(diff)")
    }

    @Test(arguments: ["rgb8.png", "rgb8-interlaced.png"])
    func rgb8(name: String) throws {
        let image = try Fixtures.decode(name)
        let diff = PixelDifference(image) { x, y in Pattern.rgb8(x, y) }
        #expect(diff.maximum == 0, "\(name): \(diff)")
    }

    @Test(arguments: ["rgb16.png", "rgb16-interlaced.png"])
    func rgb16(name: String) throws {
        let image = try Fixtures.decode(name)
        let diff = PixelDifference(image) { x, y in Pattern.rgb16(x, y).map { Pattern.to8($0, bits: 16) } }
        #expect(diff.maximum <= 1, "\(name): \(diff)")
    }

    @Test func interlacedGrayMatchesFormula() throws {
        let image = try Fixtures.decode("gray8-interlaced.png")
        let diff = PixelDifference(image) { x, y in
            let v = Pattern.gray(x, y, bits: 8)
            return [v, v, v]
        }
        #expect(diff.maximum == 0, "\(diff)")
    }

    @Test(arguments: [1, 2, 4, 8])
    func palette(bits: Int) throws {
        let image = try Fixtures.decode("palette\(bits).png")
        let diff = PixelDifference(image) { x, y in Pattern.paletteEntry((x + 2 * y) % (1 << bits)) }
        #expect(diff.maximum == 0, "palette\(bits).png: \(diff)")
    }

    /// Transparent pixels show the background; opaque ones their colour; partial alpha is
    /// blended in linear light (sRGB decoded, mixed, re-encoded).
    @Test(arguments: ["gray-alpha8.png", "gray-alpha16.png", "rgba8.png", "rgba16.png", "palette4-trns.png"])
    func alphaIsCompositedOntoTheBackground(name: String) throws {
        var options = DecodingOptions()
        options.background = (red: 255, green: 0, blue: 64)
        let image = try Fixtures.decode(name, options: options)
        let background = [255, 0, 64]
        let bits = name.contains("16") ? 16 : 8
        let diff = PixelDifference(image) { x, y in
            let color: [Int], a: Double
            switch name {
            case "palette4-trns.png":
                let i = (x + 2 * y) % 16
                color = Pattern.paletteEntry(i)
                a = i % 4 == 0 ? 0 : 1
            case _ where name.hasPrefix("gray"):
                color = Array(repeating: Pattern.gray(x, y, bits: bits), count: 3).map { Pattern.to8($0, bits: bits) }
                a = Double(Pattern.alpha(x, y, bits: bits)) / Double((1 << bits) - 1)
            default:
                color = (bits == 16 ? Pattern.rgb16(x, y).map { Pattern.to8($0, bits: 16) } : Pattern.rgb8(x, y))
                a = Double(Pattern.alpha(x, y, bits: bits)) / Double((1 << bits) - 1)
            }
            return zip(color, background).map { c, b in
                let linear = srgbToLinear(Double(c)) * a + srgbToLinear(Double(b)) * (1 - a)
                return Int(linearToSRGB(linear).rounded())
            }
        }
        #expect(diff.maximum <= 1, "\(name): \(diff)")
        // Fully transparent pixels are exactly the background.
        if name != "palette4-trns.png" {
            for y in 0..<image.height {
                let clear = image[1, y]
                #expect([clear.red, clear.green, clear.blue] == [255, 0, 64], "\(name) (1,\(y))")
            }
        }
    }

    @Test func sizesComeFromTheHeader() throws {
        let decoded = try ImageDecoder().decodeWithDetails(contentsOf: Fixtures.path("rgb8.png"))
        #expect(decoded.format == .png)
        #expect(decoded.fullSize == PixelSize(width: 24, height: 16))
    }
}

func srgbToLinear(_ v: Double) -> Double {
    let c = v / 255
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
}

func linearToSRGB(_ l: Double) -> Double {
    let c = l <= 0.0031308 ? l * 12.92 : 1.055 * pow(l, 1 / 2.4) - 0.055
    return c * 255
}
