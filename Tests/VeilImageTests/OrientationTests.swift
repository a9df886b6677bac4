import Foundation
import Testing
@testable import VeilImage

/// Each EXIF orientation, written by Pillow onto a stored image that a viewer turns back into
/// six known colour blocks (48×32 displayed). Non-square, so a missed 90° turn changes the size.
struct OrientationTests {
    @Test(arguments: 1...8)
    func jpegIsShownUpright(orientation: Int) throws {
        let decoded = try ImageDecoder().decodeWithDetails(contentsOf: Fixtures.path("orientation-\(orientation).jpg"))
        try Self.expectUprightBlocks(decoded.image, tolerance: 12, label: "orientation \(orientation)")
        #expect(decoded.fullSize == PixelSize(width: 48, height: 32))
    }

    @Test func pngEXIfChunkIsApplied() throws {
        let image = try Fixtures.decode("orientation-6.png")
        try Self.expectUprightBlocks(image, tolerance: 0, label: "png orientation 6")
    }

    @Test func probeReportsTheDisplaySize() throws {
        let probe = try ImageDecoder().probe(contentsOf: Fixtures.path("orientation-8.jpg"))
        #expect(probe.format == .jpeg)
        #expect(probe.size == PixelSize(width: 48, height: 32))
    }

    /// The pure transform agrees with the EXIF definitions on a 3×2 image of distinct pixels.
    @Test(arguments: Orientation.allCases)
    func orientedMovesEveryPixel(orientation: Orientation) throws {
        // Stored image: pixel value encodes its stored position.
        let stored = try RGBImage(width: 3, height: 2) { x, y in (UInt8(x), UInt8(y), 0) }
        let shown = stored.oriented(orientation)
        // Where EXIF says the stored top-left corner (0th row, 0th column) appears.
        let corner: (x: Int, y: Int)
        switch orientation {
        case .identity, .transpose: corner = (0, 0)
        case .mirrorHorizontal, .rotate90Clockwise: corner = (shown.width - 1, 0)
        case .rotate180, .transverse: corner = (shown.width - 1, shown.height - 1)
        case .mirrorVertical, .rotate90CounterClockwise: corner = (0, shown.height - 1)
        }
        #expect(shown[corner.x, corner.y] == (0, 0, 0), "\(orientation)")
        #expect(orientation.swapsAxes ? (shown.width == 2 && shown.height == 3) : (shown.width == 3 && shown.height == 2))
        // Every stored pixel appears exactly once.
        var seen = Set<[UInt8]>()
        for y in 0..<shown.height { for x in 0..<shown.width { seen.insert([shown[x, y].red, shown[x, y].green]) } }
        #expect(seen.count == 6)
    }

    static func expectUprightBlocks(_ image: RGBImage, tolerance: Int, label: String) throws {
        try #require(image.width == 48 && image.height == 32, "\(label): size \(image.width)x\(image.height)")
        for (index, color) in Pattern.blocks.enumerated() {
            let cx = (index % 3) * 16 + 8, cy = (index / 3) * 16 + 8
            let p = image[cx, cy]
            let got = [Int(p.red), Int(p.green), Int(p.blue)]
            let worst = zip(got, color).map { abs($0 - $1) }.max()!
            #expect(worst <= tolerance, "\(label): block \(index) is \(got), expected \(color)")
        }
    }
}
