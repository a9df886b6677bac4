/// The orders in which suggestions are put in front of reviewers.
public enum ReviewQueue {
    /// Whether a suggestion still waits for a reviewer: pending or restricted.
    public static func isOpen(_ entry: LedgerEntry) -> Bool {
        entry.state == .pending || entry.state == .restricted
    }

    /// Open suggestions by the distance of their score from their threshold, nearest first
    /// (where a reviewer's decision teaches the next head fit most), then the decided ones
    /// as raised.
    public static func byUncertainty(_ entries: [LedgerEntry]) -> [LedgerEntry] {
        entries.filter(isOpen).sorted { (uncertainty($0), $0.suggestionID) < (uncertainty($1), $1.suggestionID) }
            + entries.filter { !isOpen($0) }
    }

    /// The review desk's order: restricted suggestions first, because the image is held back
    /// until someone decides; then as ``byUncertainty(_:)``.
    public static func deskOrder(_ entries: [LedgerEntry]) -> [LedgerEntry] {
        func rank(_ e: LedgerEntry) -> Int { e.state == .restricted ? 0 : isOpen(e) ? 1 : 2 }
        return entries.sorted { a, b in
            (rank(a), rank(a) < 2 ? uncertainty(a) : 0, a.suggestionID) < (rank(b), rank(b) < 2 ? uncertainty(b) : 0, b.suggestionID)
        }
    }

    /// How far a score lies from its threshold.
    static func uncertainty(_ e: LedgerEntry) -> Double { abs(e.score - e.threshold) }
}
