import Benchmark
import BenchmarkSupport
import Foundation
import Veil

// The default classifier at batch 1, 8 and 16, through the public API: preprocessing of
// 256×256 images (resize to 256, crop to 224, normalize) and the forward pass. Custom
// metrics carry images/s, package-benchmark metrics being integers. The engine's parts
// alone (the GEMM ceiling, single layers, raw forward passes) are timed by veil-compare,
// which can reach them (`swift run -c release veil-compare forward|layers|gemm-shapes`).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident],
        maxDuration: .seconds(10),
        maxIterations: 20
    )
    let runtime = Runtime(threads: ProcessInfo.processInfo.activeProcessorCount)
    let imagesPerSecond = BenchmarkMetric.custom("images/s", polarity: .prefersLarger, useScalingFactor: false)

    let classifier = try! Classifier.loadDefault(runtime: runtime, batchSize: 16)
    let photo = try! ImageReader().read(Data(SyntheticPhoto.jpeg(.smooth, width: 256, height: 256)))[0].image
    for size in [1, 8, 16] {
        let images = [RGBImage](repeating: photo, count: size)
        Benchmark("open_nsfw classify, batch \(size)", configuration: .init(metrics: [.wallClock, imagesPerSecond, .peakMemoryResident])) { benchmark in
            benchmark.startMeasurement()
            let start = DispatchTime.now().uptimeNanoseconds
            blackHole(try classifier.scores(for: images))
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            benchmark.stopMeasurement()
            benchmark.measurement(imagesPerSecond, Int(Double(size) / seconds))
        }
    }
}
