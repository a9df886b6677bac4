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

    // A large PNG: 4000×3000 RGB, libpng's simplified API (no scaled decoding for PNG).
    let png = SyntheticPhoto.png(width: 4000, height: 3000)
    Benchmark("decode 12MP PNG") { benchmark in
        let decoder = ImageDecoder()
        for _ in benchmark.scaledIterations { blackHole(try decoder.decode(png)) }
    }

    // Resizing as the default model's preprocessing does it, from a 1/8-scale 12 MP decode.
    let small = try! ImageDecoder(options: DecodingOptions(minimumSize: PixelSize(width: 359, height: 359)))
        .decode(SyntheticPhoto.jpeg(.smooth, width: 4032, height: 3024))
    for filter in [ResizeFilter.bilinear, .box] {
        Benchmark("resize \(small.width)x\(small.height) to 256x256, \(filter)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try small.resized(to: PixelSize(width: 256, height: 256), filter: filter)) }
        }
    }
}
