import Foundation

/// Reads a manifest, a list of inputs one path per line, a chunk at a time, so that a list
/// of millions of paths (or one arriving on a pipe) never sits in memory whole.
///
/// Blank lines and lines starting with `#` are skipped; LF and CRLF line ends both work;
/// spaces around a path are trimmed. Bytes that are not UTF-8 are replaced, never trapped on.
public struct InputManifest: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    /// An empty reader.
    public init() {}

    /// Adds the next chunk of the file.
    public mutating func append(_ chunk: Data) {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        buffer.append(contentsOf: chunk)
    }

    /// The next path whose line is complete; with `atEnd`, also a last line without its
    /// line end. Nil when no such line is waiting.
    public mutating func nextPath(atEnd: Bool = false) -> String? {
        while start < buffer.count {
            let end: Int
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                end = newline
            } else if atEnd {
                end = buffer.count
            } else {
                return nil
            }
            let line = buffer[start..<end]
            start = min(end + 1, buffer.count)
            if let path = Self.path(inLine: line) { return path }
        }
        return nil
    }

    /// The path a line names, or nil for a blank or comment line.
    static func path(inLine line: ArraySlice<UInt8>) -> String? {
        let path = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty || path.hasPrefix("#") ? nil : path
    }
}
