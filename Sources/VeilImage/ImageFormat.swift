/// A container format recognised from the leading bytes of a file.
///
/// Veil never trusts a file's extension: archives are full of `.jpg` files that are PNGs
/// and extension-less exports.
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg
    case png
    /// DICOM Part 10, recognised so that callers can route it; decoded elsewhere.
    case dicom
    case gif
    case bmp
    case tiff
    case webp
    case heif

    /// Whether ``ImageDecoder`` decodes this format.
    public var isDecodable: Bool { self == .jpeg || self == .png }

    /// Identifies the format from the first bytes of `data`, or returns `nil`.
    public static func sniff<Bytes: Collection>(_ data: Bytes) -> ImageFormat?
    where Bytes.Element == UInt8 {
        let head = Array(data.prefix(132))
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && Array(head[offset..<offset + magic.count]) == magic
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("DICM".utf8), at: 128) { return .dicom }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("BM".utf8)) { return .bmp }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("ftyp".utf8), at: 4),
           head.count >= 12,
           let brand = String(bytes: head[8..<12], encoding: .ascii),
           ["heic", "heix", "mif1", "msf1", "avif", "hevc"].contains(brand) {
            return .heif
        }
        return nil
    }
}
