import ArgumentParser
import Foundation
import VeilDICOMweb

/// How to reach an archive's DICOMweb service: shared by `score --dicomweb` and
/// `label apply --stow`. Credentials come from a file or an environment variable, never
/// from the command line, where `ps` and shell histories would show them.
struct ArchiveOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A file holding the archive's credentials: one line, USER:PASSWORD for HTTP Basic or 'Bearer TOKEN'.", valueName: "file"))
    var credentialsFile: String?

    @Option(help: ArgumentHelp("An environment variable holding the credentials, as in --credentials-file.", valueName: "name"))
    var credentialsEnv: String?

    @Option(help: ArgumentHelp("Trust the certificate authorities in this PEM file instead of the system's.", valueName: "file"))
    var caBundle: String?

    @Option(help: "At most this many requests to the archive at once.")
    var maxRequests = 4

    @Option(help: ArgumentHelp("Seconds to wait for a connection, and for each response.", valueName: "connect,response"))
    var timeouts: Timeouts = Timeouts(connect: 10, response: 300)

    @Option(help: "Tries per request, the first included, on connection errors, 429 and 5xx.")
    var retries = 5

    struct Timeouts: ExpressibleByArgument {
        var connect: Int
        var response: Int
        init(connect: Int, response: Int) { self.connect = connect; self.response = response }
        init?(argument: String) {
            let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let c = parts[0], let r = parts[1], c > 0, r > 0 else { return nil }
            connect = c
            response = r
        }
        var defaultValueDescription: String { "\(connect),\(response)" }
    }

    func validate() throws {
        if credentialsFile != nil && credentialsEnv != nil {
            throw ValidationError("Give --credentials-file or --credentials-env, not both.")
        }
        if !(1...64).contains(maxRequests) { throw ValidationError("--max-requests must be between 1 and 64.") }
        if !(1...20).contains(retries) { throw ValidationError("--retries must be between 1 and 20.") }
    }

    /// The client configuration for the service at `url`, with the credentials read now.
    /// Exits 64 for a URL or credentials that cannot be used, 66 for a missing file.
    func configuration(url given: String, option: String) throws -> DICOMwebConfiguration {
        // What messages show: never a password someone put in the URL.
        let text = Self.redacted(given)
        guard let url = URL(string: given), url.scheme != nil else {
            throw CommandFailure(.usage, "\(option) \(text) is not a URL")
        }
        var configuration = DICOMwebConfiguration(baseURL: url)
        do {
            if let credentialsFile {
                guard FileManager.default.fileExists(atPath: credentialsFile) else {
                    throw CommandFailure(.noInput, "--credentials-file \(credentialsFile) does not exist")
                }
                let text: String
                do { text = try String(contentsOfFile: credentialsFile, encoding: .utf8) } catch {
                    throw CommandFailure(.noInput, "--credentials-file \(credentialsFile): cannot read it")
                }
                configuration.credentials = try DICOMwebCredentials(parsing: text, source: credentialsFile)
                var info = stat()
                if stat(credentialsFile, &info) == 0, info.st_mode & 0o077 != 0 {
                    warn("warning: --credentials-file \(credentialsFile) can be read by other users; chmod 600 it")
                }
            } else if let credentialsEnv {
                guard let text = ProcessInfo.processInfo.environment[credentialsEnv] else {
                    throw CommandFailure(.usage, "--credentials-env \(credentialsEnv): no such environment variable is set")
                }
                configuration.credentials = try DICOMwebCredentials(parsing: text, source: "the environment variable \(credentialsEnv)")
            }
            configuration.caBundlePath = caBundle
            if let caBundle, !FileManager.default.fileExists(atPath: caBundle) {
                throw CommandFailure(.noInput, "--ca-bundle \(caBundle) does not exist")
            }
            configuration.maxRequests = maxRequests
            configuration.connectTimeout = .seconds(timeouts.connect)
            configuration.responseTimeout = .seconds(timeouts.response)
            configuration.retry.attempts = retries
            try configuration.check()
        } catch let error as DICOMwebError {
            throw CommandFailure(.usage, "\(option) \(text): \(error.reason)")
        }
        return configuration
    }

    /// A client, or exit 64.
    func client(url: String, option: String) throws -> DICOMwebClient {
        let configuration = try configuration(url: url, option: option)
        do { return try DICOMwebClient(configuration: configuration) } catch let error as DICOMwebError {
            throw CommandFailure(.usage, "\(option) \(Self.redacted(url)): \(error.reason)")
        }
    }

    /// `url` with any user and password in it replaced by `***`.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.user != nil || components.password != nil else { return url }
        components.user = "***"
        components.password = nil
        return components.string ?? "(a URL with credentials)"
    }
}

/// Runs `body` on the concurrency pool and waits for it: the commands are synchronous,
/// the DICOMweb client is not.
func blockingAwait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingResult<T>()
    Task {
        do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
    }
    return try box.wait().get()
}

/// A result handed from a task to a waiting thread.
final class BlockingResult<T: Sendable>: @unchecked Sendable {
    private var value: Result<T, Error>?
    private let condition = NSCondition()
    func set(_ result: Result<T, Error>) {
        condition.lock()
        value = result
        condition.signal()
        condition.unlock()
    }
    func wait() -> Result<T, Error> {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}

extension ArchiveOptions {
    /// The archive options given on the command line (for refusing them without an archive).
    var givenOptions: [String] {
        var given: [String] = []
        if credentialsFile != nil { given.append("--credentials-file") }
        if credentialsEnv != nil { given.append("--credentials-env") }
        if caBundle != nil { given.append("--ca-bundle") }
        if maxRequests != 4 { given.append("--max-requests") }
        if timeouts.connect != 10 || timeouts.response != 300 { given.append("--timeouts") }
        if retries != 5 { given.append("--retries") }
        return given
    }
}

extension ExitStatus {
    /// How a failure of the archive ends a command: 75 for what may pass (the connection,
    /// timeouts, 429 and 5xx after every retry), 77 for refused credentials, and 69 for an
    /// archive that cannot be used as it is (an untrusted certificate, a search that is not
    /// found or refused: not a DICOMweb root).
    init(_ failure: DICOMwebError) {
        switch failure.kind {
        case .connection, .timeout, .unavailable: self = .archiveUnavailable
        case .unauthorized: self = .archiveRefused
        default: self = .unavailable
        }
    }
}

extension DICOMwebError {
    /// For a request to transcode an object the archive has just delivered as stored: a
    /// refusal or a 5xx is about transcoding this object (Orthanc answers 500 for syntaxes
    /// it cannot convert), not an outage, which shows as a broken connection or a timeout.
    var isAboutTranscodingThisObject: Bool {
        ![.connection, .timeout, .unauthorized, .tls].contains(kind)
    }
}

/// A `--query KEY=VALUE` term of a QIDO-RS search.
///
/// The key must be one of the attributes archives match on (PS3.18's study, series and
/// instance keys, and a few more that archives commonly index), or an 8-digit tag: an
/// archive ignores a key it does not know, so a misspelt one would search, and retrieve,
/// the whole archive. QIDO's own parameters (`limit`, `offset`, …) are Veil's to set.
struct QueryTerm: ExpressibleByArgument {
    var key: String
    var value: String

    static let keywords: Set<String> = [
        "StudyDate", "StudyTime", "AccessionNumber", "ModalitiesInStudy", "ReferringPhysicianName", "PatientName",
        "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID",
        "StudyDescription", "InstitutionName", "Modality", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription",
        "BodyPartExamined", "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime", "SeriesDate",
        "SOPClassUID", "SOPInstanceUID", "InstanceNumber", "ContentDate", "ContentTime", "AcquisitionDate",
        "ImageType", "Manufacturer", "StationName",
    ]

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "=") else { return nil }
        key = String(argument[..<equals])
        value = String(argument[argument.index(after: equals)...])
        let isTag = key.count == 8 && key.allSatisfy(\.isHexDigit)
        guard isTag || Self.keywords.contains(key) else { return nil }
    }

    static var defaultCompletionKind: CompletionKind { .list(keywords.sorted().map { $0 + "=" }) }
}
