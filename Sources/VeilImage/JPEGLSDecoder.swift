import CCharLS

/// JPEG-LS frames through CharLS. The header is read and checked (size against the pixel
/// limit and the size the caller expects, components, bits) before anything is decoded.
/// JPEG-LS has no reduced-resolution decoding; the caller reduces afterwards.
public enum JPEGLSDecoder {
    /// Decodes `data`. `expected` is the size the container declares (DICOM Rows and
    /// Columns), and `components` its samples per pixel; nil accepts any size within
    /// `pixelLimit`, and 1 to 4 components.
    public static func decode(_ data: [UInt8], expected: PixelSize?, components expectedComponents: Int?,
                              pixelLimit: Int) throws -> CodecSamples {
        guard let decoder = charls_jpegls_decoder_create() else { throw ImageDecodingError(.corrupt, "CharLS cannot make a decoder") }
        defer { charls_jpegls_decoder_destroy(decoder) }
        func check(_ result: charls_jpegls_errc, _ what: String) throws {
            guard result.rawValue == 0 else {
                let message = charls_get_error_message(result).map { String(cString: $0) } ?? "error \(result.rawValue)"
                throw ImageDecodingError(.corrupt, "the JPEG-LS frame \(what): \(message)")
            }
        }
        return try data.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { throw ImageDecodingError(.corrupt, "the JPEG-LS frame is empty") }
            try check(charls_jpegls_decoder_set_source_buffer(decoder, base, buffer.count), "cannot be read")
            try check(charls_jpegls_decoder_read_header(decoder), "has a header that cannot be read")
            var info = charls_frame_info()
            try check(charls_jpegls_decoder_get_frame_info(decoder, &info), "has no frame information")
            let width = Int(info.width), height = Int(info.height), components = Int(info.component_count)
            let bits = Int(info.bits_per_sample)
            guard width * height <= pixelLimit else {
                throw ImageDecodingError(.tooManyPixels, "the JPEG-LS frame is \(width)×\(height), over the limit of \(pixelLimit) pixels")
            }
            guard expected == nil || (width == expected!.width && height == expected!.height) else {
                throw ImageDecodingError(.corrupt, "the JPEG-LS frame is \(width)×\(height), but Rows and Columns say \(expected!)")
            }
            guard expectedComponents == nil || components == expectedComponents, (1...4).contains(components) else {
                throw ImageDecodingError(.corrupt, "the JPEG-LS frame has \(components) components; Samples per Pixel says \(expectedComponents.map(String.init) ?? "1 to 4")")
            }
            guard (2...16).contains(bits) else {
                throw ImageDecodingError(.unsupportedFormat, "JPEG-LS with \(bits)-bit samples is not supported")
            }
            var interleave = charls_interleave_mode(rawValue: 0)
            try check(charls_jpegls_decoder_get_interleave_mode(decoder, &interleave), "has no interleave mode")
            var size = 0
            try check(charls_jpegls_decoder_get_destination_size(decoder, 0, &size), "has an impossible size")
            let bytesPerSample = bits > 8 ? 2 : 1
            guard size == width * height * components * bytesPerSample else {
                throw ImageDecodingError(.corrupt, "the JPEG-LS frame decodes to \(size) bytes, not the \(width * height * components * bytesPerSample) its header implies")
            }
            var bytes = [UInt8](repeating: 0, count: size)
            try bytes.withUnsafeMutableBytes { out in
                try check(charls_jpegls_decoder_decode_to_buffer(decoder, out.baseAddress!, size, 0), "cannot be decoded")
            }
            return CodecSamples(width: width, height: height, components: components, bytesPerSample: bytesPerSample,
                                precision: bits, planar: components > 1 && interleave.rawValue == 0, bytes: bytes, reduction: 0)
        }
    }
}
