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
        ordered(entries) { e in (isOpen(e) ? 0 : 1, isOpen(e) ? uncertainty(e) : 0, e.suggestionID) }
    }

    /// The review desk's order: restricted suggestions first, because the image is held back
    /// until someone decides; then as ``byUncertainty(_:)``.
    public static func deskOrder(_ entries: [LedgerEntry]) -> [LedgerEntry] {
        ordered(entries) { e in
            let rank = e.state == .restricted ? 0 : isOpen(e) ? 1 : 2
            return (rank, rank < 2 ? uncertainty(e) : 0, e.suggestionID)
        }
    }

    /// `entries` sorted by `key`; the keys are sorted, not the entries, which are large.
    static func ordered(_ entries: [LedgerEntry], by key: (LedgerEntry) -> (Int, Double, Int64)) -> [LedgerEntry] {
        let keys = entries.map(key)
        return entries.indices.sorted { keys[$0] < keys[$1] }.map { entries[$0] }
    }

    /// How far a score lies from its threshold.
    static func uncertainty(_ e: LedgerEntry) -> Double { abs(e.score - e.threshold) }
}
