/// A decoded image together with what the file said about itself.
public struct DecodedImage: Sendable, Equatable {
    /// The upright pixels; smaller than ``fullSize`` when scaled decoding was used.
    public var image: RGBImage
    /// The container format, as sniffed from the bytes.
    public var format: ImageFormat
    /// The image's full size as displayed, that is after EXIF orientation, whatever scale
    /// it was decoded at.
    public var fullSize: PixelSize
}
