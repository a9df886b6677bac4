import Foundation
import VeilImage

/// A parsed DICOM object: its metadata and the means to decode each frame.
///
/// Reads Part 10 files with or without the 128-byte preamble, and bare data sets in
/// implicit or explicit VR little endian. Parsing checks every length and never reads out
/// of bounds; every failure is an `ImageDecodingError` (kinds `truncated`, `corrupt`,
/// `unsupported-format`, `too-many-pixels`). Patient name, ID and birth date are read
/// only to decide ``DICOMMetadata/isMinor`` and are not kept.
///
/// `DICOMObject` is an immutable value and `Sendable`; frames may be decoded from any thread.
public struct DICOMObject: Sendable {
    /// The transfer syntax the data set and pixel data are encoded in.
    public let transferSyntax: TransferSyntax
    /// Identification and evidence read from the data set.
    public let metadata: DICOMMetadata
    /// How the pixel data is laid out.
    public let pixels: PixelDescription

    let dataSet: DataSet

    /// The size of every frame (DICOM has no orientation tag to apply).
    public var size: PixelSize { PixelSize(width: pixels.columns, height: pixels.rows) }
    /// The number of frames; 1 for single-frame objects.
    public var numberOfFrames: Int { pixels.numberOfFrames }

    /// Parses an object from its bytes. Pixel data is checked against the image pixel
    /// attributes here, so frames that cannot be decoded fail early.
    ///
    /// - Parameter pixelLimit: the largest `rows × columns` accepted, as for other images.
    public init(data: Data, pixelLimit: Int = DecodingOptions().pixelLimit, now: Date = Date()) throws {
        guard !data.isEmpty else { throw ImageDecodingError(.emptyFile, "the data is empty") }
        let store = ByteStore([UInt8](data))
        let bytes = store.bytes
        var (syntax, bodyStart) = try Self.fileMeta(store)
        if syntax.uid == "1.2.840.10008.1.2.2" {
            throw ImageDecodingError(.unsupportedFormat, "transfer syntax \(syntax) is not supported")
        }

        var bodyStore = store
        if syntax.isDeflated {
            let inflated = try Inflate.raw(bytes[bodyStart...], limit: max(1 << 30, pixelLimit * 4))
            bodyStore = ByteStore(inflated)
            bodyStart = 0
        }
        // Some writers encode the data set in implicit VR under an explicit syntax, or the
        // other way round. pydicom and DCMTK read such files by the first element's shape,
        // and so does Veil: the bytes win over the declared syntax.
        var explicitVR = syntax.explicitVR
        if bodyStart + 8 <= bodyStore.bytes.count {
            explicitVR = Self.looksExplicit(bodyStore.bytes, at: bodyStart)
        }
        let (dataSet, _) = try Parser(store: bodyStore, explicitVR: explicitVR).parse(from: bodyStart)
        guard dataSet[.pixelData] != nil else {
            let sopClass = dataSet.string(.sopClassUID).map { " (SOP class \($0))" } ?? ""
            throw ImageDecodingError(.notAnImage, "the object\(sopClass) holds no Pixel Data (7FE0,0010); it is not an image")
        }
        self.transferSyntax = syntax
        self.dataSet = dataSet
        self.metadata = DICOMMetadata(dataSet, now: now)
        self.pixels = try PixelDescription(dataSet, syntax: syntax, pixelLimit: pixelLimit)
    }

    /// The transfer syntax `data` declares in its file meta information (or, for a bare
    /// data set, shows by its first element), read without parsing the data set: what an
    /// archive client checks before deciding to ask for a transcoded copy. Nil when `data`
    /// is not DICOM Veil can read that far.
    public static func declaredTransferSyntax(of data: Data) -> TransferSyntax? {
        guard !data.isEmpty, sniff(data) else { return nil }
        // The file meta information is a few hundred bytes: copy no more than 64 KiB of a
        // large object to read it.
        return try? fileMeta(ByteStore([UInt8](data.prefix(1 << 16)))).syntax
    }

    /// The transfer syntax and where the data set starts.
    private static func fileMeta(_ store: ByteStore) throws -> (syntax: TransferSyntax, bodyStart: Int) {
        let bytes = store.bytes
        var start = 0
        if hasPreamble(bytes) {
            start = 132
        } else if bytes.count >= 4, bytes[0..<4].elementsEqual("DICM".utf8) {
            start = 4  // a prefix without the 128 preamble bytes, written by some tools
        }
        // File meta information: always explicit VR little endian, group 0002.
        if bytes.count >= start + 2, UInt16(bytes[start]) | UInt16(bytes[start + 1]) << 8 == 0x0002 {
            let (meta, end) = try Parser(store: store, explicitVR: true).parse(from: start) { $0.group != 0x0002 }
            guard let uid = meta.string(.transferSyntaxUID) else {
                throw ImageDecodingError(.corrupt, "the file meta information has no Transfer Syntax UID (0002,0010)")
            }
            return (TransferSyntax(uid: uid), end)
        }
        // A bare data set: the syntax shows in whether a VR follows the first tag.
        return (looksExplicit(bytes, at: start) ? .explicitVRLittleEndian : .implicitVRLittleEndian, start)
    }


    /// What can be read of an object that cannot be decoded: its metadata, from the
    /// attributes before Pixel Data up to the first one that cannot be read (a damaged
    /// Sensitive Content Code Sequence counts as one unreadable label), or nil when not even
    /// the file meta information parses. Deflated and big-endian objects are not salvaged. A damaged or
    /// pixel-less object may still carry a Sensitive Content Code Sequence or a Body Part
    /// Examined, and those must still reach review.
    public static func salvageMetadata(from data: Data, now: Date = Date()) -> DICOMMetadata? {
        guard !data.isEmpty else { return nil }
        let store = ByteStore([UInt8](data))
        let bytes = store.bytes
        var start = hasPreamble(bytes) ? 132 : (bytes.count >= 4 && bytes[0..<4].elementsEqual("DICM".utf8) ? 4 : 0)
        var explicitVR = looksExplicit(bytes, at: start)
        if bytes.count >= start + 2, UInt16(bytes[start]) | UInt16(bytes[start + 1]) << 8 == 0x0002 {
            guard let (meta, end) = try? Parser(store: store, explicitVR: true).parse(from: start, stop: { $0.group != 0x0002 }),
                  let uid = meta.string(.transferSyntaxUID) else { return nil }
            // Deflated data sets are not salvaged: their bytes mean nothing until inflated.
            if TransferSyntax(uid: uid).isDeflated || uid == "1.2.840.10008.1.2.2" { return nil }
            start = end
            explicitVR = looksExplicit(bytes, at: start)
        }
        guard let (set, _) = try? Parser(store: store, explicitVR: explicitVR, lenient: true).parse(from: start, stop: { $0.group >= 0x7FE0 }) else {
            return nil
        }
        return DICOMMetadata(set, now: now)
    }

    /// Reads and parses the file at `path`; errors name the file.
    public init(contentsOf path: String, pixelLimit: Int = DecodingOptions().pixelLimit) throws {
        let data = try ImageDecoder.readFile(atPath: path)
        do {
            try self.init(data: data, pixelLimit: pixelLimit)
        } catch let error as ImageDecodingError {
            throw error.attributed(to: path)
        }
    }

    /// Whether `data` looks like DICOM: the `DICM` marker after a preamble, or (for files
    /// written without one) a first attribute of the file meta group or of group 0008 with
    /// a plausible header. Cheap: it reads at most the first 140 bytes.
    public static func sniff(_ data: Data) -> Bool {
        let head = [UInt8](data.prefix(140))
        if hasPreamble(head) { return true }
        if head.count >= 4, head[0..<4].elementsEqual("DICM".utf8) { return true }
        guard head.count >= 8 else { return false }
        let group = UInt16(head[0]) | UInt16(head[1]) << 8
        let element = UInt16(head[2]) | UInt16(head[3]) << 8
        if group == 0x0002 { return looksExplicit(head, at: 0) && element <= 0x0002 }
        guard group == 0x0008, element <= 0x0020 else { return false }
        if looksExplicit(head, at: 0) { return true }
        // Implicit VR: a 4-byte length that is small and even-sized data follows.
        let length = UInt32(head[4]) | UInt32(head[5]) << 8 | UInt32(head[6]) << 16 | UInt32(head[7]) << 24
        return length < 1024
    }

    static func hasPreamble(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 132 && bytes[128..<132].elementsEqual("DICM".utf8)
    }

    private static let knownVRs: Set<String> = [
        "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
        "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
    ]

    static func looksExplicit(_ bytes: [UInt8], at offset: Int) -> Bool {
        guard bytes.count >= offset + 6 else { return false }
        return knownVRs.contains(String(decoding: bytes[(offset + 4)..<(offset + 6)], as: UTF8.self))
    }
}
