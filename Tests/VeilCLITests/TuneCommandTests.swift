import Foundation
import Testing

/// `veil tune` through the real binary, on the scikit-learn fixture written out as Veil's
/// score records and a truth CSV.
@Suite(.serialized)
struct TuneCommandTests {
    struct Fixture: Decodable {
        var scores: [Double]
        var labels: [Int]
        var rocAUC: Double
        var prAUC: Double
    }

    static func inputs() throws -> (scores: String, truth: String, fixture: Fixture) {
        let url = ScoreCommandTests.repository.appendingPathComponent("Tests/VeilPolicyTests/Fixtures/tuning.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-tune-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var scores = "", truth = "path,nudity\n"
        for (i, (s, l)) in zip(fixture.scores, fixture.labels).enumerated() {
            scores += "{\"path\":\"img\(i).jpg\",\"status\":\"ok\",\"scores\":{\"nudity\":\(s)}}\n"
            truth += "img\(i).jpg,\(l)\n"
        }
        let s = dir.appendingPathComponent("scores.jsonl"), t = dir.appendingPathComponent("truth.csv")
        try scores.write(to: s, atomically: true, encoding: .utf8)
        try truth.write(to: t, atomically: true, encoding: .utf8)
        return (s.path, t.path, fixture)
    }

    @Test func jsonCarriesTheMetricsAndTheReportIsSelfContained() throws {
        let (scores, truth, fixture) = try Self.inputs()
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("veil-tune-\(UUID()).html").path
        let run = try ScoreCommandTests.veil(["tune", scores, "--truth", truth, "--json", "--target-recall", "0.99", "--report", report])
        #expect(run.status == 0, "\(run.stderr)")
        let output = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let flag = try #require((output["flags"] as? [[String: Any]])?.first)
        #expect(abs((flag["rocAUC"] as? Double ?? 0) - fixture.rocAUC) < 1e-9)
        #expect(abs((flag["prAUC"] as? Double ?? 0) - fixture.prAUC) < 1e-9)
        let point = try #require(flag["operatingPoint"] as? [String: Any])
        #expect(point["threshold"] as? Double == 0.29 && (point["reviewsPer10000"] as? Double ?? 0) > 0)
        #expect((flag["thresholdInterval95"] as? [Double])?.count == 2)
        #expect((flag["table"] as? [[String: Any]])?.count == 21)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("At a threshold of 0.2900 (raw model score), 99.0% of confirmed-sensitive images are sent to review"))
        // Self-contained: no scripts, and no address but the SVG namespace.
        #expect(!html.contains("<script"))
        #expect(html.components(separatedBy: "http").count - 1 == html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1)
    }

    @Test func badInputsAreNamedAndNothingIsWritten() throws {
        let (scores, truth, _) = try Self.inputs()
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("veil-tune-\(UUID()).html").path
        // A broken score line names its line number.
        var broken = try String(contentsOfFile: scores, encoding: .utf8)
        broken += "{not json\n"
        try broken.write(toFile: scores + ".broken", atomically: true, encoding: .utf8)
        let a = try ScoreCommandTests.veil(["tune", scores + ".broken", "--truth", truth, "--report", report])
        #expect(a.status == 64 && a.stderr.contains(":601:"), "\(a.stderr)")
        // Labels for paths with no score record.
        try (try String(contentsOfFile: truth, encoding: .utf8) + "ghost.jpg,1\n").write(toFile: truth + ".extra", atomically: true, encoding: .utf8)
        let b = try ScoreCommandTests.veil(["tune", scores, "--truth", truth + ".extra", "--report", report])
        #expect(b.status == 64 && b.stderr.contains("ghost.jpg"))
        // A flag with no positives is reported and skipped; with nothing left to tune, the run fails.
        try "path,nudity\nimg0.jpg,0\nimg1.jpg,0\n".write(toFile: truth + ".neg", atomically: true, encoding: .utf8)
        let c = try ScoreCommandTests.veil(["tune", scores, "--truth", truth + ".neg", "--report", report])
        #expect(c.status == 65 && c.stderr.contains("no confirmed positives"), "\(c.stderr)")
        // A ledger that is not a Veil ledger.
        let d = try ScoreCommandTests.veil(["tune", scores, "--ledger", truth])
        #expect(d.status == 64)
        #expect(!FileManager.default.fileExists(atPath: report), "no partial report")
    }
}
