import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Mustache
import NIOCore
import VeilReview

/// A request's context: Hummingbird's, plus the session its cookie names, if live.
struct DeskContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var session: DeskSession?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// What a handler refuses with; the middleware turns it into a page.
enum DeskRefusal: Error {
    /// No live session: pages redirect to sign-in, everything else gets 401.
    case signInNeeded
    /// Signed in, but the role does not allow it (403).
    case forbidden(String)
    /// No such suggestion, or an id that is not one (404).
    case notFound
    /// A form or query the desk does not accept (400), with what to fix.
    case badRequest(String)
    /// A POST without the session's CSRF token (403).
    case staleForm
    /// A request body over the desk's limit (413).
    case tooLarge
}

/// The desk's state and its routes; `DeskServer` serves it.
final class Desk: Sendable {
    let ledger: Ledger
    /// What the pages read: the ledger's entries as of its last change.
    let snapshot: LedgerSnapshot
    let users: UsersFile
    let sessions: SessionStore
    let previews: PreviewRenderer
    /// Under TLS: cookies are `Secure`, and HSTS is sent.
    let secure: Bool
    let logger: Logger
    let templates: MustacheLibrary
    let stylesheet: ByteBuffer, script: ByteBuffer
    /// The sign-in forms handed out and not yet used.
    let signInTokens = SignInTokens()
    /// bcrypt takes a quarter of a second of CPU; it runs here, not on the server's threads.
    private let passwordQueue = DispatchQueue(label: "veil.desk.passwords", attributes: .concurrent)

    static let sessionCookie = "veil_session", signInCookie = "veil_signin"

    init(ledger: Ledger, users: UsersFile, sessions: SessionStore, previews: PreviewRenderer, secure: Bool, logger: Logger) throws {
        self.ledger = ledger
        self.snapshot = LedgerSnapshot(ledger: ledger)
        self.users = users
        self.sessions = sessions
        self.previews = previews
        self.secure = secure
        self.logger = logger
        guard let folder = Bundle.module.resourceURL?.appendingPathComponent("Templates") else {
            throw DeskError.installation("no resource folder")
        }
        var library = MustacheLibrary()
        for name in ["head", "foot", "signin", "queue", "card", "audit", "message"] {
            let file = folder.appendingPathComponent("\(name).mustache")
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw DeskError.installation("\(file.lastPathComponent) is missing") }
            do { try library.register(text, named: name) } catch { throw DeskError.installation("\(file.lastPathComponent): \(error)") }
        }
        templates = library
        func asset(_ name: String) throws -> ByteBuffer {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { throw DeskError.installation("\(name) is missing") }
            return ByteBuffer(bytes: data)
        }
        stylesheet = try asset("desk.css")
        script = try asset("desk.js")
    }

    // MARK: Responses

    /// A page from template `name`.
    func page(_ name: String, _ view: Any, status: HTTPResponse.Status = .ok) -> Response {
        let html = templates.render(view, withTemplate: name) ?? "<!doctype html><title>Error</title><p>The page could not be drawn."
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A 303 to `location`, a path on this server.
    func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location]
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// A `Set-Cookie` value: never readable by script, never sent from another site.
    func cookie(_ name: String, _ value: String, path: String = "/", maxAge: Int? = nil) -> String {
        var text = "\(name)=\(value); Path=\(path); HttpOnly; SameSite=Strict"
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        if secure { text += "; Secure" }
        return text
    }

    /// The message page for a refusal or failure.
    func message(_ title: String, _ text: String, status: HTTPResponse.Status, session: DeskSession?) -> Response {
        page("message", MessageView(chrome: chrome(session, title: title), text: text), status: status)
    }

    /// What every signed-in page shows around its content.
    func chrome(_ session: DeskSession?, title: String) -> Chrome {
        let roles = session.flatMap { users.users[$0.user]?.roles } ?? []
        return Chrome(title: title, user: session?.user, csrf: session?.csrfToken,
                      canReview: Self.canReview(roles), isAuditor: roles.contains(.auditor))
    }

    // MARK: Access

    static func canReview(_ roles: Set<DeskRole>) -> Bool { roles.contains(.reviewer) || roles.contains(.revealer) }

    /// The session, with the right `role`; throws a refusal otherwise. `.reviewer` is met by
    /// a revealer too.
    func require(_ context: DeskContext, _ role: DeskRole) throws -> DeskSession {
        guard let session = context.session else { throw DeskRefusal.signInNeeded }
        let roles = users.users[session.user]?.roles ?? []
        let allowed = role == .reviewer ? Self.canReview(roles) : roles.contains(role)
        guard allowed else {
            let what = ["reviewer": "review suggestions", "revealer": "reveal previews", "auditor": "read the audit trail"][role.rawValue]!
            throw DeskRefusal.forbidden("\(session.user) may not \(what) (roles: \(roles.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
        return session
    }

    /// A suggestion id as the URL gives it: digits only, no sign, no leading zero, within Int64.
    static func suggestionID(_ context: DeskContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let first = text.first, first != "0", text.count <= 18,
              text.allSatisfy({ $0.isASCII && $0.isNumber }), let id = Int64(text) else { throw DeskRefusal.notFound }
        return id
    }

    /// Runs bcrypt off the server's threads.
    func signIn(name: String, password: String, previous: String?) async -> Result<DeskSession, SessionStore.SignInError> {
        await withCheckedContinuation { continuation in
            passwordQueue.async {
                do {
                    continuation.resume(returning: .success(try self.sessions.signIn(name: name, password: password, users: self.users, previous: previous)))
                } catch let error as SessionStore.SignInError {
                    continuation.resume(returning: .failure(error))
                } catch {
                    continuation.resume(returning: .failure(.wrongCredentials))
                }
            }
        }
    }

    /// The open suggestions in the desk's order.
    func openQueue() throws -> [LedgerEntry] {
        try snapshot.current().openQueue
    }
}

/// The tokens of the sign-in forms the desk handed out: a sign-in must bring one, once, within
/// 30 minutes. At most 10,000 are kept; the oldest go first.
final class SignInTokens: @unchecked Sendable {
    private let lock = NSLock()
    private var issued: [String: Date] = [:]
    private var order: [String] = []
    static let lifetime: TimeInterval = 30 * 60, limit = 10_000

    /// A new token.
    func issue() -> String {
        let token = SessionStore.randomHex()
        lock.withLock {
            issued[token] = Date()
            order.append(token)
            while order.count > Self.limit { issued[order.removeFirst()] = nil }
        }
        return token
    }

    /// Whether `token` was issued, is fresh and unused; it is used up either way.
    func redeem(_ token: String) -> Bool {
        lock.withLock {
            guard let when = issued.removeValue(forKey: token) else { return false }
            if let index = order.firstIndex(of: token) { order.remove(at: index) }
            return Date().timeIntervalSince(when) < Self.lifetime
        }
    }
}

/// Sets the session from its cookie, turns refusals into pages, and puts the security headers
/// on every response, refusals and errors included.
struct DeskMiddleware: RouterMiddleware {
    typealias Context = DeskContext
    let desk: Desk

    func handle(_ request: Request, context: DeskContext, next: (Request, DeskContext) async throws -> Response) async throws -> Response {
        var context = context
        if let id = request.cookies[Desk.sessionCookie]?.value, !id.isEmpty {
            context.session = desk.sessions.session(id)
        }
        var response: Response
        do {
            // No page takes a long address; a long one is a probe or a mistake.
            guard request.uri.description.utf8.count <= 4096 else {
                throw DeskRefusal.badRequest("the address is longer than 4,096 characters")
            }
            response = try await next(request, context)
        } catch let refusal as DeskRefusal {
            response = refused(refusal, request: request, session: context.session)
        } catch let error as LedgerError {
            // The reason only: the ledger's path stays out of pages and logs.
            desk.logger.error("desk: the ledger refused: \(error.reason)")
            response = desk.message("Not recorded", "The review ledger cannot be used right now (\(error.reason)). Nothing was recorded or shown; tell whoever runs the desk.",
                                    status: .serviceUnavailable, session: context.session)
        } catch let error as HTTPError {
            response = desk.message("Not here", error.status == .notFound ? "There is no such page." : "The request was refused (\(error.status.code)).",
                                    status: error.status, session: context.session)
        } catch {
            // Never the error's text: it may hold a path.
            desk.logger.error("desk: \(request.method) \(request.uri.path) failed: \(type(of: error))")
            response = desk.message("Something went wrong", "The desk could not do that. Nothing was recorded.", status: .internalServerError,
                                    session: context.session)
        }
        Self.secure(&response.headers, tls: desk.secure)
        return response
    }

    func refused(_ refusal: DeskRefusal, request: Request, session: DeskSession?) -> Response {
        switch refusal {
        case .signInNeeded:
            // Pages send a browser to sign in; anything else gets a plain 401.
            if request.method == .get && request.uri.path != "/desk.js" && !request.uri.path.hasPrefix("/previews/") {
                // A cookie that names no live session: it timed out, or the desk restarted.
                let expired = !(request.cookies[Desk.sessionCookie]?.value ?? "").isEmpty
                return desk.redirect(expired ? "/signin?m=expired" : "/signin")
            }
            var response = desk.message("Sign in", "Sign in first.", status: .unauthorized, session: nil)
            response.headers[.wwwAuthenticate] = "Cookie realm=\"Veil review desk\""
            return response
        case .forbidden(let why):
            return desk.message("Not allowed", why, status: .forbidden, session: session)
        case .notFound:
            return desk.message("Not found", "There is no such suggestion.", status: .notFound, session: session)
        case .badRequest(let why):
            return desk.message("Not accepted", why, status: .badRequest, session: session)
        case .tooLarge:
            return desk.message("Too large", "The desk takes forms of at most 64 KB.", status: .contentTooLarge, session: session)
        case .staleForm:
            return desk.message("Form expired", "That form is no longer valid (it belongs to another session). Go back, reload the page and try again.",
                                status: .forbidden, session: session)
        }
    }

    /// Nothing stored, nothing from another origin, nothing sniffed, nothing referred, never framed.
    static func secure(_ headers: inout HTTPFields, tls: Bool) {
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        headers[HTTPField.Name("Cross-Origin-Resource-Policy")!] = "same-origin"
        if tls { headers[.strictTransportSecurity] = "max-age=31536000" }
    }
}
