import Foundation
import VeilDICOMweb

/// libFuzzer's entry point: the first line as a WADO-RS response's Content-Type, the rest
/// as its multipart/related body, read as the DICOMweb client reads every retrieval.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    let newline = data.firstIndex(of: 0x0A) ?? data.endIndex
    let contentType = String(decoding: data[..<newline], as: UTF8.self)
    let body = newline < data.endIndex ? data[(newline + 1)...] : Data()
    if let boundary = MultipartRelated.boundary(ofContentType: contentType) {
        _ = try? MultipartRelated.parts(of: Data(body), boundary: boundary, maxParts: 64)
    }
    return 0
}
