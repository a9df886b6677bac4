import CPNG

/// Decodes PNG through libpng's simplified `png_image_*` API, which converts every bit depth,
/// colour type and interlacing to 8-bit RGB and composites alpha, and which catches libpng's
/// internal `longjmp` itself, reporting failure through its return value.
enum PNGDecoder {
    static func decode(_ data: UnsafeRawBufferPointer, options: DecodingOptions) throws -> DecodedImage {
        // Walk the chunks first: it finds eXIf and tells a truncated file from a corrupt one
        // more reliably than libpng's messages do.
        let chunks = try PNGChunks.scan(data)

        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&png, data.baseAddress, data.count) != 0 else {
            defer { png_image_free(&png) }
            throw classify(message(of: png), stage: "header")
        }
        let size = PixelSize(width: Int(png.width), height: Int(png.height))
        do {
            try checkPixelLimit(size, options.pixelLimit)
        } catch {
            png_image_free(&png)
            throw error
        }
        let hasAlpha = png.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
        let sixteenBit = png.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
        // 16-bit samples are sRGB-encoded in practice; without this flag libpng would treat
        // them as linear light.
        png.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let buffer: [UInt8]
        if sixteenBit {
            // libpng 1.6.39 fills some rows wrongly when it reduces interlaced 16-bit images to
            // 8 bits, so 16-bit files are read as 16-bit linear light, alpha premultiplied,
            // and reduced and composited here, exactly as 8-bit files are.
            png.format = UInt32(PNG_FORMAT_FLAG_LINEAR | PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
            var wide = [UInt16](repeating: 0, count: size.width * size.height * 4)
            try finishRead(&png, into: &wide, rowStride: size.width * 4)
            buffer = Compositor(background: options.background, curve: .sRGB)
                .compositeLinear16(wide, source: .gamma22)
        } else if hasAlpha {
            // libpng's own 8-bit compositing approximates dark tones by up to 14 levels, so
            // Veil reads straight alpha and composites exactly.
            png.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
            var rgba = [UInt8](repeating: 0, count: size.width * size.height * 4)
            try finishRead(&png, into: &rgba, rowStride: size.width * 4)
            buffer = Compositor(background: options.background, curve: .sRGB).composite8(rgba)
        } else {
            png.format = UInt32(PNG_FORMAT_RGB)
            var rgb = [UInt8](repeating: 0, count: size.width * size.height * 3)
            try finishRead(&png, into: &rgb, rowStride: size.width * 3)
            buffer = rgb
        }
        let image = RGBImage(valid: size.width, size.height, buffer)
        return DecodedImage(image: image.oriented(chunks.orientation), format: .png,
                            fullSize: chunks.orientation.swapsAxes ? size.transposed : size)
    }

    static func header(_ data: UnsafeRawBufferPointer) throws -> (size: PixelSize, orientation: Orientation) {
        let chunks = try PNGChunks.scan(data)
        return (chunks.size, chunks.orientation)
    }

    /// Finishes a read begun by `png_image_begin_read_from_memory`, freeing libpng's state
    /// on failure (on success libpng frees it itself).
    private static func finishRead<Sample>(_ png: inout png_image, into buffer: inout [Sample],
                                           rowStride: Int) throws {
        let ok = buffer.withUnsafeMutableBytes { dst in
            png_image_finish_read(&png, nil, dst.baseAddress, Int32(rowStride), nil)
        }
        guard ok != 0 else {
            let text = message(of: png)
            png_image_free(&png)
            throw classify(text, stage: "pixel data")
        }
    }

    private static func message(of image: png_image) -> String {
        withUnsafeBytes(of: image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func classify(_ message: String, stage: String) -> ImageDecodingError {
        let lower = message.lowercased()
        if lower.contains("end of") || lower.contains("not enough") || lower.contains("truncated") {
            return ImageDecodingError(.truncated, "PNG data ends early (\(stage)): \(message)")
        }
        return ImageDecodingError(.corrupt, "PNG data is damaged (\(stage)): \(message)")
    }
}

/// A bounds-checked walk over a PNG's chunk list.
struct PNGChunks {
    var size = PixelSize(width: 0, height: 0)
    var orientation: Orientation = .identity

    static func scan(_ data: UnsafeRawBufferPointer) throws -> PNGChunks {
        let bytes = data.bindMemory(to: UInt8.self)
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        var result = PNGChunks()
        var at = 8  // past the signature
        var first = true
        while true {
            guard at + 8 <= bytes.count else {
                throw ImageDecodingError(.truncated, "PNG ends at byte \(bytes.count) before its IEND chunk")
            }
            let length = u32(at)
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            guard length <= 0x7FFF_FFFF else {
                throw ImageDecodingError(.corrupt, "PNG chunk '\(type)' at byte \(at) declares length \(length)")
            }
            guard at + 12 + length <= bytes.count else {
                throw ImageDecodingError(.truncated,
                                         "PNG chunk '\(type)' at byte \(at) runs past the end of the data")
            }
            if first {
                guard type == "IHDR", length == 13 else {
                    throw ImageDecodingError(.corrupt, "PNG does not start with a valid IHDR chunk")
                }
                result.size = PixelSize(width: u32(at + 8), height: u32(at + 12))
                first = false
            }
            if type == "eXIf" {
                let tiff = ArraySlice(bytes[(at + 8)..<(at + 8 + length)])
                result.orientation = EXIFReader.orientation(tiff: tiff) ?? .identity
            }
            if type == "IEND" { return result }
            at += 12 + length
        }
    }
}
