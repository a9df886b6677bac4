import Benchmark
import Foundation
import Veil
import BenchmarkSupport

// A 4032×3024 (12 MP) camera-sized JPEG, decoded to a 256-px image two ways:
// libjpeg-turbo's DCT scaling straight to the smallest covering size, against a full decode
// followed by a resize. Run for a smooth photo and for a noisy, camera-like one: on noisy
// files entropy decoding dominates and DCT scaling cannot skip it, so the gain shrinks.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident, .mallocCountTotal],
        maxDuration: .seconds(10),
        maxIterations: 30
    )
    let target = PixelSize(width: 256, height: 256)

    for kind in SyntheticPhoto.Kind.allCases {
        let jpeg = SyntheticPhoto.jpeg(kind, width: 4032, height: 3024)
        let data = Data(jpeg)

        Benchmark("decode 12MP \(kind.rawValue) JPEG, scaled to 256 px") { benchmark in
            let decoder = ImageDecoder(options: DecodingOptions(minimumSize: target))
            for _ in benchmark.scaledIterations {
                let image = try decoder.decode(data).resized(to: target)
                blackHole(image)
            }
        }

        Benchmark("decode 12MP \(kind.rawValue) JPEG, full then resize to 256 px") { benchmark in
            let decoder = ImageDecoder()
            for _ in benchmark.scaledIterations {
                let image = try decoder.decode(data).resized(to: target)
                blackHole(image)
            }
        }
    }
}
