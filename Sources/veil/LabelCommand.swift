import ArgumentParser
import Foundation
import Veil
import VeilDICOM
import VeilDICOMweb
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
            abstract: "Write a labelled copy of each reviewed DICOM object to a folder or an archive.",
            usage: "veil label apply --ledger <ledger> (--out <out> | --stow <url>)\n     [--keep-original] [<inputs> ...]",
            discussion: """
            For each DICOM object with labels in the ledger (confirmed suggestions, or 131390 \
            for an object whose every suggestion was rejected), writes OUT/SOPINSTANCEUID.dcm: \
            a copy whose Sensitive Content Code Sequence (0008,001D) gains the labels' codes. \
            Existing items are kept and no code is added twice; every other attribute, Pixel \
            Data and the transfer syntax are unchanged, and the SOP Instance UID is kept (the \
            label is metadata of the same instance). Each copy is written to a temporary file \
            and renamed into place; an original file is never written.

            The object is read from the path the ledger recorded, or from an INPUT with the \
            same SHA-256; an object whose bytes changed since it was scored is not labelled. \
            Images that are not DICOM are counted, not written.

            With --stow URL, each labelled copy is sent to that DICOMweb service with \
            STOW-RS (with or without --out), replacing the archive's instance. An object \
            scored over DICOMweb from the same service is first retrieved from it, in its \
            stored syntax, so no local copy is needed. After each store the instance is read \
            back: a copy the archive did not keep (Orthanc keeps its first copy unless \
            OverwriteInstances is true) is reported as not labelled, never counted as done. \
            Apply once review is complete: a second run finds the archive's objects changed \
            (they are the labelled copies) and labels nothing more on them.

            Exit codes: 0 done; 65 some objects could not be labelled; 66 the ledger does \
            not exist; 69 the archive's certificate is not trusted; 73 a copy cannot be \
            written; 75 the archive stopped answering; 77 the archive refused the \
            credentials.

            Examples:
              veil label apply --ledger review.sqlite --out labelled/
              veil label apply --ledger review.sqlite --out labelled/ /archive/moved/*.dcm
              veil label apply --ledger review.sqlite \\
                --stow https://pacs.example.org/dicom-web --credentials-file ~/.veil-pacs
            """
        )
        @OptionGroup var options: ReviewCommand.LedgerOption
        @Option(help: "The folder the labelled copies go into (created if missing).") var out: String?
        @Option(help: ArgumentHelp("Store the labelled copies in this DICOMweb service (its root URL) with STOW-RS.", valueName: "url"))
        var stow: String?
        @OptionGroup(title: "Archive (with --stow)") var archive: ArchiveOptions
        @Argument(help: "Files to read objects from, matched by SHA-256, instead of the paths the ledger recorded.")
        var inputs: [String] = []
        @ArgumentParser.Flag(help: "Record an object's earlier Sensitive Content Code Sequence in its Original Attributes Sequence (0400,0561).")
        var keepOriginal = false

        func validate() throws {
            if out == nil && stow == nil { throw ValidationError("Give --out, --stow, or both: where the labelled copies go.") }
            if stow == nil, let stray = archive.givenOptions.first { throw ValidationError("\(stray) is for --stow, which is not given.") }
        }

        func run() throws {
            let labels = ConfirmedLabel.labels(from: try options.open().entries())
            let client = try stow.map { try archive.client(url: $0, option: "--stow") }
            defer { if let client { _ = try? blockingAwait { try await client.shutdown() } } }
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
            if let out {
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: out, isDirectory: &isFolder), !isFolder.boolValue {
                    throw CommandFailure(.outputFailed, "--out \(out) is a file, not a folder")
                }
                do {
                    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                } catch {
                    throw CommandFailure(.outputFailed, "cannot create \(out): \(plainReason(error))")
                }
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
                    let data: Data, matches: Bool
                    do { (data, matches) = try Self.original(at: candidate.path, sha256: candidate.sha, from: client) } catch let failure as CommandFailure {
                        throw failure
                    } catch {
                        reasons.append("\(error)")
                        continue
                    }
                    guard matches else {
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
                let what = labelled.added.isEmpty ? "already labelled" : "added " + labelled.added.map { "\($0.scheme):\($0.value)" }.joined(separator: ", ")
                if let out {
                    let target = (out as NSString).appendingPathComponent(Self.fileName(sop))
                    if let a = FileIdentity(target), let b = FileIdentity(source), a == b {
                        warn("\(sop): the copy would overwrite its original \(source); not labelled")
                        failed += 1
                        continue
                    }
                    try Self.writeAtomically(labelled.data, to: target)
                    try StandardOutput.line("\(sop)\t\(target)\t\(what)")
                }
                if let client {
                    if let problem = try Self.store(labelled.data, sop: sop, codes: codes, in: client) {
                        warn("\(sop): \(problem); not labelled in the archive")
                        failed += 1
                        continue
                    }
                    try StandardOutput.line("\(sop)\tstored\t\(what)")
                }
                written += 1
            }
            warn("labelled \(written) DICOM object(s); \(failed) not labelled"
                 + (notDICOM.isEmpty ? "" : "; \(notDICOM.count) labelled image(s) are not DICOM and have no copy to write"))
            if failed > 0 { throw CommandFailure(.fileErrors) }
        }

        /// The object the ledger scored, from a file or the `--stow` archive, and whether its
        /// bytes are the ones scored (by SHA-256). An archive's failure ends the command (75,
        /// 77 or 69); anything else is this object's.
        static func original(at path: String, sha256: String, from client: DICOMwebClient?) throws -> (Data, matches: Bool) {
            guard path.hasPrefix("http://") || path.hasPrefix("https://") else {
                let data = try ImageDecoder.readFile(atPath: path)
                return (data, ContentDigest.sha256(data) == sha256)
            }
            guard let client, let instance = client.instance(at: path) else {
                throw LabelFailure(client == nil
                    ? "\(path) was scored over DICOMweb: give --stow with that service, or its objects as INPUTs"
                    : "\(path) was scored over DICOMweb from another service than --stow; give that service's objects as INPUTs")
            }
            let stored = try archiveCall { try await client.retrieve(instance, transferSyntax: "*") }
            if ContentDigest.sha256(stored) == sha256 { return (stored, true) }
            // Scored after the archive transcoded it: when the transcoded bytes are the ones
            // scored, the stored object is that same object, and it is the one labelled, so
            // the archive keeps its encoding.
            do {
                let transcoded = try blockingAwait { try await client.retrieve(instance, transferSyntax: ArchiveInputs.explicitVRLittleEndian) }
                return (stored, ContentDigest.sha256(transcoded) == sha256)
            } catch let error as DICOMwebError where error.isAboutTranscodingThisObject {
                return (stored, false)  // so its stored bytes are not the ones scored
            } catch let error as DICOMwebError {
                throw CommandFailure(ExitStatus(error), "\(error)")
            }
        }

        /// Stores one labelled copy and retrieves it again. Returns why it was not
        /// labelled in the archive, or nil when it was.
        static func store(_ data: Data, sop: String, codes: [CodedEntry], in client: DICOMwebClient) throws -> String? {
            do { return try storeAndCheck(data, sop: sop, codes: codes, in: client) } catch let error as DICOMwebError {
                return "\(error)"
            }
        }

        private static func storeAndCheck(_ data: Data, sop: String, codes: [CodedEntry], in client: DICOMwebClient) throws -> String? {
            let response = try archiveCall { try await client.store([data]) }
            switch response.outcome(of: sop) {
            case let .failed(reason):
                return "the archive refused the copy (Failure Reason \(reason.map { String(format: "0x%04X", $0) } ?? "not given"))"
            case .unreported:
                return "the archive's STOW-RS response (HTTP \(response.status)) does not mention it"
            case let .stored(warning):
                if let warning { warn("\(sop): stored with Warning Reason \(String(format: "0x%04X", warning))") }
            }
            guard let labelled = DICOMObject.salvageMetadata(from: data), let study = labelled.studyInstanceUID,
                  let series = labelled.seriesInstanceUID else { return "the labelled copy has no Study or Series Instance UID" }
            // Read back the object itself, as stored, and parse it here: an archive's metadata
            // view may not decode the sequence (Orthanc shows it as UN bulk data for
            // implicit-VR objects).
            let instance = InstanceReference(studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop)
            let back = try archiveCall { try await client.retrieve(instance, transferSyntax: "*") }
            let held = DICOMObject.salvageMetadata(from: back)?.sensitiveContent ?? []
            let missing = codes.filter { code in !held.contains { $0.value == code.value && $0.scheme == code.scheme } }
            guard missing.isEmpty else {
                return "the archive answered that it stored the copy, but its Sensitive Content Code Sequence lacks "
                    + missing.map { "\($0.scheme):\($0.value)" }.joined(separator: ", ")
                    + " (it kept its earlier copy: let it replace instances, e.g. Orthanc's OverwriteInstances)"
            }
            return nil
        }

        /// Runs one archive request. A failure of the archive itself stops the command; one
        /// of this object's is thrown on for the caller to report.
        static func archiveCall<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
            do { return try blockingAwait(body) } catch let error as DICOMwebError where error.isArchiveFailure {
                throw CommandFailure(ExitStatus(error), "\(error)")
            }
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

/// Why one object could not be labelled.
struct LabelFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
