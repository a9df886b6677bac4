import Foundation

/// Decodes JPEG and PNG files into upright 8-bit ``RGBImage``s.
///
/// The format is sniffed from the bytes, never from the file name. EXIF orientation is
/// applied. Every failure is thrown as an ``ImageDecodingError`` naming the file and the
/// cause; nothing on this path traps or exits on bad input.
///
/// `ImageDecoder` holds only its options and is `Sendable`: one instance may serve many
/// threads at once, since each call creates its own codec state.
public struct ImageDecoder: Sendable {
    /// The limits and target size every call uses.
    public var options: DecodingOptions

    /// Creates a decoder with `options`.
    public init(options: DecodingOptions = DecodingOptions()) {
        self.options = options
    }

    /// Decodes the image file at `path`.
    public func decode(contentsOf path: String) throws -> RGBImage {
        try decodeWithDetails(contentsOf: path).image
    }

    /// Decodes an in-memory encoded image.
    public func decode(_ data: Data) throws -> RGBImage {
        try decodeWithDetails(data).image
    }

    /// Decodes an in-memory encoded image.
    public func decode(_ bytes: [UInt8]) throws -> RGBImage {
        try bytes.withUnsafeBytes { raw in try decode(raw).image }
    }

    /// Decodes the image file at `path`, also reporting its format and full display size.
    public func decodeWithDetails(contentsOf path: String) throws -> DecodedImage {
        let data = try Self.read(path)
        do {
            return try decodeWithDetails(data)
        } catch let error as ImageDecodingError {
            throw error.attributed(to: path)
        }
    }

    /// Decodes an in-memory encoded image, also reporting its format and full display size.
    public func decodeWithDetails(_ data: Data) throws -> DecodedImage {
        try data.withUnsafeBytes { raw in try decode(raw) }
    }

    /// Reads a file's header only: its format and its size in display orientation.
    public func probe(contentsOf path: String) throws -> (format: ImageFormat, size: PixelSize) {
        do {
            return try probe(try Self.read(path))
        } catch let error as ImageDecodingError {
            throw error.attributed(to: path)
        }
    }

    /// Reads the header of an encoded image in memory: its format and display size. Works on
    /// files whose pixels are damaged, as long as the header is whole.
    public func probe(_ data: Data) throws -> (format: ImageFormat, size: PixelSize) {
        try data.withUnsafeBytes { raw in
            let format = try Self.decodableFormat(raw)
            let header = format == .jpeg ? try JPEGDecoder.header(raw) : try PNGDecoder.header(raw)
            return (format, header.orientation.swapsAxes ? header.size.transposed : header.size)
        }
    }

    private func decode(_ raw: UnsafeRawBufferPointer) throws -> DecodedImage {
        switch try Self.decodableFormat(raw) {
        case .jpeg: return try JPEGDecoder.decode(raw, options: options)
        default: return try PNGDecoder.decode(raw, options: options)
        }
    }

    private static func decodableFormat(_ raw: UnsafeRawBufferPointer) throws -> ImageFormat {
        guard !raw.isEmpty else { throw ImageDecodingError(.emptyFile, "the data is empty") }
        guard let format = ImageFormat.sniff(raw) else {
            // A prefix of a valid signature is a file cut short, not a foreign format.
            let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF]
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            let head = Array(raw.prefix(8))
            if jpeg.starts(with: head) || png.starts(with: head) {
                throw ImageDecodingError(.truncated, "only \(raw.count) bytes, shorter than the signature")
            }
            throw ImageDecodingError(.unknownFormat, "the leading bytes match no known image format")
        }
        guard format.isDecodable else {
            throw ImageDecodingError(.unsupportedFormat, "\(format.rawValue.uppercased()) is not decoded here")
        }
        return format
    }

    /// Reads a whole file (memory-mapped where safe), failing with an
    /// ``ImageDecodingError`` of kind `unreadableFile` that names the file.
    public static func readFile(atPath path: String) throws -> Data {
        try read(path)
    }

    private static func read(_ path: String) throws -> Data {
        // stat first, so that the error says what is wrong in the operator's terms rather
        // than as a Foundation error number.
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw ImageDecodingError(.noSuchFile, "no such file", file: path) }
            throw ImageDecodingError(.unreadableFile, "cannot read the file: \(String(cString: strerror(code)))", file: path)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw ImageDecodingError(.isAFolder, "is a folder, not an image file", file: path) }
        // A device, pipe or socket is no image file, and reading one could block forever.
        if (info.st_mode & S_IFMT) != S_IFREG {
            throw ImageDecodingError(.unreadableFile, "is not a regular file (a device, pipe or socket)", file: path)
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            let reason = underlying?.domain == NSPOSIXErrorDomain
                ? String(cString: strerror(Int32(underlying!.code))) : (error as NSError).localizedDescription
            throw ImageDecodingError(.unreadableFile, "cannot read the file: \(reason)", file: path)
        }
    }
}
