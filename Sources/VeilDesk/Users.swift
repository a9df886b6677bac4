import Foundation
import HummingbirdBcrypt
import Yams

/// What a person may do at the review desk.
public enum DeskRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Confirms and rejects suggestions; sees previews at level 0 only.
    case reviewer
    /// A reviewer who may also step a preview up, one level at a time, giving a reason.
    case revealer
    /// Reads the audit trail; decides nothing.
    case auditor

    public static func < (a: DeskRole, b: DeskRole) -> Bool { a.rawValue < b.rawValue }
}

/// One person of the users file.
public struct DeskUser: Sendable, Equatable {
    /// The name decisions are recorded under.
    public var name: String
    /// What the person may do.
    public var roles: Set<DeskRole>
    /// The bcrypt hash of the password (`$2b$…`).
    public var passwordHash: String

    /// Whether `password` is this person's: bcrypt's own comparison.
    public func verify(password: String) -> Bool {
        Bcrypt.verify(password, hash: passwordHash)
    }
}

/// A users file that cannot be used, naming the file and the cause.
public struct UsersFileError: Error, Sendable, CustomStringConvertible {
    /// The users file.
    public var file: String
    /// What is wrong.
    public var reason: String
    public var description: String { "\(file): \(reason)" }
}

/// The review desk's users: a YAML file of names, roles and bcrypt password hashes, which
/// `veil review users add` writes. Strict like every Veil file: an unknown key, an unknown
/// role or a hash that is not bcrypt is an error, never a user who silently cannot sign in
/// or who gets a right by a typo.
///
/// ```yaml
/// users:
///   dr.lee: {roles: [reviewer, revealer], password: "$2b$12$…"}
///   audit.office: {roles: [auditor], password: "$2b$12$…"}
/// ```
public struct UsersFile: Sendable, Equatable {
    /// The users, by name.
    public var users: [String: DeskUser]

    /// Creates a users file holding `users`.
    public init(users: [String: DeskUser] = [:]) { self.users = users }

    /// bcrypt's cost for new hashes: 2¹² rounds, about a quarter of a second, which makes
    /// guessing slow and a sign-in still quick.
    public static let cost: UInt8 = 12

    /// Reads the file at `path`.
    public static func load(path: String) throws -> UsersFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw UsersFileError(file: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such users file")
        }
        return try UsersFile(yaml: text, file: path)
    }

    /// Parses users YAML; `file` names the source in errors.
    public init(yaml: String, file: String = "<users>") throws {
        func fail(_ reason: String) -> UsersFileError { UsersFileError(file: file, reason: reason) }
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            // Where, never what: the file holds password hashes, which errors must not echo.
            switch error as? YamlError {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                throw fail("not valid YAML at line \(mark.line), column \(mark.column): \(problem)")
            case let .duplicatedKeysInMapping(duplicates, _):
                throw fail("names \(duplicates.sorted().joined(separator: ", ")) more than once")
            default:
                throw fail("not valid YAML")
            }
        }
        guard let mapping = root?.mapping, mapping.count == 1, let usersNode = mapping["users"] else {
            throw fail("must hold one key, 'users', mapping names to {roles, password}")
        }
        var users: [String: DeskUser] = [:]
        guard let entries = usersNode.mapping else { throw fail("'users' must map names to {roles, password}") }
        for (key, value) in entries {
            guard let name = key.string else { throw fail("user names must be text") }
            if let problem = Self.nameProblem(name) { throw fail("user '\(name)': \(problem)") }
            guard let fields = value.mapping else { throw fail("user '\(name)' must be {roles, password}") }
            for field in fields.keys.compactMap(\.string) where !["roles", "password"].contains(field) {
                throw fail("user '\(name)': unknown key '\(field)'; the keys are roles and password")
            }
            guard let roleNodes = fields["roles"]?.sequence, !roleNodes.isEmpty else {
                throw fail("user '\(name)' needs roles: a list of \(DeskRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var roles: Set<DeskRole> = []
            for node in roleNodes {
                guard let raw = node.string, let role = DeskRole(rawValue: raw) else {
                    throw fail("user '\(name)': unknown role '\(node.string ?? "?")'; the roles are \(DeskRole.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                roles.insert(role)
            }
            guard let hash = fields["password"]?.string, Self.isBcrypt(hash) else {
                throw fail("user '\(name)': password must be a bcrypt hash ($2a$, $2b$ or $2y$), as `veil review users add` writes it")
            }
            users[name] = DeskUser(name: name, roles: roles, passwordHash: hash)
        }
        self.users = users
    }

    /// This file as YAML, users in name order; loading it gives the same users.
    public var yaml: String {
        var lines = ["users:"]
        if users.isEmpty { lines = ["users: {}"] }
        for name in users.keys.sorted() {
            let user = users[name]!
            lines.append("  \(Self.quoted(name)): {roles: [\(user.roles.sorted().map(\.rawValue).joined(separator: ", "))], password: \(Self.quoted(user.passwordHash))}")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Adds or replaces a user, hashing `password` with bcrypt at ``cost``.
    ///
    /// - Throws: ``UsersFileError`` for a bad name, no roles, or a password under 12
    ///   characters (bcrypt reads at most 72 bytes, so longer ones are refused too).
    public mutating func set(name: String, roles: Set<DeskRole>, password: String, file: String) throws {
        if let problem = Self.nameProblem(name) { throw UsersFileError(file: file, reason: "user '\(name)': \(problem)") }
        guard !roles.isEmpty else { throw UsersFileError(file: file, reason: "user '\(name)' needs at least one role") }
        guard password.count >= 12 else { throw UsersFileError(file: file, reason: "the password must have at least 12 characters") }
        guard password.utf8.count <= 72 else { throw UsersFileError(file: file, reason: "bcrypt reads at most 72 bytes of a password; this one has \(password.utf8.count)") }
        users[name] = DeskUser(name: name, roles: roles, passwordHash: Bcrypt.hash(password, cost: Self.cost))
    }

    /// Why `name` cannot be a user's, or nil: it is recorded as the reviewer in the ledger,
    /// so letters, digits, dots, hyphens and underscores only.
    static func nameProblem(_ name: String) -> String? {
        let ok = !name.isEmpty && name.count <= 64 && name.unicodeScalars.allSatisfy {
            ($0.properties.isAlphabetic || ("0"..."9").contains($0) || [".", "-", "_"].contains($0)) && $0.isASCII
        }
        return ok ? nil : "names are 1 to 64 ASCII letters, digits, dots, hyphens and underscores"
    }

    static func isBcrypt(_ hash: String) -> Bool {
        let parts = hash.split(separator: "$", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0].isEmpty && ["2a", "2b", "2y"].contains(parts[1]) && parts[2].count == 2
            && parts[2].allSatisfy(\.isNumber) && parts[3].count == 53
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
