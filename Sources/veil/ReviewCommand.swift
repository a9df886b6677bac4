import ArgumentParser
import Foundation
import Veil
import VeilPolicy
import VeilReview

struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Review suggestions in a ledger: list them, confirm or reject them, export labels.",
        discussion: """
        A label becomes final only through a reviewer's decision recorded here. Decisions are \
        append-only: a later decision supersedes an earlier one, and both stay in the audit trail.

        Examples:
          veil score --ledger review.sqlite /archive/photos > scores.jsonl
          veil review list --ledger review.sqlite --state restricted
          veil review confirm 17 --ledger review.sqlite --reviewer dr.lee \\
            --reason "exposed breast"
          veil review export --ledger review.sqlite --format csv > labels.csv
        """,
        subcommands: [List.self, Confirm.self, Reject.self, Export.self, Audit.self]
    )

    struct LedgerOption: ParsableArguments {
        @Option(help: "The review ledger (SQLite), as `veil score --ledger` made it.")
        var ledger: String

        /// Review commands never create a ledger: a mistyped path must not look like an
        /// empty queue.
        func open() throws -> Ledger {
            do { return try Ledger(path: ledger, create: false) } catch let error as LedgerError {
                throw CommandFailure(error.isMissing ? .noInput : .usage, "\(error)")
            }
        }
    }

    static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List suggestions with their current state.",
                                                        usage: "veil review list --ledger <ledger> [--flag <flag>] [--state <state>]\n     [--json]")
        @OptionGroup var options: LedgerOption
        @Option(help: "Only this flag.") var flag: Flag?
        @Option(help: "Only this state: pending, restricted, confirmed, rejected.") var state: ReviewState?
        @ArgumentParser.Flag(help: "Print JSON lines.") var json = false

        /// Control characters shown as `\n`, `\t` or `\u{…}`, and backslashes doubled.
        static func escaped(_ text: String) -> String {
            var out = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default:
                    out += scalar.properties.generalCategory == .control ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
                }
            }
            return out
        }

        mutating func validate() throws {
        }

        func run() throws {
            let ledger = try options.open()
            // A misspelt flag would list nothing, which reads as "nothing to review".
            if let flag, !Policy.builtInFlags.contains(flag), try !ledger.entries().contains(where: { $0.flag == flag }) {
                throw CommandFailure(.usage, "no suggestion in \(options.ledger) has the flag '\(flag)'; Veil's flags are \(Policy.builtInFlags.map(\.rawValue).joined(separator: ", "))")
            }
            let entries = try ledger.entries(flag: flag, state: state)
            if json {
                for e in entries { try StandardOutput.line(String(decoding: try ReviewCommand.encoder().encode(e), as: UTF8.self)) }
                return
            }
            try StandardOutput.line("id\tstate\tflag\tscore\tpath")
            // Paths are shown escaped: a file name holding a line break or tab must not be
            // able to forge a row of this table.
            for e in entries {
                try StandardOutput.line("\(e.suggestionID)\t\(e.state.rawValue)\t\(e.flag)\t\(String(format: "%.3f", e.score))\t\(Self.escaped(e.path))")
            }
        }
    }

    struct DecisionArguments: ParsableArguments {
        @OptionGroup var options: LedgerOption
        @Argument(help: "The suggestion id (from `veil review list`).") var id: Int64
        @Option(help: "Who decides; recorded in the ledger.") var reviewer: String
        @Option(help: "Why, in a few words (optional; no patient identifiers).") var reason: String?

        func record(_ decision: Decision) throws {
            let ledger = try options.open()
            let receipt: DecisionReceipt
            do {
                receipt = try ledger.decide(suggestion: id, reviewer: reviewer, decision: decision, reason: reason)
            } catch {
                throw CommandFailure(.usage, "\(error)")
            }
            var text = "suggestion \(id): \(decision.rawValue) by \(reviewer) (decision \(receipt.id))"
            for past in receipt.supersedes {
                let which = past.suggestionID == id ? "the earlier decision on this suggestion" : "the decision on suggestion \(past.suggestionID)"
                text += "; supersedes \(which), \(past.id): \(past.decision.rawValue) by \(past.reviewer) at \(past.decidedAt)"
            }
            try StandardOutput.line(text)
        }
    }

    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Confirm a suggestion: the flag applies.",
                                                        usage: "veil review confirm --ledger <ledger> <id> --reviewer <reviewer>\n     [--reason <reason>]")
        @OptionGroup var arguments: DecisionArguments
        func run() throws { try arguments.record(.confirmed) }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a suggestion: the flag does not apply.",
                                                        usage: "veil review reject --ledger <ledger> <id> --reviewer <reviewer>\n     [--reason <reason>]")
        @OptionGroup var arguments: DecisionArguments
        func run() throws { try arguments.record(.rejected) }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export the confirmed labels as JSON lines or CSV, with their security labels.",
            discussion: """
            Each label carries the HL7 v3 Confidentiality code its flag maps to in the policy, \
            shaped as a FHIR meta.security Coding (system \(SecurityLabel.confidentialitySystem)).
            """
        )
        @OptionGroup var options: LedgerOption
        @Option(help: "jsonl or csv.") var format: RecordFormat = .jsonl

        mutating func validate() throws {
        }

        func run() throws {
            let labels = try options.open().entries(state: .confirmed).compactMap(ConfirmedLabel.init)
            if format == .csv {
                try StandardOutput.line(ConfirmedLabel.csvHeader)
                for label in labels { try StandardOutput.line(label.csvRow) }
                return
            }
            for label in labels { try StandardOutput.line(String(decoding: try ReviewCommand.encoder().encode(label), as: UTF8.self)) }
        }
    }

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the whole audit trail as JSON lines, oldest first.")
        @OptionGroup var options: LedgerOption
        func run() throws {
            for event in try options.open().auditTrail() {
                try StandardOutput.line(String(decoding: try ReviewCommand.encoder().encode(event), as: UTF8.self))
            }
        }
    }
}
