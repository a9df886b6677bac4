import Foundation
import GRDB
import Testing
@testable import VeilPolicy
@testable import VeilReview
import VeilVocabulary

struct LedgerTests {
    static func freshPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("veil-ledger-\(UUID()).sqlite").path
    }

    static let image = LedgerImage(sha256: String(repeating: "ab", count: 32), path: "/archive/L BREAST.jpg", width: 4032, height: 3024)

    static func suggestions(_ policy: Policy = .standard) -> [Suggestion] {
        policy.suggestions(for: ["nudity": 0.9, "body-region": 0.7, "face": 0.1])
    }

    @Test func recordsOnlyReviewableSuggestionsAndDecisionsSupersede() throws {
        let ledger = try Ledger(path: Self.freshPath())
        let ids = try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "open_nsfw", modelVersion: "1.0.0")
        #expect(ids.count == 2)  // face 0.1 is below its threshold and is not stored
        var entries = try ledger.entries()
        #expect(entries.map(\.flag) == ["body-region", "nudity"])
        #expect(entries.map(\.state) == [.pending, .restricted])
        #expect(entries[1].confidentiality == "R" && entries[1].policy == "Veil default policy")

        try ledger.decide(suggestion: ids[1], reviewer: "dr.a", decision: .confirmed, reason: "clear nudity")
        try ledger.decide(suggestion: ids[0], reviewer: "dr.a", decision: .rejected)
        try ledger.decide(suggestion: ids[0], reviewer: "dr.b", decision: .confirmed, reason: "second look")
        entries = try ledger.entries()
        #expect(entries.map(\.state) == [.confirmed, .confirmed])
        #expect(entries[0].reviewer == "dr.b" && entries[0].reason == "second look")
        #expect(try ledger.entries(state: .confirmed).count == 2)
        #expect(try ledger.entries(flag: "nudity").count == 1)
        // Nothing was overwritten: the audit trail holds all three decisions.
        let audit = try ledger.auditTrail()
        #expect(audit.filter { $0.event == "decided" }.map(\.state) == ["confirmed", "rejected", "confirmed"])
        #expect(audit.filter { $0.event == "suggested" }.count == 2)
        // The same image recorded again, by the same model under the same policy, asks
        // nothing new (decided or not), and keeps one image row.
        #expect(try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "open_nsfw", modelVersion: "1.0.0").isEmpty)
        #expect(try ledger.entries().count == 2)
        #expect(Set(try ledger.entries().map(\.sha256)).count == 1)
    }

    /// A new model or policy version asks again, naming the decision the new review may
    /// supersede; the decision's receipt names it too.
    @Test func newVersionsAskAgainAndNameWhatTheySupersede() throws {
        let ledger = try Ledger(path: Self.freshPath())
        let first = try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "open_nsfw", modelVersion: "1.0.0")
        let decision = try ledger.decide(suggestion: first[1], reviewer: "dr.a", decision: .rejected)
        #expect(decision.supersedes.isEmpty)
        // An undecided suggestion from another producer is a new question without a past decision.
        let newModel = try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "open_nsfw", modelVersion: "2.0.0")
        #expect(newModel.count == 2)
        let entries = try ledger.entries()
        #expect(entries.first { $0.suggestionID == newModel[1] }?.supersedesDecision == decision.id)
        #expect(entries.first { $0.suggestionID == newModel[0] }?.supersedesDecision == nil)
        let receipt = try ledger.decide(suggestion: newModel[1], reviewer: "dr.b", decision: .confirmed)
        #expect(receipt.supersedes.map(\.id) == [decision.id] && receipt.supersedes.first?.reviewer == "dr.a")
        let again = try ledger.decide(suggestion: newModel[1], reviewer: "dr.c", decision: .rejected)
        #expect(again.supersedes.map(\.id) == [receipt.id, decision.id])
        // A suggestion's own source wins over the model arguments.
        var sourced = Self.suggestions()
        sourced[0].source = Provenance(name: "vocabulary", version: "tables-1")
        let fromVocabulary = try ledger.record(image: Self.image, suggestions: sourced, policy: .standard, model: "open_nsfw", modelVersion: "2.0.0")
        #expect(fromVocabulary.count == 1)
        #expect(try ledger.entries().last?.model == "vocabulary")
    }

    /// A ledger made by the previous release (schema 3) opens, is upgraded, and keeps its rows.
    @Test func aSchema3LedgerIsUpgraded() throws {
        let path = Self.freshPath()
        let pool = try DatabasePool(path: path)
        try Ledger.migrator.migrate(pool, upTo: "v3")
        try pool.write { db in
            try db.execute(sql: "INSERT INTO image (sha256, path, width, height, first_seen) VALUES (?, 'a.jpg', 10, 10, 'then')",
                           arguments: [String(repeating: "ab", count: 32)])
            try db.execute(sql: """
                INSERT INTO suggestion (image_id, flag, score, threshold, state, model, model_version, policy, policy_version,
                                        confidentiality, created_at) VALUES (1, 'nudity', 0.9, 0.2, 'pending', 'open_nsfw', '1.0.0',
                                        'Veil default policy', '1', 'R', 'then')
                """)
        }
        try pool.close()
        let ledger = try Ledger(path: path)
        #expect(try ledger.entries().map(\.flag) == ["nudity"])
        // The old row is the same question as the new nudity suggestion: only body-region is new.
        #expect(try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "open_nsfw", modelVersion: "1.0.0").count == 1)
        let raw = try DatabaseQueue(path: path)
        #expect(try raw.read { try String.fetchOne($0, sql: "SELECT value FROM veil_ledger WHERE key = 'schema'") } == "5")
    }

    /// A schema-4 ledger (the last release's) gains the label columns: its old suggestions and
    /// decisions carry no codes, new ones carry theirs, and a reviewer's details come back.
    @Test func aSchema4LedgerGainsLabels() throws {
        let path = Self.freshPath()
        let pool = try DatabasePool(path: path)
        try Ledger.migrator.migrate(pool, upTo: "v4")
        try pool.write { db in
            try db.execute(sql: "INSERT INTO image (sha256, path, width, height, first_seen) VALUES (?, 'a.jpg', 10, 10, 'then')",
                           arguments: [String(repeating: "cd", count: 32)])
            try db.execute(sql: """
                INSERT INTO suggestion (image_id, flag, score, threshold, state, model, model_version, policy, policy_version,
                                        confidentiality, created_at) VALUES (1, 'face', 0.9, 0.7, 'pending', 'blazeface', '1',
                                        'Veil default policy', '1', 'R', 'then')
                """)
            try db.execute(sql: "INSERT INTO decision (suggestion_id, reviewer, decision, decided_at) VALUES (1, 'dr.old', 'confirmed', 'then')")
        }
        try pool.close()
        let ledger = try Ledger(path: path)
        let old = try #require(try ledger.entries().first)
        #expect(old.state == .confirmed && old.labels.isEmpty && old.details.isEmpty)
        // Confirmed before labels were recorded: the label still carries its flag's category
        // (face: 131393 Identifying Content), so that export and `label apply` write one.
        #expect(old.codes == [SensitiveContentCode.identifyingContent.label])
        #expect(try #require(ConfirmedLabel.labels(from: [old]).first).codes == [SensitiveContentCode.identifyingContent.label])

        let breast = LabelCode(value: "76752008", scheme: "SCT", meaning: "Breast")
        var suggestion = Policy.standard.suggestions(for: ["body-region": 0.9])[0]
        suggestion.labels = [SensitiveContentCode.nudityContent.label, breast]
        let id = try #require(try ledger.record(image: Self.image, suggestions: [suggestion], policy: .standard,
                                                model: "vocabulary", modelVersion: "t").first)
        let burn = LabelCode(value: "125666000", scheme: "SCT", meaning: "Burn")
        try ledger.decide(suggestion: id, reviewer: "dr.lee", decision: .confirmed, details: [burn, breast])
        let entry = try #require(try ledger.entries().first { $0.suggestionID == id })
        #expect(entry.labels == [SensitiveContentCode.nudityContent.label, breast])
        #expect(entry.details == [burn, breast])
        #expect(entry.codes == [SensitiveContentCode.nudityContent.label, breast, burn], "each code once, category first")
    }

    /// An archive's item without a readable code is no code to write back: a confirmed
    /// `sensitive-content` label whose only code was unreadable carries 131395 instead, and
    /// one with readable archive codes carries just those.
    @Test func unreadableArchiveCodesAreNotWrittenBack() throws {
        let ledger = try Ledger(path: Self.freshPath())
        var suggestion = Policy.standard.suggestions(for: ["sensitive-content": 1])[0]
        suggestion.labels = [LabelCode(value: "", scheme: "", meaning: "unreadable code item")]
        let id = try #require(try ledger.record(image: Self.image, suggestions: [suggestion], policy: .standard,
                                                model: "DICOM", modelVersion: "t").first)
        try ledger.decide(suggestion: id, reviewer: "dr.lee", decision: .confirmed)
        #expect(try #require(try ledger.entries().first).codes == [SensitiveContentCode.sensitiveContent.label])
        let local = LabelCode(value: "X1", scheme: "99SITE", meaning: "Local")
        var other = Policy.standard.suggestions(for: ["sensitive-content": 1])[0]
        other.labels = [local]
        let second = try #require(try ledger.record(image: LedgerImage(sha256: String(repeating: "ef", count: 32), path: "b.dcm", width: 8, height: 8),
                                                    suggestions: [other], policy: .standard, model: "DICOM", modelVersion: "t").first)
        try ledger.decide(suggestion: second, reviewer: "dr.lee", decision: .confirmed)
        #expect(try #require(try ledger.entries().first { $0.suggestionID == second }).codes == [local])
    }

    @Test func openingWithoutCreateNeedsTheFile() throws {
        let path = Self.freshPath()
        #expect(throws: LedgerError.self) { try Ledger(path: path, create: false) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func decisionsNeedAReviewerAndAnExistingSuggestion() throws {
        let ledger = try Ledger(path: Self.freshPath())
        let ids = try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "m", modelVersion: "1")
        #expect(throws: LedgerError.self) { try ledger.decide(suggestion: ids[0], reviewer: "  ", decision: .confirmed) }
        #expect(throws: LedgerError.self) { try ledger.decide(suggestion: 999, reviewer: "dr.a", decision: .confirmed) }
    }

    /// Reveals of less obscured previews: who, which level, when; append-only; in the audit
    /// trail; and they keep frame and UIDs of DICOM objects.
    @Test func revealsAreRecordedAndAppendOnly() throws {
        let path = Self.freshPath()
        let ledger = try Ledger(path: path)
        let dicom = LedgerImage(sha256: String(repeating: "cd", count: 32), path: "/vna/obj.dcm", width: 640, height: 480,
                                studyInstanceUID: "1.2.3", seriesInstanceUID: "1.2.3.4", sopInstanceUID: "1.2.3.4.5")
        try ledger.recordReveal(image: dicom, reviewer: "dr.a", level: 1, reason: "cannot tell", at: Date(timeIntervalSince1970: 1_800_000_000))
        try ledger.recordReveal(image: dicom, reviewer: "dr.a", level: 2, at: Date(timeIntervalSince1970: 1_800_000_060))
        #expect(throws: LedgerError.self) { try ledger.recordReveal(image: dicom, reviewer: " ", level: 1) }
        let reveals = try ledger.auditTrail().filter { $0.event == "revealed" }
        #expect(reveals.map(\.level) == [1, 2])
        #expect(reveals.map(\.reviewer) == ["dr.a", "dr.a"])
        #expect(reveals[0].reason == "cannot tell" && reveals[0].at == "2027-01-15T08:00:00.000Z")
        let raw = try DatabaseQueue(path: path)
        for sql in ["UPDATE reveal SET level = 0", "DELETE FROM reveal"] {
            #expect(throws: DatabaseError.self, "\(sql) must be refused") { try raw.write { try $0.execute(sql: sql) } }
        }
        #expect(try raw.read { try String.fetchOne($0, sql: "SELECT sop_instance_uid FROM image") } == "1.2.3.4.5")
        #expect(try raw.read { try String.fetchOne($0, sql: "SELECT value FROM veil_ledger WHERE key = 'schema'") } == "5")
    }

    /// The database itself refuses to rewrite history, whoever connects to it.
    @Test func schemaRefusesUpdatesAndDeletes() throws {
        let path = Self.freshPath()
        let ledger = try Ledger(path: path)
        let ids = try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "m", modelVersion: "1")
        try ledger.decide(suggestion: ids[0], reviewer: "dr.a", decision: .confirmed)
        let raw = try DatabaseQueue(path: path)
        for sql in ["UPDATE decision SET decision = 'rejected'", "DELETE FROM decision",
                    "UPDATE suggestion SET score = 0", "DELETE FROM suggestion", "DELETE FROM image"] {
            #expect(throws: DatabaseError.self, "\(sql) must be refused") { try raw.write { try $0.execute(sql: sql) } }
        }
        // CHECK constraints: no blank reviewer, no third kind of decision, scores within [0, 1].
        for sql in ["INSERT INTO decision (suggestion_id, reviewer, decision, decided_at) VALUES (\(ids[0]), ' ', 'confirmed', 'now')",
                    "INSERT INTO decision (suggestion_id, reviewer, decision, decided_at) VALUES (\(ids[0]), 'x', 'auto-confirmed', 'now')",
                    "INSERT INTO decision (suggestion_id, reviewer, decision, decided_at) VALUES (12345, 'x', 'confirmed', 'now')",
                    "INSERT INTO suggestion (image_id, flag, score, threshold, state, model, model_version, policy, policy_version, confidentiality, created_at) VALUES (1, 'nudity', 1.5, 0.2, 'pending', 'm', '1', 'p', '1', 'R', 'now')",
                    // A suggestion can never be stored as already confirmed: only decisions confirm.
                    "INSERT INTO suggestion (image_id, flag, score, threshold, state, model, model_version, policy, policy_version, confidentiality, created_at) VALUES (1, 'nudity', 0.9, 0.2, 'confirmed', 'm', '1', 'p', '1', 'R', 'now')"] {
            #expect(throws: DatabaseError.self, "\(sql) must be refused") {
                try raw.write { db in
                    try db.execute(sql: "PRAGMA foreign_keys = ON")
                    try db.execute(sql: sql)
                }
            }
        }
        let triggers = try raw.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name") }
        #expect(triggers == ["decision_append_only_delete", "decision_append_only_update", "image_keep",
                             "reveal_append_only_delete", "reveal_append_only_update",
                             "suggestion_append_only_delete", "suggestion_append_only_update"])
        let journal = try raw.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    @Test func otherFilesAreNotLedgers() throws {
        let other = Self.freshPath()
        let queue = try DatabaseQueue(path: other)
        try queue.write { try $0.execute(sql: "CREATE TABLE patients (name TEXT)") }
        #expect(throws: LedgerError.self) { try Ledger(path: other) }
        let text = Self.freshPath()
        try "not a database at all, just text that is long enough to have a header".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: LedgerError.self) { try Ledger(path: text) }
        // An existing ledger reopens.
        let path = Self.freshPath()
        _ = try Ledger(path: path)
        #expect(try Ledger(path: path).entries().isEmpty)
    }

    @Test func aLedgerRemovedOrReplacedWhileOpenRefusesEveryWrite() throws {
        let path = Self.freshPath()
        let ledger = try Ledger(path: path)
        let ids = try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "open_nsfw", modelVersion: "1.0.0")
        // SQLite would go on writing into the unlinked file: every write must say so instead.
        try FileManager.default.removeItem(atPath: path)
        #expect { try ledger.decide(suggestion: ids[0], reviewer: "dr.lee", decision: .confirmed) } throws: { "\($0)".contains("removed or replaced") }
        #expect { try ledger.recordReveal(image: Self.image, reviewer: "dr.lee", level: 1) } throws: { "\($0)".contains("removed or replaced") }
        #expect {
            try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "m", modelVersion: "2")
        } throws: { "\($0)".contains("removed or replaced") }
        // Another file in its place is not the ledger either.
        try Data("not this one".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try ledger.decide(suggestion: ids[0], reviewer: "dr.lee", decision: .rejected) } throws: { "\($0)".contains("removed or replaced") }
    }

    @Test func entriesChangedSinceARevisionBringAnOldReadUpToDate() throws {
        let ledger = try Ledger(path: Self.freshPath())
        let first = try ledger.record(image: Self.image, suggestions: Self.suggestions(), policy: .standard, model: "open_nsfw", modelVersion: "1.0.0")
        let before = try ledger.entries()
        let revision = try ledger.revision()
        #expect(try ledger.entries(changedSince: revision).isEmpty)
        try ledger.decide(suggestion: first[0], reviewer: "dr.lee", decision: .confirmed)
        let other = LedgerImage(sha256: String(repeating: "cd", count: 32), path: "/archive/other.jpg", width: 10, height: 10)
        let added = try ledger.record(image: other, suggestions: Self.suggestions(), policy: .standard, model: "open_nsfw", modelVersion: "1.0.0")
        #expect(try ledger.revision() != revision)
        let changed = try ledger.entries(changedSince: revision)
        #expect(Set(changed.map(\.suggestionID)) == Set([first[0]] + added))
        // The old read with the changes merged in is what a full read gives now.
        var merged = before
        for entry in changed {
            if let index = merged.firstIndex(where: { $0.suggestionID == entry.suggestionID }) { merged[index] = entry } else { merged.append(entry) }
        }
        #expect(merged == (try ledger.entries()))
    }
}
