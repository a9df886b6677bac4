import Foundation
import VeilImage

/// libFuzzer's entry point: the bytes as a JPEG 2000 codestream (or JP2 file) and as a
/// JPEG-LS frame, decoded in full and one level down, under a pixel limit that the header
/// is checked against before any sample is decoded. DICOMFuzz reaches the same codecs
/// through whole objects; this target spends its time inside them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    let limit = 1 << 20
    _ = try? JPEG2000Decoder.decode(bytes, expected: nil, components: nil, minimumSize: nil, pixelLimit: limit)
    _ = try? JPEG2000Decoder.decode(bytes, expected: nil, components: nil, minimumSize: PixelSize(width: 8, height: 8), pixelLimit: limit)
    _ = try? JPEGLSDecoder.decode(bytes, expected: nil, components: nil, pixelLimit: limit)
    return 0
}
