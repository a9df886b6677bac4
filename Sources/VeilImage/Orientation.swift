/// How a stored image must be turned to be shown upright: the EXIF `Orientation` tag (0x0112).
///
/// Cameras store the sensor's rows as captured and record the turn in this tag instead of
/// rotating pixels. Veil applies it during decoding, so scores and reviewer previews refer to
/// the image a person sees. Raw values follow EXIF 2.32, section 4.6.4.
public enum Orientation: Int, Sendable, CaseIterable {
    /// 1: already upright.
    case identity = 1
    /// 2: mirrored left to right.
    case mirrorHorizontal = 2
    /// 3: turned half a circle.
    case rotate180 = 3
    /// 4: mirrored top to bottom.
    case mirrorVertical = 4
    /// 5: mirrored across the top-left to bottom-right diagonal.
    case transpose = 5
    /// 6: must be turned 90° clockwise to display.
    case rotate90Clockwise = 6
    /// 7: mirrored across the top-right to bottom-left diagonal.
    case transverse = 7
    /// 8: must be turned 90° counter-clockwise to display.
    case rotate90CounterClockwise = 8

    /// Whether displaying exchanges width and height.
    public var swapsAxes: Bool { rawValue >= 5 }

    /// The stored pixel `(x, y)` shown at display position `(dx, dy)` of an image whose
    /// *stored* size is `width × height`.
    @inline(__always)
    func sourcePixel(dx: Int, dy: Int, width: Int, height: Int) -> (x: Int, y: Int) {
        switch self {
        case .identity: return (dx, dy)
        case .mirrorHorizontal: return (width - 1 - dx, dy)
        case .rotate180: return (width - 1 - dx, height - 1 - dy)
        case .mirrorVertical: return (dx, height - 1 - dy)
        case .transpose: return (dy, dx)
        case .rotate90Clockwise: return (dy, height - 1 - dx)
        case .transverse: return (width - 1 - dy, height - 1 - dx)
        case .rotate90CounterClockwise: return (width - 1 - dy, dx)
        }
    }
}

extension RGBImage {
    /// This image turned upright according to `orientation`, as a viewer shows it.
    public func oriented(_ orientation: Orientation) -> RGBImage {
        if orientation == .identity { return self }
        let out = orientation.swapsAxes ? PixelSize(width: height, height: width)
                                        : PixelSize(width: width, height: height)
        var buffer = [UInt8](repeating: 0, count: out.width * out.height * 3)
        pixels.withUnsafeBufferPointer { src in
            buffer.withUnsafeMutableBufferPointer { dst in
                for dy in 0..<out.height {
                    for dx in 0..<out.width {
                        let (sx, sy) = orientation.sourcePixel(dx: dx, dy: dy, width: width, height: height)
                        let s = (sy * width + sx) * 3
                        let d = (dy * out.width + dx) * 3
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(valid: out.width, out.height, buffer)
    }
}

/// Reads the orientation tag from a TIFF-structured EXIF block.
///
/// Every offset is bounds-checked: EXIF blocks in the wild are often truncated or written by
/// buggy firmware, and a bad block means "no orientation", never a failed decode.
enum EXIFReader {
    static func orientation(tiff: ArraySlice<UInt8>) -> Orientation? {
        let base = tiff.startIndex
        guard tiff.count >= 8 else { return nil }
        let littleEndian: Bool
        switch (tiff[base], tiff[base + 1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        func u16(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 2 <= tiff.count else { return nil }
            let a = Int(tiff[base + offset]), b = Int(tiff[base + offset + 1])
            return littleEndian ? a | b << 8 : a << 8 | b
        }
        func u32(_ offset: Int) -> Int? {
            guard let lo = u16(littleEndian ? offset : offset + 2),
                  let hi = u16(littleEndian ? offset + 2 : offset) else { return nil }
            return lo | hi << 16
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for entry in 0..<count {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at), let type = u16(at + 2) else { return nil }
            // SHORT (3) is what the standard prescribes; some writers use LONG (4).
            if tag == 0x0112 {
                let value = type == 4 ? u32(at + 8) : u16(at + 8)
                return value.flatMap(Orientation.init(rawValue:))
            }
        }
        return nil
    }
}
