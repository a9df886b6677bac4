import Foundation
import Testing
import VeilImage
import VeilReview
import VeilTestSupport
@testable import VeilDesk

/// The desk attacked from outside, over HTTP, against the real `veil review serve`: who gets
/// in, what each role may do, what leaves the server, and what the ledger records.
@Suite(.serialized)
struct DeskSecurityTests {
    /// The headers every response must carry, whatever its status.
    static func expectGuarded(_ reply: Client.Reply, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.header("Cache-Control") == "no-store", "\(what)", sourceLocation: sourceLocation)
        let policy = reply.header("Content-Security-Policy") ?? ""
        #expect(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"),
                "\(what): \(policy)", sourceLocation: sourceLocation)
        #expect(reply.header("X-Content-Type-Options") == "nosniff", "\(what)", sourceLocation: sourceLocation)
        #expect(reply.header("Referrer-Policy") == "no-referrer", "\(what)", sourceLocation: sourceLocation)
    }

    @Test func everyRouteButSignInNeedsASession() throws {
        let desk = try DeskHarness()
        try desk.start()
        let users = try UsersFile.load(path: desk.usersPath)
        let routes = try DeskServer(configuration: DeskConfiguration(), ledger: Ledger(path: desk.ledgerPath, create: false),
                                    users: users, faceDetector: nil).routes
        // The walk covers what the desk serves; a route added later is walked too.
        #expect(routes.count >= 11, "\(routes)")
        #expect(routes.contains { $0 == ("POST", "/cards/{id}/reveal") } && routes.contains { $0 == ("GET", "/previews/{id}") })
        let open: Set<String> = ["GET /signin", "POST /signin", "GET /desk.css", "GET /favicon.ico"]
        let id = desk.ids["restricted.nudity"]!
        for route in routes {
            var client = Client(port: desk.port)
            let target = route.path.replacingOccurrences(of: "{id}", with: "\(id)")
            let reply = try client.send(route.method, target, body: route.method == "POST" ? Data("csrf=x&decision=confirm&level=1&reason=x".utf8) : nil)
            Self.expectGuarded(reply, "\(route.method) \(target)")
            if open.contains("\(route.method) \(route.path)") {
                #expect(reply.status != 401 && reply.status != 303, "\(route) gave \(reply.status)")
                continue
            }
            let redirected = reply.status == 303 && reply.header("Location") == "/signin"
            #expect(reply.status == 401 || redirected, "\(route.method) \(target) without a session gave \(reply.status)")
        }
        // A sign-in posted without the form's token (from another site) is refused.
        var stranger = Client(port: desk.port)
        let forged = try stranger.post("/signin", ["name": "ann", "password": DeskHarness.password])
        #expect(forged.status == 403 && stranger.session == nil)
        #expect(try Ledger(path: desk.ledgerPath, create: false).decisionCount(since: .distantPast) == 0)
    }

    @Test func postsNeedThisSessionsCSRFToken() throws {
        let desk = try DeskHarness()
        try desk.start()
        var ann = try desk.signIn("ann")
        let bob = try desk.signIn("bob")
        let id = desk.ids["pending.nudity"]!
        for token in [nil, "", "0", String(repeating: "a", count: 64), bob.csrf!] {
            var pairs = [("decision", "confirm")]
            if let token { pairs.append(("csrf", token)) }
            let reply = try ann.post("/cards/\(id)/decision", pairs: pairs)
            #expect(reply.status == 403, "token \(token ?? "none") gave \(reply.status)")
            Self.expectGuarded(reply, "refused POST")
            let reveal = try ann.post("/cards/\(id)/reveal", pairs: pairs + [("level", "1"), ("reason", "x")])
            #expect(reveal.status == 403)
            #expect(try ann.post("/signout", pairs: pairs).status == 403)
        }
        let ledger = try Ledger(path: desk.ledgerPath, create: false)
        #expect(try ledger.decisionCount(since: .distantPast) == 0)
        #expect(try ledger.auditTrail().filter { $0.event == "revealed" }.isEmpty)
        // With the token, the decision is recorded under the signed-in name.
        let done = try ann.post("/cards/\(id)/decision", ["csrf": ann.csrf!, "decision": "confirm", "detail": "SCT:76752008"])
        #expect(done.status == 303)
        let entry = try #require(try ledger.entry(id))
        #expect(entry.state == .confirmed && entry.reviewer == "ann" && entry.details.map(\.value) == ["76752008"])
    }

    @Test func signInRotatesTheSessionAndSignOutEndsIt() throws {
        let desk = try DeskHarness()
        try desk.start()
        var client = try desk.signIn("ann")
        let first = try #require(client.session)
        // Signing in again while presenting the old id: a new id, and the old one is dead.
        let token = try client.get("/signin?m=x").field("token", orNil: true)
        #expect(token == nil, "a signed-in session is sent on to the queue")
        var again = Client(port: desk.port)
        again.cookies = client.cookies
        again.cookies["veil_session"] = first
        var fresh = Client(port: desk.port)
        let form = try fresh.get("/signin")
        again.cookies["veil_signin"] = form.all("Set-Cookie").first!.split(separator: ";")[0].split(separator: "=")[1].description
        #expect(try again.post("/signin", ["token": try form.field("token"), "name": "ann", "password": DeskHarness.password]).status == 303)
        let second = try #require(again.session)
        #expect(second != first)
        var old = Client(port: desk.port)
        old.cookies["veil_session"] = first
        let refused = try old.get("/")
        #expect(refused.status == 303 && refused.header("Location") == "/signin?m=expired")
        #expect(try again.get("/").status == 200)
        // Sign-out ends the session on the server, not just in the browser.
        again.csrf = try again.get("/").field("csrf")
        #expect(try again.post("/signout", ["csrf": again.csrf!]).status == 303)
        var replay = Client(port: desk.port)
        replay.cookies["veil_session"] = second
        #expect(try replay.get("/").status == 303)
        client.cookies = [:]
    }

    @Test func tamperedIdsAndLevelsAreRefused() throws {
        let desk = try DeskHarness()
        try desk.start()
        var ann = try desk.signIn("ann")
        var bob = try desk.signIn("bob")
        let face = desk.ids["astronaut.face"]!
        let targets = ["/cards/-1", "/cards/0", "/cards/01", "/cards/\(face).0", "/cards/99999999999999999999",
                       "/cards/9223372036854775807", "/cards/..%2F..%2Fetc%2Fpasswd", "/cards/../../etc/passwd",
                       "/previews/%2Fetc%2Fpasswd", "/previews/\(desk.ledgerPath)", "/previews/-\(face)",
                       "/previews/\(face)?level=-1", "/previews/\(face)?level=4", "/previews/\(face)?level=01",
                       "/previews/\(face)?level=1", "/previews/\(face)?size=original", "/previews/\(face)?level=3"]
        for target in targets {
            let reply = try ann.get(target)
            #expect([400, 403, 404].contains(reply.status), "\(target) gave \(reply.status)")
            #expect(reply.header("Content-Type")?.hasPrefix("image/") != true && !reply.text.contains("root:"), "\(target)")
            Self.expectGuarded(reply, target)
        }
        // A level revealed to one session is not revealed to another.
        let revealed = try ann.post("/cards/\(face)/reveal", ["csrf": ann.csrf!, "level": "1", "reason": "check the blocking"])
        #expect(revealed.status == 303)
        #expect(try ann.get("/previews/\(face)?level=1").status == 200)
        #expect(try bob.get("/previews/\(face)?level=1").status == 403)
        #expect(try bob.get("/previews/\(face)?level=0").status == 200)
    }

    @Test func lockoutHoldsAfterFiveFailures() throws {
        let desk = try DeskHarness()
        try desk.start()
        for attempt in 1...5 {
            var client = Client(port: desk.port)
            let token = try client.get("/signin").field("token")
            let reply = try client.post("/signin", ["token": token, "name": "bob", "password": "wrong password \(attempt)"])
            #expect(reply.status == 401 && client.session == nil)
            #expect(reply.text.contains("Wrong name or password"))
        }
        var client = Client(port: desk.port)
        let token = try client.get("/signin").field("token")
        let locked = try client.post("/signin", ["token": token, "name": "bob", "password": DeskHarness.password])
        #expect(locked.status == 429 && client.session == nil)
        #expect(Int(locked.header("Retry-After") ?? "") ?? 0 > 800)
        Self.expectGuarded(locked, "lockout")
        // Another name is not locked out by bob's failures.
        _ = try desk.signIn("ann")
    }

    @Test func revealsNeedTheRightAReasonAndOneStep() throws {
        let desk = try DeskHarness()
        try desk.start()
        var ann = try desk.signIn("ann")
        var bob = try desk.signIn("bob")
        let id = desk.ids["restricted.nudity"]!
        let ledger = try Ledger(path: desk.ledgerPath, create: false)
        func reveals() throws -> [AuditEvent] { try ledger.auditTrail().filter { $0.event == "revealed" } }
        #expect(try bob.post("/cards/\(id)/reveal", ["csrf": bob.csrf!, "level": "1", "reason": "curious"]).status == 403)
        #expect(try bob.get("/previews/\(id)?level=1").status == 403)
        #expect(try ann.post("/cards/\(id)/reveal", ["csrf": ann.csrf!, "level": "2", "reason": "skip ahead"]).status == 400)
        #expect(try ann.post("/cards/\(id)/reveal", ["csrf": ann.csrf!, "level": "1", "reason": "  "]).status == 400)
        #expect(try ann.post("/cards/\(id)/reveal", ["csrf": ann.csrf!, "level": "1", "reason": "line\nbreak"]).status == 400)
        #expect(try reveals().isEmpty)
        #expect(try ann.get("/previews/\(id)?level=1").status == 403)
        #expect(try ann.post("/cards/\(id)/reveal", ["csrf": ann.csrf!, "level": "1", "reason": "is it a burn?"]).status == 303)
        let trail = try reveals()
        #expect(trail.count == 1 && trail[0].reviewer == "ann" && trail[0].level == 1 && trail[0].reason == "is it a burn?")
        #expect(try ann.get("/previews/\(id)?level=1").header("Content-Type") == "image/jpeg")
        #expect(try ann.get("/cards/\(id)").text.contains("Reveal level 2"))
    }

    @Test func previewsAreObscuredRenderingsNeverTheFile() throws {
        let desk = try DeskHarness()
        // Another picture under a scored file's name (before the start, which warms previews).
        try FileManager.default.removeItem(at: desk.folder.appendingPathComponent("pending.png"))
        try FileManager.default.copyItem(at: desk.repository.appendingPathComponent("Samples/images/coins.jpg"),
                                         to: desk.folder.appendingPathComponent("pending.png"))
        try desk.start()
        var ann = try desk.signIn("ann")
        // Nudity suggested: a 6-block mosaic over the whole image, never enlarged (blocks of
        // 54 pixels; the source has 20-pixel checks, so an unobscured block would vary widely).
        let whole = try ann.get("/previews/\(desk.ids["restricted.nudity"]!)?size=card")
        #expect(whole.header("Content-Type") == "image/jpeg")
        let mosaic = try ImageDecoder().decode(whole.body)
        #expect(mosaic.width == 320 && mosaic.height == 240)
        for by in 0..<5 {
            for bx in 0..<6 {
                let spread = Self.spread(mosaic, x0: bx * 54 + 6, y0: by * 54 + 6, x1: min(320, bx * 54 + 48), y1: min(240, by * 54 + 48))
                #expect(spread <= 16, "block \(bx),\(by) varies by \(spread)")
            }
        }
        #expect(Self.spread(try DeskHarness.stripes(seed: 0), x0: 6, y0: 6, x1: 48, y1: 48) > 150)
        // Face only: MediaPipe's own box for this photograph (x 177.6, y 82.9, 95.3 square,
        // in 512-pixel coordinates; Tests/VeilTests/Fixtures/faces) is one flat colour at
        // level 0, and the rest of the picture is not.
        let face = try ImageDecoder().decode(try ann.get("/previews/\(desk.ids["astronaut.face"]!)?size=card").body)
        let s = 480.0 / 512.0
        #expect(Self.spread(face, x0: Int(180 * s), y0: Int(86 * s), x1: Int(270 * s), y1: Int(175 * s)) <= 16)
        #expect(Self.spread(face, x0: 0, y0: 240, x1: 480, y1: 480) > 100)
        // A file changed since it was scored is not shown at all.
        let changed = try ann.get("/previews/\(desk.ids["pending.nudity"]!)?size=card")
        #expect(changed.status == 409 && changed.header("Content-Type")?.hasPrefix("image/") == false, "\(changed.status) \(desk.logText)")
        #expect(!changed.text.contains(desk.folder.path))
    }

    /// The largest difference between any two values of a channel inside the box.
    static func spread(_ image: RGBImage, x0: Int, y0: Int, x1: Int, y1: Int) -> Int {
        var low = [255, 255, 255], high = [0, 0, 0]
        for y in y0..<y1 {
            for x in x0..<x1 {
                for c in 0..<3 {
                    let v = Int(image.pixels[(y * image.width + x) * 3 + c])
                    low[c] = min(low[c], v)
                    high[c] = max(high[c], v)
                }
            }
        }
        return (0..<3).map { high[$0] - low[$0] }.max()!
    }

    @Test func theQueueLeadsWithRestrictedThenUncertainty() throws {
        let desk = try DeskHarness()
        try desk.start()
        var ann = try desk.signIn("ann")
        #expect(Set(try Ledger(path: desk.ledgerPath, create: false).entries().map(\.sha256)).count == 4)
        let page = try ann.get("/").text
        let order = page.matches(of: /<li class="[a-z]+"><a href="\/cards\/([0-9]+)"/).map { Int64($0.1)! }
        // Restricted first; then by distance from threshold: 0.71/0.70, 0.94/0.70, 0.95/0.60.
        #expect(order == ["restricted.nudity", "pending.nudity", "astronaut.face", "bodyregion.body-region"].map { desk.ids[$0]! })
        #expect(page.contains("<strong id=\"left\">4</strong> open") && page.contains("<strong id=\"today\">0</strong>"))
        let filtered = try ann.get("/?flag=face").text.matches(of: /href="\/cards\/([0-9]+)"/).map { Int64($0.1)! }
        #expect(Set(filtered) == [desk.ids["astronaut.face"]!])
        #expect(try ann.get("/?state=bogus").status == 400)
        #expect(try ann.get("/?flag=%3Cscript%3E").status == 400)
        // A decision made with the CLI, in another process, reaches the desk's next page.
        let cli = try DeskHarness.veil(["review", "reject", "\(desk.ids["bodyregion.body-region"]!)", "--ledger", desk.ledgerPath,
                                        "--reviewer", "dr.cli"])
        #expect(cli.status == 0, "\(cli.stderr)")
        let after = try ann.get("/").text
        #expect(after.contains("<strong id=\"left\">3</strong> open") && after.contains("<strong id=\"today\">1</strong>"))
        #expect(!after.contains("href=\"/cards/\(desk.ids["bodyregion.body-region"]!)\""))
        // No path and no file name in any page.
        #expect(!page.contains(desk.folder.path) && !page.contains("astronaut.jpg"))
        #expect(!(try ann.get("/cards/\(desk.ids["astronaut.face"]!)").text.contains("astronaut.jpg")))
    }

    @Test func theAuditorReadsTheTrailAndDecidesNothing() throws {
        let desk = try DeskHarness()
        try desk.start()
        var ann = try desk.signIn("ann")
        var bob = try desk.signIn("bob")
        var aud = try desk.signIn("aud")
        let id = desk.ids["pending.nudity"]!
        #expect(try ann.post("/cards/\(id)/decision", ["csrf": ann.csrf!, "decision": "confirm"]).status == 303)
        #expect(try bob.post("/cards/\(id)/decision", ["csrf": bob.csrf!, "decision": "reject", "reason": "a shoulder"]).status == 303)
        #expect(try aud.get("/").header("Location") == "/audit")
        #expect(try aud.post("/cards/\(id)/decision", ["csrf": aud.csrf!, "decision": "confirm"]).status == 403)
        #expect(try aud.get("/cards/\(id)").status == 403)
        #expect(try aud.get("/previews/\(id)").status == 403)
        #expect(try bob.get("/audit").status == 403)
        let trail = try aud.get("/audit").text
        #expect(trail.contains("<td>rejected</td><td>bob</td>") && trail.contains("supersedes confirmed by ann"))
        let annOnly = try aud.get("/audit?reviewer=ann").text
        #expect(annOnly.contains("<td>ann</td>") && !annOnly.contains("<td>bob</td>"))
        #expect(try aud.get("/audit?date=yesterday").status == 400)
        let ledger = try Ledger(path: desk.ledgerPath, create: false)
        #expect(try ledger.entry(id)?.reviewer == "bob" && ledger.decisionCount(since: .distantPast) == 2)
    }

    @Test func theDeskRefusesToBeExposed() throws {
        let desk = try DeskHarness()
        let base = ["review", "serve", "--ledger", desk.ledgerPath]
        let wide = try DeskHarness.veil(base + ["--users", desk.usersPath, "--listen", "0.0.0.0:0"])
        #expect(wide.status == 64 && wide.stderr.contains("loopback only"), "\(wide)")
        let single = try DeskHarness.veil(base + ["--single-user", "ann", "--listen", "0.0.0.0:0", "--insecure-listen"])
        #expect(single.status == 64 && single.stderr.contains("loopback only"), "\(single)")
        #expect(try DeskHarness.veil(base).status == 64)
        #expect(try DeskHarness.veil(base + ["--users", desk.usersPath + ".missing"]).status == 66)
        #expect(try DeskHarness.veil(["review", "serve", "--ledger", desk.ledgerPath + ".missing", "--users", desk.usersPath]).status == 66)
        #expect(try DeskHarness.veil(base + ["--users", desk.usersPath, "--tls-cert", desk.usersPath]).status == 64)
        #expect(try DeskHarness.veil(base + ["--users", desk.usersPath, "--listen", "127.0.0.1"]).status == 64)
        try "users:\n  ann: {roles: [reviewr], password: \"\(DeskHarness.passwordHash)\"}\n".write(toFile: desk.usersPath, atomically: true, encoding: .utf8)
        let typo = try DeskHarness.veil(base + ["--users", desk.usersPath])
        #expect(typo.status == 64 && typo.stderr.contains("reviewr"), "\(typo)")
    }

    static let openssl = "/usr/bin/openssl", curl = "/usr/bin/curl"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: openssl) && FileManager.default.isExecutableFile(atPath: curl),
                   "openssl or curl is missing: run bash scripts/ensure-system-packages.sh --test"))
    func tlsServesSecureCookiesAndHSTS() throws {
        let desk = try DeskHarness()
        let cert = desk.folder.appendingPathComponent("desk.pem").path, key = desk.folder.appendingPathComponent("desk-key.pem").path
        let made = ReferenceTool.run(Self.openssl, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                                    "-keyout", key, "-out", cert])
        #expect(made?.status == 0, "\(made?.output ?? "")")
        try desk.start(["--tls-cert", cert, "--tls-key", key])
        let url = "https://127.0.0.1:\(desk.port)/signin"
        let reply = try #require(ReferenceTool.run(Self.curl, ["-sS", "-i", "--cacert", cert, url]))
        #expect(reply.status == 0 && reply.output.hasPrefix("HTTP/1.1 200"), "\(reply.output)")
        #expect(reply.output.contains("; Secure") && reply.output.contains("Strict-Transport-Security: max-age="))
        // Plain HTTP on the TLS port gets no page.
        let plain = ReferenceTool.run(Self.curl, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(desk.port)/signin"])
        #expect(plain?.output.hasPrefix("200") == false)
    }

    @Test func aLedgerRemovedWhileServingRecordsNothingAndSaysSo() throws {
        let desk = try DeskHarness()
        try desk.start()
        var ann = try desk.signIn("ann")
        let id = desk.ids["astronaut.face"]!
        try FileManager.default.removeItem(atPath: desk.ledgerPath)
        let decided = try ann.post("/cards/\(id)/decision", ["csrf": ann.csrf!, "decision": "confirm"])
        #expect(decided.status == 503 && decided.text.contains("Nothing was recorded"), "\(decided.status)")
        #expect(!decided.text.contains(desk.ledgerPath))
        let revealed = try ann.post("/cards/\(id)/reveal", ["csrf": ann.csrf!, "level": "1", "reason": "check"])
        #expect(revealed.status == 503)
        // The reveal was not recorded, so nothing more is shown.
        #expect(try ann.get("/previews/\(id)?level=1").status == 403)
        // The desk logs a refusal as it answers, so the second line can reach the log file
        // just after the reply reaches us: wait for it, briefly.
        func refusals() -> [Substring] { desk.logText.split(separator: "\n").filter { $0.contains("the ledger refused") } }
        let deadline = Date().addingTimeInterval(5)
        while refusals().count < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(refusals().count == 2 && !refusals().contains { $0.contains(desk.ledgerPath) }, "\(desk.logText)")
    }

    @Test func signInTokensAreTheDesksAndFormsHaveALimit() throws {
        let desk = try DeskHarness()
        try desk.start()
        // A token the desk never issued, planted in both cookie and form, is refused.
        var planted = Client(port: desk.port)
        planted.cookies["veil_signin"] = "deadbeef"
        let forged = try planted.post("/signin", ["token": "deadbeef", "name": "ann", "password": DeskHarness.password])
        #expect(forged.status == 403 && planted.session == nil)
        // An issued token works once.
        var client = Client(port: desk.port)
        let token = try client.get("/signin").field("token")
        let cookie = client.cookies
        #expect(try client.post("/signin", ["token": token, "name": "ann", "password": DeskHarness.password]).status == 303)
        var replay = Client(port: desk.port)
        replay.cookies = cookie
        #expect(try replay.post("/signin", ["token": token, "name": "ann", "password": DeskHarness.password]).status == 403)
        // Forms over 64 KB and addresses over 4 KB are refused, not failed.
        client.csrf = try client.get("/").field("csrf")
        let big = try client.post("/cards/\(desk.ids["pending.nudity"]!)/decision",
                                  ["csrf": client.csrf!, "decision": "confirm", "reason": String(repeating: "x", count: 70_000)])
        #expect(big.status == 413)
        #expect(try client.get("/?q=" + String(repeating: "A", count: 5000)).status == 400)
        #expect(try Ledger(path: desk.ledgerPath, create: false).decisionCount(since: .distantPast) == 0)
    }

    @Test func theTrailShowsTheDetailsAReviewerAdded() throws {
        let desk = try DeskHarness()
        try desk.start()
        var ann = try desk.signIn("ann")
        var aud = try desk.signIn("aud")
        let id = desk.ids["restricted.nudity"]!
        let reply = try ann.post("/cards/\(id)", pairs: [])
        #expect(reply.status == 404, "POST on a card page is no route")
        #expect(try ann.post("/cards/\(id)/decision", pairs: [("csrf", ann.csrf!), ("decision", "confirm"),
                                                            ("detail", "SCT:76752008"), ("detail", "SCT:71934003")]).status == 303)
        #expect(try ann.post("/cards/\(id)/decision", pairs: [("csrf", ann.csrf!), ("decision", "confirm"), ("detail", "SCT:131391")]).status == 400)
        let trail = try aud.get("/audit").text
        #expect(trail.contains("details: Breast, Genital"), "\(trail)")
        // The card keeps what the evidence implied apart from what the reviewer added.
        let card = try ann.get("/cards/\(id)").text
        #expect(card.contains("<dt>Details added</dt><dd><span class=\"code\">Breast (SCT 76752008)</span>"))
        let evidence = card.components(separatedBy: "<dt>Evidence implies</dt>")[1].components(separatedBy: "</dd>")[0]
        #expect(evidence.contains("Nudity Content") && !evidence.contains("Breast"))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: openssl), "openssl is missing"))
    func tlsFilesThatDoNotFitAreRefusedAtStart() throws {
        let desk = try DeskHarness()
        func file(_ name: String) -> String { desk.folder.appendingPathComponent(name).path }
        for (cert, key) in [("a.pem", "a-key.pem"), ("b.pem", "b-key.pem")] {
            _ = ReferenceTool.run(Self.openssl, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                 "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", file(key), "-out", file(cert)])
        }
        let base = ["review", "serve", "--ledger", desk.ledgerPath, "--users", desk.usersPath, "--listen", "127.0.0.1:0"]
        let mismatched = try DeskHarness.veil(base + ["--tls-cert", file("a.pem"), "--tls-key", file("b-key.pem")])
        #expect(mismatched.status == 64 && mismatched.stderr.contains("cannot be used with the certificate"), "\(mismatched)")
        let notPEM = try DeskHarness.veil(base + ["--tls-cert", desk.usersPath, "--tls-key", file("a-key.pem")])
        #expect(notPEM.status == 64 && notPEM.stderr.contains("not a PEM certificate chain"), "\(notPEM)")
        #expect(!notPEM.stderr.contains("$2b$"), "the users file's hashes must not be echoed")
    }
}
