import ArgumentParser
import Foundation
import Veil
import VeilPolicy
import VeilReview

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Measure thresholds against reviewed truth: AUCs, the threshold for a target recall, and its review workload.",
        usage: """
        veil tune <scores> (--truth <truth> | --ledger <ledger>)
             [--flag <flag> ...] [--target-recall <target-recall>] [--json]
             [--report <report>] [--fit-calibration platt|isotonic]
        """,
        discussion: """
        Reads Veil's score output (JSON lines) and ground truth: either a CSV with a `path` \
        column and one 0/1 column per flag, or the confirmed and rejected decisions in a \
        review ledger (matched by image SHA-256). An image counts as sent to review when its \
        score is at or above the threshold.

        Examples:
          veil tune scores.jsonl --truth labels.csv --target-recall 0.99
          veil tune scores.jsonl --ledger review.sqlite --json
          veil tune scores.jsonl --truth labels.csv --report tuning.html \\
            --fit-calibration isotonic
        """
    )

    @Argument(help: "Scores from `veil score` (JSON lines).") var scores: String
    @Option(help: "Ground truth CSV: path,<flag>,<flag>… with 0/1 values.") var truth: String?
    @Option(help: "Use the confirmed and rejected decisions in this review ledger as truth.") var ledger: String?
    @Option(name: .customLong("flag"), help: "Only these flags (repeatable); default: every flag with truth.") var flags: [Flag] = []
    @Option(help: "The recall the threshold must reach.") var targetRecall = 0.99
    @ArgumentParser.Flag(help: "Print JSON.") var json = false
    @Option(help: "Also write a self-contained HTML report here.") var report: String?
    @Option(help: "Fit a calibration (platt or isotonic) and print it as policy YAML.") var fitCalibration: CalibrationMethod?

    mutating func validate() throws {
        if (truth == nil) == (ledger == nil) { throw ValidationError("Give exactly one of --truth or --ledger.") }
        if !(0.0...1.0).contains(targetRecall) || targetRecall == 0 { throw ValidationError("--target-recall must be in (0, 1].") }
    }

    /// Everything a report needs about one flag.
    struct FlagResult: Encodable {
        var flag: Flag
        var images: Int
        var positives: Int
        var rocAUC: Double
        var prAUC: Double
        var targetRecall: Double
        var operatingPoint: ThresholdTuning.Point?
        var thresholdInterval95: [Double]?
        var table: [ThresholdTuning.Point]
        var calibration: String?
        var summary: String
        /// Every distinct threshold, for the report's curves; too long for the JSON.
        var curve: [ThresholdTuning.Point]

        enum CodingKeys: String, CodingKey {
            case flag, images, positives, rocAUC, prAUC, targetRecall, operatingPoint, thresholdInterval95, table, calibration, summary
        }
    }

    func run() throws {
        try refuseOverwriting(report, option: "--report", inputs: [scores, truth, ledger])
        let scoreTable = try TuneInputs.readScores(scores)
        let truthTable: [String: [Flag: Bool]]  // image key → flag → label
        let keyOfScore: (TuneInputs.ScoredImage) -> String
        if let truth {
            // Paths as written (relative to where each command ran, or absolute) are compared
            // made absolute, so that `score test/` and a truth file of full paths agree.
            truthTable = try TuneInputs.readTruthCSV(truth, known: Set(scoreTable.map { TuneInputs.canonical($0.path) }))
            keyOfScore = { TuneInputs.canonical($0.path) }
        } else {
            truthTable = try TuneInputs.readLedgerTruth(ledger!)
            keyOfScore = { $0.sha256 ?? "" }
        }
        let allFlags = Set(truthTable.values.flatMap(\.keys))
        // A truth column, or a --flag, that names no flag of the scores is a typo: tuning it
        // would report "no positives" rather than the mistake.
        let scored = Set(scoreTable.flatMap(\.scores.keys))
        for flag in (flags.isEmpty ? allFlags.sorted() : flags) where !scored.contains(flag) {
            throw TuneInputs.fail("'\(flag)' is not a flag of the score records (they have \(scored.sorted().map(\.rawValue).joined(separator: ", ")))")
        }
        let chosen = flags.isEmpty ? allFlags.sorted() : flags
        var results: [FlagResult] = []
        var skipped: [Flag] = []
        for flag in chosen {
            var samples: [(score: Double, positive: Bool)] = []
            for image in scoreTable {
                guard let label = truthTable[keyOfScore(image)]?[flag], let score = image.scores[flag] else { continue }
                samples.append((score, label))
            }
            let tuning: ThresholdTuning
            do { tuning = try ThresholdTuning(samples: samples) } catch {
                // One flag without both classes says nothing about the others: report it and go on.
                warn("flag '\(flag)' skipped: \(error) (\(samples.count) labelled images)")
                skipped.append(flag)
                continue
            }
            let point = tuning.operatingPoint(forRecall: targetRecall)
            let interval = tuning.thresholdInterval(forRecall: targetRecall)
            var calibrationYAML: String?
            var calibrated: Calibration?
            if let method = fitCalibration {
                let fitted = method == .platt ? try Calibration.fitPlatt(samples) : try Calibration.fitIsotonic(samples)
                calibrationYAML = Self.yaml(fitted)
                calibrated = fitted
            }
            // Rounded down, never up: a threshold pasted from this text must still send every
            // image the exact threshold sends (0.146 printed as 0.15 would lose a positive at 0.146).
            var summary = point.map { p in
                String(format: "At a threshold of %@ (raw model score), %.1f%% of confirmed-sensitive images are sent to review, and reviewers see %.1f%% of all images (%.0f per 10,000); %.1f%% of the images they see are sensitive.",
                       Self.roundedDown(p.threshold), p.recall * 100, p.reviewRate * 100, p.reviewsPer10000, p.precision * 100)
            } ?? "No threshold reaches the target recall."
            if let point, let calibrated {
                summary += " With the fitted calibration in the policy, thresholds are calibrated probabilities: give review_threshold \(Self.roundedDown(calibrated.apply(point.threshold)))."
            }
            results.append(FlagResult(flag: flag, images: samples.count, positives: tuning.positives, rocAUC: tuning.rocAUC,
                                      prAUC: tuning.prAUC, targetRecall: targetRecall, operatingPoint: point,
                                      thresholdInterval95: interval.map { [$0.low, $0.high] }, table: tuning.table(),
                                      calibration: calibrationYAML, summary: summary, curve: tuning.curve))
        }
        if results.isEmpty {
            throw CommandFailure(.fileErrors, "no flag could be tuned: each needs confirmed-sensitive and confirmed-clear images")
        }
        if let report {
            try TuneReport.write(results, scoresFile: scores, to: report)
        }
        if json {
            struct Output: Encodable { var schema = 1; var flags: [FlagResult]; var skipped: [Flag] }
            let out = Output(flags: results, skipped: skipped)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try StandardOutput.line(String(decoding: try encoder.encode(out), as: UTF8.self))
            return
        }
        var out = StandardOutput()
        for r in results {
            try out.line("\(r.flag): \(r.images) labelled images, \(r.positives) sensitive. ROC AUC \(String(format: "%.3f", r.rocAUC)), PR AUC \(String(format: "%.3f", r.prAUC)).")
            try out.line("  \(r.summary)")
            if let i = r.thresholdInterval95 { try out.line("  95% bootstrap interval for that threshold (raw): \(Self.roundedDown(i[0])) to \(Self.roundedDown(i[1])).") }
            if let c = r.calibration { try out.line("  calibration, for the policy file:\n\(c)") }
        }
        for flag in skipped { try out.line("\(flag): skipped (see the message above).") }
        try out.finish()
    }

    /// Four decimals, rounded towards zero so that the printed threshold never exceeds the exact one.
    static func roundedDown(_ x: Double) -> String {
        String(format: "%.4f", (x * 10_000).rounded(.down) / 10_000)
    }

    static func yaml(_ calibration: Calibration) -> String {
        switch calibration {
        case let .platt(a, b): return "    calibration:\n      platt: {a: \(a), b: \(b)}"
        case let .isotonic(points):
            return "    calibration:\n      isotonic: [" + points.map { "[\($0.score), \($0.probability)]" }.joined(separator: ", ") + "]"
        }
    }
}

/// Reading `veil tune`'s inputs, with errors that name the file and line.
enum TuneInputs {
    struct ScoredImage {
        var path: String
        var sha256: String?
        var scores: [Flag: Double]
    }

    static func fail(_ message: String, code: ExitStatus = .usage) -> CommandFailure {
        CommandFailure(code, message)
    }

    /// A missing input file is EX_NOINPUT, as for `veil score`.
    static func mustExist(_ file: String, _ what: String) throws {
        if !FileManager.default.fileExists(atPath: file) { throw fail("\(file): no such \(what)", code: .noInput) }
    }

    static func readScores(_ file: String) throws -> [ScoredImage] {
        try mustExist(file, "score file")
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw fail("cannot read \(file)") }
        var images: [ScoredImage] = []
        for (n, line) in lines(text).enumerated() where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let path = object["path"] as? String else {
                throw fail("\(file):\(n + 1): not a Veil score record (broken JSON, or no path)")
            }
            guard object["status"] as? String == "ok" else { continue }
            guard let scores = object["scores"] as? [String: Any] else { throw fail("\(file):\(n + 1): record has no scores") }
            images.append(ScoredImage(path: path, sha256: object["sha256"] as? String,
                                      scores: Dictionary(uniqueKeysWithValues: scores.compactMap { key, value in
                                          (value as? NSNumber).map { (Flag(key), $0.doubleValue) } })))
        }
        return images
    }

    /// A path made absolute (against the working folder) and tidied (`./`, `..`, `//`).
    static func canonical(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    static func readTruthCSV(_ file: String, known: Set<String>) throws -> [String: [Flag: Bool]] {
        try mustExist(file, "truth file")
        guard let data = FileManager.default.contents(atPath: file) else { throw fail("cannot read \(file)") }
        var table: [String: [Flag: Bool]] = [:]
        do {
            for (path, labels) in try TruthFile.parse(data, file: file) { table[canonical(path)] = labels }
        } catch { throw fail("\(error)") }
        let unknown = table.keys.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw fail("\(file): \(unknown.count) labelled path(s) have no score record, e.g. \(unknown.prefix(3).joined(separator: ", "))")
        }
        return table
    }

    /// Truth from reviewers: confirmed = 1, rejected = 0, latest decision per image and flag.
    static func readLedgerTruth(_ file: String) throws -> [String: [Flag: Bool]] {
        try mustExist(file, "review ledger")
        let ledger: Ledger
        do { ledger = try Ledger(path: file, create: false) } catch { throw fail("\(error)") }
        var table: [String: [Flag: Bool]] = [:]
        for entry in try ledger.entries() where entry.state == .confirmed || entry.state == .rejected {
            table[entry.sha256, default: [:]][entry.flag] = entry.state == .confirmed
        }
        return table
    }
}
