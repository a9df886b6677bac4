import Foundation
import Testing

/// `veil score` on DICOM objects mixed with JPEG and PNG, through the real binary.
@Suite(.serialized)
struct DICOMScoreTests {
    static let fixtures = ScoreCommandTests.repository.appendingPathComponent("Tests/VeilDICOMTests/Fixtures")

    /// A folder mixing DICOM (with and without preamble, under misleading names), JPEG,
    /// PNG and a text file.
    static func mixedFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-dicom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let copies = [
            ("jpeg-baseline.dcm", "a-penis-exam"), ("evidence.dcm", "b.jpg"), ("multiframe-rgb.dcm", "c-cine"),
            ("no-preamble.dcm", "d.bin"), ("jpeg-lossless.dcm", "e.dcm"), ("truncated-header.dcm", "f.dcm"),
        ]
        for (source, name) in copies {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(source), to: folder.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(at: ScoreCommandTests.repository.appendingPathComponent("Samples/images/chelsea.jpg"),
                                         to: folder.appendingPathComponent("g.jpg"))
        try FileManager.default.copyItem(at: ScoreCommandTests.fixtures.appendingPathComponent("rgb8.png"),
                                         to: folder.appendingPathComponent("h.png"))
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        return folder
    }

    @Test func mixedFolderScoresEveryFrameAndNamesTheEvidence() throws {
        let folder = try Self.mixedFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // The ledger lives outside the scored folder, or its files would be walked too.
        let ledger = folder.path + "-ledger.sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger + suffix) } }
        let run = try ScoreCommandTests.veil(["score", folder.path, "--ledger", ledger])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let records = run.records
        let byName = Dictionary(grouping: records) { ($0["path"] as! String).split(separator: "/").last.map(String.init)! }
        // 1 + 1 + 3 frames + 1 + 1 error + 1 error + jpg + png; notes.txt skipped.
        #expect(records.count == 10, "\(run.stdout)")
        #expect(run.stderr.contains("skipped 1 non-image"))
        #expect(byName["c-cine"]?.map { $0["frame"] as? Int } == [1, 2, 3])
        #expect(byName["c-cine"]?.allSatisfy { $0["frames"] as? Int == 3 } == true)
        #expect(byName["g.jpg"]?.first?["frame"] == nil)
        #expect(byName["d.bin"]?.first?["format"] as? String == "dicom")

        // Body Part Examined PENIS: a body-region suggestion queued for review, the
        // attribute named as evidence, and the UIDs pydicom read from the same file.
        let penis = try #require(byName["a-penis-exam"]?.first)
        let evidence = try #require(penis["evidence"] as? [[String: Any]])
        #expect(evidence.contains { $0["flag"] as? String == "body-region" && $0["field"] as? String == "BodyPartExamined (0018,0015)" })
        let suggestion = try #require((penis["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "body-region" })
        #expect(["pending", "restricted"].contains(suggestion["state"] as? String))
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("expected.json"))) as! [String: [String: Any]]
        let dicom = try #require(penis["dicom"] as? [String: Any])
        #expect(dicom["sopInstanceUID"] as? String == expected["jpeg-baseline"]?["sopInstanceUID"] as? String)
        #expect(dicom["studyInstanceUID"] as? String == expected["jpeg-baseline"]?["studyInstanceUID"] as? String)
        #expect(dicom["seriesInstanceUID"] as? String == expected["jpeg-baseline"]?["seriesInstanceUID"] as? String)

        // The archive's own labels: which attribute raised which flag; a minor is restricted.
        let labelled = try #require(byName["b.jpg"]?.first)
        let flagsByField = Dictionary(((labelled["evidence"] as? [[String: Any]]) ?? []).map {
            ($0["field"] as! String, $0["flag"] as! String)
        }, uniquingKeysWith: { a, _ in a })
        #expect(flagsByField["SensitiveContentCodeSequence (0008,001D)"] == "sensitive-content")
        #expect(flagsByField["RecognizableVisualFeatures (0028,0302)"] == "face")
        #expect(flagsByField["AnatomicRegionSequence (0008,2218)"] == "body-region")
        #expect((labelled["dicom"] as? [String: Any])?["minor"] as? Bool == true)
        let states = Dictionary(uniqueKeysWithValues: ((labelled["suggestions"] as? [[String: Any]]) ?? []).map {
            ($0["flag"] as! String, $0["state"] as! String)
        })
        #expect(states["face"] == "restricted", "a minor's face suggestion restricts under the default policy")

        // Unsupported syntax named; damaged file typed.
        let lossless = try #require(byName["e.dcm"]?.first?["error"] as? [String: Any])
        #expect(lossless["kind"] as? String == "unsupported-format")
        #expect((lossless["message"] as? String)?.contains("JPEG Lossless") == true)
        #expect((byName["f.dcm"]?.first?["error"] as? [String: Any])?["kind"] as? String == "truncated")

        // Nothing that identifies the patient reaches the records, the log or the ledger.
        let ledgerBytes = String(decoding: try Data(contentsOf: URL(fileURLWithPath: ledger)), as: UTF8.self)
        for secret in ["DOE^JANE", "MRN-0042-SECRET", "19800101", "20100615"] {
            #expect(!run.stdout.contains(secret) && !run.stderr.contains(secret) && !ledgerBytes.contains(secret), "\(secret) leaked")
        }

        // The ledger keeps the frame and the UIDs, and the export carries them.
        let list = try ScoreCommandTests.veil(["review", "list", "--ledger", ledger, "--json"])
        let entries = list.records
        let entry = try #require(entries.first { ($0["path"] as? String)?.hasSuffix("a-penis-exam") == true && $0["flag"] as? String == "body-region" })
        #expect(entry["sopInstanceUID"] as? String == expected["jpeg-baseline"]?["sopInstanceUID"] as? String)
        #expect(entry["frame"] as? Int == 1)
        let id = try #require(entry["suggestionID"] as? Int)
        _ = try ScoreCommandTests.veil(["review", "confirm", String(id), "--reviewer", "dr.who", "--ledger", ledger])
        let export = try ScoreCommandTests.veil(["review", "export", "--ledger", ledger]).records
        #expect(export.first?["sopInstanceUID"] as? String == expected["jpeg-baseline"]?["sopInstanceUID"] as? String)
    }

    /// Long objects are decoded frame by frame as their batches come up; a damaged frame gets
    /// an error record of its own and the object's other frames are scored.
    @Test func everyFrameGetsARecordEvenWhenOneFails() throws {
        let run = try ScoreCommandTests.veil(["score", Self.fixtures.appendingPathComponent("multiframe-long.dcm").path,
                                              Self.fixtures.appendingPathComponent("multiframe-bad-frame.dcm").path,
                                              "--batch-size", "4", "--no-faces"])
        #expect(run.status == 0, "\(run.stderr)")
        let records = run.records
        let long = records.filter { ($0["path"] as? String)?.hasSuffix("multiframe-long.dcm") == true }
        #expect(long.map { $0["frame"] as? Int } == (1...20).map { $0 })
        #expect(long.allSatisfy { $0["status"] as? String == "ok" && $0["frames"] as? Int == 20 && $0["dicom"] != nil })
        let bad = records.filter { ($0["path"] as? String)?.hasSuffix("multiframe-bad-frame.dcm") == true }
        #expect(bad.map { $0["frame"] as? Int } == [1, 2, 3])
        #expect(bad.map { $0["status"] as? String } == ["ok", "error", "ok"])
        #expect(run.stderr.contains("scored 22"))
    }

    /// `minors: same` in a policy takes the minor rule away; the attribute still shows.
    /// And the acceptance case in its plainest form: an intimate Body Part Examined is a
    /// pending-review `body-region` suggestion.
    @Test func policyDecidesWhatMinorsChange() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-minor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = folder.appendingPathComponent("policy.yaml")
        try """
            policy: {name: test, version: "1"}
            minors: same
            flags:
              face: {review_threshold: 0.7}
              body-region: {review_threshold: 0.6, restrict_threshold: null}
            """.write(to: policy, atomically: true, encoding: .utf8)
        let run = try ScoreCommandTests.veil(["score", Self.fixtures.appendingPathComponent("evidence.dcm").path, "--policy", policy.path])
        let record = try #require(run.records.first, "\(run.stderr)")
        let face = (record["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "face" }
        #expect(face?["state"] as? String == "pending")
        #expect((record["dicom"] as? [String: Any])?["minorBasis"] as? String == "PatientBirthDate (0010,0030)")

        // Without a restrict threshold, an intimate Body Part Examined is pending review.
        let intimate = try ScoreCommandTests.veil(["score", Self.fixtures.appendingPathComponent("jpeg-baseline.dcm").path, "--policy", policy.path])
        let bodyRegion = (intimate.records.first?["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "body-region" }
        #expect(bodyRegion?["state"] as? String == "pending")
        #expect(intimate.records.first?["review"] as? String == "pending")
    }
}

/// `veil score` runs the face detector; `veil preview` writes obscured thumbnails and
/// records reveals.
@Suite(.serialized)
struct FaceAndPreviewCommandTests {
    @Test func scoreReportsFacesInImagePixels() throws {
        let run = try ScoreCommandTests.veil(["score", "Samples/images/astronaut.jpg", "Samples/images/rocket.jpg"])
        let records = run.records
        try #require(records.count == 2, "\(run.stderr)")
        let faces = try #require(records[0]["faces"] as? [[String: Any]])
        try #require(faces.count == 1)
        // MediaPipe's full-range detector puts this face at about (174, 68) size 104 in the
        // 512-pixel original (Tools/reference/blazeface_reference.py, full_range/detections.json).
        // 10 pixels: this is the JPEG sample, decoded and letterboxed by Veil, not by MediaPipe's
        // OpenCV, and a 192-pixel model input maps each input pixel to about 3 of these.
        #expect(abs((faces[0]["x"] as! Int) - 174) <= 10 && abs((faces[0]["y"] as! Int) - 68) <= 10, "\(faces[0])")
        #expect(abs((faces[0]["width"] as! Int) - 104) <= 10, "\(faces[0])")
        let face = (records[0]["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "face" }
        #expect(face?["state"] as? String == "pending")
        #expect((records[1]["faces"] as? [Any])?.isEmpty == true)
        let noFaces = try ScoreCommandTests.veil(["score", "Samples/images/astronaut.jpg", "--no-faces"]).records
        #expect(noFaces.first?["faces"] == nil && (noFaces.first?["scores"] as? [String: Any])?["face"] == nil)
    }

    @Test func previewRevealsNeedALedgerAndAreRecorded() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-preview-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("p.png").path, ledger = folder.appendingPathComponent("l.sqlite").path
        let first = try ScoreCommandTests.veil(["preview", "Samples/images/astronaut.jpg", "--out", out])
        #expect(first.status == 0 && first.stderr.contains("1 face(s) obscured"), "\(first.stderr)")
        // A PNG's IHDR width, big endian at bytes 16-19.
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png[16..<20].reduce(0) { $0 << 8 | Int($1) } == 256)
        let refused = try ScoreCommandTests.veil(["preview", "Samples/images/astronaut.jpg", "--out", out, "--level", "2"])
        #expect(refused.status == 64)
        // A reveal needs a ledger that exists: a mistyped path would hide it from the audit.
        let mistyped = try ScoreCommandTests.veil(["preview", "Samples/images/astronaut.jpg", "--out", out, "--level", "2",
                                                   "--ledger", ledger, "--reviewer", "dr.lee"])
        #expect(mistyped.status == 66 && !FileManager.default.fileExists(atPath: ledger), "\(mistyped.stderr)")
        _ = try ScoreCommandTests.veil(["score", "--no-faces", "--ledger", ledger, "Samples/images/coins.jpg"])
        let revealed = try ScoreCommandTests.veil(["preview", "Samples/images/astronaut.jpg", "--out", out, "--level", "2",
                                                   "--ledger", ledger, "--reviewer", "dr.lee", "--reason", "unclear"])
        #expect(revealed.status == 0, "\(revealed.stderr)")
        let audit = try ScoreCommandTests.veil(["review", "audit", "--ledger", ledger]).records
        #expect(audit.count == 1)
        #expect(audit.first?["event"] as? String == "revealed" && audit.first?["level"] as? Int == 2)
        #expect(audit.first?["reviewer"] as? String == "dr.lee")
    }
}
