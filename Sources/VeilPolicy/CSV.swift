import Foundation

/// A small RFC 4180 reader: fields separated by commas, records by LF or CRLF, and quoted
/// fields that may hold commas, quotes (doubled) and line breaks, as Excel and Python's csv
/// module write them. Used for truth files and for checking score files before a resume.
public enum CSV {
    /// The whole records in `data`, and how many bytes they take. A last record without its
    /// line end (a file cut short while being written) is left out, as is a leading UTF-8
    /// byte-order mark.
    public static func records(in data: Data) -> (records: [[String]], complete: Int) {
        var records: [[String]] = []
        var fields: [String] = [], field: [UInt8] = [], quoted = false, complete = 0
        let bytes = [UInt8](data)
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") { field.append(b); i += 1 } else { quoted = false }
                } else {
                    field.append(b)
                }
            } else if b == UInt8(ascii: "\"") {
                quoted = true
            } else if b == UInt8(ascii: ",") {
                fields.append(String(decoding: field, as: UTF8.self))
                field = []
            } else if b == 0x0A {
                if field.last == 0x0D { field.removeLast() }
                fields.append(String(decoding: field, as: UTF8.self))
                field = []
                records.append(fields)
                fields = []
                complete = i + 1
            } else {
                field.append(b)
            }
            i += 1
        }
        return (records, complete)
    }
}

/// A truth CSV could not be used: names the file, the line and the cause.
public struct TruthFileError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var file: String
    /// The 1-based record number, when one is at fault.
    public var line: Int?
    /// What is wrong.
    public var reason: String

    public var description: String { line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)" }
}

/// Ground truth for `veil tune`: a CSV with a `path` column and one column per flag holding
/// 1 (sensitive), 0 (not) or nothing (not labelled).
public enum TruthFile {
    /// Image path → flag → label. `file` names the source in errors.
    public static func parse(_ data: Data, file: String) throws -> [String: [Flag: Bool]] {
        var (records, complete) = CSV.records(in: data)
        // The last line may lack its line end in a file written by hand.
        if complete < data.count { records += CSV.records(in: data.suffix(from: data.startIndex + complete) + Data([0x0A])).records }
        let rows = records.enumerated().filter { !($0.element.count == 1 && $0.element[0].isEmpty) }
        // Spaces after the commas of a hand-written header are not part of the flag names.
        guard let header = rows.first?.element.map({ $0.trimmingCharacters(in: .whitespaces) }), header.first == "path", header.count >= 2 else {
            throw TruthFileError(file: file, line: 1, reason: "the header must be path followed by one column per flag")
        }
        if let duplicate = Dictionary(grouping: header, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw TruthFileError(file: file, line: 1, reason: "column \(duplicate) appears twice")
        }
        var table: [String: [Flag: Bool]] = [:]
        for (n, fields) in rows.dropFirst() {
            guard fields.count == header.count else {
                throw TruthFileError(file: file, line: n + 1, reason: "\(fields.count) columns, the header has \(header.count)")
            }
            guard !fields[0].isEmpty else { throw TruthFileError(file: file, line: n + 1, reason: "the path is empty") }
            var labels: [Flag: Bool] = [:]
            for (flag, value) in zip(header.dropFirst(), fields.dropFirst()) {
                switch value.trimmingCharacters(in: .whitespaces) {
                case "1": labels[Flag(flag)] = true
                case "0": labels[Flag(flag)] = false
                case "": continue
                default: throw TruthFileError(file: file, line: n + 1, reason: "column \(flag) must be 0 or 1, not '\(value)'")
                }
            }
            if table[fields[0]] != nil { throw TruthFileError(file: file, line: n + 1, reason: "\(fields[0]) is labelled twice") }
            table[fields[0]] = labels
        }
        return table
    }
}
