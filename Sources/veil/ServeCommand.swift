import ArgumentParser
import Foundation
import Logging
import Veil
import VeilDesk
import VeilReview

/// `veil review serve`: the review desk.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the review desk: a web queue where reviewers decide suggestions.",
        usage: """
        veil review serve --ledger <ledger> --users <users>
             [--listen <host:port>] [--tls-cert <pem> --tls-key <pem>]
             [--insecure-listen]
        veil review serve --ledger <ledger> --single-user <name>
             [--listen <host:port>] [--tls-cert <pem> --tls-key <pem>]
        """,
        discussion: """
        Reviewers sign in with the names and passwords of the users file (`veil review \
        users add`). Reviewers confirm and reject; revealers may also step a preview up, \
        one level at a time, giving a reason that the ledger records before the image is \
        shown; auditors read the audit trail. Previews start at level 0: faces blocked, \
        and a mosaic when nudity, body-region or sensitive-content was suggested.

        Without --tls-cert and --tls-key the desk listens on loopback only; put it behind \
        a TLS reverse proxy to serve a network (README, "Review"). --insecure-listen lifts \
        that, for a proxy on another host, and warns.

        --single-user NAME needs no users file: the desk stays on loopback, gives NAME \
        every role, and prints a password for NAME that is good until the desk stops.

        The users file is read at start: restart the desk after `veil review users add`.

        Sessions end after 15 minutes unused and 8 hours in all; five failed sign-ins \
        lock a name out for 15 minutes. Ctrl-C stops the desk; everyone is signed out.

        Exit codes: 64 bad options, an exposed address or an unusable users file; 66 the \
        ledger, users file or a TLS file does not exist; 69 the desk cannot listen.

        Examples:
          veil review users add dr.lee --role reviewer --users users.yaml
          veil review serve --ledger review.sqlite --users users.yaml
          veil review serve --ledger review.sqlite --single-user dr.lee
          veil review serve --ledger review.sqlite --users users.yaml \\
            --listen 0.0.0.0:8443 --tls-cert desk.pem --tls-key desk-key.pem
        """
    )

    @Option(help: "The review ledger (SQLite), as `veil score --ledger` made it.") var ledger: String
    @Option(help: "The users file (YAML) that `veil review users add` writes.") var users: String?
    @Option(help: "Serve one person on loopback, with a password for this run, no users file.") var singleUser: String?
    @Option(help: "Where to listen, as host:port ([::1]:8080 for IPv6; port 0 picks one).") var listen = "127.0.0.1:8080"
    @Option(help: "A PEM certificate chain: serve HTTPS (needs --tls-key).") var tlsCert: String?
    @Option(help: "The PEM private key of --tls-cert.") var tlsKey: String?
    @ArgumentParser.Flag(help: "Allow plain HTTP beyond loopback (only behind a TLS proxy).") var insecureListen = false

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together.") }
        if users != nil && singleUser != nil { throw ValidationError("Give --users or --single-user, not both.") }
        if users == nil && singleUser == nil {
            throw ValidationError("Give --users FILE, or --single-user NAME to serve one person on loopback.")
        }
        _ = try Self.address(listen)
    }

    /// `host:port`, `[v6]:port`.
    static func address(_ text: String) throws -> (host: String, port: Int) {
        let host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") {
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            throw ValidationError("--listen takes host:port, e.g. 127.0.0.1:8080 or [::1]:8080; got '\(text)'.")
        }
        // A host name or an IP address: letters, digits, dots, hyphens and (IPv6) colons.
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) }) else {
            throw ValidationError("--listen: '\(host)' is not a host name or IP address.")
        }
        guard let number = Int(port), (0...65535).contains(number) else {
            throw ValidationError("--listen takes host:port with a port from 0 to 65535; got '\(text)'.")
        }
        return (String(host), number)
    }

    func run() throws {
        let (host, port) = try Self.address(listen)
        let openLedger: Ledger
        do { openLedger = try Ledger(path: ledger, create: false) } catch let error as LedgerError {
            throw CommandFailure(error.isMissing ? .noInput : .usage, "\(error)")
        }
        for file in [users, tlsCert, tlsKey].compactMap({ $0 }) where !FileManager.default.fileExists(atPath: file) {
            throw CommandFailure(.noInput, "\(file): no such file")
        }
        var userList: UsersFile
        var sessionPassword: String?
        if let users {
            do { userList = try UsersFile.load(path: users) } catch { throw CommandFailure(.usage, "\(error)") }
            if userList.users.isEmpty { throw CommandFailure(.usage, "\(users): holds no users; add one with `veil review users add`") }
            if let mode = (try? FileManager.default.attributesOfItem(atPath: users))?[.posixPermissions] as? Int, mode & 0o044 != 0 {
                warn("warning: \(users) is readable by other users of this machine (chmod 600 it): its hashes can be guessed at offline")
            }
            for user in userList.users.values.sorted(by: { $0.name < $1.name }) where (Int(user.passwordHash.dropFirst(4).prefix(2)) ?? 0) < 10 {
                warn("warning: \(user.name)'s password hash has a bcrypt cost under 10, quick to guess at; set it again with `veil review users add`")
            }
        } else {
            let name = singleUser!, password = Self.runPassword()
            userList = UsersFile()
            do { try userList.set(name: name, roles: Set(DeskRole.allCases), password: password, file: "--single-user") } catch {
                throw CommandFailure(.usage, "\(error)")
            }
            sessionPassword = password
        }
        let tls = tlsCert.map { (certificateChain: $0, privateKey: tlsKey!) }
        let configuration = DeskConfiguration(host: host, port: port, tls: tls, allowsInsecureListen: insecureListen,
                                              isSingleUser: singleUser != nil)
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "veil.desk")
        logger.logLevel = .info
        // Without the detector a face-only preview cannot block just the faces: it is obscured whole.
        var faceDetector: FaceDetector?
        do { faceDetector = try FaceDetector.loadDefault(runtime: Runtime(threads: 1)) } catch {
            warn("warning: the face detector cannot be loaded (\(error)); face-only previews are obscured whole")
        }
        let server: DeskServer
        do {
            server = try DeskServer(configuration: configuration, ledger: openLedger, users: userList,
                                    faceDetector: faceDetector, logger: logger)
        } catch {
            throw CommandFailure(.usage, "\(error)")
        }
        if insecureListen && tls == nil && !DeskConfiguration.isLoopback(host) {
            warn("WARNING: plain HTTP on \(host): passwords and sessions cross the network in clear. Only a TLS proxy may sit in front of this.")
        }
        let scheme = tls == nil ? "http" : "https"
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let open = ((try? openLedger.entries()) ?? []).filter(ReviewQueue.isOpen).count
        let userNote = users.map { "users from \($0)" } ?? "single user \(singleUser!)"
        let password = sessionPassword
        let result = Box()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run { bound in
                    warn("review desk for \(ledger) at \(scheme)://\(shownHost):\(bound)/ (\(open) open; \(userNote)); Ctrl-C stops it")
                    if ["0.0.0.0", "::", "[::]"].contains(host) {
                        warn("listening on every address of this machine: browse to its host name, port \(bound)")
                    }
                    if let password {
                        warn("sign in as \(singleUser!) with the password \(password) (good until the desk stops)")
                    }
                }
            } catch {
                result.failure = "the desk cannot listen on \(listen): \(error)"
            }
            done.signal()
        }
        done.wait()
        if let failure = result.failure { throw CommandFailure(.unavailable, failure) }
        warn("review desk stopped; everyone is signed out")
    }

    /// 20 characters from an alphabet without look-alikes, from the system's generator.
    static func runPassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }

    private final class Box: @unchecked Sendable { var failure: String? }
}
