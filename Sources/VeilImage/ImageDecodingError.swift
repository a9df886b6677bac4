/// Why an image could not be decoded.
///
/// Errors carry the cause and, when decoding started from a file, that file's path in
/// ``file``. They never carry pixel data. `kind` is a struct with static members rather than
/// an enum, so that new kinds can be added without breaking embedders' `switch` statements.
public struct ImageDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of failure, stable enough to count, log and map to exit codes.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// A short machine-readable name such as `"truncated"`.
        public let name: String

        private init(_ name: String) { self.name = name }

        /// The file or buffer has no bytes at all.
        public static let emptyFile = Kind("empty-file")
        /// The data stops before the image does.
        public static let truncated = Kind("truncated")
        /// The data is of a known format but is damaged or inconsistent.
        public static let corrupt = Kind("corrupt")
        /// The data is a recognised image format (or variant) that Veil does not decode.
        public static let unsupportedFormat = Kind("unsupported-format")
        /// The bytes match no image format that Veil knows.
        public static let unknownFormat = Kind("unknown-format")
        /// The file could not be opened or read.
        public static let unreadableFile = Kind("unreadable-file")
        /// There is no file at the path.
        public static let noSuchFile = Kind("no-such-file")
        /// The path names a folder where a file was expected.
        public static let isAFolder = Kind("is-a-folder")
        /// The data is a valid object of its format that holds no picture, such as a DICOM
        /// structured report or DICOMDIR.
        public static let notAnImage = Kind("not-an-image")
        /// The header declares more pixels than the configured limit allows.
        public static let tooManyPixels = Kind("too-many-pixels")

        public var description: String { name }
    }

    /// The class of failure.
    public var kind: Kind
    /// The file being decoded, when there was one.
    public var file: String?
    /// A human-readable explanation of the cause, for operators. Never holds pixel data.
    public var reason: String

    /// Creates an error.
    public init(_ kind: Kind, _ reason: String, file: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.file = file
    }

    /// `"FILE: KIND: REASON"`, or `"KIND: REASON"` for in-memory data.
    public var description: String {
        if let file { return "\(file): \(kind): \(reason)" }
        return "\(kind): \(reason)"
    }

    /// This error with `file` filled in, unless it already names one.
    public func attributed(to file: String?) -> ImageDecodingError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }
}
