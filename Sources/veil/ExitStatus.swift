import ArgumentParser
import Foundation

/// The exit statuses Veil documents (README.md and docs/command-line.md, "Exit codes"), from BSD's sysexits.h.
enum ExitStatus: Int32 {
    /// EX_USAGE: bad arguments or options, or an unusable policy given with `--policy`.
    case usage = 64
    /// EX_DATAERR: some inputs failed and `--fail-on-error` was given; `policy check` found a problem.
    case fileErrors = 65
    /// EX_NOINPUT: an input named on the command line or in a manifest does not exist.
    case noInput = 66
    /// EX_UNAVAILABLE: a model could not be loaded, the review desk cannot listen, or the
    /// archive's TLS certificate is not trusted.
    case unavailable = 69
    /// EX_CANTCREAT: output, a ledger or a preview could not be written.
    case outputFailed = 73
    /// EX_TEMPFAIL: the archive stopped answering, or kept failing, after every retry; the
    /// records written are whole, and `--resume` goes on from them.
    case archiveUnavailable = 75
    /// EX_NOPERM: the archive refused the credentials.
    case archiveRefused = 77

    var code: ExitCode { ExitCode(rawValue) }
}

/// The one error the commands throw to stop: what to tell the operator on standard error,
/// and the status to exit with. `VeilCommand.main` prints the message and exits; anything
/// else that escapes a command is a bug and exits 1.
struct CommandFailure: Error, CustomStringConvertible {
    var status: ExitStatus
    /// Empty when the reason was already reported (for example, per file as the run went on).
    var message: String

    init(_ status: ExitStatus, _ message: String = "") {
        self.status = status
        self.message = message
    }

    var description: String { message }
}
