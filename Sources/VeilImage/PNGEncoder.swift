import CPNG

extension RGBImage {
    /// This image encoded as an 8-bit RGB PNG through libpng's simplified write API.
    public func pngData() throws -> [UInt8] {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(width)
        png.height = UInt32(height)
        png.format = UInt32(PNG_FORMAT_RGB)
        // First call sizes the output, second writes it.
        var size = 0
        let stride = Int32(width * 3)
        let sized = pixels.withUnsafeBufferPointer { src in
            png_image_write_to_memory(&png, nil, &size, 0, src.baseAddress, stride, nil)
        }
        guard sized != 0, size > 0 else { throw ImageEncodingError(reason: Self.message(png)) }
        var output = [UInt8](repeating: 0, count: size)
        let written = output.withUnsafeMutableBytes { dst in
            pixels.withUnsafeBufferPointer { src in
                png_image_write_to_memory(&png, dst.baseAddress, &size, 0, src.baseAddress, stride, nil)
            }
        }
        guard written != 0 else { throw ImageEncodingError(reason: Self.message(png)) }
        return Array(output.prefix(size))
    }

    private static func message(_ png: png_image) -> String {
        var copy = png
        return withUnsafeBytes(of: &copy.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
