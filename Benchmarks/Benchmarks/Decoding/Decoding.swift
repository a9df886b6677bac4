import Benchmark
import Foundation
import Veil

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

/// Generated stand-ins for camera photos, so no image is downloaded.
enum SyntheticPhoto {
    enum Kind: String, CaseIterable {
        /// Gentle gradients: compresses well, entropy decoding is cheap.
        case smooth
        /// The same plus per-pixel sensor-like noise: about 2-3 MB at quality 90.
        case noisy
    }

    static func jpeg(_ kind: Kind, width: Int, height: Int) -> [UInt8] {
        var state: UInt64 = 0x5EED
        func noise() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % 41) - 20
        }
        let image = RGBImage(width: width, height: height) { x, y in
            let r = 60 + 150 * x / width, g = 40 + 120 * y / height, b = 90 + 60 * (x + y) / (width + height)
            if kind == .smooth { return (UInt8(r), UInt8(g), UInt8(b)) }
            func clamp(_ v: Int) -> UInt8 { UInt8(max(0, min(255, v))) }
            return (clamp(r + noise()), clamp(g + noise()), clamp(b + noise()))
        }
        return try! image.jpegData(quality: 90)
    }
}
