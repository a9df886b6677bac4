import Foundation
import VeilPolicy
import VeilReview

/// The ledger's entries as of its last revision, shared by every request: reading and
/// decoding every row for each page would cost more than the page. Any change, by the desk
/// or by another process (`veil score` adding suggestions, a decision made with the CLI),
/// moves the revision, and the next request reads the ledger again.
final class LedgerSnapshot: @unchecked Sendable {
    struct View {
        var entries: [LedgerEntry]
        var byID: [Int64: Int]
        var bySHA: [String: [Int]]

        /// The suggestion with this id.
        func entry(_ id: Int64) -> LedgerEntry? { byID[id].map { entries[$0] } }

        /// Every flag suggested for `entry`'s image and frame, whatever its state.
        func flagsSuggested(for entry: LedgerEntry) -> Set<Flag> {
            Set((bySHA[entry.sha256] ?? []).map { entries[$0] }.filter { $0.frame == entry.frame }.map(\.flag))
        }

        /// The other suggestions about `entry`'s image and frame.
        func others(of entry: LedgerEntry) -> [LedgerEntry] {
            (bySHA[entry.sha256] ?? []).map { entries[$0] }.filter { $0.frame == entry.frame && $0.suggestionID != entry.suggestionID }
        }

        /// Every suggestion in the desk's order (open ones first); a filtered subset keeps it.
        var ordered: [LedgerEntry]
        /// The open suggestions in the desk's order.
        var openQueue: [LedgerEntry]
        /// Every flag in the ledger, sorted.
        var flags: [String]
    }

    private let ledger: Ledger
    private let lock = NSLock()
    private var cached: (revision: LedgerRevision, view: View)?

    init(ledger: Ledger) { self.ledger = ledger }

    /// The entries as the ledger holds them now. After a change only what changed is read:
    /// the ledger is append-only, so new suggestions and new decisions are all there is.
    func current() throws -> View {
        let revision = try ledger.revision()
        let previous = lock.withLock { cached }
        if let previous, previous.revision == revision { return previous.view }
        // Read after the revision: the view is at least as new as the revision it is filed under.
        var entries: [LedgerEntry]
        if let previous {
            entries = previous.view.entries
            var byID = previous.view.byID
            for changed in try ledger.entries(changedSince: previous.revision) {
                if let index = byID[changed.suggestionID] { entries[index] = changed } else {
                    byID[changed.suggestionID] = entries.count
                    entries.append(changed)
                }
            }
        } else {
            entries = try ledger.entries()
        }
        let view = Self.view(of: entries)
        lock.withLock {
            // Another request may have filed a newer view meanwhile; keep the newest.
            if cached == nil || cached!.revision.suggestions <= revision.suggestions && cached!.revision.decisions <= revision.decisions {
                cached = (revision, view)
            }
        }
        return view
    }

    static func view(of entries: [LedgerEntry]) -> View {
        var byID: [Int64: Int] = [:], bySHA: [String: [Int]] = [:]
        for (index, e) in entries.enumerated() {
            byID[e.suggestionID] = index
            bySHA[e.sha256, default: []].append(index)
        }
        let ordered = ReviewQueue.deskOrder(entries)
        return View(entries: entries, byID: byID, bySHA: bySHA, ordered: ordered, openQueue: ordered.filter(ReviewQueue.isOpen),
                    flags: Set(entries.map(\.flag.rawValue)).sorted())
    }
}
