import ArgumentParser
import Foundation
import VeilDesk

/// `veil review users`: the review desk's users file.
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage the review desk's users: names, roles and bcrypt password hashes.",
        subcommands: [Add.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user to a users file, or replace one, asking for the password.",
            usage: "veil review users add <name> --role <role> ... --users <file>\n     [--password-stdin]",
            discussion: """
            Roles: reviewer (confirms and rejects, sees level-0 previews), revealer (a \
            reviewer who may step a preview up, giving a reason), auditor (reads the audit \
            trail, decides nothing). The password is asked twice on the terminal, without \
            echo; --password-stdin reads it from the first line of standard input, for \
            scripts. It needs 12 characters at least. Only its bcrypt hash is stored; the \
            file is created readable by its owner only.

            Exit codes: 0 written; 64 a bad name, role, password or users file; 73 the file \
            cannot be written.

            Examples:
              veil review users add dr.lee --role reviewer --role revealer \\
                --users users.yaml
              printf '%s\\n' "$PASSWORD" | veil review users add audit.office \\
                --role auditor --users users.yaml --password-stdin
            """
        )

        @Argument(help: "The user's name, recorded as the reviewer of their decisions.") var name: String
        @Option(help: "A role: reviewer, revealer or auditor (repeatable).") var role: [DeskRole] = []
        @Option(help: "The users file (YAML); created if missing.") var users: String
        @ArgumentParser.Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false

        func validate() throws {
            if role.isEmpty { throw ValidationError("Give at least one --role: reviewer, revealer or auditor.") }
        }

        func run() throws {
            var file: UsersFile
            do {
                file = FileManager.default.fileExists(atPath: users) ? try UsersFile.load(path: users) : UsersFile()
            } catch { throw CommandFailure(.usage, "\(error)") }
            let password: String
            if passwordStdin || isatty(STDIN_FILENO) == 0 {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw CommandFailure(.usage, "no password on standard input")
                }
                password = line
            } else {
                let first = try Self.askWithoutEcho("Password for \(name): ")
                let again = try Self.askWithoutEcho("Again: ")
                guard first == again else { throw CommandFailure(.usage, "the two passwords differ; nothing written") }
                password = first
            }
            do { try file.set(name: name, roles: Set(role), password: password, file: users) } catch {
                throw CommandFailure(.usage, "\(error)")
            }
            let folder = (users as NSString).deletingLastPathComponent
            var isFolder: ObjCBool = false
            if !folder.isEmpty && !(FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue) {
                throw CommandFailure(.outputFailed, "cannot write \(users): there is no folder \(folder)")
            }
            // Owner-only from the start: the temporary file is made 0600 before it holds a hash.
            let temporary = users + ".veil-partial-\(UUID().uuidString)"
            do {
                guard FileManager.default.createFile(atPath: temporary, contents: Data(file.yaml.utf8), attributes: [.posixPermissions: 0o600]),
                      rename(temporary, users) == 0 else { throw CocoaError(.fileWriteUnknown) }
            } catch {
                try? FileManager.default.removeItem(atPath: temporary)
                throw CommandFailure(.outputFailed, "cannot write \(users): \(plainReason(error))")
            }
            warn("\(name): \(role.map(\.rawValue).sorted().joined(separator: ", ")) in \(users)")
        }

        /// Reads a line from the terminal with echo off, restoring the terminal after.
        static func askWithoutEcho(_ prompt: String) throws -> String {
            writeToStandardError(prompt)
            var saved = termios()
            tcgetattr(STDIN_FILENO, &saved)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
            defer {
                tcsetattr(STDIN_FILENO, TCSANOW, &saved)
                writeToStandardError("\n")
            }
            guard let line = readLine(strippingNewline: true) else { throw CommandFailure(.usage, "no password given") }
            return line
        }
    }
}

extension DeskRole: ExpressibleByArgument {}
