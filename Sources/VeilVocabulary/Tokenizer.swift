/// Splits free text into lower-case words.
///
/// Letters and digits form words; everything else (spaces, punctuation, hyphens, slashes,
/// underscores) separates them, and so do the seams of run-together names (see below).
/// ASCII letters are lower-cased byte by byte, which keeps the hot path free of Unicode case
/// mapping; other characters are kept as they are.
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
            for byte in text.utf8 {
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
            flush()
        }
        return words
    }
}
