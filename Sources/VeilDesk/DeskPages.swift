import Foundation
import Mustache
import Veil
import VeilReview
import VeilVocabulary

// What the templates draw. Mustache escapes every `{{value}}`; nothing here is pre-escaped.

/// The frame around every page: title, who is signed in, and where they may go.
struct Chrome {
    var title: String
    var user: String?
    var csrf: String?
    var canReview: Bool
    var isAuditor: Bool
}

struct SignInView {
    var chrome: Chrome
    var token: String
    var notice: String?
}

struct MessageView {
    var chrome: Chrome
    var text: String
}

/// One choice of a filter or picker.
struct Option: MustacheParent {
    var value: String
    var label: String
    var selected: Bool

    func child(named name: String) -> Any? {
        switch name {
        case "value": return value
        case "label": return label
        case "selected": return selected
        default: return nil
        }
    }
}

struct QueueView {
    static let pageSize = 48
    /// The state filter's choices; `open` is pending and restricted.
    static let states = [("open", "open (pending and restricted)"), ("restricted", "restricted"), ("pending", "pending"),
                         ("confirmed", "confirmed"), ("rejected", "rejected"), ("all", "all")]
    var chrome: Chrome
    /// Open suggestions in the whole ledger.
    var left: Int
    var decidedToday: Int
    /// Suggestions the filters match, and how many of them are not on this page.
    var matching: Int
    var items: [QueueItem]
    var hidden: Int
    var flags: [Option]
    var states: [Option]
    /// The first card, for the `n` key.
    var first: String?
    // Mustache sees stored properties only (it reads them through Mirror).
    var hasHidden = false, queueEmpty = false
}

// The queue draws hundreds of these per page: they answer by name instead of through Mirror,
// which costs most of the page's time otherwise.
struct QueueItem: MustacheParent {
    var id: Int64
    var href: String
    var thumbnail: String
    var flag: String
    var score: String
    var threshold: String
    var state: String
    var restricted: Bool

    init(_ e: LedgerEntry, thumbnailPath: String) {
        id = e.suggestionID
        href = "/cards/\(e.suggestionID)"
        thumbnail = thumbnailPath
        flag = e.flag.rawValue
        score = String(format: "%.3f", e.score)
        threshold = String(format: "%.3f", e.threshold)
        state = e.state.rawValue
        restricted = e.state == .restricted
    }

    func child(named name: String) -> Any? {
        switch name {
        case "id": return id
        case "href": return href
        case "thumbnail": return thumbnail
        case "flag": return flag
        case "score": return score
        case "threshold": return threshold
        case "state": return state
        case "restricted": return restricted
        default: return nil
        }
    }
}

struct CardView {
    var chrome: Chrome
    var id: Int64
    var flag: String
    var score: String
    var threshold: String
    var state: String
    var restricted: Bool
    var open: Bool
    var decidedBy: String?
    var decidedAt: String?
    var decisionReason: String?
    var model: String
    var policy: String
    var confidentiality: String
    var suggestedAt: String
    var size: String
    var digest: String
    var frame: String?
    var study: String?
    var series: String?
    var instance: String?
    /// What the evidence implied, as DICOM codes (the flag's category, then details).
    var codes: [String]
    /// Other flags raised for the same image.
    var others: [String]
    /// The CID 901 details the latest decision added.
    var added: [String]
    var hasCodes: Bool, hasOthers: Bool, hasAdded: Bool
    var level: Int
    var levelName: String
    var preview: String
    var canReveal: Bool
    var nextLevel: Int?
    var details: [Option]
    var position: String
    var next: String?
    var previous: String?
    var notice: String?

    init(entry e: LedgerEntry, chrome: Chrome, level: Int, canReveal: Bool, position: String, next: String?, previous: String?,
         others: [String], notice: String?) {
        self.chrome = chrome
        id = e.suggestionID
        flag = e.flag.rawValue
        score = String(format: "%.3f", e.score)
        threshold = String(format: "%.3f", e.threshold)
        state = e.state.rawValue
        restricted = e.state == .restricted
        open = ReviewQueue.isOpen(e)
        if !open { decidedBy = e.reviewer; decidedAt = e.decidedAt; decisionReason = e.reason }
        model = "\(e.model) \(e.modelVersion)"
        policy = "\(e.policy) \(e.policyVersion)"
        confidentiality = e.confidentiality
        suggestedAt = e.suggestedAt
        size = "\(e.width) × \(e.height)"
        digest = String(e.sha256.prefix(16))
        frame = e.frame.map(String.init)
        study = e.studyInstanceUID
        series = e.seriesInstanceUID
        instance = e.sopInstanceUID
        // What the evidence implied, apart from what a reviewer added since.
        var suggested = e
        suggested.details = []
        codes = suggested.codes.map { "\($0.meaning) (\($0.scheme) \($0.value))" }
        added = e.details.map { "\($0.meaning) (\($0.scheme) \($0.value))" }
        hasAdded = !added.isEmpty
        self.others = others
        hasCodes = !codes.isEmpty
        hasOthers = !others.isEmpty
        self.level = level
        levelName = level == 0 ? "most obscured" : level == Preview.clearLevel ? "clear" : "less obscured"
        preview = "/previews/\(e.suggestionID)?level=\(level)&size=card"
        self.canReveal = canReveal
        nextLevel = canReveal && level < Preview.clearLevel ? level + 1 : nil
        let chosen = Set(e.details.map { "\($0.scheme):\($0.value)" })
        details = SensitiveContentCode.details.map { Option(value: $0.key, label: $0.meaning, selected: chosen.contains($0.key)) }
        self.position = position
        self.next = next
        self.previous = previous
        self.notice = notice
    }
}

struct AuditView {
    var chrome: Chrome
    var rows: [AuditRow]
    var matching: Int
    var reviewer: String
    var date: String
    var flags: [Option]
    var truncated = false
}

/// One line of the auditor's view: a decision (and what it superseded) or a reveal.
struct AuditRow {
    var at: String
    var what: String
    var reviewer: String
    var suggestion: String
    var flags: [String]
    var flagText: String
    var detail: String
    var reason: String

    /// The decisions and reveals of `trail`, oldest first; `entries` say which flags a
    /// revealed image was suggested for.
    static func rows(_ trail: [AuditEvent], entries: [LedgerEntry]) -> [AuditRow] {
        let flagsByImage = Dictionary(grouping: entries, by: \.sha256).mapValues { Array(Set($0.map(\.flag.rawValue))).sorted() }
        var lastDecision: [Int64: AuditEvent] = [:]
        var rows: [AuditRow] = []
        for event in trail {
            switch event.event {
            case "decided":
                let id = event.suggestionID ?? 0
                var detail = ""
                if let added = event.details, !added.isEmpty {
                    detail = "details: " + added.map(\.meaning).joined(separator: ", ")
                }
                if let earlier = lastDecision[id] {
                    detail += (detail.isEmpty ? "" : "; ") + "supersedes \(earlier.state ?? "a decision") by \(earlier.reviewer ?? "?") at \(earlier.at)"
                }
                lastDecision[id] = event
                let flag = event.flag?.rawValue ?? ""
                rows.append(AuditRow(at: event.at, what: event.state ?? "decided", reviewer: event.reviewer ?? "", suggestion: "\(id)",
                                     flags: [flag], flagText: flag, detail: detail, reason: event.reason ?? ""))
            case "revealed":
                let flags = flagsByImage[event.sha256] ?? []
                rows.append(AuditRow(at: event.at, what: "revealed level \(event.level ?? 0)", reviewer: event.reviewer ?? "",
                                     suggestion: "", flags: flags, flagText: flags.joined(separator: ", "),
                                     detail: "image \(event.sha256.prefix(16))", reason: event.reason ?? ""))
            default:
                continue
            }
        }
        return rows
    }
}
