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
    /// Per-flag rules, by flag name: Veil's built-in flags (``builtInFlags``) and the site's
    /// own (``siteFlags``).
    public var flags: [Flag: FlagPolicy]
    /// Flags the site adds beyond ``builtInFlags`` (its own models' outputs, later heads).
    /// Declared apart from their rules, so that a misspelt flag name is an error rather than
    /// a new flag that nothing ever scores while the real one stays at its default.
    public var siteFlags: Set<Flag>
    /// Site changes to the vocabulary's sensitivity classes, by SNOMED CT code.
    public var sensitivityOverrides: [String: SensitivityClass]
    /// What changes for images of patients under 18 (known from DICOM metadata).
    public var minors: MinorsRule
    /// Folders of site-trained heads (`veil heads fit`) that score site flags from the
    /// classifier's embedding; in a policy file, relative to the file.
    public var heads: [String] = []

    /// Creates a policy.
    public init(name: String, version: String, approvedBy: String? = nil, approvedOn: String? = nil,
                flags: [Flag: FlagPolicy], siteFlags: Set<Flag> = [], sensitivityOverrides: [String: SensitivityClass] = [:],
                minors: MinorsRule = .restrict) {
        self.name = name
        self.version = version
        self.approvedBy = approvedBy
        self.approvedOn = approvedOn
        self.flags = flags
        self.siteFlags = siteFlags
        self.sensitivityOverrides = sensitivityOverrides
        self.minors = minors
    }

    /// The flags Veil itself raises: `nudity` (the classifier), `face` (the face detector and
    /// metadata), `body-region` (metadata naming an intimate region) and `sensitive-content`
    /// (the archive's own Sensitive Content Code Sequence).
    public static let builtInFlags: [Flag] = Flag.builtIn

    /// Checks what the type cannot: every flag is built in or declared, thresholds are in
    /// order, and at least one flag is enabled. A policy that fails this would switch a
    /// safeguard off without saying so. `file` names the source in the error.
    public func validate(file: String = "<policy>") throws {
        func fail(_ key: String?, _ reason: String) -> PolicyError { PolicyError(file: file, line: nil, key: key, reason: reason) }
        for flag in flags.keys.sorted() where !Self.builtInFlags.contains(flag) && !siteFlags.contains(flag) {
            throw fail("flags.\(flag)", Self.unknownFlagReason(flag.rawValue))
        }
        for flag in siteFlags.sorted() {
            if let reason = Self.siteFlagProblem(flag.rawValue) { throw fail("site_flags", reason) }
            if flags[flag] == nil { throw fail("site_flags", "'\(flag)' is declared but has no rules under flags") }
        }
        for (flag, rule) in flags.sorted(by: { $0.key < $1.key }) {
            try rule.validate { fail("flags.\(flag).\($0)", $1) }
        }
        guard flags.values.contains(where: \.enabled) else {
            throw fail("flags", "no flag is enabled: the policy would never send an image to review")
        }
    }

    /// Veil's vocabulary with this policy's ``sensitivityOverrides`` applied: what reads file
    /// names, folder names and DICOM attributes under this policy.
    ///
    /// - Throws: `VocabularyError` if the tables cannot be loaded or an override names a
    ///   code the vocabulary does not hold.
    public func vocabulary() throws -> Vocabulary {
        try Vocabulary.standard().overriding(sensitivity: sensitivityOverrides)
    }

    /// Why `flag` cannot be a site flag, or nil: names are lower-case ASCII letters, digits
    /// and hyphens, so that `Nudity` or a look-alike in another script cannot pass for a
    /// built-in flag while the real one is switched off.
    public static func siteFlagProblem(_ flag: String) -> String? {
        if builtInFlags.contains(Flag(flag.lowercased())) { return "'\(flag)' is a built-in flag; list only the site's own flags" }
        let allowed = flag.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }
        guard allowed, flag.first?.isLetter == true else {
            return "'\(flag)': site flag names are lower-case letters a-z, digits and hyphens, starting with a letter"
        }
        return nil
    }

    /// Why `flag` is not accepted, with the nearest known name when it looks like a typo.
    static func unknownFlagReason(_ flag: String) -> String {
        var reason = "unknown flag '\(flag)'; Veil's flags are \(builtInFlags.map(\.rawValue).joined(separator: ", "))"
        if let near = builtInFlags.map(\.rawValue).min(by: { editDistance($0, flag) < editDistance($1, flag) }), editDistance(near, flag) <= 2 {
            reason += " (did you mean '\(near)'?)"
        }
        return reason + "; a flag of the site's own must be listed under site_flags"
    }

    /// A copy with some review thresholds replaced for one run (`veil score --threshold`),
    /// checked like the file: the flag must exist and review must not rise above restrict.
    public func overridingReviewThresholds(_ overrides: [Flag: Double]) throws -> Policy {
        var copy = self
        for (flag, value) in overrides.sorted(by: { $0.key < $1.key }) {
            guard var rule = flags[flag] else {
                throw PolicyError(file: "--threshold", line: nil, key: flag.rawValue,
                                  reason: Self.builtInFlags.contains(flag) || siteFlags.contains(flag)
                                      ? "the policy has no rules for this flag" : Self.unknownFlagReason(flag.rawValue))
            }
            guard rule.enabled else {
                throw PolicyError(file: "--threshold", line: nil, key: flag.rawValue, reason: "the policy switches this flag off, so a threshold for it would do nothing")
            }
            rule.reviewThreshold = value
            try rule.validate { PolicyError(file: "--threshold", line: nil, key: "\(flag)=\(value)", reason: $1) }
            copy.flags[flag] = rule
        }
        // Suggestions made under one-run thresholds are not the approved policy's: their
        // version says so, in records and in the ledger.
        if !overrides.isEmpty {
            copy.version += " with --threshold " + overrides.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        return copy
    }
}

/// Levenshtein distance, for "did you mean" hints on short names.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    guard !a.isEmpty else { return b.count }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var diagonal = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let above = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
            diagonal = above
        }
    }
    return row[b.count]
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
    /// The review threshold for a score that rests only on a near miss: text that is one or
    /// two letters from an anatomic term and no closer to an ordinary word ("brest"). Nil
    /// means ``reviewThreshold``. A site that finds near misses too noisy raises it.
    public var nearMissThreshold: Double?
    /// Maps raw model scores to site-calibrated probabilities before thresholds apply.
    public var calibration: Calibration?
    /// The HL7 v3 Confidentiality code (`R` restricted or `V` very restricted) a confirmed
    /// label carries.
    public var confidentiality: String
    /// The DICOM Sensitive Content Category (CID 900) a confirmed label carries, e.g.
    /// 131394 Gruesome Content. Nil means ``Policy/contentCategory(for:)``'s default.
    public var category: SensitiveContentCode?

    /// Creates flag rules.
    public init(enabled: Bool = true, reviewThreshold: Double, restrictThreshold: Double? = nil,
                nearMissThreshold: Double? = nil, calibration: Calibration? = nil, confidentiality: String = "R",
                category: SensitiveContentCode? = nil) {
        self.category = category
        self.enabled = enabled
        self.reviewThreshold = reviewThreshold
        self.restrictThreshold = restrictThreshold
        self.nearMissThreshold = nearMissThreshold
        self.calibration = calibration
        self.confidentiality = confidentiality
    }

    /// Thresholds are probabilities, and restriction applies only to images already sent to
    /// review. `fail` builds the error from a key (relative to the flag) and a reason.
    func validate(_ fail: (String, String) -> PolicyError) throws {
        for (key, value) in [("review_threshold", reviewThreshold), ("restrict_threshold", restrictThreshold),
                             ("near_miss_review_threshold", nearMissThreshold)] {
            if let value, !(0...1).contains(value) { throw fail(key, "must be between 0 and 1, got \(value)") }
        }
        if let restrict = restrictThreshold, restrict < reviewThreshold {
            throw fail("restrict_threshold", "\(restrict) is below the review threshold \(reviewThreshold); restriction applies only to images already sent to review")
        }
        guard ["R", "V"].contains(confidentiality) else {
            throw fail("confidentiality", "must be the HL7 v3 Confidentiality code R (restricted) or V (very restricted)")
        }
        if let category, category.group != .category || category == .noSensitiveContent {
            throw fail("category", "\(category) is not a category a label can carry; use one of \(Self.categoryChoices)")
        }
        // A calibration that falls, or stays flat, would turn the strongest evidence into the
        // weakest: the flag would never reach review while the policy says it is on.
        switch calibration {
        case let .platt(a, _)? where !(a < 0):
            throw fail("calibration.platt", "a must be negative, so that a higher raw score gives a higher probability; got \(a)")
        case let .isotonic(points)? where points.count < 2 || !(points.last!.probability > points.first!.probability):
            throw fail("calibration.isotonic", "needs at least two points, and must rise from its first probability to its last")
        default: break
        }
        // Rising is not enough: the highest raw score must still reach the thresholds.
        if let calibration {
            let top = calibration.apply(1)
            if top < reviewThreshold {
                throw fail("calibration", "maps the highest raw score, 1, to \(top), below the review threshold \(reviewThreshold): the flag could never be reviewed")
            }
            if let restrict = restrictThreshold, top < restrict {
                throw fail("calibration", "maps the highest raw score, 1, to \(top), below the restrict threshold \(restrict): no image could be restricted")
            }
        }
    }
}

extension FlagPolicy {
    /// The CID 900 codes a flag's label may carry, for error messages.
    static var categoryChoices: String {
        SensitiveContentCode.categories.filter { $0 != .noSensitiveContent }.map { "\($0.value) \($0.meaning)" }.joined(separator: ", ")
    }
}

extension Policy {
    /// The DICOM Sensitive Content Category a confirmed `flag` is labelled with: the flag's
    /// own `category`, else 131395 Sensitive Content. Nil only for `sensitive-content`
    /// without a category of its own, whose label is the archive's own code.
    public func contentCategory(for flag: Flag) -> SensitiveContentCode? {
        if let own = flags[flag]?.category { return own }
        return flag == .sensitiveContent ? nil : .sensitiveContent
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
            "nudity": FlagPolicy(reviewThreshold: 0.2, restrictThreshold: 0.8, confidentiality: "R", category: .nudityContent),
            // Metadata naming an intimate region is strong evidence: any clear match (synonym
            // 0.9, exact 1.0) is reviewed and restricted; fuzzy matches (0.65-0.8) reviewed only.
            "body-region": FlagPolicy(reviewThreshold: 0.6, restrictThreshold: 0.85, confidentiality: "R", category: .nudityContent),
            // An identifiable face is a HIPAA identifier but rarely shocking: review, no restriction.
            "face": FlagPolicy(reviewThreshold: 0.7, confidentiality: "R", category: .identifyingContent),
            // The archive's own Sensitive Content Code Sequence: any item (score 1) is
            // reviewed and restricted, whatever its code.
            "sensitive-content": FlagPolicy(reviewThreshold: 0.5, restrictThreshold: 0.5, confidentiality: "R"),
        ])
}
