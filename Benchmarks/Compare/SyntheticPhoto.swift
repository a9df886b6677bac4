import Veil

/// Generated stand-ins for camera photos, so no image is downloaded.
public enum SyntheticPhoto {
    public enum Kind: String, CaseIterable, Sendable {
        /// Gentle gradients: compresses well, entropy decoding is cheap.
        case smooth
        /// The same plus per-pixel sensor-like noise: about 2-3 MB at quality 90.
        case noisy
    }

    /// A JPEG of the given (positive) size; a benchmark's input, so a bad size may stop it.
    public static func jpeg(_ kind: Kind, width: Int, height: Int) -> [UInt8] {
        var state: UInt64 = 0x5EED
        func noise() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % 41) - 20
        }
        let image = try! RGBImage(width: width, height: height) { x, y in
            let r = 60 + 150 * x / width, g = 40 + 120 * y / height, b = 90 + 60 * (x + y) / (width + height)
            if kind == .smooth { return (UInt8(r), UInt8(g), UInt8(b)) }
            func clamp(_ v: Int) -> UInt8 { UInt8(max(0, min(255, v))) }
            return (clamp(r + noise()), clamp(g + noise()), clamp(b + noise()))
        }
        return try! image.jpegData(quality: 90)
    }

    /// An RGB PNG of the given size, written with stored (uncompressed) deflate blocks so that
    /// no encoder is needed; decoding it still runs libpng's inflate, CRC and row handling.
    public static func png(width: Int, height: Int) -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity((width * 3 + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter: none
            for x in 0..<width {
                raw.append(UInt8(60 + 150 * x / width)); raw.append(UInt8(40 + 120 * y / height)); raw.append(UInt8((x ^ y) & 0xFF))
            }
        }
        func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func crc(_ bytes: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = (c >> 1) ^ (c & 1 == 1 ? 0xEDB8_8320 : 0) }
            }
            return ~c
        }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(data.count) + body + be32(Int(crc(body)))
        }
        // zlib stream of stored (uncompressed) deflate blocks, with an Adler-32 trailer.
        var z: [UInt8] = [0x78, 0x01]
        var offset = 0
        while offset < raw.count {
            let n = min(65535, raw.count - offset)
            z.append(offset + n == raw.count ? 1 : 0)
            z += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            z += raw[offset..<(offset + n)]
            offset += n
        }
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        z += be32(Int(b << 16 | a))
        let ihdr = be32(width) + be32(height) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", [])
    }
}
