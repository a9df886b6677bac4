import Foundation
import Testing
import VeilTestSupport
@testable import VeilDesk

/// The review desk's users and sessions: bcrypt hashes checked both ways against Python's
/// `bcrypt` (Debian's python3-bcrypt, installed by the test command), and sessions against a
/// clock the test moves.
struct DeskAccessTests {
    static let python = "/usr/bin/python3"
    static let hasBcrypt = ReferenceTool.run(python, ["-c", "import bcrypt"])?.status == 0

    @Test(.enabled(if: hasBcrypt, "python3-bcrypt is missing from /usr/bin/python3: run bash scripts/ensure-system-packages.sh --test"))
    func hashesAgreeWithPythonsBcrypt() throws {
        var file = UsersFile()
        try file.set(name: "dr.lee", roles: [.reviewer], password: "correct horse battery", file: "t")
        let veilHash = try #require(file.users["dr.lee"]).passwordHash
        #expect(veilHash.hasPrefix("$2b$12$"))
        // Python checks Veil's hash, and makes one Veil checks.
        let check = ReferenceTool.run(Self.python, ["-c", "import bcrypt,sys; print(bcrypt.checkpw(b'correct horse battery', sys.argv[1].encode()), bcrypt.checkpw(b'wrong', sys.argv[1].encode()))", veilHash])
        #expect(check?.output.trimmingCharacters(in: .whitespacesAndNewlines) == "True False", "\(check?.output ?? "no python")")
        let made = try #require(ReferenceTool.run(Self.python, ["-c", "import bcrypt; print(bcrypt.hashpw(b'another long secret', bcrypt.gensalt(rounds=4)).decode())"]))
        let user = DeskUser(name: "x", roles: [.auditor], passwordHash: made.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(user.verify(password: "another long secret"))
        #expect(!user.verify(password: "another long secreT"))
    }

    @Test func usersFileRoundTripsAndIsStrict() throws {
        var file = UsersFile()
        try file.set(name: "dr.lee", roles: [.reviewer, .revealer], password: "correct horse battery", file: "t")
        try file.set(name: "audit.office", roles: [.auditor], password: "a different passphrase", file: "t")
        let again = try UsersFile(yaml: file.yaml)
        #expect(again == file)
        let hash = try #require(file.users["dr.lee"]).passwordHash
        // Each mistake is an error naming what is wrong, never a user with other rights.
        let bad = [
            ("users:\n  dr.lee: {roles: [reviewer], password: \"\(hash)\", admin: true}\n", "unknown key 'admin'"),
            ("users:\n  dr.lee: {roles: [reviewr], password: \"\(hash)\"}\n", "unknown role 'reviewr'"),
            ("users:\n  dr.lee: {roles: [reviewer], password: plaintext}\n", "must be a bcrypt hash"),
            ("users:\n  dr.lee: {roles: [], password: \"\(hash)\"}\n", "needs roles"),
            ("users:\n  \"dr lee/../x\": {roles: [reviewer], password: \"\(hash)\"}\n", "names are 1 to 64"),
            ("people: {}\n", "one key, 'users'"),
        ]
        for (yaml, reason) in bad {
            #expect { try UsersFile(yaml: yaml, file: "u.yaml") } throws: { "\($0)".contains(reason) && "\($0)".contains("u.yaml") }
        }
        #expect(throws: UsersFileError.self) { try file.set(name: "short", roles: [.reviewer], password: "too short", file: "t") }
        #expect(throws: UsersFileError.self) { try file.set(name: "long", roles: [.reviewer], password: String(repeating: "x", count: 73), file: "t") }
        #expect(throws: UsersFileError.self) { try file.set(name: "noroles", roles: [], password: "correct horse battery", file: "t") }
    }

    final class Clock: @unchecked Sendable {
        var time = Date(timeIntervalSince1970: 1_800_000_000)
        func advance(_ seconds: TimeInterval) { time += seconds }
    }

    @Test func sessionsRotateTimeOutAndLockOut() throws {
        var users = UsersFile()
        try users.set(name: "dr.lee", roles: [.reviewer], password: "correct horse battery", file: "t")
        let clock = Clock()
        let store = SessionStore(idleTimeout: 60, absoluteTimeout: 600, maximumFailures: 3, lockoutWindow: 300, now: { clock.time })

        // A sign-in makes a new id and ends the one presented with it.
        let first = try store.signIn(name: "dr.lee", password: "correct horse battery", users: users)
        let second = try store.signIn(name: "dr.lee", password: "correct horse battery", users: users, previous: first.id)
        #expect(first.id != second.id && first.id.count == 64 && first.csrfToken != first.id)
        #expect(store.session(first.id) == nil && store.session(second.id) != nil)

        // Idle: used within a minute it lives; left for a minute it ends.
        clock.advance(50)
        #expect(store.session(second.id) != nil)
        clock.advance(61)
        #expect(store.session(second.id) == nil)
        // Absolute: however busy, it ends after ten minutes.
        let busy = try store.signIn(name: "dr.lee", password: "correct horse battery", users: users)
        for _ in 0..<10 { clock.advance(55); _ = store.session(busy.id) }
        clock.advance(55)
        #expect(store.session(busy.id) == nil)

        // CSRF: the session's token only.
        #expect(SessionStore.csrfMatches(busy.csrfToken, busy))
        let altered = String(busy.csrfToken.dropLast()) + (busy.csrfToken.hasSuffix("0") ? "1" : "0")
        #expect(!SessionStore.csrfMatches(nil, busy) && !SessionStore.csrfMatches(altered, busy) && !SessionStore.csrfMatches("", busy))

        // Wrong passwords, and an unknown name, say the same thing.
        #expect(throws: SessionStore.SignInError.wrongCredentials) { try store.signIn(name: "nobody", password: "correct horse battery", users: users) }
        for _ in 0..<3 {
            #expect(throws: SessionStore.SignInError.wrongCredentials) { try store.signIn(name: "dr.lee", password: "guess", users: users) }
        }
        // Locked out: even the right password is refused until the window has passed.
        #expect { try store.signIn(name: "dr.lee", password: "correct horse battery", users: users) } throws: {
            if case .lockedOut(let retry)? = $0 as? SessionStore.SignInError { return retry > 0 && retry <= 300 }
            return false
        }
        clock.advance(301)
        #expect(try store.signIn(name: "dr.lee", password: "correct horse battery", users: users).user == "dr.lee")
    }
}
