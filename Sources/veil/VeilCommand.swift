import ArgumentParser

@main
struct VeilCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "veil",
        abstract: "Find sensitive images in clinical image archives and help people label them.",
        discussion: """
        Veil suggests sensitivity flags for visible-light clinical photographs. It never
        labels on its own: suggestions go to human review.

        Exit codes: 0 success (per-file errors are reported in the output); \
        \(ExitCodes.usage.rawValue) bad arguments; \(ExitCodes.modelUnavailable.rawValue) the model cannot be loaded; \
        \(ExitCodes.outputFailed.rawValue) the output cannot be written; \(ExitCodes.fileErrors.rawValue) some files failed \
        and --fail-on-error was given.
        """,
        subcommands: [Score.self, ReviewCommand.self, PreviewCommand.self, Tune.self, VocabCommand.self, ModelCommand.self]
    )
}
