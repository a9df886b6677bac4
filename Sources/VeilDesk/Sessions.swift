import Foundation
import HummingbirdBcrypt

/// A signed-in person's session at the desk.
public struct DeskSession: Sendable, Equatable {
    /// The cookie's value: 32 random bytes, hex.
    public let id: String
    /// The person.
    public let user: String
    /// Sent with every form and checked on every POST.
    public let csrfToken: String
    /// When it began; it ends ``SessionStore/absoluteTimeout`` later whatever happens.
    public let started: Date
    /// When it was last used; it ends ``SessionStore/idleTimeout`` after that.
    public var lastUsed: Date
    /// The preview level this session was granted, by suggestion id, through reveals the
    /// ledger recorded. Absent means level 0. A grant belongs to the session, not the user:
    /// it ends with it.
    public var revealed: [Int64: Int] = [:]
}

/// The desk's sessions and sign-in throttle, in memory: a restart signs everyone out, which
/// is the safe way round. Ids come from the system's cryptographic generator; a sign-in
/// always makes a new id (an id known before sign-in is worth nothing after it).
public final class SessionStore: @unchecked Sendable {
    /// Unused for this long, a session ends.
    public let idleTimeout: TimeInterval
    /// Used or not, a session ends this long after sign-in.
    public let absoluteTimeout: TimeInterval
    /// After this many failed sign-ins in ``lockoutWindow``, a name is locked out.
    public let maximumFailures: Int
    /// How far back failures count, and how long a lockout lasts from the first of them.
    public let lockoutWindow: TimeInterval
    private let now: @Sendable () -> Date
    private let lock = NSLock()
    private var sessions: [String: DeskSession] = [:]
    private var failures: [String: [Date]] = [:]
    /// How many names the throttle tracks at most. Past it, after forgetting failures older
    /// than the window, a name not yet tracked is refused as if locked out: a flood of
    /// invented names can neither grow memory without end nor push a real name's failures out.
    static let trackedNamesLimit = 4096

    /// Creates a store; `now` is the clock (tests pass their own).
    public init(idleTimeout: TimeInterval = 15 * 60, absoluteTimeout: TimeInterval = 8 * 3600, maximumFailures: Int = 5,
                lockoutWindow: TimeInterval = 15 * 60, now: @escaping @Sendable () -> Date = Date.init) {
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
        self.maximumFailures = maximumFailures
        self.lockoutWindow = lockoutWindow
        self.now = now
    }

    /// Why a sign-in was refused.
    public enum SignInError: Error, Sendable, Equatable {
        /// Name or password wrong; which one is not said.
        case wrongCredentials
        /// Too many failures lately; try again after this many seconds.
        case lockedOut(retryAfter: TimeInterval)
    }

    /// Signs `name` in if `password` is theirs: a new session, and any session id presented
    /// with the sign-in (`previous`) ended. Failures count towards a lockout of the name,
    /// which holds whatever password comes next, the right one included.
    public func signIn(name: String, password: String, users: UsersFile, previous: String? = nil) throws -> DeskSession {
        let time = now()
        let locked: TimeInterval? = lock.withLock {
            if failures[name] == nil && failures.count >= Self.trackedNamesLimit {
                failures = failures.compactMapValues { dates in
                    let recent = dates.filter { time.timeIntervalSince($0) < lockoutWindow }
                    return recent.isEmpty ? nil : recent
                }
                if failures.count >= Self.trackedNamesLimit { return lockoutWindow }
            }
            let recent = (failures[name] ?? []).filter { time.timeIntervalSince($0) < lockoutWindow }
            failures[name] = recent.isEmpty ? nil : recent
            guard recent.count >= maximumFailures, let first = recent.first else { return nil }
            return lockoutWindow - time.timeIntervalSince(first)
        }
        if let locked { throw SignInError.lockedOut(retryAfter: locked) }
        // bcrypt runs even for an unknown name, so that timing does not tell names apart.
        let user = users.users[name]
        let valid: Bool
        if let user { valid = user.verify(password: password) } else { _ = Self.dummy.verify(password: password); valid = false }
        return try lock.withLock {
            if let previous { sessions[previous] = nil }
            guard valid else {
                failures[name, default: []].append(time)
                throw SignInError.wrongCredentials
            }
            failures[name] = nil
            // Sessions nobody came back to are forgotten here, so that they cannot pile up.
            if sessions.count >= 1024 {
                sessions = sessions.filter { time.timeIntervalSince($0.value.lastUsed) < idleTimeout
                    && time.timeIntervalSince($0.value.started) < absoluteTimeout }
            }
            let session = DeskSession(id: Self.randomHex(), user: name, csrfToken: Self.randomHex(), started: time, lastUsed: time)
            sessions[session.id] = session
            return session
        }
    }

    /// The live session with this id, its idle clock restarted; nil if there is none or it
    /// has timed out (then it is gone).
    public func session(_ id: String) -> DeskSession? {
        let time = now()
        return lock.withLock {
            guard var session = sessions[id] else { return nil }
            guard time.timeIntervalSince(session.lastUsed) < idleTimeout, time.timeIntervalSince(session.started) < absoluteTimeout else {
                sessions[id] = nil
                return nil
            }
            session.lastUsed = time
            sessions[id] = session
            return session
        }
    }

    /// Records that `session` may now see `suggestion`'s preview at `level`. Call it only
    /// after the ledger has recorded the reveal. Returns false if the session has ended.
    @discardableResult
    public func grant(level: Int, suggestion: Int64, session id: String) -> Bool {
        lock.withLock {
            guard sessions[id] != nil else { return false }
            sessions[id]!.revealed[suggestion] = max(level, sessions[id]!.revealed[suggestion] ?? 0)
            return true
        }
    }

    /// How many sessions are live (some may have timed out without being used since).
    public var count: Int { lock.withLock { sessions.count } }

    /// Ends a session (sign-out).
    public func end(_ id: String) {
        lock.withLock { sessions[id] = nil }
    }

    /// Whether `token` is the session's CSRF token, compared in constant time.
    public static func csrfMatches(_ token: String?, _ session: DeskSession) -> Bool {
        guard let token else { return false }
        return sameSecret(token, session.csrfToken)
    }

    /// Whether two secrets are equal, in time that does not depend on where they differ.
    static func sameSecret(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        return x.count == y.count && zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// 32 bytes from the system's cryptographic generator, hex.
    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// A user whose password nobody knows (a random one, hashed at the users file's cost
    /// once), verified against for unknown names, so that they take as long as known ones.
    private static let dummy = DeskUser(name: "", roles: [], passwordHash: Bcrypt.hash(randomHex(), cost: UsersFile.cost))
}
