import Foundation
import Testing
import VeilImage
import VeilPolicy
@testable import Veil

/// Reviewer-safe previews: what gets obscured, how strongly, and that nothing else changes.
struct PreviewTests {
    static let astronaut = try! ImageDecoder().decode(contentsOf: URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../Samples/images/astronaut.jpg").standardized.path)

    static func suggestion(_ flag: Flag, _ state: SuggestionState) -> Suggestion {
        Suggestion(flag: flag, score: 0.9, threshold: 0.5, state: state)
    }

    @Test func modeFollowsWhatIsPending() {
        let face = FaceDetection(x: 10, y: 10, width: 20, height: 20, score: 0.9, keypoints: [])
        #expect(Preview.mode(for: [Self.suggestion("nudity", .pendingReview), Self.suggestion("face", .pendingReview)], faces: [face]) == .whole)
        #expect(Preview.mode(for: [Self.suggestion("body-region", .provisionallyRestricted)], faces: []) == .whole)
        #expect(Preview.mode(for: [Self.suggestion("face", .pendingReview), Self.suggestion("nudity", .belowThreshold)], faces: [face]) == .faces([face]))
        // A face flag from metadata alone has no boxes: obscure everything rather than nothing.
        #expect(Preview.mode(for: [Self.suggestion("face", .pendingReview)], faces: []) == .whole)
        #expect(Preview.mode(for: [Self.suggestion("nudity", .belowThreshold)], faces: []) == .clear)
    }

    /// Level 0 leaves a coarse mosaic; each level shows more; the clear level shows all.
    @Test func levelsRevealProgressively() {
        let size = PixelSize(width: Self.astronaut.width, height: Self.astronaut.height)
        let clear = Preview.render(Self.astronaut, fullSize: size, mode: .whole, level: Preview.clearLevel)
        #expect(max(clear.width, clear.height) == 256)
        let differences = (0..<Preview.clearLevel).map { level -> Double in
            let p = Preview.render(Self.astronaut, fullSize: size, mode: .whole, level: level)
            return Double(zip(p.pixels, clear.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(p.pixels.count)
        }
        #expect(differences[0] > differences[1] && differences[1] > differences[2] && differences[2] > 0, "\(differences)")
        let level0 = Preview.render(Self.astronaut, fullSize: size, mode: .whole, level: 0)
        var colours = Set<[UInt8]>()
        for i in stride(from: 0, to: level0.pixels.count, by: 3) { colours.insert(Array(level0.pixels[i..<(i + 3)])) }
        #expect(colours.count <= 36, "a 6x6 mosaic, \(colours.count) colours")
    }

    /// Face mode obscures the faces only: the detector no longer finds the face at level 0,
    /// pixels away from it are untouched, and at the clear level the face is found again.
    @Test func faceModeHidesTheFaceAndNothingElse() throws {
        let detector = try FaceDetector.loadDefault()
        let size = PixelSize(width: Self.astronaut.width, height: Self.astronaut.height)
        let faces = try detector.faces(in: Self.astronaut)
        try #require(faces.count == 1)
        let hidden = Preview.render(Self.astronaut, fullSize: size, mode: .faces(faces), level: 0)
        let clear = Preview.render(Self.astronaut, fullSize: size, mode: .faces(faces), level: Preview.clearLevel)
        #expect(try detector.detect(in: hidden).isEmpty)
        #expect(try detector.detect(in: clear).count == 1)
        let scale = 256.0 / 512.0, f = faces[0], grow = 0.25 * f.width
        var changedOutside = 0
        for y in 0..<hidden.height {
            for x in 0..<hidden.width {
                let inside = Double(x) >= (f.x - grow) * scale - 1 && Double(x) <= (f.x + f.width + grow) * scale + 1
                    && Double(y) >= (f.y - grow) * scale - 1 && Double(y) <= (f.y + f.height + grow) * scale + 1
                if !inside && hidden[x, y] != clear[x, y] { changedOutside += 1 }
            }
        }
        #expect(changedOutside == 0)
    }

    @Test func encodedPreviewsDecodeBack() throws {
        let size = PixelSize(width: Self.astronaut.width, height: Self.astronaut.height)
        let preview = Preview.render(Self.astronaut, fullSize: size, mode: .whole, level: 1)
        #expect(try ImageDecoder().decode(preview.pngData()) == preview)
        let jpeg = try ImageDecoder().decode(preview.jpegData(quality: 90))
        let mean = Double(zip(jpeg.pixels, preview.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(jpeg.pixels.count)
        #expect(mean < 3)
    }
}
