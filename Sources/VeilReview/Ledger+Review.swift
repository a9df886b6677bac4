import Foundation
import GRDB
import VeilDICOM
import VeilImage
import VeilPolicy
import VeilVocabulary

/// A reviewer's verdict on one suggestion.
public enum Decision: String, Sendable, Codable, CaseIterable {
    /// The flag applies: the label is final.
    case confirmed
    /// The flag does not apply.
    case rejected
}

/// Where a suggestion stands in the ledger: as suggested, or as last decided.
public enum ReviewState: String, Sendable, Codable, CaseIterable {
    case pending
    case restricted
    case confirmed
    case rejected
}

/// One suggestion and its latest decision.
public struct LedgerEntry: Sendable, Codable, Equatable {
    /// The suggestion's number in the ledger, as `veil review` shows it.
    public var suggestionID: Int64
    /// The image's SHA-256, lower-case hex.
    public var sha256: String
    /// The image's path when it was recorded.
    public var path: String
    /// The image's full width in pixels.
    public var width: Int
    /// The image's full height in pixels.
    public var height: Int
    /// The flag suggested.
    public var flag: Flag
    /// The score the threshold was compared with.
    public var score: Double
    /// The review threshold that applied.
    public var threshold: Double
    /// The current state: the latest decision if there is one, else what was suggested.
    public var state: ReviewState
    /// What produced the score: a model's name, `vocabulary`, or a DICOM attribute.
    public var model: String
    /// Its version.
    public var modelVersion: String
    /// The policy's name.
    public var policy: String
    /// The policy's version.
    public var policyVersion: String
    /// The HL7 v3 Confidentiality code a confirmed label carries.
    public var confidentiality: String
    /// When the suggestion was recorded, ISO 8601.
    public var suggestedAt: String
    /// For DICOM: the frame (1-based) of a multi-frame object, and the object's UIDs.
    public var frame: Int?
    /// For DICOM: the Study Instance UID.
    public var studyInstanceUID: String?
    /// For DICOM: the Series Instance UID.
    public var seriesInstanceUID: String?
    /// For DICOM: the SOP Instance UID.
    public var sopInstanceUID: String?
    /// Who decided, once someone has.
    public var reviewer: String?
    /// The reason given with the decision or reveal, if any.
    public var reason: String?
    /// When the latest decision was made, ISO 8601.
    public var decidedAt: String?
    /// The decision this suggestion was raised again after (under a new model or policy
    /// version), which its review may supersede.
    public var supersedesDecision: Int64?
    /// The DICOM sensitive content codes a confirmed label of this suggestion carries, as
    /// recorded with it: the flag's category and the details its evidence implied.
    public var labels: [LabelCode] = []
    /// The CID 901 details the latest decision's reviewer added.
    public var details: [LabelCode] = []

    /// The codes the label carries once confirmed: ``labels`` and the reviewer's ``details``,
    /// each code once, never empty. A code with no value or scheme (an archive's unreadable
    /// item) is no code to write into an object and is left out. A suggestion recorded
    /// before labels were (a ledger older than schema 5) gets its flag's category under the
    /// standard policy; `sensitive-content`, which carries the archive's own codes, gets
    /// 131395 Sensitive Content only when none could be read: a confirmed label that carried
    /// nothing would let a sensitive image pass as unlabelled.
    public var codes: [LabelCode] {
        var all: [LabelCode] = []
        for code in labels + details where !code.value.isEmpty && !code.scheme.isEmpty && !all.contains(where: { $0.key == code.key }) {
            all.append(code)
        }
        let isCategory = { (code: LabelCode) in SensitiveContentCode.recognize(scheme: code.scheme, value: code.value)?.group == .category }
        if let category = Policy.standard.contentCategory(for: flag), !all.contains(where: isCategory) {
            all.insert(category.label, at: 0)
        } else if all.isEmpty {
            all.append(SensitiveContentCode.sensitiveContent.label)
        }
        return all
    }
}

/// An earlier decision, as a new one supersedes it.
public struct PastDecision: Sendable, Equatable {
    /// The decision's id.
    public var id: Int64
    /// The suggestion it decided.
    public var suggestionID: Int64
    /// Who decided.
    public var reviewer: String
    /// What they decided.
    public var decision: Decision
    /// When, as an ISO 8601 timestamp.
    public var decidedAt: String
}

/// What ``Ledger/decide(suggestion:reviewer:decision:reason:at:)`` recorded.
public struct DecisionReceipt: Sendable, Equatable {
    /// The new decision's id.
    public var id: Int64
    /// The earlier decisions the new one supersedes, latest on this suggestion first.
    public var supersedes: [PastDecision]
}

/// Identifies an image in the ledger by its bytes, not its path.
public struct LedgerImage: Sendable {
    /// The image's SHA-256, lower-case hex.
    public var sha256: String
    /// The image's path when it was recorded.
    public var path: String
    /// The image's full width in pixels.
    public var width: Int
    /// The image's full height in pixels.
    public var height: Int
    /// For DICOM objects: the UIDs that identify it in the archive.
    public var studyInstanceUID: String?
    /// For DICOM: the Series Instance UID.
    public var seriesInstanceUID: String?
    /// For DICOM: the SOP Instance UID.
    public var sopInstanceUID: String?

    /// Creates an image identity.
    public init(sha256: String, path: String, width: Int, height: Int,
                studyInstanceUID: String? = nil, seriesInstanceUID: String? = nil, sopInstanceUID: String? = nil) {
        self.sha256 = sha256
        self.path = path
        self.width = width
        self.height = height
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.sopInstanceUID = sopInstanceUID
    }

    /// The identity of an image Veil read: its bytes' hash, its path, its full size and,
    /// for DICOM, the object's UIDs. What `veil score` and `veil preview` record.
    public init(sha256: String, path: String, size: PixelSize, dicom: DICOMMetadata?) {
        self.init(sha256: sha256, path: path, width: size.width, height: size.height,
                  studyInstanceUID: dicom?.studyInstanceUID, seriesInstanceUID: dicom?.seriesInstanceUID,
                  sopInstanceUID: dicom?.sopInstanceUID)
    }
}

extension Ledger {
    /// Records the suggestions Veil made for one image. Only suggestions that call for review
    /// (pending or restricted) are stored. `frame` is the 1-based frame of a multi-frame
    /// DICOM object. Each suggestion's ``Suggestion/source`` names what produced it; without
    /// one, `model` and `modelVersion` do.
    ///
    /// Re-scoring never queues the same question twice: a suggestion for the same image,
    /// frame and flag, from the same producer and version under the same policy version, is
    /// not added again, whether or not a reviewer has decided it. Under a new model or policy
    /// version it is added, and names the latest decision on that image, frame and flag, which
    /// its review may supersede. Returns the ids of the suggestions added.
    @discardableResult
    public func record(image: LedgerImage, frame: Int? = nil, suggestions: [Suggestion], policy: Policy,
                       model: String, modelVersion: String, at date: Date = Date()) throws -> [Int64] {
        let reviewable = suggestions.filter { $0.state != .belowThreshold }
        guard !reviewable.isEmpty else { return [] }
        try ensureStillInPlace()
        let now = Self.timestamp(date)
        do {
            return try pool.write { db in
                let imageID = try Self.imageID(image, firstSeen: now, in: db)
                var ids: [Int64] = []
                for s in reviewable {
                    let producer = s.source?.name ?? model, version = s.source?.version ?? modelVersion
                    let asked = try Int64.fetchOne(db, sql: """
                        SELECT id FROM suggestion WHERE image_id = ? AND frame IS ? AND flag = ? AND model = ?
                            AND model_version = ? AND policy = ? AND policy_version = ?
                        """, arguments: [imageID, frame, s.flag.rawValue, producer, version, policy.name, policy.version])
                    if asked != nil { continue }
                    let earlier = try Int64.fetchOne(db, sql: """
                        SELECT max(d.id) FROM decision d JOIN suggestion s ON s.id = d.suggestion_id
                        WHERE s.image_id = ? AND s.frame IS ? AND s.flag = ?
                        """, arguments: [imageID, frame, s.flag.rawValue])
                    try db.execute(sql: """
                        INSERT INTO suggestion (image_id, flag, score, threshold, state, model, model_version,
                                                policy, policy_version, confidentiality, created_at, frame, supersedes_decision,
                                                labels)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [imageID, s.flag.rawValue, min(1, max(0, s.score)), s.threshold,
                                         s.state == .provisionallyRestricted ? "restricted" : "pending",
                                         producer, version, policy.name, policy.version,
                                         policy.flags[s.flag]?.confidentiality ?? "R", now, frame, earlier,
                                         Self.json(s.labels)])
                    ids.append(db.lastInsertedRowID)
                }
                return ids
            }
        } catch {
            throw LedgerError(file: path, reason: "cannot record suggestions: \(Self.describe(error))")
        }
    }

    /// Records a reviewer's decision. The only way a label becomes final. The receipt names
    /// the earlier decisions it supersedes: one already taken on this suggestion, and the one
    /// the suggestion was raised again after.
    @discardableResult
    ///
    /// `details` are CID 901 codes the reviewer adds to a confirmation (`--detail`); the
    /// caller checks them against the group.
    public func decide(suggestion id: Int64, reviewer: String, decision: Decision, reason: String? = nil,
                       details: [LabelCode] = [], at date: Date = Date()) throws -> DecisionReceipt {
        let who = try Self.reviewerName(reviewer, in: path)
        try ensureStillInPlace()
        do {
            return try pool.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT supersedes_decision FROM suggestion WHERE id = ?", arguments: [id]) else {
                    throw LedgerError(file: path, reason: "there is no suggestion \(id)")
                }
                let raisedAfter: Int64? = row[0]
                let previous = try Int64.fetchOne(db, sql: "SELECT max(id) FROM decision WHERE suggestion_id = ?", arguments: [id])
                var superseded: [PastDecision] = []
                for decisionID in [previous, raisedAfter].compactMap({ $0 }) {
                    if let r = try Row.fetchOne(db, sql: "SELECT id, suggestion_id, reviewer, decision, decided_at FROM decision WHERE id = ?",
                                                arguments: [decisionID]) {
                        superseded.append(PastDecision(id: r[0], suggestionID: r[1], reviewer: r[2],
                                                       decision: Decision(rawValue: r[3]) ?? .rejected, decidedAt: r[4]))
                    }
                }
                try db.execute(sql: """
                    INSERT INTO decision (suggestion_id, reviewer, decision, reason, decided_at, details) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [id, who, decision.rawValue, reason, Self.timestamp(date), Self.json(details)])
                return DecisionReceipt(id: db.lastInsertedRowID, supersedes: superseded)
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(file: path, reason: "cannot record the decision: \(Self.describe(error))")
        }
    }

    /// Every suggestion with its latest decision, oldest first, optionally filtered.
    public func entries(flag: Flag? = nil, state: ReviewState? = nil) throws -> [LedgerEntry] {
        try fetchEntries().filter { e in (flag == nil || e.flag == flag) && (state == nil || e.state == state) }
    }

    /// The suggestion with this id and its latest decision, or nil if there is none.
    public func entry(_ id: Int64) throws -> LedgerEntry? {
        try fetchEntries(where: "s.id = ?", arguments: [id]).first
    }

    /// The suggestions added, or decided again, after `revision`, with their latest decision,
    /// oldest first: what to merge into entries read at `revision` to bring them up to date.
    public func entries(changedSince revision: LedgerRevision) throws -> [LedgerEntry] {
        try fetchEntries(where: "s.id > ? OR s.id IN (SELECT suggestion_id FROM decision WHERE id > ?)",
                         arguments: [revision.suggestions, revision.decisions])
    }

    /// Every suggestion about the image with this SHA-256, oldest first.
    public func entries(sha256: String) throws -> [LedgerEntry] {
        try fetchEntries(where: "i.sha256 = ?", arguments: [sha256])
    }

    /// Where the ledger stands: it changes whenever a suggestion or decision is added, by
    /// any process. The ledger is append-only, so the last ids are enough to tell.
    public func revision() throws -> LedgerRevision {
        do {
            return try pool.read { db in
                let row = try Row.fetchOne(db, sql: "SELECT (SELECT ifnull(max(id), 0) FROM suggestion), (SELECT ifnull(max(id), 0) FROM decision)")!
                return LedgerRevision(suggestions: row[0], decisions: row[1])
            }
        } catch {
            throw LedgerError(file: path, reason: "cannot read the ledger: \(Self.describe(error))")
        }
    }

    /// How many decisions were recorded at or after `date`.
    public func decisionCount(since date: Date) throws -> Int {
        do {
            return try pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM decision WHERE decided_at >= ?", arguments: [Self.timestamp(date)]) ?? 0
            }
        } catch {
            throw LedgerError(file: path, reason: "cannot read the ledger: \(Self.describe(error))")
        }
    }

    private func fetchEntries(where condition: String = "1", arguments: StatementArguments = []) throws -> [LedgerEntry] {
        do {
            return try pool.read { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT s.id, i.sha256, i.path, i.width, i.height, s.flag, s.score, s.threshold, s.state,
                           s.model, s.model_version, s.policy, s.policy_version, s.confidentiality, s.created_at,
                           d.reviewer, d.decision, d.reason, d.decided_at,
                           s.frame, i.study_instance_uid, i.series_instance_uid, i.sop_instance_uid, s.supersedes_decision,
                           s.labels, d.details
                    FROM suggestion s
                    JOIN image i ON i.id = s.image_id
                    LEFT JOIN decision d ON d.id = (SELECT max(id) FROM decision WHERE suggestion_id = s.id)
                    WHERE \(condition)
                    ORDER BY s.id
                    """, arguments: arguments)
                return rows.map { r in
                    let decided: String? = r[16]
                    let suggested: String = r[8]
                    return LedgerEntry(
                        suggestionID: r[0], sha256: r[1], path: r[2], width: r[3], height: r[4], flag: Flag(r[5] as String),
                        score: r[6], threshold: r[7], state: ReviewState(rawValue: decided ?? suggested) ?? .pending,
                        model: r[9], modelVersion: r[10], policy: r[11], policyVersion: r[12], confidentiality: r[13],
                        suggestedAt: r[14], frame: r[19], studyInstanceUID: r[20], seriesInstanceUID: r[21],
                        sopInstanceUID: r[22], reviewer: r[15], reason: r[17], decidedAt: r[18], supersedesDecision: r[23],
                        labels: Self.codes(r[24]), details: Self.codes(r[25]))
                }
            }
        } catch {
            throw LedgerError(file: path, reason: "cannot read the ledger: \(Self.describe(error))")
        }
    }

    /// The whole audit trail: every suggestion and every decision, in the order they were made.
    public func auditTrail() throws -> [AuditEvent] {
        do {
            return try pool.read { db in
                var events = try Row.fetchAll(db, sql: """
                    SELECT s.created_at, s.id, i.sha256, s.flag, s.score, s.state, s.policy, s.policy_version, s.model, s.model_version
                    FROM suggestion s JOIN image i ON i.id = s.image_id ORDER BY s.id
                    """).map { r in
                    AuditEvent(at: r[0], event: "suggested", suggestionID: r[1], sha256: r[2], flag: (r[3] as String?).map { Flag($0) }, score: r[4],
                               state: r[5], policy: "\(r[6] as String) \(r[7] as String)", model: "\(r[8] as String) \(r[9] as String)")
                }
                events += try Row.fetchAll(db, sql: """
                    SELECT d.decided_at, d.suggestion_id, i.sha256, s.flag, d.decision, d.reviewer, d.reason, d.details
                    FROM decision d JOIN suggestion s ON s.id = d.suggestion_id JOIN image i ON i.id = s.image_id ORDER BY d.id
                    """).map { r in
                    var event = AuditEvent(at: r[0], event: "decided", suggestionID: r[1], sha256: r[2], flag: (r[3] as String?).map { Flag($0) },
                                           state: r[4], reviewer: r[5], reason: r[6])
                    let details = Self.codes(r[7])
                    event.details = details.isEmpty ? nil : details
                    return event
                }
                events += try Row.fetchAll(db, sql: """
                    SELECT r.revealed_at, i.sha256, r.reviewer, r.level, r.reason
                    FROM reveal r JOIN image i ON i.id = r.image_id ORDER BY r.id
                    """).map { r in
                    AuditEvent(at: r[0], event: "revealed", sha256: r[1], reviewer: r[2], reason: r[4], level: r[3])
                }
                let order = ["suggested": 0, "decided": 1, "revealed": 2]
                return events.sorted { ($0.at, order[$0.event]!) < ($1.at, order[$1.event]!) }
            }
        } catch {
            throw LedgerError(file: path, reason: "cannot read the ledger: \(Self.describe(error))")
        }
    }

    /// The row id of `image`, adding the image (by content hash) if the ledger lacks it.
    static func imageID(_ image: LedgerImage, firstSeen: String, in db: Database) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO image (sha256, path, width, height, first_seen, study_instance_uid, series_instance_uid,
                               sop_instance_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(sha256) DO NOTHING
            """, arguments: [image.sha256, image.path, image.width, image.height, firstSeen,
                             image.studyInstanceUID, image.seriesInstanceUID, image.sopInstanceUID])
        return try Int64.fetchOne(db, sql: "SELECT id FROM image WHERE sha256 = ?", arguments: [image.sha256])!
    }

    /// A reviewer's name as recorded: trimmed, not blank, and free of control characters,
    /// which could forge lines in the audit trail's text forms.
    static func reviewerName(_ name: String, in path: String) throws -> String {
        let who = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !who.isEmpty else { throw LedgerError(file: path, reason: "a decision or reveal needs a reviewer") }
        // Control and format characters (line breaks, tabs, right-to-left overrides) and line
        // separators could forge or disguise lines in the trail's text forms.
        let hidden: Set<Unicode.GeneralCategory> = [.control, .format, .lineSeparator, .paragraphSeparator]
        guard !who.unicodeScalars.contains(where: { hidden.contains($0.properties.generalCategory) }) else {
            throw LedgerError(file: path, reason: "a reviewer's name cannot hold control characters (line breaks, tabs, direction overrides)")
        }
        return who
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// A point in a ledger's history (see ``Ledger/revision()``): equal revisions mean the same
/// suggestions and decisions.
public struct LedgerRevision: Hashable, Sendable {
    /// The last suggestion's id, 0 for none.
    public var suggestions: Int64
    /// The last decision's id, 0 for none.
    public var decisions: Int64
}

/// One line of the audit trail.
public struct AuditEvent: Sendable, Codable, Equatable {
    /// When, ISO 8601.
    public var at: String
    /// `suggested`, `decided` or `revealed`.
    public var event: String
    /// The suggestion (absent for reveals, which concern the image).
    public var suggestionID: Int64?
    /// The image's SHA-256, lower-case hex.
    public var sha256: String
    /// The flag suggested.
    public var flag: Flag?
    /// The score the threshold was compared with.
    public var score: Double?
    /// The state suggested, or the decision made.
    public var state: String?
    /// For reveals: the preview level shown (0 most obscured).
    public var level: Int?
    /// The policy's name.
    public var policy: String?
    /// What produced the score: a model's name, `vocabulary`, or a DICOM attribute.
    public var model: String?
    /// Who decided, once someone has.
    public var reviewer: String?
    /// The reason given with the decision or reveal, if any.
    public var reason: String?
    /// For decisions: the CID 901 details the reviewer added, if any.
    public var details: [LabelCode]?

    init(at: String, event: String, suggestionID: Int64? = nil, sha256: String, flag: Flag? = nil, score: Double? = nil,
         state: String? = nil, policy: String? = nil, model: String? = nil, reviewer: String? = nil, reason: String? = nil,
         level: Int? = nil) {
        self.at = at; self.event = event; self.suggestionID = suggestionID; self.sha256 = sha256; self.flag = flag
        self.score = score; self.state = state; self.policy = policy; self.model = model; self.reviewer = reviewer
        self.reason = reason; self.level = level
    }
}

extension Ledger {
    /// Records that `reviewer` was shown the preview of `image` at `level` (0 is the most
    /// obscured). Reveals are append-only, like decisions; the image is added to the ledger
    /// if it is not there yet.
    @discardableResult
    public func recordReveal(image: LedgerImage, reviewer: String, level: Int, reason: String? = nil,
                             at date: Date = Date()) throws -> Int64 {
        let who = try Self.reviewerName(reviewer, in: path)
        try ensureStillInPlace()
        let now = Self.timestamp(date)
        do {
            return try pool.write { db in
                let imageID = try Self.imageID(image, firstSeen: now, in: db)
                try db.execute(sql: "INSERT INTO reveal (image_id, reviewer, level, reason, revealed_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [imageID, who, level, reason, now])
                return db.lastInsertedRowID
            }
        } catch {
            throw LedgerError(file: path, reason: "cannot record the reveal: \(Self.describe(error))")
        }
    }
}

extension Ledger {
    /// Codes as the ledger stores them: a JSON array of {value, scheme, meaning}.
    static func json(_ codes: [LabelCode]) -> String {
        (try? JSONEncoder().encode(codes)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    /// The codes stored as `text`; none for NULL or for text that is not such an array.
    static func codes(_ text: String?) -> [LabelCode] {
        guard let text, text != "[]", let codes = try? JSONDecoder().decode([LabelCode].self, from: Data(text.utf8)) else { return [] }
        return codes
    }
}
