import Foundation
import Veil
import VeilDICOM
import VeilPolicy
import VeilVocabulary

/// Where score records go: standard output or a file, as JSON lines or CSV.
///
/// Each record is written with one `write` call and reaches the kernel before the next image
/// is scored, so a run killed at any moment leaves at most one torn last line, which
/// `--resume` cuts off before carrying on.
final class RecordSink {

    let format: RecordFormat
    let flags: [Flag]
    private let handle: FileHandle
    /// The file, or "standard output", for messages.
    private let destination: String
    private let encoder: JSONEncoder

    /// Opens the output. With `resume`, an existing file is kept: a torn last line is
    /// truncated away, and the paths already recorded are returned so they can be skipped.
    /// `policy` is this run's policy name and version: a file resumed under another policy
    /// would mix two policies' suggestions in one set of records.
    init(path: String?, format: RecordFormat, flags: [Flag], resume: Bool, policy: (name: String, version: String)? = nil) throws {
        self.format = format
        self.flags = flags
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        destination = path ?? "standard output"
        guard let path else {
            handle = .standardOutput
            done = []
            doneInstances = []
            if format == .csv { try write(line: Self.csvHeader(flags)) }
            return
        }
        let fm = FileManager.default
        var done = Set<String>(), doneInstances = Set<String>()
        var needsHeader = true
        if resume, fm.fileExists(atPath: path) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw RecordSinkError(path: path, reason: "cannot read it to resume: \(error.localizedDescription)")
            }
            let complete: Int
            (done, doneInstances, complete) = try Self.recordedPaths(in: data, format: format, header: Self.csvHeader(flags),
                                                                     path: path, policy: policy)
            needsHeader = complete == 0
            guard let h = FileHandle(forUpdatingAtPath: path) else { throw RecordSinkError(path: path, reason: "cannot open it for writing") }
            try h.truncate(atOffset: UInt64(complete))  // drop a torn last line
            try h.seekToEnd()
            handle = h
        } else {
            // Opened in place, not replaced: FileManager.createFile writes a new file and
            // renames it over the path, which would swap a device such as /dev/stdout or a
            // named pipe for a plain file.
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw RecordSinkError(path: path, reason: "cannot create it: \(String(cString: strerror(errno)))") }
            handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        }
        self.done = done
        self.doneInstances = doneInstances
        if format == .csv && needsHeader { try write(line: Self.csvHeader(flags)) }
    }

    /// Paths already recorded by an earlier run (with `--resume`).
    let done: Set<String>
    /// SOP Instance UIDs already recorded by an earlier run (with `--resume`): an archive's
    /// instance is done whatever URL it was retrieved by.
    let doneInstances: Set<String>

    /// Whether an earlier run recorded `input`.
    func isDone(_ input: InputWalker.Input) -> Bool {
        if let instance = input.instance { return doneInstances.contains(instance.sopInstanceUID) }
        return done.contains(input.path)
    }

    /// Writes `records` (all of one input's) with a single `write` call.
    func write(_ records: [ScoreRecord]) throws {
        var chunk = Data()
        for record in records {
            switch format {
            case .jsonl:
                chunk.append(try encoder.encode(record))
                chunk.append(0x0A)
            case .csv:
                chunk.append(Data((csvRow(record) + "\n").utf8))
            }
        }
        try StandardOutput.write(chunk, to: handle.fileDescriptor, name: destination)
    }

    private func write(line: String) throws {
        try StandardOutput.write(Data((line + "\n").utf8), to: handle.fileDescriptor, name: destination)
    }

    /// The paths and SOP Instance UIDs an earlier run recorded, and how many bytes of
    /// `data` are whole records.
    /// Every whole line must be a record of `format` (for CSV, under the same header), else
    /// resuming would append to a file it does not understand: refused, naming the line.
    /// Only an unterminated last line, which a killed run leaves, is cut.
    static func recordedPaths(in data: Data, format: RecordFormat, header: String, path: String,
                              policy: (name: String, version: String)?) throws -> (Set<String>, Set<String>, Int) {
        var done = Set<String>(), instances = Set<String>()
        func refuse(_ line: Int, _ why: String) -> RecordSinkError {
            RecordSinkError(path: path, reason: "line \(line): \(why); refusing to resume (give another --out, or remove --resume to start over)",
                            isResumeMismatch: true)
        }
        switch format {
        case .jsonl:
            let complete = data.lastIndex(of: 0x0A).map { $0 - data.startIndex + 1 } ?? 0
            for (n, line) in data.prefix(complete).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().enumerated() {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let recorded = object["path"] as? String, object["schema"] is Int, object["status"] is String else {
                    let looksCSV = n == 0 && line.starts(with: Data("path,".utf8))
                    throw refuse(n + 1, looksCSV ? "the file is CSV, not JSON lines (--format jsonl)" : "not a veil score record in JSON lines")
                }
                if let policy, let recordedPolicy = object["policy"] as? [String: Any],
                   recordedPolicy["name"] as? String != policy.name || recordedPolicy["version"] as? String != policy.version {
                    throw refuse(n + 1, "recorded under the policy \(recordedPolicy["name"] ?? "?") version \(recordedPolicy["version"] ?? "?"), not \(policy.name) version \(policy.version)")
                }
                done.insert(recorded)
                if let sop = (object["dicom"] as? [String: Any])?["sopInstanceUID"] as? String { instances.insert(sop) }
            }
            return (done, instances, complete)
        case .csv:
            let (records, complete) = CSV.records(in: data)
            guard let first = records.first else { return (done, instances, complete) }
            if data.first == UInt8(ascii: "{") { throw refuse(1, "the file is JSON lines, not CSV (--format csv)") }
            guard first.map(csvField).joined(separator: ",") == header else {
                throw refuse(1, "the CSV header differs from this run's (other flags, or not a veil score file)")
            }
            let columns = first.count
            let policyColumn = first.firstIndex(of: "policy"), versionColumn = first.firstIndex(of: "policy_version")
            let sopColumn = first.firstIndex(of: "sop_instance_uid")
            for (n, record) in records.enumerated().dropFirst() {
                guard record.count == columns, let recorded = record.first, !recorded.isEmpty else {
                    throw refuse(n + 1, "a row with \(record.count) fields where the header has \(columns)")
                }
                if let policy, let p = policyColumn, let v = versionColumn, !record[p].isEmpty,
                   record[p] != policy.name || record[v] != policy.version {
                    throw refuse(n + 1, "recorded under the policy \(record[p]) version \(record[v]), not \(policy.name) version \(policy.version)")
                }
                done.insert(recorded)
                if let column = sopColumn, !record[column].isEmpty { instances.insert(record[column]) }
            }
            return (done, instances, complete)
        }
    }

    static func csvHeader(_ flags: [Flag]) -> String {
        (["path", "sha256", "status", "error_kind", "error_message", "format", "width", "height", "frame", "frames",
          "study_instance_uid", "series_instance_uid", "sop_instance_uid", "minor"]
         + flags.map { "score_\($0)" } + ["suggestions", "review", "evidence", "model", "model_version", "weights_sha256",
                                          "policy", "policy_version"]).joined(separator: ",")
    }

    func csvRow(_ r: ScoreRecord) -> String {
        let suggestions = (r.suggestions ?? []).map { "\($0.flag):\($0.state.rawValue)" }.joined(separator: ";")
        let evidence = (r.evidence ?? []).map { "\($0.flag)=\($0.field):\($0.snomed ?? $0.text)" }.joined(separator: ";")
        var fields: [String] = [r.path, r.sha256 ?? "", r.status, r.error?.kind ?? "", r.error?.message ?? "", r.format ?? ""]
        fields += [r.width, r.height, r.frame, r.frames].map { $0.map(String.init) ?? "" }
        let dicom: [String?] = [r.dicom?.studyInstanceUID, r.dicom?.seriesInstanceUID, r.dicom?.sopInstanceUID,
                                r.dicom?.minor.map { $0 ? "true" : "false" }]
        fields += dicom.map { $0 ?? "" }
        fields += flags.map { flag in r.scores?[flag].map { String($0) } ?? "" }
        let tail: [String?] = [suggestions, r.review?.rawValue, evidence, r.model?.name, r.model?.version,
                               r.model?.weightsSHA256, r.policy?.name, r.policy?.version]
        fields += tail.map { $0 ?? "" }
        return fields.map(Self.csvField).joined(separator: ",")
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

/// The output file cannot be used.
struct RecordSinkError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    /// `--resume` found a file it does not understand: a usage error, not a failed write.
    var isResumeMismatch = false
    var description: String { "\(path): \(reason)" }
}
