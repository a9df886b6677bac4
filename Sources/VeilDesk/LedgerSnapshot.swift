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

    /// The entries as the ledger holds them now.
    func current() throws -> View {
        let revision = try ledger.revision()
        if let cached = lock.withLock({ cached }), cached.revision == revision { return cached.view }
        // Read after the revision: the view is at least as new as the revision it is filed under.
        let entries = try ledger.entries()
        var byID: [Int64: Int] = [:], bySHA: [String: [Int]] = [:]
        for (index, e) in entries.enumerated() {
            byID[e.suggestionID] = index
            bySHA[e.sha256, default: []].append(index)
        }
        let ordered = ReviewQueue.deskOrder(entries)
        let view = View(entries: entries, byID: byID, bySHA: bySHA, ordered: ordered, openQueue: ordered.filter(ReviewQueue.isOpen),
                        flags: Set(entries.map(\.flag.rawValue)).sorted())
        lock.withLock { cached = (revision, view) }
        return view
    }
}
