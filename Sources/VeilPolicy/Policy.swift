import Foundation
import VeilVocabulary

/// A site's sensitivity policy: which flags are on, and the thresholds that send a
/// suggestion to human review and, optionally, restrict the image while it waits.
///
/// Policies are human-edited YAML files (see `PolicyFile`); ``Policy/standard`` is the
/// built-in default, documented with its reasoning in README.md. A policy only routes
/// suggestions: it can never make a label final. Only a reviewer's decision does that.
public struct Policy: Sendable, Equatable {
    /// The policy's name, e.g. `"St Elsewhere imaging governance policy"`.
    public var name: String
    /// Its version, recorded with every suggestion made under it.
    public var version: String
    /// Who approved it.
    public var approvedBy: String?
    /// When, as written in the file (ISO 8601 date recommended).
    public var approvedOn: String?
    /// Per-flag rules, by flag name. Flags are open-ended strings.
    public var flags: [String: FlagPolicy]
    /// Site changes to the vocabulary's sensitivity classes, by SNOMED CT code.
    public var sensitivityOverrides: [String: SensitivityClass]
    /// What changes for images of patients under 18 (known from DICOM metadata).
    public var minors: MinorsRule

    /// Creates a policy.
    public init(name: String, version: String, approvedBy: String? = nil, approvedOn: String? = nil,
                flags: [String: FlagPolicy], sensitivityOverrides: [String: SensitivityClass] = [:],
                minors: MinorsRule = .restrict) {
        self.name = name
        self.version = version
        self.approvedBy = approvedBy
        self.approvedOn = approvedOn
        self.flags = flags
        self.sensitivityOverrides = sensitivityOverrides
        self.minors = minors
    }
}

/// How a policy treats images of minors, whom governance protects most.
public enum MinorsRule: String, Sendable, Equatable, CaseIterable {
    /// Every suggestion at or above its review threshold also restricts the image while it
    /// waits for review. The default.
    case restrict
    /// Like ``restrict``, and every enabled flag with any score above zero goes to review,
    /// whatever its threshold: a person looks at every image of a minor that any flag
    /// touched.
    case reviewAll = "review-all"
    /// No different from adults.
    case same
}

/// The rules for one flag.
public struct FlagPolicy: Sendable, Equatable {
    /// Whether the flag produces suggestions at all.
    public var enabled: Bool
    /// At or above this (calibrated) score, a suggestion is queued for human review.
    public var reviewThreshold: Double
    /// At or above this score, the image is also restricted while it waits, so it fails safe.
    /// Never below `reviewThreshold`.
    public var restrictThreshold: Double?
    /// Maps raw model scores to site-calibrated probabilities before thresholds apply.
    public var calibration: Calibration?
    /// The HL7 v3 Confidentiality code (`R` restricted or `V` very restricted) a confirmed
    /// label carries.
    public var confidentiality: String

    /// Creates flag rules.
    public init(enabled: Bool = true, reviewThreshold: Double, restrictThreshold: Double? = nil,
                calibration: Calibration? = nil, confidentiality: String = "R") {
        self.enabled = enabled
        self.reviewThreshold = reviewThreshold
        self.restrictThreshold = restrictThreshold
        self.calibration = calibration
        self.confidentiality = confidentiality
    }
}

/// A monotone map from raw scores to calibrated probabilities.
public enum Calibration: Sendable, Equatable {
    /// Platt scaling: `1 / (1 + exp(a · score + b))`.
    case platt(a: Double, b: Double)
    /// Isotonic regression: a non-decreasing step function through `(score, probability)`
    /// points, linearly interpolated between them and clamped at the ends.
    case isotonic(points: [(score: Double, probability: Double)])

    /// The calibrated probability for a raw score.
    public func apply(_ score: Double) -> Double {
        switch self {
        case let .platt(a, b):
            return 1 / (1 + exp(a * score + b))
        case let .isotonic(points):
            guard let first = points.first, let last = points.last else { return score }
            if score <= first.score { return first.probability }
            if score >= last.score { return last.probability }
            let upper = points.firstIndex { $0.score >= score }!
            let p0 = points[upper - 1], p1 = points[upper]
            let t = p1.score == p0.score ? 1 : (score - p0.score) / (p1.score - p0.score)
            return p0.probability + t * (p1.probability - p0.probability)
        }
    }

    public static func == (lhs: Calibration, rhs: Calibration) -> Bool {
        switch (lhs, rhs) {
        case let (.platt(a1, b1), .platt(a2, b2)): return a1 == a2 && b1 == b2
        case let (.isotonic(p1), .isotonic(p2)):
            return p1.count == p2.count && zip(p1, p2).allSatisfy { $0.score == $1.score && $0.probability == $1.probability }
        default: return false
        }
    }
}

extension Policy {
    /// Veil's built-in policy; README.md ("The default policy") gives the reasoning.
    public static let standard = Policy(
        name: "Veil default policy", version: "1", approvedBy: nil, approvedOn: nil,
        flags: [
            // open_nsfw's authors call scores under 0.2 safe and over 0.8 NSFW. Reviewing from
            // 0.2 keeps recall high; restricting from 0.8 hides the clear cases at once.
            "nudity": FlagPolicy(reviewThreshold: 0.2, restrictThreshold: 0.8, confidentiality: "R"),
            // Metadata naming an intimate region is strong evidence: any clear match (synonym
            // 0.9, exact 1.0) is reviewed and restricted; fuzzy matches (0.65-0.8) reviewed only.
            "body-region": FlagPolicy(reviewThreshold: 0.6, restrictThreshold: 0.85, confidentiality: "R"),
            // An identifiable face is a HIPAA identifier but rarely shocking: review, no restriction.
            "face": FlagPolicy(reviewThreshold: 0.7, confidentiality: "R"),
            // The archive's own Sensitive Content Code Sequence: any item (score 1) is
            // reviewed and restricted, whatever its code.
            "sensitive-content": FlagPolicy(reviewThreshold: 0.5, restrictThreshold: 0.5, confidentiality: "R"),
        ])
}
