import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import Mustache
import NIOCore
import Veil
import VeilReview

/// How the review desk is served.
public struct DeskConfiguration: Sendable {
    /// The address to listen on: a host name or IP address.
    public var host: String
    /// The port; 0 lets the system choose one (``DeskServer/run(onListening:)`` reports it).
    public var port: Int
    /// The PEM certificate chain and private key for HTTPS, or nil for plain HTTP.
    public var tls: (certificateChain: String, privateKey: String)?
    /// Whether plain HTTP may listen beyond loopback. Sessions and reviewers' passwords
    /// then cross the network in clear; only for a TLS-terminating proxy on another host.
    public var allowsInsecureListen: Bool
    /// Whether the users are one person's (`--single-user`): then the desk must stay on loopback.
    public var isSingleUser: Bool
    /// The longest side of a queue thumbnail and of a card's preview, in pixels.
    public var thumbnailSide = 160, cardSide = 480

    /// Creates a configuration; the defaults listen on 127.0.0.1:8080 over plain HTTP.
    public init(host: String = "127.0.0.1", port: Int = 8080, tls: (certificateChain: String, privateKey: String)? = nil,
                allowsInsecureListen: Bool = false, isSingleUser: Bool = false) {
        self.host = host
        self.port = port
        self.tls = tls
        self.allowsInsecureListen = allowsInsecureListen
        self.isSingleUser = isSingleUser
    }

    /// Whether `host` names this machine's loopback interface only.
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "[::1]" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Refuses a configuration that would expose the desk: plain HTTP beyond loopback without
    /// ``allowsInsecureListen``, or a single-user desk beyond loopback.
    public func check() throws {
        guard (1...65535).contains(port) || port == 0 else { throw DeskError.configuration("port \(port) is not a TCP port") }
        if isSingleUser && !Self.isLoopback(host) {
            throw DeskError.configuration("a single-user desk listens on loopback only (127.0.0.1 or ::1), not \(host); give a users file to serve others")
        }
        if tls == nil && !Self.isLoopback(host) && !allowsInsecureListen {
            throw DeskError.configuration("without --tls-cert and --tls-key the desk listens on loopback only; \(host) would send passwords and sessions in clear (put it behind a TLS proxy, or give --insecure-listen if one terminates TLS for it)")
        }
    }
}

/// Why the desk cannot start or serve.
public enum DeskError: Error, Sendable, CustomStringConvertible {
    /// The configuration would expose the desk, or is not usable.
    case configuration(String)
    /// The TLS certificate or key cannot be read; names the file.
    case tls(file: String, reason: String)
    /// The desk's own templates or files are missing or broken (an installation fault).
    case installation(String)

    public var description: String {
        switch self {
        case let .configuration(reason): return reason
        case let .tls(file, reason): return "\(file): \(reason)"
        case let .installation(reason): return "the review desk is not installed properly: \(reason)"
        }
    }
}

/// The review desk: a web queue over one ledger where signed-in reviewers confirm and reject
/// suggestions, see previews at the level they may, and auditors read the trail. Pages are
/// rendered on the server; the only script is keyboard shortcuts; nothing comes from
/// another origin.
public final class DeskServer: Sendable {
    let configuration: DeskConfiguration
    let tlsConfiguration: TLSConfiguration?
    let desk: Desk

    /// Creates a desk over `ledger` for `users`. `faceDetector` finds the faces a face-only
    /// preview blocks; without one, such previews are obscured whole.
    public init(configuration: DeskConfiguration, ledger: Ledger, users: UsersFile, sessions: SessionStore = SessionStore(),
                faceDetector: FaceDetector?, logger: Logger = Logger(label: "veil.desk")) throws {
        try configuration.check()
        self.configuration = configuration
        // Certificate and key are checked now, so that a bad file stops the start, not the listener.
        tlsConfiguration = try configuration.tls.map(Self.tlsConfiguration)
        self.desk = try Desk(ledger: ledger, users: users, sessions: sessions,
                             previews: PreviewRenderer(faceDetector: faceDetector,
                                                       sides: (configuration.thumbnailSide, configuration.cardSide)),
                             secure: configuration.tls != nil, logger: logger)
    }

    /// Every route the desk answers, as method and path (`{id}` for a suggestion id): the
    /// security tests walk this list.
    public var routes: [(method: String, path: String)] {
        desk.router().routes.map { ($0.method.rawValue, $0.path.description) }
    }

    /// Serves until the process receives SIGINT or SIGTERM. `onListening` gets the port once
    /// the socket is bound. Level-0 previews of the open queue are rendered in the background
    /// first, so that the first reviewers do not wait for them.
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        // A connection that sends nothing for 30 s is closed: half-sent requests cannot pile up.
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(30)))
        let server: HTTPServerBuilder
        if let tls = tlsConfiguration {
            server = try .tls(http1, tlsConfiguration: tls)
        } else {
            server = http1
        }
        let desk = self.desk
        let app = Application(
            router: desk.router(), server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                onListening(channel.localAddress?.port ?? 0)
                Task.detached(priority: .background) {
                    guard let view = try? desk.snapshot.current() else { return }
                    await desk.previews.warm(view.openQueue, flags: view.flagsSuggested)
                }
            },
            logger: desk.logger)
        try await app.runService()
    }

    static func tlsConfiguration(_ files: (certificateChain: String, privateKey: String)) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate], key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain) } catch {
            throw DeskError.tls(file: files.certificateChain, reason: "not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw DeskError.tls(file: files.certificateChain, reason: "holds no certificate") }
        do { key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem) } catch {
            throw DeskError.tls(file: files.privateKey, reason: "not a PEM private key (\(error))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        // Building a context checks that the key belongs to the certificate.
        do { _ = try NIOSSLContext(configuration: tls) } catch {
            throw DeskError.tls(file: files.privateKey, reason: "cannot be used with the certificate of \(files.certificateChain) (\(error)); is it that certificate's key?")
        }
        return tls
    }
}
