import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// A client of one archive's DICOMweb service (PS3.18): QIDO-RS to search, WADO-RS to
/// retrieve instances, STOW-RS to store them.
///
/// Every request carries the configured credentials, waits for a permit (at most
/// `maxRequests` at once), and is retried by the configuration's `RetryPolicy` on failures
/// of the connection or the archive; any other 4xx is an error at once. Redirects are not
/// followed: one could carry the credentials to another host.
///
/// Call `shutdown()` when done with it.
public final class DICOMwebClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: DICOMwebConfiguration
    private let http: HTTPClient
    private let permits: RequestPermits
    /// The root URL without a final slash.
    private let root: String

    /// A client for the service `configuration` describes. Throws a `DICOMwebError` of kind
    /// `.invalidConfiguration` when the configuration fails `check()` or its CA bundle
    /// cannot be read.
    public init(configuration: DICOMwebConfiguration) throws {
        try configuration.check()
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = configuration.caBundlePath {
            do {
                let certificates = try NIOSSLCertificate.fromPEMFile(path)
                guard !certificates.isEmpty else { throw DICOMwebError(.invalidConfiguration, url: nil, "none") }
                tls.trustRoots = .certificates(certificates)
            } catch {
                throw DICOMwebError(.invalidConfiguration, url: nil, "\(path): not a PEM file of CA certificates")
            }
        }
        var settings = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: Self.timeAmount(configuration.connectTimeout),
                           read: Self.timeAmount(configuration.responseTimeout)),
            decompression: .disabled)
        settings.connectionPool = .init(idleTimeout: .seconds(60),
                                        concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxRequests)
        self.configuration = configuration
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
        permits = RequestPermits(configuration.maxRequests)
        var root = configuration.baseURL.absoluteString
        while root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    /// Closes the client's connections. The client cannot be used afterwards.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    // MARK: QIDO-RS

    /// The studies matching `terms` (study-level keys), `limit` from `offset`, by their Study
    /// Instance UIDs.
    public func searchStudies(_ terms: [(key: String, value: String)], offset: Int, limit: Int) async throws -> [String] {
        let url = root + "/studies" + Self.queryString(terms + [("includefield", "0020000D")], offset: offset, limit: limit)
        return try await searchResults(url).map { result in
            guard let study = Self.string(result, "0020000D"), InstanceReference.isUID(study) else {
                throw DICOMwebError(.malformedResponse, url: Self.shown(url), "a study in the results has no valid Study Instance UID")
            }
            return study
        }
    }

    /// The instances of study `study` matching `terms`, `limit` from `offset`.
    public func searchInstances(inStudy study: String, _ terms: [(key: String, value: String)], offset: Int,
                                limit: Int) async throws -> [InstanceReference] {
        guard InstanceReference.isUID(study) else {
            throw DICOMwebError(.invalidConfiguration, url: nil, "\(study) is not a UID")
        }
        let url = root + "/studies/\(study)/instances" + Self.queryString(terms, offset: offset, limit: limit)
        return try await searchResults(url).map { result in
            guard let series = Self.string(result, "0020000E"), let sop = Self.string(result, "00080018"),
                  InstanceReference.isUID(series), InstanceReference.isUID(sop) else {
                throw DICOMwebError(.malformedResponse, url: Self.shown(url), "an instance in the results has no valid Series or SOP Instance UID")
            }
            return InstanceReference(studyInstanceUID: Self.string(result, "0020000D") ?? study, seriesInstanceUID: series,
                                     sopInstanceUID: sop, sopClassUID: Self.string(result, "00080016"))
        }
    }

    /// Every instance matching `query`, page by page (`pageSize` results per request): a
    /// sequence that searches only as it is read, so memory holds one page of studies and
    /// one of instances, whatever the size of the archive. Paging goes on until a page comes
    /// back empty, so that an archive that caps its pages below `pageSize` is still read to
    /// the end.
    public func instances(matching query: InstanceQuery, pageSize: Int = 100) -> InstanceSearch {
        InstanceSearch(client: self, query: query, pageSize: max(1, pageSize))
    }

    private func searchResults(_ url: String) async throws -> [[String: Any]] {
        let body = try await send(url: url, accept: "application/dicom+json") { head, body in
            // 204 No Content: no results.
            if head.status == .noContent || body.readableBytes == 0 { return Data() }
            return Data(buffer: body)
        }
        if body.isEmpty { return [] }
        guard let results = try? JSONSerialization.jsonObject(with: body) as? [[String: Any]] else {
            throw DICOMwebError(.malformedResponse, url: Self.shown(url), "the search results are not a DICOM JSON array")
        }
        return results
    }

    // MARK: WADO-RS

    /// The WADO-RS URL of `instance`: its `path` in records.
    public func url(of instance: InstanceReference) -> String {
        root + "/studies/\(instance.studyInstanceUID)/series/\(instance.seriesInstanceUID)/instances/\(instance.sopInstanceUID)"
    }

    /// Retrieves `instance` as a Part 10 file. `transferSyntax` is the syntax to ask for:
    /// `"*"` for the one the archive stores (no transcoding), a UID to have the archive
    /// transcode, or nil for the standard's default (Explicit VR Little Endian).
    public func retrieve(_ instance: InstanceReference, transferSyntax: String? = "*") async throws -> Data {
        for uid in [instance.studyInstanceUID, instance.seriesInstanceUID, instance.sopInstanceUID] where !InstanceReference.isUID(uid) {
            throw DICOMwebError(.invalidConfiguration, url: nil, "\(uid) is not a UID")
        }
        let url = url(of: instance)
        var accept = "multipart/related; type=\"application/dicom\""
        if let transferSyntax { accept += "; transfer-syntax=\(transferSyntax)" }
        return try await send(url: url, accept: accept) { head, body in
            guard let contentType = head.headers.first(name: "content-type"),
                  let boundary = MultipartRelated.boundary(ofContentType: contentType) else {
                throw DICOMwebError(.malformedResponse, url: url, status: Int(head.status.code),
                                    "the response is not multipart/related with a boundary")
            }
            let parts: [MultipartRelated.Part]
            do { parts = try MultipartRelated.parts(of: Data(buffer: body), boundary: boundary) } catch let error as DICOMwebError {
                throw DICOMwebError(.malformedResponse, url: url, status: Int(head.status.code), error.reason)
            }
            guard parts.count == 1 else {
                throw DICOMwebError(.malformedResponse, url: url, "expected one instance, got \(parts.count) parts")
            }
            if let type = parts[0].headers["content-type"], !type.lowercased().hasPrefix("application/dicom") {
                throw DICOMwebError(.malformedResponse, url: url, "the part is \(type), not application/dicom")
            }
            return parts[0].body
        }
    }

    /// Retrieves `instance`'s metadata (WADO-RS `…/metadata`): its attributes as DICOM JSON,
    /// without pixel data.
    public func retrieveMetadata(_ instance: InstanceReference) async throws -> Data {
        for uid in [instance.studyInstanceUID, instance.seriesInstanceUID, instance.sopInstanceUID] where !InstanceReference.isUID(uid) {
            throw DICOMwebError(.invalidConfiguration, url: nil, "\(uid) is not a UID")
        }
        let url = url(of: instance) + "/metadata"
        return try await send(url: url, accept: "application/dicom+json") { head, body in
            guard body.readableBytes > 0 else {
                throw DICOMwebError(.malformedResponse, url: url, status: Int(head.status.code), "the metadata is empty")
            }
            return Data(buffer: body)
        }
    }

    /// The instance a WADO-RS URL of this service names, or nil for any other URL.
    public func instance(at url: String) -> InstanceReference? {
        guard url.hasPrefix(root + "/studies/") else { return nil }
        let parts = url.dropFirst(root.count + 1).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "studies", parts[2] == "series", parts[4] == "instances",
              [parts[1], parts[3], parts[5]].allSatisfy(InstanceReference.isUID) else { return nil }
        return InstanceReference(studyInstanceUID: parts[1], seriesInstanceUID: parts[3], sopInstanceUID: parts[5])
    }

    // MARK: STOW-RS

    /// Stores `objects` (Part 10 files) in one STOW-RS request and returns the archive's
    /// answer for each instance. A whole-request failure (401, 5xx after retries) throws;
    /// a per-instance failure is in the result.
    public func store(_ objects: [Data]) async throws -> StoreResponse {
        let url = root + "/studies"
        let (body, boundary) = MultipartRelated.body(of: objects, contentType: "application/dicom")
        return try await send(url: url, method: .POST, accept: "application/dicom+json",
                              contentType: "multipart/related; type=\"application/dicom\"; boundary=\(boundary)",
                              body: body, acceptedStatuses: [409]) { head, body in
            guard body.readableBytes > 0,
                  let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
                throw DICOMwebError(.malformedResponse, url: url, status: Int(head.status.code),
                                    "the STOW-RS response is not a DICOM JSON object")
            }
            return StoreResponse(json: object, status: Int(head.status.code))
        }
    }

    // MARK: Requests

    /// Sends a request, with retries, and hands a successful (2xx, or one of
    /// `acceptedStatuses`) response's head and whole body to `read`. A `.malformedResponse`
    /// from `read` is retried too: a body cut short by a proxy looks like one.
    private func send<T>(url: String, method: HTTPMethod = .GET, accept: String, contentType: String? = nil,
                         body: Data? = nil, acceptedStatuses: Set<Int> = [],
                         read: (HTTPClientResponse, ByteBuffer) throws -> T) async throws -> T {
        var request = HTTPClientRequest(url: url)
        // A search's query may name a patient: errors show the path only.
        let url = Self.shown(url)
        request.method = method
        request.headers.add(name: "Accept", value: accept)
        if let credentials = configuration.credentials { request.headers.add(name: "Authorization", value: credentials.authorization) }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        let payload = body.map { ByteBuffer(data: $0) }
        let policy = configuration.retry
        var attempt = 0
        while true {
            attempt += 1
            var retryAfter: Duration?
            let failure: DICOMwebError
            do {
                if let payload { request.body = .bytes(payload) }
                let (response, bytes) = try await exchange(request, accepting: acceptedStatuses)
                let status = Int(response.status.code)
                switch status {
                case _ where (200..<300).contains(status) || acceptedStatuses.contains(status):
                    do { return try read(response, bytes) } catch let error as DICOMwebError where error.kind == .malformedResponse {
                        failure = error
                    }
                case 429, 500...599:
                    retryAfter = response.headers.first(name: "retry-after").flatMap(Self.retryAfter)
                    failure = DICOMwebError(.unavailable, url: url, status: status,
                                            "the archive answered \(status) \(response.status.reasonPhrase)"
                                                + (attempt > 1 ? " after \(attempt) tries" : ""))
                case 401:
                    throw DICOMwebError(.unauthorized, url: url, status: status, "the archive refused the credentials (401)"
                                            + (configuration.credentials == nil ? "; none were given" : ""))
                case 403:
                    throw DICOMwebError(.unauthorized, url: url, status: status, "the credentials are not allowed this (403)")
                case 404:
                    throw DICOMwebError(.notFound, url: url, status: status, "not found (404)")
                default:
                    throw DICOMwebError(.rejected, url: url, status: status, "the archive answered \(status) \(response.status.reasonPhrase)")
                }
            } catch let error as DICOMwebError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = Self.classify(error, url: url, attempt: attempt)
                guard Self.isRetryable(failure) else { throw failure }
            }
            if attempt >= policy.attempts { throw failure }
            try await Task.sleep(for: policy.delay(beforeRetry: attempt, retryAfter: retryAfter, unit: Double.random(in: 0..<1)))
        }
    }

    /// One request and its whole response, holding a permit throughout. The body of a
    /// response that is not a success is read only in part (so the connection can be
    /// reused) and never shown.
    private func exchange(_ request: HTTPClientRequest, accepting: Set<Int>) async throws -> (HTTPClientResponse, ByteBuffer) {
        await permits.acquire()
        do {
            let response = try await http.execute(request, deadline: .now() + Self.timeAmount(configuration.responseTimeout))
            let status = Int(response.status.code)
            let success = (200..<300).contains(status) || accepting.contains(status)
            let bytes = success ? try await response.body.collect(upTo: configuration.maxResponseBytes)
                                : (try? await response.body.collect(upTo: 64 << 10)) ?? ByteBuffer()
            await permits.release()
            return (response, bytes)
        } catch {
            await permits.release()
            throw error
        }
    }

    /// `url` as errors show it: without its query, which may hold patient identifiers.
    static func shown(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        return String(url[..<question]) + "?…"
    }

    static func isRetryable(_ error: DICOMwebError) -> Bool {
        [.connection, .timeout, .unavailable].contains(error.kind)
    }

    /// A transport error in the client's terms. Its text names the kind of failure, never
    /// anything the server sent.
    static func classify(_ error: Error, url: String, attempt: Int) -> DICOMwebError {
        let tries = attempt > 1 ? " after \(attempt) tries" : ""
        if error is NIOTooManyBytesError {
            return DICOMwebError(.tooLarge, url: url, "the response is larger than the client accepts")
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return DICOMwebError(.tls, url: url, "the TLS handshake failed (is the certificate trusted, and for this host name?)")
        }
        if let http = error as? HTTPClientError {
            if [.connectTimeout, .readTimeout, .deadlineExceeded, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout].contains(http) {
                return DICOMwebError(.timeout, url: url, "no answer in time\(tries)")
            }
            if [.remoteConnectionClosed, .bodyLengthMismatch, .uncleanShutdown].contains(http) {
                return DICOMwebError(.connection, url: url, "the connection was closed before the response was complete\(tries)")
            }
        }
        if let io = error as? IOError {
            return DICOMwebError(.connection, url: url, "cannot connect: \(String(cString: strerror(io.errnoCode)))\(tries)")
        }
        if error is ChannelError {
            return DICOMwebError(.connection, url: url, "cannot connect to the archive\(tries)")
        }
        return DICOMwebError(.connection, url: url, "the request failed (\(type(of: error)))\(tries)")
    }

    /// `Retry-After` as a delay: delta-seconds or an HTTP date.
    static func retryAfter(_ value: String) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(max(0, Int(date.timeIntervalSinceNow * 1000)))
    }

    static func queryString(_ terms: [(key: String, value: String)], offset: Int, limit: Int) -> String {
        var components = URLComponents()
        components.queryItems = terms.map { URLQueryItem(name: $0.key, value: $0.value) }
            + [URLQueryItem(name: "limit", value: String(limit)), URLQueryItem(name: "offset", value: String(offset))]
        // `+` would read as a space in a query.
        return "?" + (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
    }

    /// The first value of a DICOM JSON attribute, as a string.
    static func string(_ object: [String: Any], _ tag: String) -> String? {
        guard let attribute = object[tag] as? [String: Any], let values = attribute["Value"] as? [Any],
              let first = values.first else { return nil }
        return first as? String ?? (first as? NSNumber)?.stringValue
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
