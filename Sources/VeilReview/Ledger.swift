import Foundation
import GRDB
import VeilPolicy

/// The review ledger: an SQLite database (WAL mode) of images, the suggestions Veil made
/// about them, and the decisions reviewers took.
///
/// ## What the schema guarantees
/// Invariants live in the database, not in this code: NOT NULL and CHECK constraints on
/// every column, foreign keys, and triggers that refuse UPDATE and DELETE on suggestions and
/// decisions, so the audit trail is append-only even for someone with a SQLite shell. A later
/// decision supersedes an earlier one by being later; nothing is overwritten.
///
/// ## Concurrency
/// A `Ledger` wraps a GRDB `DatabasePool`: many readers, one writer at a time, and SQLite's
/// own locking between processes, so two `veil` processes writing to one ledger lose nothing.
///
/// ## Privacy
/// The ledger stores content hashes and paths, never pixels. Error messages leave out bound
/// values (GRDB's default).
public final class Ledger: Sendable {
    /// The database file.
    public let path: String
    let pool: DatabasePool
    /// The descriptor `init` locked the file through, kept open while the pool is: closing
    /// any descriptor of a database file drops every POSIX lock this process holds on it,
    /// SQLite's included (SQLite's "How To Corrupt Your Database Files", 2.2).
    private let descriptor: Descriptor

    /// Opens the ledger at `path`. With `create` (for commands that record), a missing file
    /// becomes a new ledger; without it (for commands that only read or decide), a missing
    /// file is an error, so that a mistyped path never yields an empty ledger that looks
    /// like "nothing to review".
    ///
    /// - Throws: ``LedgerError`` if the file is missing (without `create`), is not a Veil
    ///   ledger, or cannot be opened.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw LedgerError(file: path, reason: "no such review ledger", isMissing: true)
        }
        // Two processes opening a new ledger at once would both try to create the schema.
        // An exclusive advisory lock (flock, which SQLite's own fcntl locks do not see)
        // serialises opening and migrating; it is released when `init` returns. The
        // descriptor itself stays open until the pool has closed (see `lockFD`).
        let lockFD = open(path, O_RDWR | O_CREAT, 0o644)
        guard lockFD >= 0 else {
            throw LedgerError(file: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        // Closed exactly once, when the last reference goes: after `deinit` closed the pool.
        descriptor = Descriptor(lockFD)
        guard flock(lockFD, LOCK_EX) == 0 else {
            throw LedgerError(file: path, reason: "cannot lock: \(String(cString: strerror(errno)))")
        }
        defer { flock(lockFD, LOCK_UN) }
        let exists = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int).flatMap { $0 } ?? 0 > 0
        // Without `create`, an empty file is not turned into a ledger either.
        if !create && !exists { throw LedgerError(file: path, reason: "is empty, not a Veil review ledger") }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(30)  // another veil process may hold the write lock
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw LedgerError(file: path, reason: "cannot open as an SQLite database: \(Self.describe(error))")
        }
        if exists {
            // An existing file must be empty or already a Veil ledger: never migrate someone
            // else's database into one.
            let marker = try? pool.read { db -> String? in
                guard try db.tableExists("veil_ledger") else { return nil }
                return try String.fetchOne(db, sql: "SELECT value FROM veil_ledger WHERE key = 'format'")
            }
            let tables = try? pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            if marker != "veil-ledger" && tables != 0 {
                throw LedgerError(file: path, reason: "is not a Veil review ledger")
            }
        }

        do {
            try Self.migrator.migrate(pool)
        } catch {
            throw LedgerError(file: path, reason: "cannot prepare the ledger: \(Self.describe(error))")
        }
    }

    deinit {
        // The pool's connections first; the descriptor closes when `descriptor` goes, after.
        try? pool.close()
    }

    /// Throws unless `path` still names the file this ledger opened. SQLite goes on writing
    /// to a file that was deleted or replaced under it, into a file nobody will read again:
    /// every write checks first, so that a decision or a reveal is refused rather than lost.
    func ensureStillInPlace() throws {
        var opened = stat(), named = stat()
        guard fstat(descriptor.fd, &opened) == 0 else {
            throw LedgerError(file: path, reason: "cannot check the open ledger: \(String(cString: strerror(errno)))")
        }
        guard stat(path, &named) == 0, named.st_dev == opened.st_dev, named.st_ino == opened.st_ino else {
            throw LedgerError(file: path, reason: "the file was removed or replaced while the ledger was open")
        }
    }

    /// A file descriptor closed when released.
    private final class Descriptor: Sendable {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
        deinit { close(fd) }
    }

    static func describe(_ error: Error) -> String {
        if let db = error as? DatabaseError { return "\(db.resultCode): \(db.message ?? "")" }
        return "\(error)"
    }
}

/// The ledger file is unusable.
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    /// The ledger file.
    public var file: String
    /// What is wrong.
    public var reason: String
    /// The file does not exist.
    public var isMissing = false
    public var description: String { "\(file): \(reason)" }
}
