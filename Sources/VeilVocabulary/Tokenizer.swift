/// Splits free text into lower-case words.
///
/// Letters and digits form words; everything else (spaces, punctuation, hyphens, slashes,
/// underscores) separates them. ASCII letters are lower-cased byte by byte, which keeps the
/// hot path free of Unicode case mapping; other characters are kept as they are.
enum Tokenizer {
    static func words(in text: String) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        current.reserveCapacity(16)
        func flush() {
            if !current.isEmpty {
                words.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            }
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): current.append(byte | 0x20)
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), 0x80...: current.append(byte)
            case UInt8(ascii: "'"): continue  // "Morrison's" reads as "morrisons"
            default: flush()
            }
        }
        flush()
        return words
    }
}
