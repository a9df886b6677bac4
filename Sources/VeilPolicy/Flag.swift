/// The name of a sensitivity flag: what a score, a suggestion and a review decision are about.
///
/// The built-in flags are constants (``nudity``, ``face``, ``bodyRegion``,
/// ``sensitiveContent``); a site's own flags (listed under `site_flags` in its policy) are
/// made from their names. A flag is its lower-case name, as written in policy files, score
/// records and the ledger.
public struct Flag: RawRepresentable, Hashable, Comparable, Sendable, Codable, CodingKeyRepresentable,
                    ExpressibleByStringLiteral, CustomStringConvertible {
    /// The flag's name, e.g. `"nudity"`.
    public let rawValue: String

    /// The flag named `rawValue`.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The flag named `name`.
    public init(_ name: String) { self.rawValue = name }

    /// A flag written as a literal, e.g. `let flag: Flag = "gruesome"`.
    public init(stringLiteral name: String) { self.rawValue = name }

    /// The image classifier's score for nudity or intimate anatomy.
    public static let nudity: Flag = "nudity"
    /// A face: the face detector's best confidence, or metadata naming the face.
    public static let face: Flag = "face"
    /// A body region whose sensitivity class calls for review, read from names and DICOM
    /// attributes by the vocabulary.
    public static let bodyRegion: Flag = "body-region"
    /// The archive's own sensitivity marking: DICOM's Sensitive Content Code Sequence.
    public static let sensitiveContent: Flag = "sensitive-content"

    /// The flags Veil itself knows, in name order.
    public static let builtIn: [Flag] = [.bodyRegion, .face, .nudity, .sensitiveContent]

    public var description: String { rawValue }

    public static func < (lhs: Flag, rhs: Flag) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var codingKey: any CodingKey { FlagKey(stringValue: rawValue) }

    public init?<T: CodingKey>(codingKey: T) { rawValue = codingKey.stringValue }

    private struct FlagKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
