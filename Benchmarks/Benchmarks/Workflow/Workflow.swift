import Benchmark
import BenchmarkSupport
import Foundation
import Veil
import VeilReview

// What users run: scoring a folder of 12-MP photos end to end, normalizing body-part names,
// and recording suggestions in the review ledger.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .peakMemoryResident], maxDuration: .seconds(10))
    let runtime = Runtime(threads: ProcessInfo.processInfo.activeProcessorCount)

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-benchmark-12mp")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let photos = (0..<8).map { folder.appendingPathComponent("photo-\($0).jpg").path }
    let jpeg = SyntheticPhoto.jpeg(.noisy, width: 4032, height: 3024)
    for path in photos where !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: Data(jpeg)) }
    let classifier = try! Classifier.loadDefault(runtime: runtime)
    let imagesPerSecond = BenchmarkMetric.custom("images/s", polarity: .prefersLarger, useScalingFactor: false)
    Benchmark("score 8 photos of 12 MP end to end (read, hash, decode, forward)",
              configuration: .init(metrics: [.wallClock, imagesPerSecond, .peakMemoryResident], maxIterations: 5)) { benchmark in
        benchmark.startMeasurement()
        let start = DispatchTime.now().uptimeNanoseconds
        var images: [RGBImage] = []
        for path in photos {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            blackHole(ContentDigest.sha256(data))
            images.append(try classifier.reader.read(data)[0].image)
        }
        blackHole(try classifier.scores(for: images))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        benchmark.stopMeasurement()
        benchmark.measurement(imagesPerSecond, Int(Double(photos.count) / seconds))
    }

    // Face detection per 12-MP photo, as veil score runs it on the DCT-scaled decode (which
    // is measured in Decoding): the whole image and the half-size tiles through BlazeFace.
    let faceDetector = try! FaceDetector.loadDefault(runtime: runtime)
    Benchmark("detect faces in one 12 MP photo decoded at 1/8 scale (whole image + 1/2 tiles)",
              configuration: .init(metrics: [.wallClock, .peakMemoryResident], maxIterations: 20)) { benchmark in
        let image = try classifier.reader.read(contentsOf: photos[0])[0].image
        benchmark.startMeasurement()
        blackHole(try faceDetector.faces(in: image))
        benchmark.stopMeasurement()
    }

    let vocabulary = try! Vocabulary.standard()
    let terms = ["KNEE", "L BREAST", "chest", "Rt hand", "ABDOMEN", "76752008", "SRT:T-D2600", "groin",
                 "FEMALE_BREAST_EXPOSED", "face", "buttocks", "LSPINE", "left foot", "scalp", "xyzzy", "perineum"]
    Benchmark("normalize a short body-part name", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for i in benchmark.scaledIterations { blackHole(vocabulary.normalize(terms[i % terms.count])) }
    }

    let ledgerPath = FileManager.default.temporaryDirectory.appendingPathComponent("veil-benchmark-\(UUID()).sqlite").path
    let ledger = try! Ledger(path: ledgerPath)
    let suggestions = Policy.standard.suggestions(for: ["nudity": 0.9, "body-region": 0.7])
    let counter = Counter()
    Benchmark("record one image's suggestions in the ledger", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            let i = counter.next()
            let sha = String(repeating: "0", count: 64 - String(i, radix: 16).count) + String(i, radix: 16)
            try ledger.record(image: LedgerImage(sha256: sha, path: "/archive/\(i).jpg", width: 4032, height: 3024),
                              suggestions: suggestions, policy: .standard, model: "open_nsfw", modelVersion: "1.0.0")
        }
    }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
