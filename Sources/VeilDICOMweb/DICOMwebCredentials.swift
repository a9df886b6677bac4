import Foundation

/// How the client signs in to an archive. The secret never appears in `description`, in
/// errors or in logs.
public enum DICOMwebCredentials: Sendable, Equatable, CustomStringConvertible {
    /// HTTP Basic authentication.
    case basic(user: String, password: String)
    /// A bearer token (OAuth 2.0 and most gateways).
    case bearer(token: String)

    /// Reads credentials from text: `Bearer TOKEN` for a token, `USER:PASSWORD` for Basic.
    /// One line; surrounding white space and a final newline are ignored. Throws a
    /// `DICOMwebError` of kind `.invalidConfiguration` that names `source`, never the text.
    public init(parsing text: String, source: String) throws {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        func invalid(_ reason: String) -> DICOMwebError {
            DICOMwebError(.invalidConfiguration, url: nil, "\(source): \(reason)")
        }
        guard !line.isEmpty else { throw invalid("no credentials (it is empty)") }
        guard !line.contains(where: { $0 == "\n" || $0 == "\r" }) else {
            throw invalid("credentials must be one line: USER:PASSWORD or Bearer TOKEN")
        }
        if line.lowercased().hasPrefix("bearer ") {
            let token = line.dropFirst(7).trimmingCharacters(in: .whitespaces)
            guard !token.isEmpty, !token.contains(" ") else { throw invalid("a bearer token must be one word after 'Bearer '") }
            self = .bearer(token: token)
            return
        }
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            throw invalid("expected USER:PASSWORD or Bearer TOKEN")
        }
        self = .basic(user: String(line[..<colon]), password: String(line[line.index(after: colon)...]))
    }

    /// The value of the `Authorization` header.
    var authorization: String {
        switch self {
        case let .basic(user, password): "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        case let .bearer(token): "Bearer " + token
        }
    }

    /// `Basic (user NAME)` or `Bearer token`: what may be shown.
    public var description: String {
        switch self {
        case let .basic(user, _): "Basic (user \(user))"
        case .bearer: "Bearer token"
        }
    }
}
