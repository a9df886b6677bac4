import Foundation
import Veil

// Scores each file named on the command line (JPEG, PNG or DICOM) as a PACS or VNA server
// would: one scorer loaded at start-up, the built-in policy, two threads. Prints one line per
// picture (per frame for DICOM) and exits 1 if any file could not be read or decoded.
//
//   swift run PhotoScreening photo.jpg object.dcm

let files = Array(CommandLine.arguments.dropFirst())
guard !files.isEmpty else {
    FileHandle.standardError.write(Data("usage: PhotoScreening FILE...\n".utf8))
    exit(64)
}

let scorer: Scorer
do {
    scorer = try Scorer.load(policy: .standard, runtime: Runtime(threads: 2))
} catch {
    FileHandle.standardError.write(Data("cannot load Veil's models: \(error)\n".utf8))
    exit(69)
}

var failed = false
for file in files {
    do {
        for verdict in try scorer.assess(fileAt: file) {
            let frame = verdict.frame.map { " frame \($0) of \(verdict.frames ?? 1)" } ?? ""
            if let error = verdict.notScored?.error {
                // Typed and pixel-free: the file, what went wrong, and why. The verdict below
                // still holds what the path and any readable attributes say.
                print("\(error.file ?? file)\(frame): cannot be decoded (\(error.kind)): \(error.reason); send it to a person")
                failed = true
            }
            let waiting = verdict.suggestions.filter { $0.state != .belowThreshold }
                .map { "\($0.flag) \(String(format: "%.2f", $0.score)) \($0.state.rawValue)" }
            let evidence = verdict.evidence.map { "\($0.flag) from \($0.field)" }
            print("\(file)\(frame): review \(verdict.review.rawValue)"
                  + (waiting.isEmpty ? "" : "; " + waiting.joined(separator: ", "))
                  + (evidence.isEmpty ? "" : "; evidence: " + evidence.joined(separator: ", ")))
        }
    } catch {
        // The file cannot be read at all (missing, a folder, unreadable): a typed error that
        // names it.
        print("\(file): cannot be read: \(error); send it to a person")
        failed = true
    }
}
exit(failed ? 1 : 0)
