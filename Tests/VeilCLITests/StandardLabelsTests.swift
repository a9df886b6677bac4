import Foundation
import Testing
import VeilTestSupport

/// DICOM sensitive content codes from scoring through review to export, on a DICOM object
/// and a JPEG, read back with pydicom (Debian's, installed by the test command) as the
/// independent reader of the DICOM JSON.
struct StandardLabelsTests {
    static let pydicom = "/usr/bin/python3"
    static var hasPydicom: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: pydicom)
        p.arguments = ["-c", "import pydicom"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-labels-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: ScoreCommandTests.repository.appendingPathComponent("Tests/VeilDICOMTests/Fixtures/evidence.dcm"),
                                         to: dir.appendingPathComponent("evidence.dcm"))
        try FileManager.default.copyItem(at: ScoreCommandTests.repository.appendingPathComponent("Samples/images/chelsea.jpg"),
                                         to: dir.appendingPathComponent("left breast photo.jpg"))
        return dir
    }

    /// `(value, scheme)` pairs of every label, by flag, from `veil review export`.
    static func codes(_ stdout: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for line in stdout.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let codes = object["codes"] as? [[String: String]] else { continue }
            out[object["flag"] as? String ?? "(cleared) \(object["path"] as? String ?? "")"] = codes.map { "\($0["scheme"]!):\($0["value"]!)" }
        }
        return out
    }

    @Test func scoreReviewExportAndReadBack() throws {
        let dir = try folder()
        let ledger = dir.appendingPathComponent("review.sqlite").path
        let dicom = dir.appendingPathComponent("evidence.dcm").path, jpeg = dir.appendingPathComponent("left breast photo.jpg").path
        let score = try ScoreCommandTests.veil(["score", "--no-faces", "--ledger", ledger, dicom, jpeg])
        try #require(score.status == 0, "\(score.stderr)")
        // The suggestions carry the labels they would give: the category, then details.
        let bodyRegion = try #require((score.records.first?["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "body-region" })
        #expect((bodyRegion["labels"] as? [[String: String]])?.map { $0["value"]! } == ["131391", "76752008"])
        let face = try #require((score.records.first?["suggestions"] as? [[String: Any]])?.first { $0["flag"] as? String == "face" })
        #expect((face["labels"] as? [[String: String]])?.map { $0["value"]! } == ["131393", "89545001"], "Identifying Content, Face")

        let list = try ScoreCommandTests.veil(["review", "list", "--ledger", ledger, "--json"])
        let entries = list.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func id(_ flag: String, _ path: String) throws -> String {
            let e = try #require(entries.first { $0["flag"] as? String == flag && $0["path"] as? String == path }, "\(flag) \(path): \(list.stdout)")
            return String(describing: e["suggestionID"]!)
        }
        // Confirm the DICOM object's region with a detail the reviewer saw, and its archive label.
        let confirm = try ScoreCommandTests.veil(["review", "confirm", try id("body-region", dicom), "--ledger", ledger,
                                                  "--reviewer", "dr.lee", "--detail", "SCT:125666000"])
        #expect(confirm.status == 0, "\(confirm.stderr)")
        #expect(try ScoreCommandTests.veil(["review", "confirm", try id("sensitive-content", dicom), "--ledger", ledger,
                                            "--reviewer", "dr.lee"]).status == 0)
        // A category is not a detail, and a code outside CID 901 needs its meaning.
        #expect(try ScoreCommandTests.veil(["review", "confirm", try id("face", dicom), "--ledger", ledger, "--reviewer", "x",
                                            "--detail", "DCM:131391"]).status == 64)
        #expect(try ScoreCommandTests.veil(["review", "confirm", try id("face", dicom), "--ledger", ledger, "--reviewer", "x",
                                            "--detail", "99SITE:W1"]).status == 64)
        // A meaning that contradicts a CID 901 code, and what DICOM cannot hold in a code item
        // (a backslash splits a value in two; SH holds 16 characters, LO 64), are refused.
        for bad in ["SCT:76752008=Penis", "99SITE:A\\B=back slash", "99SITE:W2=a\nb", "99SITETOOLONGSCHEME:W3=x",
                    "99SITE:W4=" + String(repeating: "m", count: 65)] {
            let run = try ScoreCommandTests.veil(["review", "confirm", try id("face", dicom), "--ledger", ledger, "--reviewer", "x",
                                                  "--detail", bad])
            #expect(run.status == 64 && run.stderr.contains("--detail"), "\(bad): \(run.status) \(run.stderr)")
        }
        #expect(try ScoreCommandTests.veil(["review", "reject", try id("face", dicom), "--ledger", ledger, "--reviewer", "dr.lee"]).status == 0)
        // The JPEG's only suggestion (its file name) is rejected: the image is cleared.
        #expect(try ScoreCommandTests.veil(["review", "reject", try id("body-region", jpeg), "--ledger", ledger, "--reviewer", "dr.lee"]).status == 0)

        let export = try ScoreCommandTests.veil(["review", "export", "--ledger", ledger])
        let codes = Self.codes(export.stdout)
        #expect(codes["body-region"] == ["DCM:131391", "SCT:76752008", "SCT:125666000"], "\(export.stdout)")
        #expect(codes["sensitive-content"] == ["99VEILTEST:LOCAL-17"], "the archive's own code, kept")
        #expect(codes["(cleared) \(jpeg)"] == ["DCM:131390"])
        #expect(codes["face"] == nil, "rejected")
        #expect(export.stdout.contains("\"system\":\"http://snomed.info/sct\""), "FHIR codings")

        let dicomJSON = try ScoreCommandTests.veil(["review", "export", "--ledger", ledger, "--format", "dicom-json"])
        #expect(dicomJSON.status == 0)
        let lines = dicomJSON.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "one data set per image: \(dicomJSON.stdout)")
        try #require(Self.hasPydicom, "pydicom is missing from /usr/bin/python3: run bash scripts/ensure-system-packages.sh --test")
        // pydicom's reader, independent of Veil, gives back the same codes.
        let read = Process()
        read.executableURL = URL(fileURLWithPath: Self.pydicom)
        read.arguments = ["-c", """
            import json, sys
            from pydicom import Dataset
            for line in sys.stdin:
                ds = Dataset.from_json(json.loads(line))  # every line, DICOM or not
                if "SOPInstanceUID" not in ds:
                    assert ds[0x00090010].value == "VEIL 1", ds
                    print("sha256", ds[0x00091010].value[:8], [i.CodeValue for i in ds[0x0008001D].value]); continue
                print(ds.SOPInstanceUID, [(i.CodeValue, i.CodingSchemeDesignator, i.CodeMeaning) for i in ds[0x0008001D].value])
            """]
        let input = Pipe(), output = Pipe()
        read.standardInput = input
        read.standardOutput = output
        try read.run()
        input.fileHandleForWriting.write(Data(dicomJSON.stdout.utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        read.waitUntilExit()
        #expect(read.terminationStatus == 0)
        #expect(text.contains("[('131391', 'DCM', 'Nudity Content'), ('76752008', 'SCT', 'Breast'), ('125666000', 'SCT', 'Burn'), ('LOCAL-17', '99VEILTEST', "),
                "\(text)")
        #expect(text.contains("['131390']"), "\(text)")

        // Write back: a labelled copy of the DICOM object; the JPEG has none to write.
        let originalBytes = try Data(contentsOf: URL(fileURLWithPath: dicom))
        let labelled = dir.appendingPathComponent("labelled")
        let apply = try ScoreCommandTests.veil(["label", "apply", "--ledger", ledger, "--out", labelled.path])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stderr.contains("1 labelled image(s) are not DICOM"), "\(apply.stderr)")
        let copies = try FileManager.default.contentsOfDirectory(atPath: labelled.path)
        #expect(copies.count == 1 && copies[0].hasSuffix(".dcm"), "\(copies)")
        let copy = labelled.appendingPathComponent(copies.first ?? "none").path
        #expect(try Data(contentsOf: URL(fileURLWithPath: dicom)) == originalBytes, "the original is never written")
        // Read back by Veil: the archive's own label first, then the codes the review added.
        let rescored = try ScoreCommandTests.veil(["score", "--no-faces", copy])
        let evidence = (rescored.records.first?["evidence"] as? [[String: Any]] ?? [])
            .filter { ($0["field"] as? String)?.hasPrefix("SensitiveContentCodeSequence") == true }
        #expect(evidence.map { ($0["archiveCode"] as? [String: String])?["value"] } == ["LOCAL-17", "131391", "76752008", "125666000"],
                "\(rescored.stdout)")
        // Read back by pydicom (only the labels changed) and by DCMTK.
        let compare = try #require(ReferenceTool.run(Self.pydicom, [
            ScoreCommandTests.repository.appendingPathComponent("Tools/reference/compare_labelled.py").path, dicom, copy,
            #"[["131391","DCM","Nudity Content"],["76752008","SCT","Breast"],["125666000","SCT","Burn"]]"#]))
        #expect(compare.status == 0, "\(compare.output)")
        let dump = try #require(ReferenceTool.run("/usr/bin/dcmdump", ["-q", copy]), "dcmdump is missing: run bash scripts/ensure-system-packages.sh --test")
        #expect(dump.status == 0, "\(dump.output)")
        // Applying again writes the same copy from the same original, byte for byte.
        let first = try Data(contentsOf: URL(fileURLWithPath: copy))
        let again = try ScoreCommandTests.veil(["label", "apply", "--ledger", ledger, "--out", labelled.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: labelled.path).count == 1, "no partial files left")
    }
}
