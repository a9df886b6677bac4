/// A parsed protobuf text-format message, such as a Caffe `deploy.prototxt`.
///
/// Fields keep their order and may repeat. Values are kept as text (numbers, enum names and
/// strings alike); the importer interprets them per field.
struct TextMessage {
    enum Value {
        case scalar(String)
        case message(TextMessage)
    }

    var fields: [(name: String, value: Value)] = []

    func all(_ name: String) -> [Value] { fields.filter { $0.name == name }.map(\.value) }
    func messages(_ name: String) -> [TextMessage] {
        all(name).compactMap { if case .message(let m) = $0 { return m } else { return nil } }
    }
    func message(_ name: String) -> TextMessage? { messages(name).first }
    func scalars(_ name: String) -> [String] {
        all(name).compactMap { if case .scalar(let s) = $0 { return s } else { return nil } }
    }
    func scalar(_ name: String) -> String? { scalars(name).first }
    func int(_ name: String) -> Int? { scalar(name).flatMap { Int($0) } }
    func ints(_ name: String) -> [Int] { scalars(name).compactMap { Int($0) } }
    func float(_ name: String) -> Float? { scalar(name).flatMap { Float($0) } }
    func bool(_ name: String) -> Bool? { scalar(name).map { $0 == "true" } }

    /// Parses protobuf text format: `name: value`, `name { … }`, `name: { … }`, `#` comments,
    /// quoted strings with escapes.
    static func parse(_ text: String, file: String) throws -> TextMessage {
        var parser = Parser(chars: Array(text.unicodeScalars), file: file)
        let message = try parser.message(closing: false)
        return message
    }

    private struct Parser {
        let chars: [Unicode.Scalar]
        let file: String
        var at = 0
        var line = 1

        init(chars: [Unicode.Scalar], file: String) {
            self.chars = chars
            self.file = file
        }

        mutating func fail(_ what: String) -> ImportError { ImportError(file: file, "line \(line): \(what)") }

        mutating func skipSpace() {
            while at < chars.count {
                let c = chars[at]
                if c == "#" {
                    while at < chars.count, chars[at] != "\n" { at += 1 }
                } else if c == "\n" {
                    line += 1
                    at += 1
                } else if c == " " || c == "\t" || c == "\r" || c == "," || c == ";" {
                    at += 1
                } else {
                    return
                }
            }
        }

        mutating func identifier() throws -> String {
            let start = at
            while at < chars.count, chars[at].properties.isAlphabetic || ("0"..."9").contains(chars[at])
                    || chars[at] == "_" || chars[at] == "." || chars[at] == "-" || chars[at] == "+" {
                at += 1
            }
            guard at > start else { throw fail("expected a name or value, found '\(at < chars.count ? String(chars[at]) : "end of file")'") }
            return String(String.UnicodeScalarView(chars[start..<at]))
        }

        mutating func quoted() throws -> String {
            let quote = chars[at]
            at += 1
            var out = String.UnicodeScalarView()
            while at < chars.count, chars[at] != quote {
                if chars[at] == "\\", at + 1 < chars.count {
                    at += 1
                    switch chars[at] {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    default: out.append(chars[at])
                    }
                } else {
                    if chars[at] == "\n" { line += 1 }
                    out.append(chars[at])
                }
                at += 1
            }
            guard at < chars.count else { throw fail("unterminated string") }
            at += 1
            return String(out)
        }

        mutating func message(closing: Bool) throws -> TextMessage {
            var message = TextMessage()
            while true {
                skipSpace()
                if at >= chars.count {
                    if closing { throw fail("missing '}'") }
                    return message
                }
                if chars[at] == "}" {
                    guard closing else { throw fail("unexpected '}'") }
                    at += 1
                    return message
                }
                let name = try identifier()
                skipSpace()
                if at < chars.count, chars[at] == ":" {
                    at += 1
                    skipSpace()
                }
                guard at < chars.count else { throw fail("'\(name)' has no value") }
                if chars[at] == "{" {
                    at += 1
                    message.fields.append((name, .message(try self.message(closing: true))))
                } else if chars[at] == "\"" || chars[at] == "'" {
                    message.fields.append((name, .scalar(try quoted())))
                } else {
                    message.fields.append((name, .scalar(try identifier())))
                }
            }
        }
    }
}
