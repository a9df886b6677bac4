import ArgumentParser
import Foundation
import Veil
import VeilDICOM
import VeilEngine
import VeilReview
import VeilVocabulary

struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label",
        abstract: "Write reviewed labels back into copies of DICOM objects.",
        subcommands: [Apply.self]
    )

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a labelled copy of each reviewed DICOM object into a folder.",
            usage: "veil label apply --ledger <ledger> --out <out> [--keep-original]\n     [<inputs> ...]",
            discussion: """
            For each DICOM object with labels in the ledger (confirmed suggestions, or 131390 \
            for an object whose every suggestion was rejected), writes OUT/SOPINSTANCEUID.dcm: \
            a copy whose Sensitive Content Code Sequence (0008,001D) gains the labels' codes. \
            Existing items are kept and no code is added twice; every other attribute, Pixel \
            Data and the transfer syntax are unchanged, and the SOP Instance UID is kept (the \
            label is metadata of the same instance). Each copy is written to a temporary file \
            and renamed into place; an original is never written.

            The object is read from the path the ledger recorded, or from an INPUT with the \
            same SHA-256; an object whose bytes changed since it was scored is not labelled. \
            Images that are not DICOM are counted, not written.

            Exit codes: 0 done; 65 some objects could not be labelled; 66 the ledger does \
            not exist; 73 a copy cannot be written.

            Examples:
              veil label apply --ledger review.sqlite --out labelled/
              veil label apply --ledger review.sqlite --out labelled/ /archive/moved/*.dcm
            """
        )
        @OptionGroup var options: ReviewCommand.LedgerOption
        @Option(help: "The folder the labelled copies go into (created if missing).") var out: String
        @Argument(help: "Files to read objects from, matched by SHA-256, instead of the paths the ledger recorded.")
        var inputs: [String] = []
        @ArgumentParser.Flag(help: "Record an object's earlier Sensitive Content Code Sequence in its Original Attributes Sequence (0400,0561).")
        var keepOriginal = false

        func run() throws {
            let labels = ConfirmedLabel.labels(from: try options.open().entries())
            var byObject: [String: [ConfirmedLabel]] = [:], order: [String] = []
            var notDICOM = Set<String>()
            for label in labels {
                guard let sop = label.sopInstanceUID else { notDICOM.insert(label.sha256); continue }
                if byObject[sop] == nil { order.append(sop) }
                byObject[sop, default: []].append(label)
            }
            var byDigest: [String: String] = [:]
            for input in inputs {
                let data: Data
                do { data = try ImageDecoder.readFile(atPath: input) } catch {
                    throw CommandFailure(.noInput, "\(error)")
                }
                byDigest[ContentDigest.sha256(data)] = input
            }
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isFolder), !isFolder.boolValue {
                throw CommandFailure(.outputFailed, "--out \(out) is a file, not a folder")
            }
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw CommandFailure(.outputFailed, "cannot create \(out): \(plainReason(error))")
            }
            var failed = 0, written = 0
            for sop in order {
                let group = byObject[sop]!
                var codes: [CodedEntry] = []
                for code in group.flatMap(\.codes) where !codes.contains(where: { $0.value == code.value && $0.scheme == code.scheme }) {
                    codes.append(CodedEntry(value: code.value, scheme: code.scheme, meaning: code.meaning))
                }
                // A clearance stands only when nothing else labels the object.
                let cleared = SensitiveContentCode.noSensitiveContent
                if codes.contains(where: { $0.value != cleared.value || $0.scheme != cleared.scheme }) {
                    codes.removeAll { $0.value == cleared.value && $0.scheme == cleared.scheme }
                }
                // Archives hold copies of one instance in several files; the ledger may have
                // scored more than one. Each is tried in turn until one can be labelled.
                var candidates: [(sha: String, path: String)] = []
                for label in group where !candidates.contains(where: { $0.sha == label.sha256 }) {
                    candidates.append((label.sha256, byDigest[label.sha256] ?? label.path))
                }
                var reasons: [String] = []
                var result: (source: String, data: Data, added: [CodedEntry])?
                for candidate in candidates {
                    let data: Data
                    do { data = try ImageDecoder.readFile(atPath: candidate.path) } catch {
                        reasons.append("\(error)")
                        continue
                    }
                    guard ContentDigest.sha256(data) == candidate.sha else {
                        reasons.append("\(candidate.path) has changed since it was scored (its SHA-256 differs)")
                        continue
                    }
                    do {
                        let labelled = try SensitiveContentWriter.labelled(data, adding: codes, keepingOriginal: keepOriginal)
                        result = (candidate.path, labelled.data, labelled.added)
                        break
                    } catch {
                        reasons.append("\(candidate.path): \(error)")
                    }
                }
                guard let labelled = result else {
                    warn("\(sop): \(reasons.joined(separator: "; ")); not labelled")
                    failed += 1
                    continue
                }
                let source = labelled.source
                let target = (out as NSString).appendingPathComponent(Self.fileName(sop))
                if let a = FileIdentity(target), let b = FileIdentity(source), a == b {
                    warn("\(sop): the copy would overwrite its original \(source); not labelled")
                    failed += 1
                    continue
                }
                try Self.writeAtomically(labelled.data, to: target)
                written += 1
                let what = labelled.added.isEmpty ? "already labelled" : "added " + labelled.added.map { "\($0.scheme):\($0.value)" }.joined(separator: ", ")
                try StandardOutput.line("\(sop)\t\(target)\t\(what)")
            }
            warn("labelled \(written) DICOM object(s); \(failed) not labelled"
                 + (notDICOM.isEmpty ? "" : "; \(notDICOM.count) labelled image(s) are not DICOM and have no copy to write"))
            if failed > 0 { throw CommandFailure(.fileErrors) }
        }

        /// A file name from a UID: its digits and dots, which is all a UID holds.
        static func fileName(_ uid: String) -> String {
            String(uid.filter { $0.isNumber || $0 == "." }.prefix(64)) + ".dcm"
        }

        /// Writes to a temporary file beside `path`, then renames it over `path`: a reader
        /// never sees half a copy, and a failed write leaves nothing behind.
        static func writeAtomically(_ data: Data, to path: String) throws {
            let temporary = path + ".veil-partial-\(UUID().uuidString)"
            do {
                try data.write(to: URL(fileURLWithPath: temporary))
                guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
            } catch {
                try? FileManager.default.removeItem(atPath: temporary)
                throw CommandFailure(.outputFailed, "cannot write \(path): \(plainReason(error))")
            }
        }
    }
}
