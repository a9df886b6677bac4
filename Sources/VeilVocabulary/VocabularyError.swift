/// A vocabulary table is missing or malformed. Raised at load, naming the file and line.
public struct VocabularyError: Error, Sendable, CustomStringConvertible {
    /// The table file.
    public var file: String
    /// The 1-based line, when the problem is on one line.
    public var line: Int?
    /// What is wrong.
    public var reason: String

    public var description: String {
        if let line { return "\(file):\(line): \(reason)" }
        return "\(file): \(reason)"
    }
}
