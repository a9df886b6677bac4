import Benchmark
import BenchmarkSupport
import Foundation
import Veil

// The tensor engine: the machine's own sgemm ceiling, the default model's convolution
// layers, and the forward pass at batch 1, 8 and 16. Custom metrics carry GFLOP/s (as
// MFLOP/s, package-benchmark metrics being integers) and images/s.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident],
        maxDuration: .seconds(10),
        maxIterations: 20
    )
    let threads = ProcessInfo.processInfo.activeProcessorCount
    ComputeThreads.configure(threads)
    let mflops = BenchmarkMetric.custom("MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
    let imagesPerSecond = BenchmarkMetric.custom("images/s", polarity: .prefersLarger, useScalingFactor: false)

    let n = 2048
    let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
    Benchmark("sgemm 2048 (the machine's ceiling)", configuration: .init(metrics: [.wallClock, mflops])) { benchmark in
        var c = [Float](repeating: 0, count: n * n)
        benchmark.startMeasurement()
        let start = DispatchTime.now().uptimeNanoseconds
        MatrixMultiply.multiply(m: n, n: n, k: n, a: a, b: b, into: &c)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        benchmark.stopMeasurement()
        benchmark.measurement(mflops, Int(2 * Double(n * n * n) / seconds / 1e6))
        blackHole(c)
    }

    let model = try! Classifier.loadDefault().model
    func batch(_ size: Int) -> Tensor {
        let images: [[Float]] = (0..<size).map { (seed: Int) -> [Float] in
            (0..<(3 * 224 * 224)).map { (i: Int) -> Float in Float((i * 7 + seed * 13) % 255) - 127 }
        }
        return Tensor(batchNCHW: images, channels: 3, height: 224, width: 224)
    }
    for size in [1, 8, 16] {
        let input = batch(size)
        Benchmark("open_nsfw forward, batch \(size)", configuration: .init(metrics: [.wallClock, imagesPerSecond, mflops, .peakMemoryResident])) { benchmark in
            benchmark.startMeasurement()
            let start = DispatchTime.now().uptimeNanoseconds
            blackHole(try model.run(input))
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            benchmark.stopMeasurement()
            benchmark.measurement(imagesPerSecond, Int(Double(size) / seconds))
            benchmark.measurement(mflops, Int(Double(size) * 2 * 1.07e9 / seconds / 1e6))
        }
    }

    let sixteen = batch(16)
    Benchmark("open_nsfw convolution layers, batch 16", configuration: .init(metrics: [.wallClock, mflops])) { benchmark in
        let layers = try model.runProfiled(sixteen).layers.filter { $0.flops > 0 }
        let seconds = layers.reduce(0) { $0 + $1.seconds }, flops = layers.reduce(0) { $0 + $1.flops }
        benchmark.measurement(mflops, Int(flops / seconds / 1e6))
    }
}
