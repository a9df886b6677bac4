import Foundation

/// Blends partly transparent pixels onto an opaque background colour, in linear light.
///
/// sRGB values are not proportional to light, so mixing them directly darkens every edge;
/// mixing decoded (linear) values and re-encoding is the physically correct blend.
struct Compositor {
    /// How encoded values relate to light.
    enum Curve {
        /// The exact sRGB curve of IEC 61966-2-1.
        case sRGB
        /// A pure 2.2 power: the approximation of sRGB that libpng's simplified API uses when
        /// it converts to and from its 16-bit linear formats. Inverting libpng's own curve
        /// recovers 16-bit samples to within one 8-bit level.
        case gamma22

        var decodeTable: [Float] { self == .sRGB ? Compositor.sRGBDecode : Compositor.gamma22Decode }
        var thresholds: [Float] { self == .sRGB ? Compositor.sRGBThresholds : Compositor.gamma22Thresholds }

        func toLinear(_ c: Double) -> Double {
            switch self {
            case .sRGB: return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
            case .gamma22: return pow(c, 2.2)
            }
        }
    }

    /// The background, as linear light in [0, 1] per channel.
    private let backgroundLinear: [Float]
    private let backgroundBytes: [UInt8]
    private let decodeTable: [Float]
    private let thresholds: [Float]

    init(background: (red: UInt8, green: UInt8, blue: UInt8), curve: Curve) {
        backgroundBytes = [background.red, background.green, background.blue]
        decodeTable = curve.decodeTable
        thresholds = curve.thresholds
        backgroundLinear = backgroundBytes.map { curve.decodeTable[Int($0)] }
    }

    /// Composites straight (non-premultiplied) 8-bit RGBA into RGB.
    func composite8(_ rgba: [UInt8]) -> [UInt8] {
        let count = rgba.count / 4
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            let alpha = rgba[i * 4 + 3]
            for c in 0..<3 {
                rgb[i * 3 + c] = blend(rgba[i * 4 + c], alpha: Float(alpha) / 255, channel: c)
            }
        }
        return rgb
    }

    /// Composites the 16-bit, linear-light, alpha-premultiplied RGBA that libpng's linear
    /// formats deliver. Colours are first brought back to 8-bit values in libpng's curve
    /// (`source`), so that 16-bit files blend exactly as their 8-bit reductions would;
    /// alpha keeps its 16-bit precision, which matters in dark tones.
    func compositeLinear16(_ rgba: [UInt16], source: Curve) -> [UInt8] {
        let inverse = Compositor(background: (0, 0, 0), curve: source)
        let count = rgba.count / 4
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            let a = Float(rgba[i * 4 + 3]) / 65535
            for c in 0..<3 {
                let straight = a > 0 ? inverse.encode(Float(rgba[i * 4 + c]) / 65535 / a) : 0
                rgb[i * 3 + c] = blend(straight, alpha: a, channel: c)
            }
        }
        return rgb
    }

    /// One channel of `value` at opacity `alpha` over the background.
    @inline(__always)
    private func blend(_ value: UInt8, alpha: Float, channel: Int) -> UInt8 {
        if alpha >= 1 { return value }
        if alpha <= 0 { return backgroundBytes[channel] }
        return encode(decodeTable[Int(value)] * alpha + backgroundLinear[channel] * (1 - alpha))
    }

    static let sRGBDecode = decodeTable(.sRGB)
    static let gamma22Decode = decodeTable(.gamma22)
    static let sRGBThresholds = thresholds(.sRGB)
    static let gamma22Thresholds = thresholds(.gamma22)

    /// Byte → linear light.
    private static func decodeTable(_ curve: Curve) -> [Float] {
        (0..<256).map { Float(curve.toLinear(Double($0) / 255)) }
    }

    /// `thresholds[k]` is the linear value at encoded level k − ½: a linear value encodes to
    /// level k exactly when it lies in [thresholds[k], thresholds[k + 1]).
    private static func thresholds(_ curve: Curve) -> [Float] {
        (0..<256).map { k in k == 0 ? -.infinity : Float(curve.toLinear((Double(k) - 0.5) / 255)) }
    }

    /// Linear light → the nearest encoded byte, by binary search over the level boundaries.
    private func encode(_ linear: Float) -> UInt8 {
        var lo = 0, hi = 255
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if linear >= thresholds[mid] { lo = mid } else { hi = mid - 1 }
        }
        return UInt8(lo)
    }
}
