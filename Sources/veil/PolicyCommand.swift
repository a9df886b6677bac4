import ArgumentParser
import Foundation
import Veil
import VeilPolicy
import VeilVocabulary

/// The policy a command runs under, and the vocabulary it implies (the policy's
/// sensitivity overrides applied), loaded and checked together so that every command that
/// reads file names or DICOM attributes honours the same policy.
struct EffectivePolicy {
    let policy: Policy
    let vocabulary: Vocabulary

    /// Loads the policy file at `path`, or Veil's built-in policy, and applies one-run review
    /// thresholds (`--threshold`). Throws a ``PolicyError`` naming the file and key.
    static func load(_ path: String?, thresholds: [Flag: Double] = [:]) throws -> EffectivePolicy {
        let file = path ?? "(built-in policy)"
        var policy = try path.map { try Policy.load(path: $0) } ?? .standard
        policy = try policy.overridingReviewThresholds(thresholds)
        let base = try Vocabulary.standard()
        for code in policy.sensitivityOverrides.keys.sorted() where base.concept(snomed: code) == nil {
            throw PolicyError(file: file, line: nil, key: "sensitivity_overrides.\(code)",
                              reason: "no concept in Veil's vocabulary has this SNOMED CT code (see `veil vocab list`)")
        }
        return EffectivePolicy(policy: policy, vocabulary: try policy.vocabulary())
    }

    /// ``load(_:thresholds:)`` for commands: a problem is printed and ends the command with `code`.
    /// A policy file that does not exist exits 66, like any other missing input.
    static func loadOrExit(_ path: String?, thresholds: [Flag: Double] = [:], code: ExitStatus = .usage) throws -> EffectivePolicy {
        if let path, !FileManager.default.fileExists(atPath: path) {
            throw CommandFailure(.noInput, "\(path): no such policy file")
        }
        do { return try load(path, thresholds: thresholds) } catch {
            throw CommandFailure(code, "\(error)")
        }
    }
}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Show the policy that applies, or check a policy file before it is used.",
        discussion: """
        A policy file sets, per flag, whether it is on, its review and restrict thresholds, \
        its calibration and the confidentiality code a confirmed label carries. \
        Samples/policy.yaml is a complete example with every key explained.

        Examples:
          veil policy show                      # Veil's built-in default
          veil policy show site-policy.yaml     # that file, with defaults filled in
          veil policy check site-policy.yaml && echo ready
        """,
        subcommands: [Show.self, Check.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective policy as a policy file, every default spelt out.",
            discussion: "The output is itself a valid policy file that means the same as the input.")

        @Argument(help: "A policy file (YAML). Default: Veil's built-in policy.")
        var file: String?

        func run() throws {
            let effective = try EffectivePolicy.loadOrExit(file, code: .fileErrors)
            var out = StandardOutput()
            try out.line("# Effective policy" + (file.map { " of \($0)" } ?? ": Veil's built-in default"))
            try out.line(effective.policy.yaml.trimmingCharacters(in: .newlines))
            try out.finish()
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a policy file: exit 0 if Veil would use it, 65 naming the line and key if not, 66 if it is missing.",
            discussion: """
            Checks everything `veil score --policy` checks: YAML syntax, unknown or misspelt keys \
            and flags, thresholds between 0 and 1 with restriction never below review, \
            calibrations, sensitivity overrides against the vocabulary, that at least one \
            flag is enabled, and that every head under `heads:` loads and was fitted on the \
            model it will run on.
            """)

        @Argument(help: "The policy file (YAML).")
        var file: String

        func run() throws {
            var policy = try EffectivePolicy.loadOrExit(file, code: .fileErrors).policy
            // Heads must be there and fit the model they will run on, as `veil score` requires.
            if !policy.heads.isEmpty {
                let heads: [Head]
                do {
                    heads = try policy.loadHeads()
                    _ = try Classifier.loadDefault(runtime: Runtime(threads: 1)).adding(heads: heads)
                } catch {
                    throw CommandFailure(.fileErrors, "\(file): heads: \(error)")
                }
                for head in heads where policy.flags[head.flag] == nil {
                    warn("note: \(file) has no rule for the head's flag '\(head.flag)'; it is reviewed from the head's fitted threshold, \(String(format: "%.3f", head.suggestedThreshold))")
                }
                policy = policy.covering(heads)
            }
            let enabled = policy.flags.filter(\.value.enabled).keys.sorted()
            let off = policy.flags.filter { !$0.value.enabled }.keys.sorted()
            try StandardOutput.line("\(file): valid: \(policy.name) version \(policy.version); flags enabled: "
                + enabled.map(\.rawValue).joined(separator: ", ") + (off.isEmpty ? "" : "; switched off: " + off.map(\.rawValue).joined(separator: ", ")))
        }
    }
}
