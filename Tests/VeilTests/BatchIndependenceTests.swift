import Foundation
import Testing
import VeilImage
import VeilTensor
@testable import Veil

/// An image scores the same bits whatever else is in its batch and however many threads
/// share the work, so that re-scoring, resuming and sharding a backlog reproduce every score
/// exactly. Before the engine's own kernels, the same photo scored 0.142069 in one batch and
/// 0.14207 in another: OpenBLAS and the Winograd choice depended on the batch's width.
struct BatchIndependenceTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Samples/images").standardized

    /// The bundled sample photos, then the first five again, mirrored: 16 images.
    static func images() throws -> [RGBImage] {
        let files = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".jpg") }.sorted()
        let decoded = try files.map { try ImageDecoder().decode(contentsOf: samples.appendingPathComponent($0).path) }
        let mirrored = try decoded.prefix(5).map { image in
            var pixels = image.pixels
            for y in 0..<image.height {
                for x in 0..<(image.width / 2) {
                    for c in 0..<3 {
                        pixels.swapAt((y * image.width + x) * 3 + c, (y * image.width + image.width - 1 - x) * 3 + c)
                    }
                }
            }
            return try RGBImage(width: image.width, height: image.height, pixels: pixels)
        }
        return decoded + mirrored
    }

    @Test func scoresAndEmbeddingsDoNotDependOnTheBatchOrTheThreads() throws {
        let images = try Self.images()
        try #require(images.count == 16)
        let alone = try Classifier.loadDefault(runtime: Runtime(threads: 1), batchSize: 1).outputs(for: images)
        // Whole images per thread (batches of at least one image per thread), layers shared
        // among threads (one image on two threads, two on three), and one thread taking
        // groups of images in turn.
        for (threads, batchSize) in [(2, 16), (2, 5), (2, 1), (3, 2), (1, 3)] {
            let batched = try Classifier.loadDefault(runtime: Runtime(threads: threads), batchSize: batchSize)
                .outputs(for: images.reversed()).reversed()
            for (index, (a, b)) in zip(alone, batched).enumerated() {
                let (x, y) = (try #require(a.scores[.nudity]), try #require(b.scores[.nudity]))
                #expect(x.bitPattern == y.bitPattern,
                        "image \(index): \(x) alone, \(y) in batches of \(batchSize) on \(threads) threads")
                #expect(a.embedding?.map(\.bitPattern) == b.embedding?.map(\.bitPattern),
                        "image \(index): the embedding differs in batches of \(batchSize) on \(threads) threads")
            }
        }
        // Not a vacuous comparison: the photos score differently from one another.
        #expect(Set(alone.compactMap { $0.scores[.nudity] }).count >= 10)
    }

    @Test func faceDetectionsDoNotDependOnTheBatchOrTheThreads() throws {
        let images = try Self.images()
        let one = try FaceDetector.loadDefault(runtime: Runtime(threads: 1))
        let alone = try images.map { try one.faces(in: $0) }
        let batched = try FaceDetector.loadDefault(runtime: Runtime(threads: 2)).faces(inEach: images)
        #expect(alone.joined().count >= 1, "the astronaut's face at least")
        for (index, (a, b)) in zip(alone, batched).enumerated() {
            #expect(a.map(\.score.bitPattern) == b.map(\.score.bitPattern), "image \(index): \(a) alone, \(b) batched")
            #expect(a.map(\.x.bitPattern) == b.map(\.x.bitPattern), "image \(index): boxes differ")
        }
    }
}
