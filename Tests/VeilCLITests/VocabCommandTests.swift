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

    @Test func fileModeWritesOneJSONLinePerRegion() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("veil-vocab-\(UUID()).txt")
        try "KNEE\nbreast and buttock\nxyzzy\n".write(to: file, atomically: true, encoding: .utf8)
        let run = try ScoreCommandTests.veil(["vocab", "normalize", "--file", file.path])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 4)
        let inputs = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.map { $0["input"] as? String }
        #expect(inputs == ["KNEE", "breast and buttock", "breast and buttock", "xyzzy"])
    }

    @Test func listAndUsage() throws {
        let list = try ScoreCommandTests.veil(["vocab", "list"])
        #expect(list.stdout.split(separator: "\n").count >= 300)
        #expect(list.stdout.contains("76752008\tBreast\tBREAST\tintimate"))
        #expect(try ScoreCommandTests.veil(["vocab", "normalize"]).status == 64)
    }
}
