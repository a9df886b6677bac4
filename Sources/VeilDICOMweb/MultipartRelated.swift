import Foundation

/// `multipart/related` bodies (RFC 2387), the envelope WADO-RS returns instances in and
/// STOW-RS takes them in.
///
/// The reader never trusts the body: the boundary comes from the Content-Type header, not
/// from the body, every part must be closed by a delimiter, and a body cut short is an
/// error rather than a shorter last part.
public enum MultipartRelated {
    /// One part: its headers (names lower-cased) and its bytes.
    public struct Part: Sendable {
        /// The part's headers, with lower-cased names.
        public var headers: [String: String]
        /// The part's content.
        public var body: Data
    }

    /// The `boundary` parameter of a `multipart/related` Content-Type, or nil when the type
    /// is something else or names no usable boundary.
    public static func boundary(ofContentType contentType: String) -> String? {
        let fields = splitParameters(contentType)
        guard let type = fields.first?.lowercased(), type == "multipart/related" else { return nil }
        for field in fields.dropFirst() {
            guard let equals = field.firstIndex(of: "=") else { continue }
            let name = field[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = field[field.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            // RFC 2046: 1 to 70 characters.
            if name == "boundary", (1...70).contains(value.utf8.count) { return value }
        }
        return nil
    }

    /// The parts of `body`, whose delimiter is `boundary`. Throws `.malformedResponse` for a
    /// body without a closing delimiter, with a part without a header block, or with more
    /// than `maxParts` parts.
    public static func parts(of body: Data, boundary: String, maxParts: Int = 10_000) throws -> [Part] {
        func malformed(_ reason: String) -> DICOMwebError { DICOMwebError(.malformedResponse, url: nil, "multipart body: \(reason)") }
        let delimiter = Array("--\(boundary)".utf8)
        let bytes = [UInt8](body)
        // The first delimiter may follow a preamble; later ones follow a CRLF.
        guard var position = find(delimiter, in: bytes, from: 0) else { throw malformed("no part delimiter") }
        position += delimiter.count
        var parts: [Part] = []
        let separator = Array("\r\n".utf8) + delimiter
        while true {
            if bytes.count - position >= 2, bytes[position] == 0x2D, bytes[position + 1] == 0x2D { return parts }  // "--": the end
            // Transport padding, then CRLF.
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
            guard bytes.count - position >= 2, bytes[position] == 0x0D, bytes[position + 1] == 0x0A else {
                throw malformed(position >= bytes.count ? "cut short after a delimiter" : "a delimiter is not followed by a line break")
            }
            position += 2
            // A part may have no headers at all: its content then starts after one more CRLF.
            let noHeaders = bytes[position...].starts(with: [0x0D, 0x0A])
            guard let headerEnd = noHeaders ? position - 2 : find(Array("\r\n\r\n".utf8), in: bytes, from: position) else {
                throw malformed("part \(parts.count + 1) has no end to its headers")
            }
            var headers: [String: String] = [:]
            if headerEnd > position {
                for line in String(decoding: bytes[position..<headerEnd], as: UTF8.self).split(separator: "\r\n") {
                    guard let colon = line.firstIndex(of: ":") else { throw malformed("part \(parts.count + 1) has a header line without a colon") }
                    headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] =
                        line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            let contentStart = headerEnd + 4
            guard let contentEnd = find(separator, in: bytes, from: contentStart) else {
                throw malformed("part \(parts.count + 1) is not closed by a delimiter (the body was cut short)")
            }
            parts.append(Part(headers: headers, body: Data(bytes[contentStart..<contentEnd])))
            guard parts.count <= maxParts else { throw malformed("more than \(maxParts) parts") }
            position = contentEnd + separator.count
        }
    }

    /// A body of `parts`, each with Content-Type `contentType`, and its boundary: a random
    /// one, checked against every part's bytes.
    public static func body(of parts: [Data], contentType: String) -> (body: Data, boundary: String) {
        var boundary = "veil-" + UUID().uuidString
        while parts.contains(where: { find(Array(boundary.utf8), in: [UInt8]($0), from: 0) != nil }) {
            boundary = "veil-" + UUID().uuidString
        }
        var body = Data()
        for part in parts {
            body.append(Data("--\(boundary)\r\nContent-Type: \(contentType)\r\n\r\n".utf8))
            body.append(part)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return (body, boundary)
    }

    /// Splits a header value at semicolons outside quotes.
    static func splitParameters(_ value: String) -> [String] {
        var fields: [String] = [], current = "", quoted = false
        for character in value {
            if character == "\"" { quoted.toggle() }
            if character == ";" && !quoted {
                fields.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current.trimmingCharacters(in: .whitespaces))
        return fields
    }

    /// The first index of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start >= 0, haystack.count - start >= needle.count else { return nil }
        let first = needle[0], last = haystack.count - needle.count
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                var i = start
                while i <= last {
                    if h[i] == first && memcmp(h.baseAddress! + i, n.baseAddress!, n.count) == 0 { return i }
                    i += 1
                }
                return nil
            }
        }
    }
}
