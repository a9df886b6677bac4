/// Splits free text into lower-case words.
///
/// Letters and digits form words; everything else (spaces, punctuation, hyphens, slashes,
/// underscores) separates them, and so do the seams of run-together names (see below).
/// ASCII letters are lower-cased byte by byte, which keeps the hot path free of Unicode case
/// mapping. Accented Latin letters fold to their base letter (`Gesäß` and `GESASS` read the
/// same, as do `pénis` and `PENIS`; `ß` becomes `ss`, `æ` and `œ` become `ae` and `oe`),
/// because European archives write the same word with and without accents. `ñ` is kept, as
/// Spanish `año` (year) is not `ano` (anus). Other characters are kept as they are.
enum Tokenizer {
    static func words(in text: String) -> [String] {
        var words: [String] = []
        // A fixed scratch buffer: words longer than it are cut there, which no body-part
        // name is, and which keeps the hot path free of allocations per word.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { current in
            var length = 0
            func flush() {
                if length > 0 {
                    words.append(String(decoding: UnsafeBufferPointer(rebasing: current[0..<length]), as: UTF8.self))
                    length = 0
                }
            }
            // Words also break where a lower-case letter meets a capital ("BreastWound") and
            // where digits follow letters ("breast01", "IMG_breast2"), as file names run
            // them together; not where letters follow digits ("4THVENTRICLE").
            var previous: UInt8 = 0
            var lead: UInt8 = 0  // the first byte of a two-byte Latin letter, once seen
            for byte in text.utf8 {
                if lead != 0 {
                    let first = lead
                    lead = 0
                    if let folded = folded(first, byte) {
                        if folded.isUpper, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(previous) { flush() }
                        for b in folded.letters where length < 64 { current[length] = b; length += 1 }
                        previous = folded.isUpper ? folded.letters[0] & ~0x20 : folded.letters[0]
                        continue
                    }
                    if length < 64 { current[length] = first; length += 1 }
                    if length < 64 { current[length] = byte; length += 1 }
                    previous = byte
                    continue
                }
                if byte == 0xC3 || byte == 0xC5 { lead = byte; continue }
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    if (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(previous) { flush() }
                    if length < 64 { current[length] = byte | 0x20; length += 1 }
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(previous) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(previous) { flush() }
                    if length < 64 { current[length] = byte; length += 1 }
                case UInt8(ascii: "a")...UInt8(ascii: "z"), 0x80...:
                    if length < 64 { current[length] = byte; length += 1 }
                case UInt8(ascii: "'"): continue  // "Morrison's" reads as "morrisons"
                default: flush()
                }
                previous = byte
            }
            if lead != 0, length < 64 { current[length] = lead; length += 1 }
            flush()
        }
        return words
    }

    /// The lower-case letters a two-byte UTF-8 Latin letter folds to, and whether it was a
    /// capital: ASCII for accented letters, `ñ` for Ñ and ñ; `nil` for characters that do not
    /// fold (`ð`, `þ`, `×`, `÷`, and the rest of Latin Extended-A but `œ`).
    static func folded(_ lead: UInt8, _ byte: UInt8) -> (letters: [UInt8], isUpper: Bool)? {
        if lead == 0xC5 {
            // Œ U+0152, œ U+0153
            return byte == 0x92 || byte == 0x93 ? ([UInt8(ascii: "o"), UInt8(ascii: "e")], byte == 0x92) : nil
        }
        guard lead == 0xC3, (0x80...0xBF).contains(byte) else { return nil }
        let isUpper = byte < 0xA0 && byte != 0x9F  // ß has no capital here
        let letter: String
        switch byte & ~0x20 {  // the capital's second byte: 0x80...0x9F
        case 0x80...0x85: letter = "a"
        case 0x86: letter = "ae"
        case 0x87: letter = "c"
        case 0x88...0x8B: letter = "e"
        case 0x8C...0x8F: letter = "i"
        case 0x91: return ([0xC3, 0xB1], isUpper)  // ñ
        case 0x92...0x96, 0x98: letter = "o"
        case 0x99...0x9C: letter = "u"
        case 0x9D: letter = "y"
        case 0x9F where byte == 0x9F: letter = "ss"  // ß (its lower-case slot 0xBF is ÿ)
        case 0x9F: letter = "y"
        default: return nil
        }
        return (Array(letter.utf8), isUpper)
    }
}
