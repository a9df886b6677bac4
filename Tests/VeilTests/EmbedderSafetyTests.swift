import Foundation
import Testing
import Veil

/// What an embedder can hand the public API that would once have stopped its server or
/// switched a safeguard off unseen. Found by an outside pass over the API.
struct EmbedderSafetyTests {
    static let scorer = Result { try Scorer.load(runtime: Runtime(threads: 2), faces: false) }

    /// A threshold out of range would make a flag unreachable while the scorer looks fine.
    @Test func scorerRefusesAPolicyThatDoesNotValidate() throws {
        let classifier = try Self.scorer.get().classifier
        for threshold in [7.0, .nan, -0.5] {
            var policy = Policy.standard
            policy.flags[.nudity]?.reviewThreshold = threshold
            #expect(throws: PolicyError.self, "review threshold \(threshold)") {
                try Scorer(classifier: classifier, faceDetector: nil, policy: policy)
            }
        }
    }

    @Test func runtimeClampsWhatWouldOverflow() throws {
        #expect(Runtime(threads: .max).threads == Runtime.maximumThreads)
        #expect(Runtime(threads: .min).threads == 1)
        // A runtime at the maximum still scores (the work splits stay in range).
        let classifier = try Classifier.loadDefault(runtime: Runtime(threads: .max))
        let photo = try RGBImage(width: 64, height: 48) { x, y in (UInt8(x), UInt8(y), 90) }
        #expect(try classifier.scores(for: photo)[.nudity] != nil)
    }

    /// Sizes near Int's limits are errors, not arithmetic traps.
    @Test func hugeGeometryIsAnError() throws {
        let image = try RGBImage(width: 8, height: 6) { _, _ in (1, 2, 3) }
        #expect(throws: ImageGeometryError.self) { try RGBImage(width: 1, height: .max, pixels: []) }
        #expect(throws: ImageGeometryError.self) { try RGBImage(width: 1 << 40, height: 1 << 40) { _, _ in (0, 0, 0) } }
        #expect(throws: ImageGeometryError.self) { try image.cropped(x: .max, y: 0, size: PixelSize(width: 1, height: 1)) }
        #expect(throws: ImageGeometryError.self) { try image.centerCropped(to: PixelSize(width: .min, height: 1)) }
        #expect(throws: ImageGeometryError.self) { try image.resized(to: PixelSize(width: .max, height: 1)) }
    }

    /// Previews of boxes that are not numbers, or of an unknown full size, are made (the
    /// whole image hidden where a box cannot be placed), never a trap.
    @Test func previewsOfOddInputsAreStillMade() throws {
        let image = try RGBImage(width: 40, height: 30) { x, y in (UInt8(x * 6), UInt8(y * 8), 0) }
        let odd = FaceDetection(x: .nan, y: 0, width: .infinity, height: 1e300, score: 1, keypoints: [])
        let far = FaceDetection(x: 1e300, y: -1e300, width: 1e300, height: 1e300, score: 1, keypoints: [])
        let hidden = Preview.render(image, fullSize: PixelSize(width: 0, height: 0), mode: .faces([odd]), level: 0)
        let whole = Preview.render(image, fullSize: PixelSize(width: 40, height: 30), mode: .whole, level: 0)
        #expect(hidden == whole, "a box that is not a number hides the whole image")
        let preview = Preview.render(image, fullSize: PixelSize(width: 40, height: 30), mode: .faces([far]), level: 0)
        #expect(preview.width == 40 && preview.height == 30)
    }

    /// Special files are refused by what they are, not with a misleading permission error.
    @Test func devicesAreNotImageFiles() throws {
        do {
            _ = try Self.scorer.get().assess(fileAt: "/dev/null")
            Issue.record("read /dev/null as an image")
        } catch let error as ImageDecodingError {
            #expect(error.kind == .unreadableFile && error.reason.contains("not a regular file"), "\(error)")
            #expect(error.file == "/dev/null")
        }
    }
}
