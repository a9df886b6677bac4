/// A transfer syntax: how a data set and its pixel data are encoded.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    /// Its UID, e.g. `1.2.840.10008.1.2.1`.
    public let uid: String

    /// How Veil reads pixel data in this syntax.
    enum PixelEncoding: Sendable {
        case native
        case jpeg
        case rle
        case jpeg2000
        case jpegLS
        /// Recognised, not decoded.
        case unsupported
    }

    /// The standard's name for the syntax, or `"unknown transfer syntax"`.
    public var name: String { Self.known[uid]?.name ?? "unknown transfer syntax" }

    /// Whether Veil decodes this syntax's pixel data.
    public var isSupported: Bool { pixelEncoding != .unsupported }

    /// `"NAME (UID)"`.
    public var description: String { "\(name) (\(uid))" }

    var explicitVR: Bool { uid != Self.implicitVRLittleEndian.uid }
    var isDeflated: Bool { uid == "1.2.840.10008.1.2.1.99" }
    var pixelEncoding: PixelEncoding { Self.known[uid]?.encoding ?? .unsupported }

    static let implicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2")
    static let explicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1")

    /// PS3.6 Table A-1, the syntaxes an archive may hand Veil.
    private static let known: [String: (name: String, encoding: PixelEncoding)] = [
        "1.2.840.10008.1.2": ("Implicit VR Little Endian", .native),
        "1.2.840.10008.1.2.1": ("Explicit VR Little Endian", .native),
        "1.2.840.10008.1.2.1.99": ("Deflated Explicit VR Little Endian", .native),
        "1.2.840.10008.1.2.2": ("Explicit VR Big Endian (retired)", .unsupported),
        "1.2.840.10008.1.2.4.50": ("JPEG Baseline (Process 1)", .jpeg),
        "1.2.840.10008.1.2.4.51": ("JPEG Extended (Process 2 & 4)", .jpeg),
        "1.2.840.10008.1.2.4.57": ("JPEG Lossless, Non-Hierarchical (Process 14)", .unsupported),
        "1.2.840.10008.1.2.4.70": ("JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, Selection Value 1)", .unsupported),
        "1.2.840.10008.1.2.4.80": ("JPEG-LS Lossless Image Compression", .jpegLS),
        "1.2.840.10008.1.2.4.81": ("JPEG-LS Lossy (Near-Lossless) Image Compression", .jpegLS),
        "1.2.840.10008.1.2.4.90": ("JPEG 2000 Image Compression (Lossless Only)", .jpeg2000),
        "1.2.840.10008.1.2.4.91": ("JPEG 2000 Image Compression", .jpeg2000),
        "1.2.840.10008.1.2.4.92": ("JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)", .unsupported),
        "1.2.840.10008.1.2.4.93": ("JPEG 2000 Part 2 Multi-component Image Compression", .unsupported),
        "1.2.840.10008.1.2.4.94": ("JPIP Referenced", .unsupported),
        "1.2.840.10008.1.2.4.100": ("MPEG2 Main Profile / Main Level", .unsupported),
        "1.2.840.10008.1.2.4.102": ("MPEG-4 AVC/H.264 High Profile / Level 4.1", .unsupported),
        "1.2.840.10008.1.2.4.110": ("JPEG XL Lossless", .unsupported),
        "1.2.840.10008.1.2.4.111": ("JPEG XL JPEG Recompression", .unsupported),
        "1.2.840.10008.1.2.4.112": ("JPEG XL", .unsupported),
        "1.2.840.10008.1.2.4.201": ("High-Throughput JPEG 2000 Image Compression (Lossless Only)", .unsupported),
        "1.2.840.10008.1.2.4.202": ("High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)", .unsupported),
        "1.2.840.10008.1.2.4.203": ("High-Throughput JPEG 2000 Image Compression", .unsupported),
        "1.2.840.10008.1.2.5": ("RLE Lossless", .rle),
    ]
}
