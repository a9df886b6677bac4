import ArgumentParser

/// The documented exit codes of `veil` (README.md, "Exit codes"), after BSD sysexits.
/// Code 1 is left to swift-argument-parser for errors no command expected: a bug to report.
enum ExitCodes {
    /// EX_USAGE: bad arguments or options, or an unusable policy given with `--policy`.
    static let usage = ExitCode(64)
    /// EX_DATAERR: some inputs failed and `--fail-on-error` was given; `policy check` found a problem.
    static let fileErrors = ExitCode(65)
    /// EX_NOINPUT: an input named on the command line or in a manifest does not exist.
    static let noInput = ExitCode(66)
    /// EX_UNAVAILABLE: a model could not be loaded.
    static let modelUnavailable = ExitCode(69)
    /// EX_CANTCREAT: output, a ledger or a preview could not be written.
    static let outputFailed = ExitCode(73)
}
