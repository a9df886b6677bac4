import ArgumentParser
import Foundation
import Veil
import VeilPolicy
import VeilReview
import VeilVocabulary

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
        subcommands: [ServeCommand.self, List.self, Confirm.self, Reject.self, Export.self, Audit.self, UsersCommand.self]
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
                                                        usage: "veil review list --ledger <ledger> [--flag <flag>] [--state <state>]\n     [--order id|uncertainty] [--json]")
        @OptionGroup var options: LedgerOption
        @Option(help: "Only this flag.") var flag: Flag?
        @Option(help: "Only this state: pending, restricted, confirmed, rejected.") var state: ReviewState?
        @Option(help: "id: in the order raised; uncertainty: undecided suggestions nearest their threshold first, where a reviewer's decision teaches the next head fit most.")
        var order: ListOrder = .id
        @ArgumentParser.Flag(help: "Print JSON lines.") var json = false

        enum ListOrder: String, ExpressibleByArgument, CaseIterable {
            case id, uncertainty
        }

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
            var entries = try ledger.entries(flag: flag, state: state)
            if order == .uncertainty { entries = ReviewQueue.byUncertainty(entries) }
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

        func record(_ decision: Decision, details: [LabelCode] = []) throws {
            let ledger = try options.open()
            let receipt: DecisionReceipt
            do {
                receipt = try ledger.decide(suggestion: id, reviewer: reviewer, decision: decision, reason: reason, details: details)
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
        static let configuration = CommandConfiguration(
            abstract: "Confirm a suggestion: the flag applies.",
            usage: "veil review confirm --ledger <ledger> <id> --reviewer <reviewer>\n     [--reason <reason>] [--detail <code> ...]",
            discussion: """
            The label carries the flag's DICOM category (CID 900) and the details (CID 901) \
            that the evidence implied; --detail adds what the reviewer saw, e.g. \
            --detail SCT:312608009 (Laceration). A code outside CID 901 is recorded with a \
            warning, and needs its meaning: --detail 99SITE:W17=Pressure ulcer.

            Examples:
              veil review confirm 17 --ledger review.sqlite --reviewer dr.lee \\
                --detail SCT:125666000
            """)
        @OptionGroup var arguments: DecisionArguments
        @Option(name: .customLong("detail"), help: ArgumentHelp("A CID 901 detail code to add (repeatable).", valueName: "SCHEME:VALUE[=MEANING]"))
        var details: [String] = []

        func run() throws {
            var codes: [LabelCode] = []
            for text in details {
                let (key, meaning) = text.split(separator: "=", maxSplits: 1).map(String.init).splitPair
                if let known = SensitiveContentCode.recognize(key) {
                    guard known.group == .detail else {
                        throw CommandFailure(.usage, "--detail \(text): \(known) is a category (CID 900); the category comes from the policy's flag")
                    }
                    // A meaning that contradicts the code is a slip of one or the other.
                    if let meaning, meaning.trimmingCharacters(in: .whitespaces).lowercased() != known.meaning.lowercased() {
                        throw CommandFailure(.usage, "--detail \(text): CID 901 calls \(known.scheme):\(known.value) '\(known.meaning)'; give the code alone, or the code you meant")
                    }
                    codes.append(known.label)
                    continue
                }
                let parts = key.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw CommandFailure(.usage, "--detail takes SCHEME:VALUE, e.g. SCT:312608009; got '\(text)'")
                }
                guard let given = meaning?.trimmingCharacters(in: .whitespaces), !given.isEmpty else {
                    throw CommandFailure(.usage, "--detail \(text) is not a code of CID 901, so Veil does not know its meaning; give it as \(key)=MEANING")
                }
                // What DICOM lets a code item hold (PS3.5 6.2): it is written into objects.
                if let problem = Self.dicomProblem(scheme: parts[0], value: parts[1], meaning: given) {
                    throw CommandFailure(.usage, "--detail \(text): \(problem)")
                }
                warn("note: --detail \(key) is not a code of CID 901 (Sensitive Content Detail); it is recorded as given")
                codes.append(LabelCode(value: parts[1], scheme: parts[0], meaning: given))
            }
            try arguments.record(.confirmed, details: codes)
        }

        /// Why a code item with these fields would be invalid DICOM, or nil: Coding Scheme
        /// Designator is SH (16 characters), Code Value SH (or Long Code Value, UC, past 16),
        /// Code Meaning LO (64); none may hold a backslash (DICOM's value separator) or a
        /// control character.
        static func dicomProblem(scheme: String, value: String, meaning: String) -> String? {
            for (name, text) in [("the scheme", scheme), ("the code", value), ("the meaning", meaning)]
            where text.unicodeScalars.contains(where: { $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }) {
                return "\(name) holds a backslash or a control character, which DICOM does not allow in a code"
            }
            if scheme.count > 16 { return "the scheme '\(scheme)' is \(scheme.count) characters; DICOM allows 16" }
            if meaning.count > 64 { return "the meaning is \(meaning.count) characters; DICOM allows 64" }
            return nil
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a suggestion: the flag does not apply.",
                                                        usage: "veil review reject --ledger <ledger> <id> --reviewer <reviewer>\n     [--reason <reason>]")
        @OptionGroup var arguments: DecisionArguments
        func run() throws { try arguments.record(.rejected) }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export the confirmed labels as JSON lines, CSV or DICOM JSON.",
            discussion: """
            Each label carries the HL7 v3 Confidentiality code its flag maps to in the policy, \
            shaped as a FHIR meta.security Coding (system \(SecurityLabel.confidentialitySystem)), \
            and the DICOM sensitive content codes: the flag's CID 900 category and the CID 901 \
            details (codes, and as FHIR Codings in codings). An image whose every suggestion \
            was rejected is labelled 131390 "No Sensitive Content Identified".

            --format dicom-json writes one DICOM JSON data set per labelled image: the \
            Study, Series and SOP Instance UIDs and the Sensitive Content Code Sequence \
            (0008,001D); for images that are not DICOM, the SHA-256 in place of the UIDs.
            """
        )
        @OptionGroup var options: LedgerOption
        @Option(help: "jsonl, csv or dicom-json.") var format: ExportFormat = .jsonl

        enum ExportFormat: String, CaseIterable, ExpressibleByArgument {
            case jsonl, csv
            case dicomJSON = "dicom-json"
        }

        func run() throws {
            let labels = ConfirmedLabel.labels(from: try options.open().entries())
            if format == .dicomJSON {
                for line in ConfirmedLabel.dicomJSON(labels) { try StandardOutput.line(line) }
                return
            }
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

private extension Array where Element == String {
    /// The first element and, when there is one, the second.
    var splitPair: (String, String?) { (first ?? "", count > 1 ? self[1] : nil) }
}
