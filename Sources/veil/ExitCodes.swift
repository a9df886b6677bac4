import ArgumentParser

/// The documented exit codes of `veil`. 64 follows BSD sysexits' EX_USAGE.
enum ExitCodes {
    static let usage = ExitCode(64)
    static let fileErrors = ExitCode(65)
    static let modelUnavailable = ExitCode(69)
    static let outputFailed = ExitCode(73)
}
