import Foundation
import VeilDICOM
import VeilEngine
import VeilImage
import VeilPolicy
import VeilTensor

/// One picture to score: a JPEG or PNG file, or one frame of a DICOM object.
public struct LoadedImage: Sendable {
    /// The upright pixels, possibly decoded at reduced scale.
    public var image: RGBImage
    /// The container format, sniffed from the bytes.
    public var format: ImageFormat
    /// The full size as displayed, whatever scale the pixels were decoded at.
    public var fullSize: PixelSize
    /// For DICOM: the frame number (1-based, as DICOM counts frames) and how many there are.
    public var frame: (number: Int, of: Int)?
    /// For DICOM: the object's identification and evidence attributes.
    public var dicom: DICOMMetadata?
    /// For DICOM: the transfer syntax the object was stored in.
    public var transferSyntax: TransferSyntax?
}

/// Reads JPEG, PNG and DICOM from bytes, telling them apart by content, never by name.
///
/// A DICOM object yields one ``LoadedImage`` per frame. Errors are `ImageDecodingError`s.
public struct ImageReader: Sendable {
    /// The limits and target size every call uses.
    public var options: DecodingOptions

    /// Creates a reader.
    public init(options: DecodingOptions = DecodingOptions()) {
        self.options = options
    }

    /// Whether `data` is in a format Veil reads: JPEG, PNG or DICOM.
    public static func canRead(_ data: Data) -> Bool {
        if let format = ImageFormat.sniff(data) { return format.isDecodable || format == .dicom }
        return DICOMObject.sniff(data)
    }

    /// Decodes every picture in `data`: one for JPEG and PNG, one per frame for DICOM.
    public func read(_ data: Data) throws -> [LoadedImage] {
        let source = try pictures(in: data)
        return try (0..<source.count).map(source.picture(at:))
    }

    /// The pictures in `data`, decoded only when asked for: a DICOM object with hundreds of
    /// frames then costs memory for the frames in use, not for all of them. The object is
    /// parsed, and a JPEG or PNG decoded, here.
    public func pictures(in data: Data) throws -> PictureSource {
        let format = ImageFormat.sniff(data)
        if format == .dicom || (format == nil && DICOMObject.sniff(data)) {
            return PictureSource(object: try DICOMObject(data: data, pixelLimit: options.pixelLimit), options: options)
        }
        let decoded = try ImageDecoder(options: options).decodeWithDetails(data)
        return PictureSource(single: LoadedImage(image: decoded.image, format: decoded.format, fullSize: decoded.fullSize))
    }

    /// Reads the file at `path`; errors name the file.
    public func read(contentsOf path: String) throws -> [LoadedImage] {
        let source = try pictures(inFileAt: path)
        return try (0..<source.count).map(source.picture(at:))
    }

    /// The pictures in the file at `path`, decoded only when asked for (see
    /// ``pictures(in:)``); errors, also those of frames decoded later, name the file.
    public func pictures(inFileAt path: String) throws -> PictureSource {
        let data = try ImageDecoder.readFile(atPath: path)
        do {
            var source = try pictures(in: data)
            source.file = path
            return source
        } catch let error as ImageDecodingError {
            throw error.attributed(to: path)
        }
    }
}

/// The pictures of one file, decoded on demand (see ``ImageReader/pictures(in:)``).
public struct PictureSource: Sendable {
    private let single: LoadedImage?
    private let object: DICOMObject?
    private let options: DecodingOptions
    /// The file the pictures came from, named in errors.
    var file: String?

    init(single: LoadedImage) {
        self.single = single
        self.object = nil
        self.options = DecodingOptions()
    }

    init(object: DICOMObject, options: DecodingOptions) {
        self.single = nil
        self.object = object
        self.options = options
    }

    /// For DICOM: the object's metadata, known before any frame is decoded.
    public var dicom: DICOMMetadata? { object?.metadata }

    /// How many pictures: 1, or a DICOM object's number of frames.
    public var count: Int { object?.numberOfFrames ?? 1 }

    /// Picture `index` (0-based); for DICOM, frame `index + 1` decoded now.
    ///
    /// - Throws: `ImageDecodingError` if the frame cannot be decoded, or `index` is not
    ///   below ``count``.
    public func picture(at index: Int) throws -> LoadedImage {
        guard index >= 0 && index < count else {
            throw ImageDecodingError(.corrupt, "asked for picture \(index + 1) of \(count)").attributed(to: file)
        }
        if let single { return single }
        guard let object else { throw ImageDecodingError(.corrupt, "no pictures").attributed(to: file) }
        do {
            return LoadedImage(image: try object.frame(index, options: options), format: .dicom, fullSize: object.size,
                               frame: (index + 1, object.numberOfFrames), dicom: object.metadata,
                               transferSyntax: object.transferSyntax)
        } catch let error as ImageDecodingError {
            throw error.attributed(to: file)
        }
    }
}


/// The SHA-256 of a file's bytes, as Veil identifies images in score records and the review
/// ledger (`LedgerImage.sha256`).
public enum ContentDigest {
    /// The SHA-256 of `data`, lower-case hex.
    public static func sha256(_ data: Data) -> String { SHA256Hasher.hex(data) }
}
