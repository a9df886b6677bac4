import Foundation
import Veil
import VeilDICOM
import VeilImage
import VeilPolicy

/// libFuzzer's entry point for the text readers. The first byte picks the reader: even, a
/// truth CSV; odd, an input manifest fed in chunks whose sizes the second byte sets, which
/// must give the same paths as the whole manifest at once.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 2 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let body = Data(bytes[2...])
    if bytes[0] % 2 == 0 {
        _ = try? TruthFile.parse(body, file: "truth.csv")
        _ = CSV.records(in: body)
        return 0
    }
    func paths(chunk: Int) -> [String] {
        var manifest = InputManifest(), out: [String] = []
        var offset = body.startIndex
        while offset < body.endIndex {
            let end = min(offset + chunk, body.endIndex)
            manifest.append(body[offset..<end])
            while let path = manifest.nextPath() { out.append(path) }
            offset = end
        }
        while let path = manifest.nextPath(atEnd: true) { out.append(path) }
        return out
    }
    let whole = paths(chunk: max(1, body.count)), chunked = paths(chunk: Int(bytes[1]) % 17 + 1)
    if whole != chunked { fatalError("chunked manifest reading differs: \(whole) vs \(chunked)") }
    return 0
}
