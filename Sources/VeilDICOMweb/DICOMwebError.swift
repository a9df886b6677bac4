/// A DICOMweb request that failed. Its text names the URL and the cause, never credentials
/// and never the response body (which may hold patient data).
public struct DICOMwebError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in the terms a caller acts on.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The archive refused the credentials (401) or the access (403).
        public static let unauthorized = Kind(name: "unauthorized")
        /// No such study, series or instance (404).
        public static let notFound = Kind(name: "not-found")
        /// Any other 4xx, or a 3xx the client does not follow.
        public static let rejected = Kind(name: "rejected")
        /// 429 or 5xx after every retry: the archive is overloaded or failing.
        public static let unavailable = Kind(name: "unavailable")
        /// No connection, or it broke, after every retry.
        public static let connection = Kind(name: "connection")
        /// The response did not arrive in time, after every retry.
        public static let timeout = Kind(name: "timeout")
        /// The response is not what DICOMweb promises (a broken multipart body, bad JSON).
        public static let malformedResponse = Kind(name: "malformed-response")
        /// The response is larger than the client accepts.
        public static let tooLarge = Kind(name: "too-large")
        /// The TLS handshake failed: an untrusted certificate or a wrong host name.
        public static let tls = Kind(name: "tls")
        /// The configuration or the credentials cannot be used.
        public static let invalidConfiguration = Kind(name: "invalid-configuration")
        /// The kebab-case name used in records.
        public var description: String { name }
    }

    /// What went wrong.
    public let kind: Kind
    /// The request's URL, when there was a request.
    public let url: String?
    /// The HTTP status, when a response arrived.
    public let status: Int?
    /// The cause, in plain words.
    public let reason: String

    /// An error of `kind` for `url`.
    public init(_ kind: Kind, url: String?, status: Int? = nil, _ reason: String) {
        self.kind = kind
        self.url = url
        self.status = status
        self.reason = reason
    }

    /// Whether the archive, rather than one object, failed: the connection, its overload or
    /// its timeouts. A batch cannot go on past these; it stops and resumes later.
    public var isArchiveFailure: Bool {
        [.connection, .unavailable, .timeout, .tls, .unauthorized].contains(kind)
    }

    /// `URL: reason`.
    public var description: String { (url.map { "\($0): " } ?? "") + reason }
}
