import Veil

/// Generated stand-ins for camera photos, so no image is downloaded.
public enum SyntheticPhoto {
    public enum Kind: String, CaseIterable, Sendable {
        /// Gentle gradients: compresses well, entropy decoding is cheap.
        case smooth
        /// The same plus per-pixel sensor-like noise: about 2-3 MB at quality 90.
        case noisy
    }

    public static func jpeg(_ kind: Kind, width: Int, height: Int) -> [UInt8] {
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
