import Foundation
import Testing
@testable import VeilPolicy
import VeilVocabulary

struct PolicyTests {
    static let sample = """
    # St Elsewhere's policy, as a committee would write it
    policy:
      name: St Elsewhere imaging governance
      version: "2026-2"
      approved_by: Imaging governance committee
      approved_on: 2026-11-20
    flags:
      nudity:
        review_threshold: 0.3
        restrict_threshold: 0.9
        confidentiality: V
        calibration:
          platt: {a: -6.0, b: 3.0}
      body-region:
        enabled: true
        review_threshold: 0.5
      wound-gore:            # a site's own flag
        review_threshold: 0.7
        calibration:
          isotonic: [[0.0, 0.0], [0.5, 0.2], [1.0, 0.9]]
      face:
        enabled: false
        review_threshold: 0.8
    site_flags: [wound-gore]
    sensitivity_overrides:
      "72696002": intimate
    """

    @Test func parsesEveryField() throws {
        let policy = try Policy(yaml: Self.sample, file: "site.yaml")
        #expect(policy.name == "St Elsewhere imaging governance" && policy.version == "2026-2")
        #expect(policy.approvedBy == "Imaging governance committee" && policy.approvedOn == "2026-11-20")
        #expect(policy.flags["nudity"] == FlagPolicy(reviewThreshold: 0.3, restrictThreshold: 0.9,
                                                     calibration: .platt(a: -6, b: 3), confidentiality: "V",
                                                     category: .nudityContent))
        #expect(policy.flags["face"]?.enabled == false)
        #expect(policy.flags["wound-gore"]?.calibration == .isotonic(points: [(0, 0), (0.5, 0.2), (1, 0.9)]))
        #expect(policy.sensitivityOverrides == ["72696002": .intimate])
    }

    /// States at and around the thresholds; calibration applies before them.
    @Test func suggestionsFollowTheThresholds() throws {
        let policy = try Policy(yaml: Self.sample)
        func state(_ flag: Flag, _ score: Double) -> SuggestionState? {
            policy.suggestions(for: [flag: score]).first?.state
        }
        #expect(state("body-region", 0.49) == .belowThreshold)
        #expect(state("body-region", 0.5) == .pendingReview)          // at the threshold: reviewed
        #expect(state("face", 0.99) == nil)                              // disabled flag: no suggestion
        // Platt: 1 / (1 + e^(-6s + 3)) is 0.5 at s = 0.5; 0.3 at s ≈ 0.3588; 0.9 at s ≈ 0.8662.
        #expect(state("nudity", 0.35) == .belowThreshold)
        #expect(state("nudity", 0.37) == .pendingReview)
        #expect(state("nudity", 0.87) == .provisionallyRestricted)
        let s = try #require(policy.suggestions(for: ["nudity": 0.5]).first)
        #expect(abs(s.score - 0.5) < 1e-12 && s.rawScore == 0.5 && s.threshold == 0.3)
        // Isotonic: interpolates between points: 0.75 → 0.2 + 0.5 × 0.7 = 0.55 < 0.7.
        #expect(abs(Calibration.isotonic(points: [(0, 0), (0.5, 0.2), (1, 0.9)]).apply(0.75) - 0.55) < 1e-12)
        #expect(state("wound-gore", 0.75) == .belowThreshold)
        #expect(state("wound-gore", 0.9) == .pendingReview)
        // A one-run override of the review threshold.
        #expect(try policy.overridingReviewThresholds(["body-region": 0.4]).suggestions(for: ["body-region": 0.45]).first?.state == .pendingReview)
        #expect(ReviewSummary(policy.suggestions(for: ["nudity": 0.95, "body-region": 0.1])) == .restricted)
        #expect(ReviewSummary(policy.suggestions(for: ["nudity": 0.1])) == ReviewSummary.none)
    }

    @Test func theStandardPolicyIsValid() {
        #expect(Policy.standard.flags.keys.sorted() == ["body-region", "face", "nudity", "sensitive-content"])
        #expect(Policy.standard.minors == .restrict)
        for (_, rule) in Policy.standard.flags {
            #expect((0...1).contains(rule.reviewThreshold))
            #expect(rule.restrictThreshold.map { $0 >= rule.reviewThreshold } ?? true)
        }
    }

    /// Each kind of mistake names the line and the key.
    @Test(arguments: [
        ("policy:\n  name: x\n  version: 1\nflags:\n  nudity:\n    review_treshold: 0.2\n", 6, "flags.nudity.review_treshold", "unknown key"),
        ("policy:\n  name: x\n  version: 1\nflags:\n  nudity:\n    review_threshold: 1.5\n", 6, "flags.nudity.review_threshold", "between 0 and 1"),
        ("policy:\n  name: x\n  version: 1\nflags:\n  nudity:\n    review_threshold: 0.5\n    restrict_threshold: 0.4\n", 7, "flags.nudity.restrict_threshold", "below the review threshold"),
        ("policy:\n  name: x\n  version: 1\nflags:\n  nudity:\n    review_threshold: high\n", 6, "flags.nudity.review_threshold", "must be a number"),
        ("policy:\n  name: x\n  version: 1\nflags:\n  nudity: [\n", 6, nil, "not valid YAML"),
        ("policy:\n  name: x\nflags: {}\n", 2, "policy", "needs 'name' and 'version'"),
        ("policy:\n  name: x\n  version: 1\nflag:\n  nudity:\n    review_threshold: 0.2\n", 4, "flag", "unknown key"),
        ("policy:\n  name: x\n  version: 1\nflags:\n  nudity:\n    review_threshold: 0.2\n    confidentiality: N\n", 7, "flags.nudity.confidentiality", "R (restricted) or V"),
        ("policy:\n  name: x\n  version: 1\nsensitivity_overrides:\n  \"72696002\": secret\n", 5, "sensitivity_overrides.72696002", "intimate, face or none"),
        ("policy:\n  name: x\n  version: 1\nminors: lenient\n", 4, "minors", "restrict, review-all, same"),
    ] as [(String, Int, String?, String)])
    func mistakesNameLineAndKey(yaml: String, line: Int, key: String?, reason: String) {
        do {
            _ = try Policy(yaml: yaml, file: "site.yaml")
            Issue.record("accepted a broken policy:\n\(yaml)")
        } catch let error as PolicyError {
            #expect(error.file == "site.yaml")
            #expect(error.line == line, "\(error)")
            if let key { #expect(error.key == key, "\(error)") }
            #expect(error.reason.contains(reason), "\(error)")
        } catch {
            Issue.record("untyped error \(error)")
        }
    }

    /// Images of minors: `restrict` restricts whatever reaches review, `review-all` also
    /// reviews any nonzero score, `same` changes nothing.
    @Test func minorsRuleDecidesWhatChanges() throws {
        let scores: [Flag: Double] = ["face": 0.75, "nudity": 0.05, "body-region": 0.0]
        func states(_ rule: String, minor: Bool) throws -> [Flag: SuggestionState] {
            let policy = try Policy(yaml: """
                policy: {name: x, version: "1"}
                minors: \(rule)
                flags:
                  face: {review_threshold: 0.7}
                  nudity: {review_threshold: 0.2, restrict_threshold: 0.8}
                  body-region: {review_threshold: 0.6}
                """)
            return Dictionary(uniqueKeysWithValues: policy.suggestions(for: scores, minor: minor).map { ($0.flag, $0.state) })
        }
        #expect(try states("restrict", minor: false) == ["face": .pendingReview, "nudity": .belowThreshold, "body-region": .belowThreshold])
        #expect(try states("restrict", minor: true) == ["face": .provisionallyRestricted, "nudity": .belowThreshold, "body-region": .belowThreshold])
        #expect(try states("review-all", minor: true) == ["face": .provisionallyRestricted, "nudity": .pendingReview, "body-region": .belowThreshold])
        #expect(try states("same", minor: true) == ["face": .pendingReview, "nudity": .belowThreshold, "body-region": .belowThreshold])
    }

    /// A policy can only queue suggestions: no state it computes is a final label. Final
    /// labels exist only as reviewer decisions in the ledger.
    @Test func noPolicyStateIsAFinalLabel() {
        #expect(Set(SuggestionState.allCases.map(\.rawValue)) == ["below-threshold", "pending", "restricted"])
    }

    /// Leaving a built-in flag out, or a key out of a named one, keeps Veil's default: an
    /// omission never switches a safeguard off. A misspelt flag is an error, not a new flag.
    @Test func omissionsKeepDefaultsAndTyposAreErrors() throws {
        let partial = try Policy(yaml: "policy: {name: x, version: \"1\"}\nflags:\n  nudity: {review_threshold: 0.3}\n")
        #expect(partial.flags["face"] == Policy.standard.flags["face"])
        #expect(partial.flags["sensitive-content"] == Policy.standard.flags["sensitive-content"])
        #expect(partial.flags["nudity"]?.reviewThreshold == 0.3 && partial.flags["nudity"]?.restrictThreshold == 0.8)
        let off = try Policy(yaml: "policy: {name: x, version: \"1\"}\nflags:\n  face: {enabled: false}\n")
        #expect(off.flags["face"]?.enabled == false && off.flags["face"]?.reviewThreshold == 0.7)
        let unrestricted = try Policy(yaml: "policy: {name: x, version: \"1\"}\nflags:\n  nudity: {restrict_threshold: null}\n")
        #expect(unrestricted.flags["nudity"]?.restrictThreshold == nil)
        #expect(throws: PolicyError.self) { try Policy(yaml: "policy: {name: x, version: \"1\"}\nflags:\n  Nudity: {review_threshold: 0.3}\n") }
        #expect(throws: PolicyError.self) { try Policy(yaml: "policy: {name: x, version: \"1\"}\nsite_flags: [nudity]\n") }
        // Built in code too: a policy made in Swift is checked by validate().
        #expect(throws: PolicyError.self) { try Policy(name: "x", version: "1", flags: ["wound": FlagPolicy(reviewThreshold: 0.5)]).validate() }
        try Policy(name: "x", version: "1", flags: ["wound": FlagPolicy(reviewThreshold: 0.5)], siteFlags: ["wound"]).validate()
    }

    /// A score that rests only on a near miss meets the near-miss threshold, when set.
    @Test func nearMissesHaveTheirOwnThreshold() throws {
        let policy = try Policy(yaml: "policy: {name: x, version: \"1\"}\nflags:\n  body-region: {near_miss_review_threshold: 0.75}\n")
        #expect(policy.suggestions(for: ["body-region": 0.7]).first?.state == .pendingReview)
        #expect(policy.suggestions(for: ["body-region": 0.7], nearMisses: ["body-region"]).first?.state == .belowThreshold)
        #expect(policy.suggestions(for: ["body-region": 0.8], nearMisses: ["body-region"]).first?.state == .pendingReview)
        // Without one, the review threshold applies to near misses as to anything else.
        #expect(Policy.standard.suggestions(for: ["body-region": 0.7], nearMisses: ["body-region"]).first?.state == .pendingReview)
    }

    /// `yaml` writes a policy file that loads back to the same policy.
    @Test func yamlRoundTrips() throws {
        var policy = try Policy(yaml: Self.sample, file: "site.yaml")
        policy.flags["body-region"]?.nearMissThreshold = 0.7
        policy.name = "A \"quoted\": name # not a comment"
        let again = try Policy(yaml: policy.yaml, file: "again.yaml")
        #expect(again == policy)
        #expect(try Policy(yaml: Policy.standard.yaml) == Policy.standard)
    }

    @Test func missingFileIsNamed() {
        #expect(throws: PolicyError.self) { try Policy.load(path: "/nonexistent/policy.yaml") }
    }
}

/// Each flag's DICOM Sensitive Content Category (CID 900), for the labels reviewers confirm.
struct PolicyHeadsTests {
    /// Heads are folders named relative to the policy file; `policy show` writes them back.
    @Test func headsAreReadRelativeToTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("veil-policy-heads-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("site.yaml")
        try "policy: {name: s, version: \"1\"}\nheads: [heads/gruesome, /abs/personal]\n".write(to: file, atomically: true, encoding: .utf8)
        let policy = try Policy.load(path: file.path)
        #expect(policy.heads == [dir.appendingPathComponent("heads/gruesome").path, "/abs/personal"])
        #expect(try Policy(yaml: policy.yaml) == policy)
        #expect(throws: PolicyError.self) { try Policy(yaml: "policy: {name: s, version: \"1\"}\nheads: heads/gruesome\n") }
        #expect(throws: PolicyError.self) { try Policy(yaml: "policy: {name: s, version: \"1\"}\nheads: [\"\"]\n") }
    }
}

struct PolicyCategoryTests {
    @Test func builtInFlagsHaveTheirCategories() {
        let p = Policy.standard
        #expect(p.contentCategory(for: .nudity) == .nudityContent)
        #expect(p.contentCategory(for: .bodyRegion) == .nudityContent)
        #expect(p.contentCategory(for: .face) == .identifyingContent)
        #expect(p.contentCategory(for: .sensitiveContent) == nil, "the archive's own code")
    }

    @Test func siteFlagsTakeTheirCategoryOrSensitiveContent() throws {
        let p = try Policy(yaml: """
            policy: {name: site, version: "1"}
            site_flags: [gruesome, personal, wound]
            flags:
              gruesome: {review_threshold: 0.5, category: 131394}
              personal: {review_threshold: 0.5, category: "DCM:131392"}
              wound: {review_threshold: 0.5}
            """)
        #expect(p.contentCategory(for: "gruesome") == .gruesomeContent)
        #expect(p.contentCategory(for: "personal") == .personalContent)
        #expect(p.contentCategory(for: "wound") == .sensitiveContent)
        // What `veil policy show` writes reads back as the same policy, and spells out the
        // defaults as comments: the site flag's 131395, the archive's own codes.
        #expect(try Policy(yaml: p.yaml) == p)
        #expect(p.yaml.contains("  wound:\n") && p.yaml.contains("# category: DCM:131395 Sensitive Content, the default for a flag without one"))
        #expect(p.yaml.contains("# category: none; a confirmed label carries the archive's own codes"))
    }

    /// A detail code, the clearance code, or no code at all cannot be a flag's category.
    @Test(arguments: ["131390", "SCT:125666000", "131399", "gore"])
    func categoriesOutsideCID900AreRefused(_ value: String) {
        #expect(throws: PolicyError.self) {
            try Policy(yaml: "policy: {name: x, version: \"1\"}\nflags:\n  nudity: {category: \"\(value)\"}\n")
        }
    }
}
