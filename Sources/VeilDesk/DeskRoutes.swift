import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import Veil
import VeilPolicy
import VeilReview
import VeilVocabulary

extension Desk {
    /// The routes. Only sign-in, the stylesheet and the (empty) favicon are open; every other
    /// route checks the session and the role first. URLs carry ledger ids only: never a path or a UID.
    func router() -> Router<DeskContext> {
        let router = Router(context: DeskContext.self)
        // Middleware first: it wraps only the routes added after it.
        router.add(middleware: DeskMiddleware(desk: self))
        router.get("/signin") { request, context in self.signInPage(request, context) }
        router.post("/signin") { request, context in try await self.signInSubmitted(request, context) }
        router.get("/desk.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"], body: .init(byteBuffer: self.stylesheet))
        }
        router.get("/desk.js") { _, context in
            _ = try self.require(context, .reviewer)
            return Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"], body: .init(byteBuffer: self.script))
        }
        // Browsers ask for it on every page; nothing, rather than a 404 in the console.
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.post("/signout") { request, context in try await self.signOut(request, context) }
        router.get("/") { request, context in try self.queuePage(request, context) }
        router.get("/cards/:id") { request, context in try self.cardPage(request, context) }
        router.post("/cards/:id/decision") { request, context in try await self.decide(request, context) }
        router.post("/cards/:id/reveal") { request, context in try await self.reveal(request, context) }
        router.get("/previews/:id") { request, context in try await self.preview(request, context) }
        router.get("/audit") { request, context in try self.auditPage(request, context) }
        return router
    }

    // MARK: Signing in and out

    func signInPage(_ request: Request, _ context: DeskContext, notice: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        if context.session != nil && notice == nil { return redirect("/") }
        // A token in a cookie and in the form: a sign-in posted from another site has neither.
        let token = signInTokens.issue()
        let reason = ["signed-out": "You are signed out.", "expired": "Your session ended; sign in again."][request.uri.queryParameters["m"].map(String.init) ?? ""]
        var response = page("signin", SignInView(chrome: chrome(nil, title: "Sign in"), token: token, notice: notice ?? reason), status: status)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.signInCookie, token, path: "/signin")))
        return response
    }

    func signInSubmitted(_ request: Request, _ context: DeskContext) async throws -> Response {
        let form = try await Form(request)
        let expected = request.cookies[Self.signInCookie]?.value ?? ""
        guard !expected.isEmpty, let token = form["token"], SessionStore.sameSecret(token, expected), signInTokens.redeem(token) else {
            return signInPage(request, context, notice: "The sign-in form expired. Try again.", status: .forbidden)
        }
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form["password"] ?? ""
        let previous = request.cookies[Self.sessionCookie]?.value
        switch await signIn(name: name, password: password, previous: previous) {
        case .success(let session):
            logger.info("desk: \(session.user) signed in")
            return redirect("/", cookies: [cookie(Self.sessionCookie, session.id), cookie(Self.signInCookie, "", path: "/signin", maxAge: 0)])
        case .failure(.lockedOut(let retryAfter)):
            logger.notice("desk: sign-in refused, locked out: \(users.users[name] == nil ? "an unknown name" : name)")
            var response = signInPage(request, context, notice: "Too many failed sign-ins. Try again in \(Int((retryAfter / 60).rounded(.up))) minute(s).",
                                      status: .tooManyRequests)
            response.headers[.retryAfter] = String(Int(retryAfter.rounded(.up)))
            return response
        case .failure(.wrongCredentials):
            logger.notice("desk: failed sign-in for \(users.users[name] == nil ? "an unknown name" : name)")
            return signInPage(request, context, notice: "Wrong name or password.", status: .unauthorized)
        }
    }

    func signOut(_ request: Request, _ context: DeskContext) async throws -> Response {
        guard let session = context.session else { throw DeskRefusal.signInNeeded }
        try await checkCSRF(request, session)
        sessions.end(session.id)
        logger.info("desk: \(session.user) signed out")
        return redirect("/signin?m=signed-out", cookies: [cookie(Self.sessionCookie, "", maxAge: 0)])
    }

    /// Reads the form of a POST and checks its CSRF token against the session's.
    @discardableResult
    func checkCSRF(_ request: Request, _ session: DeskSession) async throws -> Form {
        let form = try await Form(request)
        guard SessionStore.csrfMatches(form["csrf"], session) else { throw DeskRefusal.staleForm }
        return form
    }

    // MARK: The queue

    func queuePage(_ request: Request, _ context: DeskContext) throws -> Response {
        guard let session = context.session else { throw DeskRefusal.signInNeeded }
        let roles = users.users[session.user]?.roles ?? []
        // An auditor who reviews nothing starts at the trail.
        if !Self.canReview(roles) && roles.contains(.auditor) { return redirect("/audit") }
        _ = try require(context, .reviewer)
        let query = request.uri.queryParameters
        let flagFilter = try Self.flagFilter(query["flag"])
        let stateFilter = query["state"].map(String.init) ?? "open"
        guard QueueView.states.contains(where: { $0.0 == stateFilter }) else {
            throw DeskRefusal.badRequest("state must be one of \(QueueView.states.map(\.0).joined(separator: ", "))")
        }
        let ledgerView = try snapshot.current()
        let open = ledgerView.openQueue
        let chosen = flagFilter == nil && stateFilter == "open" ? open : ledgerView.ordered.filter { e in
            (flagFilter == nil || e.flag == flagFilter) && (stateFilter == "all" || (stateFilter == "open" ? ReviewQueue.isOpen(e) : e.state.rawValue == stateFilter))
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let today = calendar.startOfDay(for: Date())
        let shown = chosen.prefix(QueueView.pageSize)
        var view = QueueView(
            chrome: chrome(session, title: "Queue"), left: open.count, decidedToday: try ledger.decisionCount(since: today),
            matching: chosen.count, items: shown.map { QueueItem($0, thumbnailPath: "/previews/\($0.suggestionID)?size=thumb") },
            hidden: max(0, chosen.count - shown.count),
            flags: [Option(value: "", label: "all flags", selected: flagFilter == nil)]
                + ledgerView.flags.map { Option(value: $0, label: $0, selected: $0 == flagFilter?.rawValue) },
            states: QueueView.states.map { Option(value: $0.0, label: $0.1, selected: $0.0 == stateFilter) },
            first: shown.first.map { "/cards/\($0.suggestionID)" })
        view.hasHidden = view.hidden > 0
        view.queueEmpty = view.left == 0
        return page("queue", view)
    }

    // MARK: A card

    func cardPage(_ request: Request, _ context: DeskContext) throws -> Response {
        let session = try require(context, .reviewer)
        let id = try Self.suggestionID(context)
        let ledgerView = try snapshot.current()
        guard let entry = ledgerView.entry(id) else { throw DeskRefusal.notFound }
        let queue = ledgerView.openQueue
        let position = queue.firstIndex { $0.suggestionID == id }
        // Next and previous follow the open queue; a decided card leads back into it.
        let next = position.map { $0 + 1 < queue.count ? queue[$0 + 1] : nil } ?? queue.first
        let previous = position.flatMap { $0 > 0 ? queue[$0 - 1] : nil }
        let level = session.revealed[id] ?? 0
        let roles = users.users[session.user]?.roles ?? []
        let others = ledgerView.others(of: entry)
        var notice: String?
        if let after = request.uri.queryParameters["after"].flatMap({ Int64(String($0)) }), let done = ledgerView.entry(after),
           done.reviewer == session.user {
            notice = "Suggestion \(after) \(done.state.rawValue)."
        }
        let view = CardView(
            entry: entry, chrome: chrome(session, title: "Suggestion \(id)"), level: level,
            canReveal: roles.contains(.revealer), position: position.map { "\($0 + 1) of \(queue.count) open" } ?? "not open",
            next: next.map { "/cards/\($0.suggestionID)" }, previous: previous.map { "/cards/\($0.suggestionID)" },
            others: others.map { "\($0.flag.rawValue) (\($0.state.rawValue))" }, notice: notice)
        return page("card", view)
    }

    func decide(_ request: Request, _ context: DeskContext) async throws -> Response {
        let session = try require(context, .reviewer)
        let id = try Self.suggestionID(context)
        let form = try await checkCSRF(request, session)
        let ledgerView = try snapshot.current()
        guard let entry = ledgerView.entry(id) else { throw DeskRefusal.notFound }
        let decision: Decision
        switch form["decision"] {
        case "confirm": decision = .confirmed
        case "reject": decision = .rejected
        default: throw DeskRefusal.badRequest("decision must be confirm or reject")
        }
        let reason = try Self.shortText(form["reason"], field: "reason", required: false)
        var details: [LabelCode] = []
        for key in form.all("detail") where !key.isEmpty {
            guard let code = SensitiveContentCode.recognize(key), code.group == .detail else {
                throw DeskRefusal.badRequest("detail \(key) is not a code of CID 901 (Sensitive Content Detail)")
            }
            details.append(code.label)
        }
        if decision == .rejected && !details.isEmpty { throw DeskRefusal.badRequest("details describe a confirmed flag; a rejection takes none") }
        // The next card is chosen from the queue as it stood before this decision.
        let queue = ledgerView.openQueue
        let position = queue.firstIndex { $0.suggestionID == id }
        let receipt = try ledger.decide(suggestion: id, reviewer: session.user, decision: decision, reason: reason, details: details)
        logger.info("desk: \(session.user) \(decision.rawValue) suggestion \(id) (\(entry.flag.rawValue), decision \(receipt.id))")
        let rest = queue.filter { $0.suggestionID != id }
        let following = position.flatMap { p in queue.dropFirst(p + 1).first } ?? rest.first
        guard let following else { return redirect("/?after=\(id)") }
        return redirect("/cards/\(following.suggestionID)?after=\(id)")
    }

    // MARK: Reveals and previews

    func reveal(_ request: Request, _ context: DeskContext) async throws -> Response {
        let session = try require(context, .revealer)
        let id = try Self.suggestionID(context)
        let form = try await checkCSRF(request, session)
        guard let entry = try snapshot.current().entry(id) else { throw DeskRefusal.notFound }
        let current = session.revealed[id] ?? 0
        guard current < Preview.clearLevel else { throw DeskRefusal.badRequest("level \(current) is the clear image: there is nothing more to reveal") }
        guard let level = form["level"].flatMap({ Int($0) }), level == current + 1 else {
            throw DeskRefusal.badRequest("a reveal steps up one level at a time: from level \(current) only to \(current + 1)")
        }
        guard let reason = try Self.shortText(form["reason"], field: "reason", required: true) else {
            throw DeskRefusal.badRequest("a reveal needs a reason")
        }
        // The ledger first: if it cannot record the reveal, nothing more is shown.
        let image = LedgerImage(sha256: entry.sha256, path: entry.path, width: entry.width, height: entry.height,
                                studyInstanceUID: entry.studyInstanceUID, seriesInstanceUID: entry.seriesInstanceUID,
                                sopInstanceUID: entry.sopInstanceUID)
        try ledger.recordReveal(image: image, reviewer: session.user, level: level, reason: reason)
        guard sessions.grant(level: level, suggestion: id, session: session.id) else { throw DeskRefusal.signInNeeded }
        logger.info("desk: \(session.user) revealed suggestion \(id) to level \(level)")
        return redirect("/cards/\(id)")
    }

    func preview(_ request: Request, _ context: DeskContext) async throws -> Response {
        let session = try require(context, .reviewer)
        let id = try Self.suggestionID(context)
        let query = request.uri.queryParameters
        let levelText = query["level"].map(String.init) ?? "0"
        guard let level = Int(levelText), (0...Preview.clearLevel).contains(level), levelText.count == 1 else {
            throw DeskRefusal.badRequest("level must be 0 to \(Preview.clearLevel)")
        }
        guard let size = PreviewRenderer.Size(rawValue: query["size"].map(String.init) ?? "card") else {
            throw DeskRefusal.badRequest("size must be thumb or card")
        }
        guard level <= session.revealed[id] ?? 0 else {
            throw DeskRefusal.forbidden("level \(level) of suggestion \(id) has not been revealed to this session")
        }
        let ledgerView = try snapshot.current()
        guard let entry = ledgerView.entry(id) else { throw DeskRefusal.notFound }
        do {
            let jpeg = try await previews.jpeg(for: entry, flags: ledgerView.flagsSuggested(for: entry), level: level, size: size)
            return Response(status: .ok, headers: [.contentType: "image/jpeg"], body: .init(byteBuffer: ByteBuffer(bytes: jpeg)))
        } catch let failure as PreviewFailure {
            let why: String, status: HTTPResponse.Status
            switch failure {
            case .missing: (why, status) = ("the file is no longer where it was scored", .notFound)
            case .changed: (why, status) = ("the file has changed since it was scored, so it is not shown", .conflict)
            case .unreadable: (why, status) = ("the file cannot be decoded", .unprocessableContent)
            }
            logger.warning("desk: no preview for suggestion \(id): \(why)")
            return Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "No preview: \(why).\n")))
        }
    }

    // MARK: The audit trail

    func auditPage(_ request: Request, _ context: DeskContext) throws -> Response {
        let session = try require(context, .auditor)
        let query = request.uri.queryParameters
        let reviewer = query["reviewer"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let day = query["date"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let day, day.count != 10 || !day.enumerated().allSatisfy({ [4, 7].contains($0.offset) ? $0.element == "-" : $0.element.isASCII && $0.element.isNumber }) {
            throw DeskRefusal.badRequest("date must be a day, as 2026-12-02")
        }
        let flag = try Self.flagFilter(query["flag"])
        let ledgerView = try snapshot.current()
        let trail = AuditRow.rows(try ledger.auditTrail(), entries: ledgerView.entries)
        let matching = trail.filter { row in
            (reviewer == nil || row.reviewer == reviewer) && (day == nil || row.at.hasPrefix(day!))
                && (flag == nil || row.flags.contains(flag!.rawValue))
        }.reversed()
        var view = AuditView(chrome: chrome(session, title: "Audit trail"), rows: Array(matching.prefix(500)), matching: matching.count,
                             reviewer: reviewer ?? "", date: day ?? "",
                             flags: [Option(value: "", label: "all flags", selected: flag == nil)]
                                + ledgerView.flags.map { Option(value: $0, label: $0, selected: $0 == flag?.rawValue) })
        view.truncated = view.matching > view.rows.count
        return page("audit", view)
    }

    /// The flag a filter names, or nil for none; a name cannot hold more than letters,
    /// digits and hyphens.
    static func flagFilter(_ text: Substring?) throws -> Flag? {
        guard let text, !text.isEmpty else { return nil }
        guard text.count <= 64, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw DeskRefusal.badRequest("a flag name holds letters, digits and hyphens only")
        }
        return Flag(String(text))
    }

    /// A short free-text field: trimmed, at most 300 characters, no control characters (it
    /// goes into the ledger and the trail's text forms).
    static func shortText(_ text: String?, field: String, required: Bool) throws -> String? {
        let value = (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if value.isEmpty {
            if required { throw DeskRefusal.badRequest("give a \(field)") }
            return nil
        }
        guard value.count <= 300 else { throw DeskRefusal.badRequest("the \(field) is longer than 300 characters") }
        guard !value.unicodeScalars.contains(where: { [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory) }) else {
            throw DeskRefusal.badRequest("the \(field) holds control characters")
        }
        return value
    }
}


/// A URL-encoded form, read from a request body of at most 64 KiB.
struct Form {
    private var fields: [(String, String)] = []

    init(_ request: Request) async throws {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 64 << 10) } catch { throw DeskRefusal.tooLarge }
        let text = String(buffer: body)
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = parts[0], let value = parts.count > 1 ? parts[1] : "" else { throw DeskRefusal.badRequest("the form is not URL-encoded") }
            fields.append((name, value))
        }
    }

    /// The first value of `name`.
    subscript(name: String) -> String? { fields.first { $0.0 == name }?.1 }

    /// Every value of `name`, in order.
    func all(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }
}
