/// An 8-bit RGB image: the one pixel type that every decoder in Veil produces.
///
/// Layout: row-major, top row first, three interleaved bytes per pixel (R, G, B), no row
/// padding, so the byte for channel `c` of pixel `(x, y)` sits at `(y * width + x) * 3 + c`.
/// The image is always in *display* orientation: EXIF orientation has already been applied,
/// so what a model scores is what a person sees.
///
/// `RGBImage` is a value type backed by a copy-on-write array; it is `Sendable` and safe to
/// hand between threads.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels; always at least 1.
    public let width: Int
    /// Height in pixels; always at least 1.
    public let height: Int
    /// `width * height * 3` bytes, laid out as described on the type.
    public internal(set) var pixels: [UInt8]

    /// Wraps an existing pixel buffer, laid out as described on the type.
    ///
    /// - Throws: ``ImageGeometryError`` if the size is not positive or above
    ///   ``maximumPixelCount``, or `pixels` does not hold `width * height * 3` bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        try Self.checkSize(width, height)
        guard pixels.count == width * height * 3 else {
            throw ImageGeometryError("a \(width)x\(height) RGB image needs \(width * height * 3) bytes, not \(pixels.count)")
        }
        self.init(valid: width, height, pixels)
    }

    /// The most pixels an image may have: 2³⁰, three gigabytes of RGB, ten times the largest
    /// decode ``DecodingOptions/pixelLimit`` allows by default. Sizes are checked against it
    /// before anything is multiplied or allocated.
    public static let maximumPixelCount = 1 << 30

    /// Throws unless `width` × `height` is a positive size of at most ``maximumPixelCount``.
    static func checkSize(_ width: Int, _ height: Int) throws {
        guard width > 0 && height > 0 else { throw ImageGeometryError("an image needs a positive size, not \(width)x\(height)") }
        guard width <= maximumPixelCount / height else {
            throw ImageGeometryError("\(width)x\(height) is more than \(maximumPixelCount) pixels")
        }
    }

    /// Wraps a buffer that the caller, a decoder of this package, has sized correctly.
    package init(valid width: Int, _ height: Int, _ pixels: [UInt8]) {
        assert(width > 0 && height > 0 && pixels.count == width * height * 3, "\(width)x\(height), \(pixels.count) bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Creates an image by calling `color(x, y)` once for every pixel.
    ///
    /// - Throws: ``ImageGeometryError`` if the size is not positive or too large.
    public init(width: Int, height: Int, color: (_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8)) throws {
        try Self.checkSize(width, height)
        var buffer = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let (r, g, b) = color(x, y)
                let i = (y * width + x) * 3
                buffer[i] = r
                buffer[i + 1] = g
                buffer[i + 2] = b
            }
        }
        self.init(valid: width, height, buffer)
    }

    /// The red, green and blue bytes of the pixel at column `x`, row `y`, which must lie in
    /// the image, as an array's index must.
    public subscript(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// A width and height in pixels.
public struct PixelSize: Hashable, Sendable, CustomStringConvertible {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// Creates a size.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// The same size with width and height exchanged, as a 90° rotation leaves it.
    public var transposed: PixelSize { PixelSize(width: height, height: width) }

    /// `"WIDTHxHEIGHT"`.
    public var description: String { "\(width)x\(height)" }
}

/// An image operation refused because of its sizes: a non-positive size, a buffer of the
/// wrong length, or a region outside the image.
public struct ImageGeometryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What does not fit.
    public var reason: String

    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}
