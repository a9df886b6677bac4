import Foundation
import Testing

/// The review workflow through the real binary, and two real processes writing one ledger.
@Suite(.serialized)
struct ReviewCommandTests {
    static func folderOfIntimateNames(_ name: String, count: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-review-\(UUID())/\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let source = try Data(contentsOf: ScoreCommandTests.repository.appendingPathComponent("Samples/images/coins.jpg"))
        for i in 0..<count {
            // Distinct bytes per file, so each is its own image in the ledger.
            var bytes = source
            bytes.append(contentsOf: Array("\(name)-\(i)".utf8))
            try bytes.write(to: dir.appendingPathComponent("\(name) perineum \(i).jpg"))
        }
        return dir
    }

    @Test func twoProcessesWritingOneLedgerLoseNothing() throws {
        let ledger = FileManager.default.temporaryDirectory.appendingPathComponent("veil-shared-\(UUID()).sqlite").path
        let a = try Self.folderOfIntimateNames("a", count: 25), b = try Self.folderOfIntimateNames("b", count: 25)
        // Both at once, each with its own batch rhythm.
        let processes = try [(a, "3"), (b, "5")].map { folder, batch -> Process in
            let p = Process()
            p.executableURL = ScoreCommandTests.veilExecutable
            p.arguments = ["score", "--ledger", ledger, "--batch-size", batch, "--threads", "1", folder.path]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        for p in processes { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
        let list = try ScoreCommandTests.veil(["review", "list", "--ledger", ledger, "--json"])
        let entries = list.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(entries.count == 50, "\(entries.count) suggestions recorded")
        #expect(Set(entries.compactMap { $0["sha256"] as? String }).count == 50)
        #expect(entries.allSatisfy { $0["flag"] as? String == "body-region" && $0["state"] as? String == "restricted" })
    }

    /// `review users add` writes an owner-only users file with a bcrypt hash, never the password.
    @Test func usersAddWritesABcryptHash() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("veil-users-\(UUID()).yaml").path
        func add(_ arguments: [String], password: String) throws -> (status: Int32, stderr: String) {
            let p = Process()
            p.executableURL = ScoreCommandTests.veilExecutable
            p.arguments = ["review", "users", "add"] + arguments + ["--users", file, "--password-stdin"]
            let input = Pipe(), err = Pipe()
            p.standardInput = input
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            input.fileHandleForWriting.write(Data((password + "\n").utf8))
            try input.fileHandleForWriting.close()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        #expect(try add(["dr.lee", "--role", "reviewer", "--role", "revealer"], password: "correct horse battery").status == 0)
        #expect(try add(["audit.office", "--role", "auditor"], password: "a different passphrase").status == 0)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains("\"dr.lee\": {roles: [revealer, reviewer], password: \"$2b$12$") && text.contains("\"audit.office\""), "\(text)")
        #expect(!text.contains("correct horse battery"))
        let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600, "mode \(String(mode ?? 0, radix: 8))")
        // Too short a password, and an unknown role, change nothing.
        let short = try add(["x.y", "--role", "reviewer"], password: "short")
        #expect(short.status == 64 && short.stderr.contains("at least 12 characters"), "\(short.stderr)")
        #expect(try add(["x.y", "--role", "admin"], password: "correct horse battery").status == 64)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == text)
    }

    /// `--order uncertainty` lists the undecided suggestions nearest their threshold first.
    @Test func uncertaintyOrderPutsTheClosestCallsFirst() throws {
        let ledger = FileManager.default.temporaryDirectory.appendingPathComponent("veil-order-\(UUID()).sqlite").path
        let samples = ScoreCommandTests.repository.appendingPathComponent("Samples/images").path
        // A low nudity threshold, so that every sample is suggested, at many distances from it.
        #expect(try ScoreCommandTests.veil(["score", "--no-faces", "--threshold", "nudity=0.001", "--ledger", ledger, samples]).status == 0)
        let list = try ScoreCommandTests.veil(["review", "list", "--ledger", ledger, "--flag", "nudity", "--order", "uncertainty", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let entries = list.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        try #require(entries.count >= 5)
        let distances = entries.map { abs(($0["score"] as? Double ?? 0) - ($0["threshold"] as? Double ?? 0)) }
        #expect(distances == distances.sorted(), "\(distances)")
        let ids = entries.compactMap { $0["suggestionID"] as? Int }
        #expect(ids != ids.sorted(), "the order differs from the order raised")
        #expect(try ScoreCommandTests.veil(["review", "list", "--ledger", ledger, "--order", "confidence"]).status == 64)
    }

    @Test func confirmRejectExportAndAudit() throws {
        let ledger = FileManager.default.temporaryDirectory.appendingPathComponent("veil-flow-\(UUID()).sqlite").path
        let folder = try Self.folderOfIntimateNames("c", count: 2)
        #expect(try ScoreCommandTests.veil(["score", "--ledger", ledger, folder.path]).status == 0)
        #expect(try ScoreCommandTests.veil(["review", "confirm", "1", "--ledger", ledger, "--reviewer", "dr.lee", "--reason", "named"]).status == 0)
        #expect(try ScoreCommandTests.veil(["review", "reject", "2", "--ledger", ledger, "--reviewer", "dr.lee"]).status == 0)
        // A later decision supersedes: suggestion 2 is confirmed after all.
        #expect(try ScoreCommandTests.veil(["review", "confirm", "2", "--ledger", ledger, "--reviewer", "dr.kim"]).status == 0)
        let pending = try ScoreCommandTests.veil(["review", "list", "--ledger", ledger, "--state", "rejected"])
        #expect(pending.stdout.split(separator: "\n").count == 1)  // header only
        let export = try ScoreCommandTests.veil(["review", "export", "--ledger", ledger])
        let labels = export.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(labels.count == 2)
        let security = try #require(labels.first?["security"] as? [String: Any])
        #expect(security["system"] as? String == "http://terminology.hl7.org/CodeSystem/v3-Confidentiality")
        #expect(security["code"] as? String == "R")
        let csv = try ScoreCommandTests.veil(["review", "export", "--ledger", ledger, "--format", "csv"])
        #expect(csv.stdout.split(separator: "\n").count == 3)
        let audit = try ScoreCommandTests.veil(["review", "audit", "--ledger", ledger])
        #expect(audit.stdout.split(separator: "\n").count == 5)  // 2 suggestions, 3 decisions
        // Mistakes: unknown suggestion, blank reviewer, a file that is not a ledger.
        #expect(try ScoreCommandTests.veil(["review", "confirm", "99", "--ledger", ledger, "--reviewer", "dr.lee"]).status == 64)
        #expect(try ScoreCommandTests.veil(["review", "confirm", "1", "--ledger", ledger, "--reviewer", " "]).status == 64)
        let notALedger = try ScoreCommandTests.veil(["review", "list", "--ledger", ScoreCommandTests.repository.appendingPathComponent("README.md").path])
        #expect(notALedger.status == 64 && notALedger.stderr.contains("README.md"))
    }
}
