import Foundation
import Testing
import Veil

/// An embedder's `Scorer` and `veil score` give the same verdicts: the CLI only parses,
/// prints and writes. Both run the same kernels (batches of one, two threads), so the
/// records must equal the assessments rounded as records round them. Inputs whose pixels
/// cannot be scored (damaged, no pixels, CT, a bad frame) must keep the same metadata verdict.
struct LibraryParityTests {
    static func rounded(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }

    @Test func scorerGivesWhatVeilScorePrints() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(ScoreCommandTests.repository.path)/Samples/images")
            .sorted().map { "Samples/images/\($0)" }
            + ["evidence.dcm", "multiframe-jpeg.dcm", "evidence-truncated.dcm", "evidence-cut-in-label.dcm",
               "evidence-no-pixels.dcm", "modality-ct.dcm", "multiframe-bad-frame.dcm"].map { "Tests/VeilDICOMTests/Fixtures/\($0)" }
            + ["Tests/VeilImageTests/Fixtures/truncated.jpg"]
        try #require(files.count >= 19)
        let run = try ScoreCommandTests.veil(["score", "--batch-size", "1", "--threads", "2"] + files)
        try #require(run.status == 0, "stderr: \(run.stderr)")
        let records = run.records
        let scorer = try Scorer.load(policy: .standard, runtime: Runtime(threads: 2), batchSize: 1)
        var compared = 0
        for file in files {
            let mine = try scorer.assess(fileAt: ScoreCommandTests.repository.appendingPathComponent(file).path)
            let theirs = records.filter { $0["path"] as? String == file }
            try #require(mine.count == theirs.count, "\(file): \(mine.count) assessments, \(theirs.count) records")
            for (assessment, record) in zip(mine, theirs) {
                switch assessment.notScored {
                case nil:
                    #expect(record["status"] as? String == "ok", "\(file)")
                    let scores = try #require(record["scores"] as? [String: Double], "\(file)")
                    #expect(scores == Dictionary(uniqueKeysWithValues: assessment.scores.map { ($0.key.rawValue, Self.rounded($0.value)) }),
                            "\(file) frame \(assessment.frame ?? 1)")
                case .notVisibleLight(let reason)?:
                    #expect(record["status"] as? String == "skipped" && record["skipReason"] as? String == reason, "\(file)")
                case .undecodable(let error)?:
                    // A DICOM object without pixels is skipped by the CLI, any other failure an error.
                    let status = error.kind == .notAnImage ? "skipped" : "error"
                    #expect(record["status"] as? String == status, "\(file): \(record)")
                    #expect(status == "skipped" || (record["error"] as? [String: Any])?["kind"] as? String == error.kind.name, "\(file)")
                }
                #expect(record["review"] as? String ?? "none" == assessment.review.rawValue, "\(file)")
                let suggestions = record["suggestions"] as? [[String: Any]] ?? []
                #expect(suggestions.map { $0["flag"] as? String } == assessment.suggestions.map(\.flag.rawValue), "\(file)")
                #expect(suggestions.map { $0["state"] as? String } == assessment.suggestions.map(\.state.rawValue), "\(file)")
                #expect(suggestions.map { $0["score"] as? Double } == assessment.suggestions.map { Self.rounded($0.score) }, "\(file)")
                #expect(suggestions.map { ($0["source"] as? [String: Any])?["name"] as? String }
                        == assessment.suggestions.map(\.source?.name), "\(file)")
                let faces = record["faces"] as? [[String: Any]] ?? []
                #expect(faces.map { $0["x"] as? Int } == assessment.faces.map { Int($0.x.rounded()) }, "\(file)")
                #expect(faces.map { $0["width"] as? Int } == assessment.faces.map { Int($0.width.rounded()) }, "\(file)")
                #expect((record["evidence"] as? [[String: Any]] ?? []).map { $0["field"] as? String }
                        == assessment.evidence.map(\.field), "\(file)")
                #expect(record["frame"] as? Int == assessment.frame, "\(file)")
                compared += 1
            }
        }
        #expect(compared == 22, "11 photos, a damaged JPEG, a two-frame and a three-frame DICOM object, five others")
        // The damaged objects marked sensitive stay restricted through the library too.
        for name in ["evidence-truncated.dcm", "evidence-cut-in-label.dcm", "evidence-no-pixels.dcm"] {
            let verdicts = try scorer.assess(fileAt: ScoreCommandTests.repository.appendingPathComponent("Tests/VeilDICOMTests/Fixtures/\(name)").path)
            #expect(verdicts.map(\.review) == [.restricted], "\(name)")
        }
    }
}
