import Foundation

/// Where an archive's DICOMweb service is and how to talk to it: a `Sendable` value checked
/// once, by `DICOMwebClient.init`, before any request is made.
public struct DICOMwebConfiguration: Sendable {
    /// The service's root, e.g. `https://pacs.example.org/dicom-web`. QIDO-RS, WADO-RS and
    /// STOW-RS paths (`/instances`, `/studies/…`) are appended to it.
    public var baseURL: URL
    /// How to sign in, or nil for an archive that asks for nothing.
    public var credentials: DICOMwebCredentials?
    /// A PEM file of certificate authorities to trust instead of the system's store.
    public var caBundlePath: String?
    /// How long to wait for a connection.
    public var connectTimeout: Duration = .seconds(10)
    /// How long one request may take, from sending it to the last byte of its response.
    public var responseTimeout: Duration = .seconds(300)
    /// At most this many requests at once, so that one client does not flood the archive.
    public var maxRequests: Int = 4
    /// How failed requests are tried again.
    public var retry = RetryPolicy()
    /// The largest response body accepted, in bytes: a guard against a runaway response, not
    /// a limit on what archives hold.
    public var maxResponseBytes: Int = 1 << 31

    /// A configuration for the service at `baseURL`, with the defaults above.
    public init(baseURL: URL, credentials: DICOMwebCredentials? = nil) {
        self.baseURL = baseURL
        self.credentials = credentials
    }

    /// Throws a `DICOMwebError` of kind `.invalidConfiguration` for a URL or a setting the
    /// client will not use. Credentials in the URL are refused: they would end up in logs
    /// and records, where the URL is shown.
    public func check() throws {
        func invalid(_ reason: String) -> DICOMwebError { DICOMwebError(.invalidConfiguration, url: nil, reason) }
        guard let components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty else {
            throw invalid("the DICOMweb URL must be http:// or https:// with a host")
        }
        if components.user != nil || components.password != nil {
            throw invalid("the DICOMweb URL holds credentials; give them in a file or an environment variable instead")
        }
        if components.query != nil || components.fragment != nil {
            throw invalid("the DICOMweb URL must be the service's root, without a query or fragment")
        }
        if credentials != nil && scheme == "http" && !Self.isLoopback(host) {
            throw invalid("credentials would be sent in clear text to \(host); use https://")
        }
        if caBundlePath != nil && scheme != "https" { throw invalid("a CA bundle is given, but the URL is not https://") }
        guard (1...64).contains(maxRequests) else { throw invalid("the number of concurrent requests must be between 1 and 64") }
        guard connectTimeout > .zero, responseTimeout > .zero else { throw invalid("timeouts must be positive") }
        guard retry.attempts >= 1 else { throw invalid("a request must be tried at least once") }
    }

    /// Loopback hosts, where plain HTTP never leaves the machine.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// How a failed request is tried again: on a broken or refused connection, a timeout, a
/// 429 (waiting as long as its `Retry-After` asks) or a 5xx, after an exponentially growing
/// delay with full jitter, so that many clients do not retry in step.
public struct RetryPolicy: Sendable {
    /// Tries in all, the first included.
    public var attempts: Int = 5
    /// The ceiling of the first retry's delay; each later one doubles it.
    public var initialDelay: Duration = .milliseconds(500)
    /// No delay is longer than this, `Retry-After` included.
    public var maxDelay: Duration = .seconds(30)

    /// The default policy: 5 tries, from 0.5 s up to 30 s apart.
    public init() {}

    /// A policy with the given tries and delays.
    public init(attempts: Int, initialDelay: Duration, maxDelay: Duration) {
        self.attempts = attempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The delay before retry `retry` (1 for the first), given the server's `Retry-After`
    /// in seconds if it sent one. `unit` is a uniform random number in [0, 1).
    func delay(beforeRetry retry: Int, retryAfter: Duration?, unit: Double) -> Duration {
        if let retryAfter { return min(retryAfter, maxDelay) }
        let ceiling = min(initialDelay * (1 << min(retry - 1, 20)), maxDelay)
        return ceiling * unit
    }
}
