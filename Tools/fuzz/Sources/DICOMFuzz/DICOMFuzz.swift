import Foundation
import Veil
import VeilDICOM
import VeilImage
import VeilPolicy

/// libFuzzer's entry point: salvage the metadata, parse the bytes as a DICOM object, and
/// decode up to four frames at full and at reduced scale. Typed errors are the expected
/// outcome for most inputs; a trap, an out-of-bounds access or a leak found by the
/// sanitizers is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    // What `veil score` reads of an object it cannot decode, for review on its metadata.
    _ = DICOMObject.salvageMetadata(from: data)
    do {
        let object = try DICOMObject(data: data, pixelLimit: 1 << 22)
        for index in 0..<min(object.numberOfFrames, 4) {
            _ = try? object.frame(index)
            _ = try? object.frame(index, options: DecodingOptions(pixelLimit: 1 << 22, minimumSize: PixelSize(width: 8, height: 8)))
        }
    } catch {
    }
    return 0
}
