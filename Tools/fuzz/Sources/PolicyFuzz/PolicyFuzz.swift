import Foundation
import Veil
import VeilDICOM
import VeilImage
import VeilPolicy

/// libFuzzer's entry point: parse the bytes as a policy file; an accepted policy must print
/// as YAML that loads back to the same policy.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    guard let policy = try? Policy(yaml: text, file: "fuzz.yaml") else { return 0 }
    guard let again = try? Policy(yaml: policy.yaml, file: "again.yaml"), again == policy else {
        fatalError("a policy did not survive its own YAML:\n\(policy.yaml)")
    }
    _ = policy.suggestions(for: ["nudity": 0.5, "face": 0.9, "body-region": 0.7], minor: true, nearMisses: ["body-region"])
    return 0
}
