import Foundation
@testable import VeilImage

// The pixel formulas of Tools/fixtures/make_image_fixtures.py, repeated here so that tests
// compare decoded pixels with what the independent encoders were given.
enum Pattern {
    static let width = 24, height = 16

    static func rgb8(_ x: Int, _ y: Int) -> [Int] {
        [(x * 37 + y * 11) & 0xFF, (x * 5 + y * 53) & 0xFF, (x * 91 + y * 29 + 7) & 0xFF]
    }

    static func rgb16(_ x: Int, _ y: Int) -> [Int] {
        [(x * 2741 + y * 977) & 0xFFFF, (x * 613 + y * 4099) & 0xFFFF, (x * 9001 + y * 31) & 0xFFFF]
    }

    static func gray(_ x: Int, _ y: Int, bits: Int) -> Int {
        bits < 16 ? (x * 3 + y * 7) % (1 << bits) : (x * 2741 + y * 977) & 0xFFFF
    }

    static func alpha(_ x: Int, _ y: Int, bits: Int) -> Int {
        let top = (1 << bits) - 1
        if x < 4 { return 0 }
        if x < 8 { return top }
        return (x * 13 + y * 17) % (top + 1)
    }

    static func paletteEntry(_ i: Int) -> [Int] {
        [(i * 67) & 0xFF, (i * 23 + 40) & 0xFF, (255 - i * 9) & 0xFF]
    }

    /// A sample of `bits` bits scaled to 8 bits, as the PNG specification prescribes.
    static func to8(_ value: Int, bits: Int) -> Int {
        Int((Double(value) * 255 / Double((1 << bits) - 1)).rounded())
    }

    static let smoothWidth = 64, smoothHeight = 48

    static func smooth(_ x: Int, _ y: Int) -> [Int] {
        let w = Double(smoothWidth - 1), h = Double(smoothHeight - 1)
        let t = Double(x + y) / Double(smoothWidth + smoothHeight - 2) - 0.5
        // Python's round() is round-half-even.
        return [(Double(x) * 255 / w).rounded(.toNearestOrEven), (Double(y) * 255 / h).rounded(.toNearestOrEven),
                (128 + 100 * t).rounded(.toNearestOrEven)].map { Int($0) }
    }

    static let blocks: [[Int]] = [[255, 0, 0], [0, 200, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]]
}

enum Fixtures {
    static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    static func decode(_ name: String, options: DecodingOptions = DecodingOptions()) throws -> RGBImage {
        try ImageDecoder(options: options).decode(contentsOf: path(name))
    }
}

/// Per-channel differences between an image and an expected pixel function.
struct PixelDifference: CustomStringConvertible {
    var maximum = 0
    var total = 0
    var count = 0
    var worst = (x: 0, y: 0)
    var mean: Double { count == 0 ? 0 : Double(total) / Double(count) }

    init(_ image: RGBImage, _ expected: (Int, Int) -> [Int]) {
        for y in 0..<image.height {
            for x in 0..<image.width {
                let p = image[x, y]
                let e = expected(x, y)
                for (got, want) in zip([Int(p.red), Int(p.green), Int(p.blue)], e) {
                    let d = abs(got - want)
                    total += d
                    count += 1
                    if d > maximum { maximum = d; worst = (x, y) }
                }
            }
        }
    }

    var description: String { "max \(maximum) at \(worst), mean \(String(format: "%.3f", mean))" }
}
