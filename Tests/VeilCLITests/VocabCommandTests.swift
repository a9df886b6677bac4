import Foundation
import Testing

@Suite(.serialized)
struct VocabCommandTests {
    @Test func normalizeJSONHasTheDocumentedFields() throws {
        let run = try ScoreCommandTests.veil(["vocab", "normalize", "--json", "PHOTO L BREAST WOUND DAY 3", "asdf"])
        #expect(run.status == 0, "\(run.stderr)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        try #require(records.count == 2)
        #expect(records[0]["snomed"] as? String == "76752008")
        #expect(records[0]["meaning"] as? String == "Breast")
        #expect(records[0]["bodyPartExamined"] as? String == "BREAST")
        #expect(records[0]["laterality"] as? String == "L")
        #expect(records[0]["sensitivity"] as? String == "intimate")
        #expect(records[0]["match"] as? String == "synonym")
        #expect((records[0]["confidence"] as? Double ?? 0) > 0.5)
        #expect(records[1]["match"] as? String == "none" && records[1]["snomed"] == nil)
    }

    /// One output line per input line, blank lines included, so that results line up with
    /// their inputs; an input naming two regions carries both in its list.
    @Test func fileModeWritesOneJSONLinePerInputLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("veil-vocab-\(UUID()).txt")
        try "KNEE\nbreast and buttock\n\nxyzzy\n".write(to: file, atomically: true, encoding: .utf8)
        let run = try ScoreCommandTests.veil(["vocab", "normalize", "--file", file.path])
        #expect(run.status == 0)
        let objects = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.map { $0["input"] as? String } == ["KNEE", "breast and buttock", "", "xyzzy"])
        let regions = objects.map { ($0["regions"] as? [[String: Any]] ?? []).map { $0["snomed"] as? String ?? "none" } }
        #expect(regions == [["72696002"], ["76752008", "46862004"], [], ["none"]])
    }

    /// A Latin-1 line (an older archive's export) is read as Latin-1 and named in a warning,
    /// not refused with the whole file; `-` reads standard input.
    @Test func fileModeReadsLatin1LinesAndStandardInput() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("veil-vocab-\(UUID()).txt")
        // "Gesäß links" with ä and ß as single Latin-1 bytes, then a UTF-8 line.
        try Data([0x47, 0x65, 0x73, 0xE4, 0xDF, 0x20, 0x6C, 0x69, 0x6E, 0x6B, 0x73, 0x0A] + Array("Brust\n".utf8)).write(to: file)
        let run = try ScoreCommandTests.veil(["vocab", "normalize", "--file", file.path])
        #expect(run.status == 0 && run.stderr.contains("1 line(s) not UTF-8, read as Latin-1 (line 1)"), "\(run.stderr)")
        let objects = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.map { $0["input"] as? String } == ["Gesäß links", "Brust"])
        let first = (objects.first?["regions"] as? [[String: Any]])?.first
        #expect(first?["snomed"] as? String == "46862004" && first?["laterality"] as? String == "L")

        let process = Process()
        process.executableURL = ScoreCommandTests.veilExecutable
        process.arguments = ["vocab", "normalize", "--file", "-"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data("LINGUINAL\n".utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // The Annex L term names its side itself.
        #expect(process.terminationStatus == 0 && text.contains("\"laterality\":\"L\"") && text.contains("85119005"), "\(text)")
    }

    /// Codes in FHIR and URI forms name the same concept as the bare code.
    @Test func fhirAndURIFormsOfCodes() throws {
        let forms = ["http://snomed.info/sct|76752008", "https://snomed.info/sct|76752008", "http://snomed.info/id/76752008",
                     "urn:oid:2.16.840.1.113883.6.96|76752008", "SCT:76752008"]
        let run = try ScoreCommandTests.veil(["vocab", "normalize", "--json"] + forms)
        let records = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]], "\(run.stdout)")
        #expect(records.map { $0["snomed"] as? String } == Array(repeating: "76752008", count: forms.count), "\(run.stdout)")
        #expect(records.allSatisfy { $0["match"] as? String == "exact" })
    }

    @Test func listAndUsage() throws {
        let list = try ScoreCommandTests.veil(["vocab", "list"])
        #expect(list.stdout.split(separator: "\n").count >= 300)
        #expect(list.stdout.contains("76752008\tBreast\tBREAST\tintimate"))
        #expect(try ScoreCommandTests.veil(["vocab", "normalize"]).status == 64)
    }
}
