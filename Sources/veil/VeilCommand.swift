import ArgumentParser
import Foundation
import Veil

@main
struct VeilCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "veil",
        abstract: "Find sensitive images in clinical image archives and help people label them.",
        discussion: """
        Veil suggests sensitivity flags for visible-light clinical photographs. It never \
        labels on its own: suggestions go to human review.

        Exit codes (docs/command-line.md, "Exit codes", says which command returns which):
          0   success (per-file errors are reported in the output)
          1   an unexpected internal error: please report it
          64  bad arguments, options or policy
          65  some files failed and --fail-on-error was given; a policy check failed
          66  an input, ledger or policy named does not exist
          69  a model cannot be loaded; the review desk cannot listen
          73  the output, ledger or preview cannot be written
        """,
        subcommands: [ScoreCommand.self, ReviewCommand.self, PreviewCommand.self, TuneCommand.self, VocabCommand.self,
                      PolicyCommand.self, ModelCommand.self, LabelCommand.self, EmbedCommand.self, HeadsCommand.self]
    )

    static func main() {
        // A closed pipe must be a write error that exits 73 with a message, not a silent
        // death by SIGPIPE that loses records.
        signal(SIGPIPE, SIG_IGN)
        // The process is the CLI's own, so it sets OpenBLAS up for Veil's workers (one
        // OpenBLAS thread, its idle threads ended, the right kernels) before any thread
        // starts; the library never does this for an embedder.
        OpenBLASProcessSetup.apply()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CommandFailure {
            if !failure.message.isEmpty { warn(failure.message) }
            exit(withError: failure.status.code)
        } catch {
            exit(withError: error)
        }
    }
}
