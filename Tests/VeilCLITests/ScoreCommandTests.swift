import Foundation
import VeilTestSupport
import Testing

/// Runs the real `veil` binary and checks its output and exit codes.
@Suite(.serialized)
struct ScoreCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let fixtures = repository.appendingPathComponent("Tests/VeilImageTests/Fixtures")

    typealias Run = VeilRun

    static var veilExecutable: URL { VeilExecutable.url }

    static func veil(_ arguments: [String], environment: [String: String?] = [:]) throws -> Run {
        try VeilExecutable.run(arguments, environment: environment, directory: repository)
    }

    @Test func badFilesGetRecordsAndTheRunGoesOn() throws {
        let files = ["Samples/images/chelsea.jpg", Self.fixtures.appendingPathComponent("truncated.jpg").path,
                     "/nonexistent/photo.jpg", "Samples/images/coins.jpg"]
        let run = try Self.veil(["score"] + files)
        // Every input gets its record, and a named input that does not exist is EX_NOINPUT.
        #expect(run.status == 66, "stderr: \(run.stderr)")
        let records = run.records
        try #require(records.count == 4, "stdout: \(run.stdout)")
        #expect(records.map { $0["path"] as? String } == files)
        #expect(records.map { $0["status"] as? String } == ["ok", "error", "error", "ok"])
        #expect((records[1]["error"] as? [String: Any])?["kind"] as? String == "truncated")
        #expect((records[2]["error"] as? [String: Any])?["kind"] as? String == "no-such-file")
        let chelsea = records[0]
        #expect(chelsea["width"] as? Int == 451 && chelsea["height"] as? Int == 300)
        #expect(chelsea["sha256"] as? String == "2c0357a57121a80b7145db42b093f743c9a0405e33f9e48fd102319a6ce3af89")
        let nudity = try #require((chelsea["scores"] as? [String: Any])?["nudity"] as? Double)
        #expect(nudity >= 0 && nudity < 0.01)
        #expect((chelsea["model"] as? [String: Any])?["name"] as? String == "open_nsfw")
        #expect(run.stderr.contains("scored 2, pending review 0, restricted 0; errors: 1 no-such-file, 1 truncated"), "\(run.stderr)")
    }

    @Test func failOnErrorTurnsFileErrorsIntoExitCode65() throws {
        let run = try Self.veil(["score", "--fail-on-error", Self.fixtures.appendingPathComponent("empty.jpg").path])
        #expect(run.status == 65)
        #expect(run.records.first?["status"] as? String == "error")
    }

    @Test func foldersAreWalkedAndNonImagesSkipped() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-cli-\(UUID())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Samples/images/coins.jpg"),
                                         to: dir.appendingPathComponent("sub/a.jpg"))
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("rgb8.png"), to: dir.appendingPathComponent("b.dat"))
        try Data("notes".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let run = try Self.veil(["score", dir.path])
        #expect(run.status == 0)
        #expect(run.records.map { ($0["path"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent } } == ["b.dat", "a.jpg"])
        #expect(run.stderr.contains("skipped 1 non-image files"), "\(run.stderr)")
        #expect(run.records.map { $0["format"] as? String } == ["png", "jpeg"])
    }

    /// An intimate region named in the file or folder name raises `body-region`, with the
    /// evidence naming the field, the words and the concept.
    @Test func pathNamingAnIntimateRegionRaisesBodyRegion() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-cli-\(UUID())/L BREAST wound")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let photo = dir.appendingPathComponent("day 3 perineum.jpg"), plain = dir.deletingLastPathComponent().appendingPathComponent("knee.jpg")
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Samples/images/coffee.jpg"), to: photo)
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Samples/images/coffee.jpg"), to: plain)
        let run = try Self.veil(["score", photo.path, plain.path])
        let records = run.records
        try #require(records.count == 2)
        let scores = try #require(records[0]["scores"] as? [String: Any])
        #expect(scores["body-region"] as? Double == 0.9)
        let evidence = try #require(records[0]["evidence"] as? [[String: Any]])
        #expect(evidence.map { $0["snomed"] as? String } == ["38864007", "76752008"])
        #expect(evidence.map { $0["field"] as? String } == ["fileName", "folderName"])
        #expect(evidence[1]["laterality"] as? String == "L")
        #expect((records[1]["scores"] as? [String: Any])?["body-region"] as? Double == 0)
        #expect(records[1]["evidence"] == nil)
    }

    @Test func policyDecidesSuggestionsAndBadPoliciesAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-policy-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let policy = dir.appendingPathComponent("site.yaml")
        try "policy:\n  name: Test site\n  version: \"7\"\nflags:\n  nudity:\n    review_threshold: 0.00001\n".write(to: policy, atomically: true, encoding: .utf8)
        let run = try Self.veil(["score", "--policy", policy.path, "Samples/images/chelsea.jpg"])
        let record = try #require(run.records.first)
        #expect((record["policy"] as? [String: Any])?["version"] as? String == "7")
        let suggestions = try #require(record["suggestions"] as? [[String: Any]])
        // Built-in flags the file leaves out keep Veil's defaults: leaving one out never switches it off.
        #expect(suggestions.map { $0["flag"] as? String } == ["body-region", "face", "nudity"])
        #expect(suggestions.last?["state"] as? String == "pending")
        #expect(record["review"] as? String == "pending")
        // The default policy: a cat photo raises nothing.
        let plain = try Self.veil(["score", "Samples/images/chelsea.jpg"])
        #expect(plain.records.first?["review"] as? String == "none")
        // A broken policy stops the run before any file, naming line and key.
        try "policy:\n  name: x\n  version: 1\nflags:\n  nudity:\n    review_threshold: 7\n".write(to: policy, atomically: true, encoding: .utf8)
        let bad = try Self.veil(["score", "--policy", policy.path, "Samples/images/chelsea.jpg"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("site.yaml:6: flags.nudity.review_threshold"), "\(bad.stderr)")
        #expect(bad.stdout.isEmpty)
    }

    @Test func usageErrorsExitWith64() throws {
        #expect(try Self.veil(["score", "--batch-size", "0", "x.jpg"]).status == 64)
        #expect(try Self.veil(["score"]).status == 64)
        #expect(try Self.veil(["frobnicate"]).status == 64)
        #expect(try Self.veil(["score", "--threshold", "nudity=1.5", "x.jpg"]).status == 64)
    }

    @Test func unloadableModelExitsWith69() throws {
        let run = try Self.veil(["score", "--model", "/nonexistent/manifest.json", "Samples/images/coins.jpg"])
        #expect(run.status == 69)
        #expect(run.stderr.contains("/nonexistent/manifest.json"))
    }

    @Test func helpTeaches() throws {
        let run = try Self.veil(["--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("Exit codes"))
        let score = try Self.veil(["help", "score"])
        #expect(score.stdout.contains("--batch-size") && score.stdout.contains("Examples"))
        let info = try Self.veil(["model", "info"])
        #expect(info.stdout.contains("open_nsfw 1.0.0 (BSD-2-Clause)"))
    }
}
