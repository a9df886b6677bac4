import VeilVocabulary

/// Where a suggestion stands before any reviewer has looked at it.
///
/// Deliberately has no "confirmed" or "rejected" case: those exist only as decisions a
/// reviewer records in the review ledger. Nothing a policy computes can make a label final.
public enum SuggestionState: String, Sendable, Codable, CaseIterable {
    /// The score is below the review threshold: no suggestion is made.
    case belowThreshold = "below-threshold"
    /// Queued for human review.
    case pendingReview = "pending"
    /// Queued for review, and the image is restricted meanwhile.
    case provisionallyRestricted = "restricted"
}

/// What produced a score: a model and its version (`open_nsfw` `1.0.0`, the face detector),
/// the vocabulary and its table version, or a DICOM attribute.
public struct Provenance: Sendable, Equatable, Codable {
    /// The model's name, `vocabulary`, or `DICOM` and the attribute, e.g.
    /// `DICOM BodyPartExamined (0018,0015)`.
    public var name: String
    /// The model's version, or the vocabulary's ``VeilVocabulary/Vocabulary/tableVersion``.
    public var version: String

    /// Creates a provenance.
    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// What the policy suggests for one flag of one image.
public struct Suggestion: Sendable, Equatable, Codable {
    /// The flag, e.g. `"nudity"`.
    public var flag: Flag
    /// The score the threshold was compared with (calibrated, if the policy calibrates).
    public var score: Double
    /// The model's raw score, when calibration changed it.
    public var rawScore: Double?
    /// The review threshold that applied.
    public var threshold: Double
    /// The state.
    public var state: SuggestionState
    /// What produced the score, when the caller knows (``Veil/Assessment`` does).
    public var source: Provenance?
    /// The DICOM sensitive content codes a confirmed label of this suggestion carries: the
    /// flag's CID 900 category and the CID 901 details its evidence implies (for
    /// `sensitive-content`, the archive's own codes). Filled in by the scorer.
    public var labels: [LabelCode] = []

    /// Creates a suggestion.
    public init(flag: Flag, score: Double, rawScore: Double? = nil, threshold: Double, state: SuggestionState) {
        self.flag = flag
        self.score = score
        self.rawScore = rawScore
        self.threshold = threshold
        self.state = state
    }
}

extension Policy {
    /// The suggestions for one image's scores: one per enabled flag that has a score, in
    /// flag-name order. `minor` says the image is of a patient under 18; ``minors`` decides
    /// what that changes. `nearMisses` names the flags whose score rests only on a near-miss
    /// text match; their rule's ``FlagPolicy/nearMissThreshold`` applies, if it has one.
    public func suggestions(for scores: [Flag: Double], minor: Bool = false,
                            nearMisses: Set<Flag> = []) -> [Suggestion] {
        flags.keys.sorted().compactMap { flag in
            guard let rule = flags[flag], rule.enabled, let raw = scores[flag] else { return nil }
            let score = rule.calibration?.apply(raw) ?? raw
            let threshold = nearMisses.contains(flag) ? rule.nearMissThreshold ?? rule.reviewThreshold : rule.reviewThreshold
            let state: SuggestionState
            if let restrict = rule.restrictThreshold, score >= max(restrict, threshold) {
                state = .provisionallyRestricted
            } else if score >= threshold {
                state = minor && minors != .same ? .provisionallyRestricted : .pendingReview
            } else if minor && minors == .reviewAll && score > 0 {
                state = .pendingReview
            } else {
                state = .belowThreshold
            }
            return Suggestion(flag: flag, score: score, rawScore: rule.calibration == nil ? nil : raw,
                              threshold: threshold, state: state)
        }
    }
}

/// The review summary of an image: the most protective state of its suggestions.
public enum ReviewSummary: String, Sendable, Codable {
    case none
    case pending
    case restricted

    /// Summarizes suggestions.
    public init(_ suggestions: [Suggestion]) {
        if suggestions.contains(where: { $0.state == .provisionallyRestricted }) { self = .restricted }
        else if suggestions.contains(where: { $0.state == .pendingReview }) { self = .pending }
        else { self = .none }
    }
}
