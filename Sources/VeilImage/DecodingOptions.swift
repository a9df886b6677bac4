/// How ``ImageDecoder`` decodes: limits and the smallest size the caller needs.
///
/// A value type passed in explicitly; there are no globals or environment variables.
public struct DecodingOptions: Sendable, Hashable {
    /// The largest `width × height` a header may declare. Checked before any pixel buffer is
    /// allocated, so a decompression bomb costs a header read, not gigabytes of memory.
    /// The default, 100 megapixels, admits every current phone and DSLR photo.
    public var pixelLimit: Int

    /// The smallest size, in display orientation, that the caller needs.
    ///
    /// JPEGs are then decoded with libjpeg-turbo's DCT scaling at the smallest scale
    /// (1/8, 1/4, 3/8, 1/2, …) whose output still covers this size in both dimensions,
    /// which skips most of the inverse DCT and colour conversion of a 12-megapixel photo.
    /// At 1/8, baseline JPEGs are decoded by Veil's own entropy decoder, with TurboJPEG's
    /// pixels to the bit. `nil` decodes at full size. Formats without scaled decoding ignore it.
    public var minimumSize: PixelSize?

    /// Whether 1/8-scale JPEG decoding may use Veil's own entropy decoder (the default) rather
    /// than TurboJPEG; the two give identical pixels. Off only to measure one against the other.
    package var decodesEighthScaleItself = true

    /// The colour that transparent PNG pixels are composited onto. Default: white, the
    /// background an image viewer typically shows. libpng composites in linear light.
    public var background: (red: UInt8, green: UInt8, blue: UInt8) {
        get { (backgroundBytes[0], backgroundBytes[1], backgroundBytes[2]) }
        set { backgroundBytes = [newValue.red, newValue.green, newValue.blue] }
    }
    private var backgroundBytes: [UInt8] = [255, 255, 255]

    /// Creates options; every parameter has a documented default.
    public init(pixelLimit: Int = 100_000_000, minimumSize: PixelSize? = nil) {
        self.pixelLimit = pixelLimit
        self.minimumSize = minimumSize
    }
}
