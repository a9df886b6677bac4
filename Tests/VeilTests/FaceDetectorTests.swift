import Foundation
import Testing
import VeilImage
import VeilTensor
@testable import Veil

/// BlazeFace on Veil's engine against MediaPipe 0.10.14 itself: goldens written by
/// Tools/reference/blazeface_reference.py (TFLite interpreter for the raw heads, MediaPipe's
/// face detection solution for detections), for the short-range model (`faces/`) and the
/// full-range one, Veil's default (`faces/full_range/`).
@Suite(.serialized)
struct FaceDetectorTests {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("faces")
    nonisolated(unsafe) static let goldens: [String: Any] = json("detections.json")
    nonisolated(unsafe) static let fullRangeGoldens: [String: Any] = json("full_range/detections.json")
    static let detector = try! FaceDetector.loadShortRange()
    static let fullRange = try! FaceDetector.loadDefault()

    enum Range: String, CaseIterable, CustomStringConvertible {
        case short, full
        var description: String { rawValue }
        var detector: FaceDetector { self == .short ? FaceDetectorTests.detector : FaceDetectorTests.fullRange }
        var goldens: [String: Any] { self == .short ? FaceDetectorTests.goldens : FaceDetectorTests.fullRangeGoldens }
        /// Where this model's raw-head fixtures are.
        var folder: String { self == .short ? "" : "full_range/" }
        var anchors: Int { self == .short ? 896 : 2304 }
    }

    static func json(_ name: String) -> [String: Any] {
        let data = try! Data(contentsOf: directory.appendingPathComponent(name))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    static func image(_ name: String) throws -> RGBImage {
        try ImageDecoder().decode(contentsOf: directory.appendingPathComponent(name + ".png").path)
    }

    static func faces(_ json: Any?) -> [FaceDetection] {
        ((json as? [String: Any])?["faces"] as? [[String: Any]] ?? []).map {
            FaceDetection(x: $0["x"] as! Double, y: $0["y"] as! Double, width: $0["width"] as! Double,
                          height: $0["height"] as! Double, score: $0["score"] as! Double,
                          keypoints: $0["keypoints"] as! [[Double]])
        }
    }

    /// The network alone: identical input tensors, heads compared anchor by anchor.
    @Test(arguments: Range.allCases, ["astronaut-face", "uniform-noise"])
    func headsMatchTheTFLiteInterpreter(range: Range, name: String) throws {
        let input = try Self.floats("\(range.folder)\(name).input.f32")
        let (boxes, logits) = try range.detector.rawAnchors(input)
        let refBoxes = try Self.floats("\(range.folder)\(name).regressors.f32")
        let refLogits = try Self.floats("\(range.folder)\(name).classificators.f32")
        #expect(boxes.count == range.anchors && logits.count == range.anchors)
        let boxDiff = zip(boxes.flatMap { $0 }, refBoxes).map { abs($0 - $1) }.max()!
        let logitDiff = zip(logits, refLogits).map { abs($0 - $1) }.max()!
        #expect(boxDiff <= 2e-3, "largest box value difference \(boxDiff)")
        #expect(logitDiff <= 1e-3, "largest score logit difference \(logitDiff)")
    }

    /// Same count, IoU ≥ 0.9, score within 1e-3 of MediaPipe's, keypoints within 2% of the
    /// face's width: on images at the model's input size, and on larger and non-square
    /// images that both sides letterbox (boxes projected back to the image's pixels).
    @Test(arguments: Range.allCases)
    func detectionsMatchMediaPipe(range: Range) throws {
        let images = range.goldens["images"] as! [String: Any]
        for (name, entry) in images.sorted(by: { $0.key < $1.key }) {
            let expected = Self.faces(entry)
            let resampled = (entry as! [String: Any])["resampled"] as! Bool
            let found = try range.detector.detect(in: Self.image((entry as! [String: Any])["file"] as? String ?? name))
            try #require(found.count == expected.count, "\(name): \(found.count) faces, MediaPipe \(expected.count)")
            for (f, e) in zip(found.sorted { $0.score > $1.score }, expected.sorted { $0.score > $1.score }) {
                #expect(f.iou(e) >= 0.9, "\(name): IoU \(f.iou(e))")
                #expect(abs(f.score - e.score) <= 1e-3, "\(name)\(resampled ? " (letterboxed)" : ""): score \(f.score) vs \(e.score)")
                let keypointError = zip(f.keypoints, e.keypoints).map { hypot($0[0] - $1[0], $0[1] - $1[1]) }.max() ?? 0
                #expect(keypointError <= 0.02 * e.width, "\(name): keypoints off by \(keypointError) px")
            }
        }
    }

    /// scikit-image's lfw_subset (100 faces, 100 non-faces): Veil finds a face in exactly the
    /// crops MediaPipe does, except where MediaPipe's best score sits within 1e-3 of the 0.5
    /// threshold.
    @Test func lfwSubsetAgreesWithMediaPipe() throws {
        let lfw = Self.goldens["lfw_subset"] as! [String: Any]
        let expected = lfw["faces_found"] as! [Int], scores = lfw["best_scores"] as! [Double]
        let bytes = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent("lfw_subset.u8")))
        let frames = try (0..<200).map { i -> RGBImage in
            try RGBImage(width: 128, height: 128) { x, y in
                let (cx, cy) = (x - 1, y - 1)
                guard (0..<125).contains(cx), (0..<125).contains(cy) else { return (0, 0, 0) }
                let v = bytes[i * 625 + (cy / 5) * 25 + cx / 5]
                return (v, v, v)
            }
        }
        var found: [Int] = []
        for start in stride(from: 0, to: 200, by: 20) {
            found += try Self.detector.detect(inEach: Array(frames[start..<(start + 20)])).map(\.count)
        }
        for i in 0..<200 where abs(scores[i] - 0.5) > 1e-3 {
            #expect((found[i] > 0) == (expected[i] > 0), "crop \(i): Veil \(found[i]), MediaPipe \(expected[i]) (best score \(scores[i]))")
        }
        let recall = Double(found[..<100].filter { $0 > 0 }.count) / 100
        #expect(abs(recall - (lfw["recall"] as! Double)) <= 0.02)
    }

    /// A face too small for the whole-image pass is found by the tile pyramid, in the
    /// original image's pixels.
    @Test func tilesFindASmallFaceInALargePhoto() throws {
        let face = try Self.image("astronaut-face-128")
        var canvas = try RGBImage(width: 1600, height: 1200) { x, y in (UInt8(60 + x % 40), UInt8(70 + y % 30), 80) }
        let (ox, oy) = (1100, 250)
        var pixels = canvas.pixels
        for y in 0..<128 { for x in 0..<128 { for c in 0..<3 { pixels[((oy + y) * 1600 + ox + x) * 3 + c] = face.pixels[(y * 128 + x) * 3 + c] } } }
        canvas = try RGBImage(width: 1600, height: 1200, pixels: pixels)
        let whole = try Self.detector.detect(in: canvas)
        let tiled = try Self.detector.faces(in: canvas, levels: 3)
        #expect(whole.isEmpty, "a 128-px face in a 1600x1200 image is too small for one 128x128 pass")
        let best = try #require(tiled.max { $0.score < $1.score })
        let reference = try Self.detector.detect(in: face)[0]
        var shifted = reference
        shifted.x += Double(ox)
        shifted.y += Double(oy)
        #expect(best.iou(shifted) >= 0.7, "tile detection \(best) vs \(shifted)")
    }
}
