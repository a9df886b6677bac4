/// A frame decoded by a JPEG 2000 or JPEG-LS codec, in the layout of DICOM native pixel
/// data: 8-bit samples, or 16-bit little-endian ones (two's complement when signed),
/// interleaved (`planar == false`) or plane by plane.
public struct CodecSamples: Sendable {
    /// Width of the decoded frame, after any resolution reduction.
    public var width: Int
    /// Height of the decoded frame, after any resolution reduction.
    public var height: Int
    /// Samples per pixel: 1 or 3.
    public var components: Int
    /// 1 or 2.
    public var bytesPerSample: Int
    /// Bits per sample the codestream declares.
    public var precision: Int
    /// Whether the components are stored plane by plane.
    public var planar: Bool
    /// The samples.
    public var bytes: [UInt8]
    /// How many times the codec halved the frame (JPEG 2000 resolution levels); 0 for none.
    public var reduction: Int
}
