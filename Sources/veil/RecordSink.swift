import Foundation
import Veil

/// Where score records go: standard output or a file, as JSON lines or CSV.
///
/// Each record is written with one `write` call and reaches the kernel before the next image
/// is scored, so a run killed at any moment leaves at most one torn last line, which
/// `--resume` cuts off before carrying on.
final class RecordSink {
    enum Format: String { case jsonl, csv }

    let format: Format
    let flags: [String]
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// Opens the output. With `resume`, an existing file is kept: a torn last line is
    /// truncated away, and the paths already recorded are returned so they can be skipped.
    init(path: String?, format: Format, flags: [String], resume: Bool) throws {
        self.format = format
        self.flags = flags
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let path else {
            handle = .standardOutput
            done = []
            if format == .csv { try write(line: Self.csvHeader(flags)) }
            return
        }
        let fm = FileManager.default
        var done = Set<String>()
        var needsHeader = true
        if resume, fm.fileExists(atPath: path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let complete = data.lastIndex(of: 0x0A).map { data.startIndex..<($0 + 1) } ?? data.startIndex..<data.startIndex
            for line in data[complete].split(separator: 0x0A) {
                if format == .csv {
                    if needsHeader { needsHeader = false; continue }  // the header line
                    if let first = Self.csvFirstField(String(decoding: line, as: UTF8.self)) { done.insert(first) }
                } else if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                          let p = object["path"] as? String {
                    done.insert(p)
                }
            }
            if format == .jsonl { needsHeader = false }
            guard let h = FileHandle(forUpdatingAtPath: path) else { throw RecordSinkError(path: path) }
            try h.truncate(atOffset: UInt64(complete.count))  // drop a torn last line
            try h.seekToEnd()
            handle = h
        } else {
            guard fm.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                throw RecordSinkError(path: path)
            }
            handle = h
        }
        self.done = done
        if format == .csv && (needsHeader || !resume) { try write(line: Self.csvHeader(flags)) }
    }

    /// Paths already recorded by an earlier run (with `--resume`).
    let done: Set<String>

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
        try handle.write(contentsOf: chunk)
    }

    private func write(line: String) throws {
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }

    static func csvHeader(_ flags: [String]) -> String {
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

    static func csvFirstField(_ line: String) -> String? {
        guard line.hasPrefix("\"") else { return line.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) }
        var out = "", chars = Array(line.dropFirst()), i = 0
        while i < chars.count {
            if chars[i] == "\"" {
                if i + 1 < chars.count && chars[i + 1] == "\"" { out.append("\""); i += 2; continue }
                return out
            }
            out.append(chars[i])
            i += 1
        }
        return nil
    }
}

struct RecordSinkError: Error, CustomStringConvertible {
    var path: String
    var description: String { "cannot open \(path) for writing" }
}
