import Foundation
import Testing

/// `--help` reads cleanly in an 80-column terminal: no line is wider, and every example is
/// one whole line (a wrapped example would continue at the left margin).
struct HelpTests {
    static let commands: [[String]] = [
        [], ["score"], ["review"], ["review", "list"], ["review", "confirm"], ["review", "reject"], ["review", "export"],
        ["review", "audit"], ["preview"], ["tune"], ["vocab"], ["vocab", "normalize"], ["vocab", "list"], ["policy"],
        ["policy", "show"], ["policy", "check"], ["model"], ["model", "info"], ["model", "import-caffe"],
        ["model", "import-tflite"], ["label"], ["label", "apply"], ["embed"], ["heads"], ["heads", "fit"],
        ["heads", "evaluate"], ["review", "users"], ["review", "users", "add"], ["review", "serve"],
    ]

    @Test(arguments: commands)
    func helpFitsEightyColumns(_ command: [String]) throws {
        let run = try ScoreCommandTests.veil(command + ["--help"], environment: ["COLUMNS": "80"])
        #expect(run.status == 0, "\(command): \(run.stderr)")
        let lines = run.stdout.components(separatedBy: "\n")
        try #require(lines.count > 3, "\(command): \(run.stdout)")
        for line in lines where line.count > 80 {
            Issue.record("veil \(command.joined(separator: " ")) --help: \(line.count) columns: \(line)")
        }
        // Examples sit under an "Examples:" line, indented, until a blank line.
        var inExamples = false
        for line in lines {
            if line.hasPrefix("Examples:") { inExamples = true; continue }
            if line.isEmpty { inExamples = false; continue }
            if inExamples && !line.hasPrefix("  ") {
                Issue.record("veil \(command.joined(separator: " ")) --help: an example wraps onto '\(line)'")
            }
        }
    }
}
