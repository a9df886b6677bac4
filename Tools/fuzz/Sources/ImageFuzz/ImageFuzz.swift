import Foundation
import Veil
import VeilDICOM
import VeilImage
import VeilPolicy

/// libFuzzer's entry point: decode the bytes as an image at full size and DCT-scaled to a
/// small target, as `veil score` does. Typed errors are the expected outcome for most
/// inputs; a trap, an out-of-bounds access or a leak found by the sanitizers is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    _ = ImageReader.canRead(data)
    _ = try? ImageDecoder(options: DecodingOptions(pixelLimit: 1 << 22)).decodeWithDetails(data)
    _ = try? ImageDecoder(options: DecodingOptions(pixelLimit: 1 << 22, minimumSize: PixelSize(width: 16, height: 16))).decodeWithDetails(data)
    return 0
}
