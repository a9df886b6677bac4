import Foundation
import VeilVocabulary
import Yams

/// A policy file could not be used. Names the file, the line and the key, so that a
/// committee member editing YAML by hand can find the mistake.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    /// The policy file.
    public var file: String
    /// The 1-based line, when known.
    public var line: Int?
    /// The key path, e.g. `flags.nudity.review_threshold`.
    public var key: String?
    /// What is wrong.
    public var reason: String

    /// Creates an error.
    public init(file: String, line: Int?, key: String?, reason: String) {
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        if let key { where_ += ": \(key)" }
        return "\(where_): \(reason)"
    }
}

extension Policy {
    /// Loads a policy file. `Samples/policy.yaml` is a complete example with every key
    /// explained, and `veil policy show` prints the effective policy. In short:
    ///
    /// ```yaml
    /// policy: {name: St Elsewhere imaging governance, version: "2026-2"}
    /// flags:                          # built-in flags not named here keep Veil's defaults
    ///   nudity: {review_threshold: 0.2, restrict_threshold: 0.8}
    ///   wound: {review_threshold: 0.5}
    /// site_flags: [wound]             # the site's own flags; any other name is an error
    /// heads: [heads/wound]            # site-trained heads, relative to this file
    /// ```
    ///
    /// Every mistake is a ``PolicyError`` naming the line and key: an unknown key or flag,
    /// a threshold out of order, a policy with no enabled flag.
    public static func load(path: String) throws -> Policy {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw PolicyError(file: path, line: nil, key: nil, reason: "no such file")
        }
        if isFolder.boolValue { throw PolicyError(file: path, line: nil, key: nil, reason: "is a folder, not a policy file") }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw PolicyError(file: path, line: nil, key: nil, reason: "cannot read the file: \(error.localizedDescription)")
        }
        var policy = try Policy(yaml: text, file: path)
        // Heads are named relative to the policy file, so that the two move together.
        let folder = (path as NSString).deletingLastPathComponent
        policy.heads = policy.heads.map { $0.hasPrefix("/") || folder.isEmpty ? $0 : (folder as NSString).appendingPathComponent($0) }
        return policy
    }

    /// Parses policy YAML; `file` names the source in errors.
    public init(yaml: String, file: String = "<policy>") throws {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw PolicyError(file: file, line: nil, key: nil, reason: "the file is empty")
            }
            root = node
        } catch let error as PolicyError {
            throw error
        } catch let error as YamlError {
            throw PolicyError(file: file, line: Self.line(of: error), key: nil, reason: "not valid YAML: \(Self.problem(of: error))")
        }
        let reader = Reader(file: file)
        let top = try reader.mapping(root, key: "(top level)", allowed: ["policy", "flags", "site_flags", "sensitivity_overrides", "minors", "heads"])
        guard let meta = top["policy"] else { throw reader.fail(root, "(top level)", "needs a 'policy' section with name and version") }
        let info = try reader.mapping(meta, key: "policy", allowed: ["name", "version", "approved_by", "approved_on"])
        guard let nameNode = info["name"], let versionNode = info["version"] else {
            throw reader.fail(meta, "policy", "needs 'name' and 'version'")
        }
        name = try reader.string(nameNode, key: "policy.name")
        version = try reader.string(versionNode, key: "policy.version")
        approvedBy = try info["approved_by"].map { try reader.string($0, key: "policy.approved_by") }
        approvedOn = try info["approved_on"].map { try reader.string($0, key: "policy.approved_on") }

        var siteFlags: Set<Flag> = []
        if let node = top["site_flags"] {
            guard let items = node.sequence else { throw reader.fail(node, "site_flags", "must be a list of flag names") }
            for item in items {
                let flag = try reader.string(item, key: "site_flags")
                if let reason = Self.siteFlagProblem(flag) { throw reader.fail(item, "site_flags", reason) }
                siteFlags.insert(Flag(flag))
            }
        }
        self.siteFlags = siteFlags

        // Built-in flags keep their defaults unless named: leaving a flag out of the file
        // must not switch it off. Switching one off takes `enabled: false`.
        var flags = Policy.standard.flags
        if let flagsNode = top["flags"] {
            guard let mapping = flagsNode.mapping else { throw reader.fail(flagsNode, "flags", "must map flag names to their rules") }
            for (keyNode, value) in mapping {
                guard let name = keyNode.string, !name.isEmpty else { throw reader.fail(keyNode, "flags", "flag names must be text") }
                let flag = Flag(name)
                guard Self.builtInFlags.contains(flag) || siteFlags.contains(flag) else {
                    throw reader.fail(keyNode, "flags.\(flag)", Self.unknownFlagReason(name))
                }
                flags[flag] = try reader.flag(value, key: "flags.\(flag)", base: Policy.standard.flags[flag])
            }
        }
        self.flags = flags

        var overrides: [String: SensitivityClass] = [:]
        if let node = top["sensitivity_overrides"] {
            guard let mapping = node.mapping else { throw reader.fail(node, "sensitivity_overrides", "must map SNOMED CT codes to classes") }
            for (keyNode, value) in mapping {
                let code = keyNode.string ?? ""
                let key = "sensitivity_overrides.\(code)"
                guard !code.isEmpty, code.allSatisfy(\.isNumber) else { throw reader.fail(keyNode, key, "keys must be SNOMED CT codes (digits)") }
                guard let raw = value.string, let cls = SensitivityClass(rawValue: raw) else {
                    throw reader.fail(value, key, "must be intimate, face or none")
                }
                overrides[code] = cls
            }
        }
        self.sensitivityOverrides = overrides

        heads = []
        if let node = top["heads"] {
            guard let items = node.sequence else { throw reader.fail(node, "heads", "must be a list of head folders") }
            for item in items {
                let path = try reader.string(item, key: "heads")
                guard !path.isEmpty else { throw reader.fail(item, "heads", "a head folder's path is empty") }
                heads.append(path)
            }
        }

        minors = .restrict
        if let node = top["minors"] {
            guard let raw = node.string, let rule = MinorsRule(rawValue: raw) else {
                throw reader.fail(node, "minors", "must be one of \(MinorsRule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            minors = rule
        }
        try validate(file: file)
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): return mark.line
        case let .duplicatedKeysInMapping(_, context): return context.mark.line
        default: return nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, _, _), let .parser(_, problem, _, _), let .composer(_, problem, _, _): return problem
        case let .duplicatedKeysInMapping(duplicates, _): return "duplicated keys \(duplicates.joined(separator: ", "))"
        default: return "\(error)"
        }
    }
}

/// Typed, line-numbered access to the YAML tree.
private struct Reader {
    let file: String

    func fail(_ node: Node, _ key: String, _ reason: String) -> PolicyError {
        PolicyError(file: file, line: node.mark?.line, key: key, reason: reason)
    }

    /// A mapping whose keys must all be in `allowed`: a misspelled key is an error, not ignored.
    func mapping(_ node: Node, key: String, allowed: Set<String>) throws -> [String: Node] {
        guard let mapping = node.mapping else { throw fail(node, key, "must be a mapping of keys to values") }
        var out: [String: Node] = [:]
        for (k, v) in mapping {
            let name = k.string ?? ""
            guard allowed.contains(name) else {
                throw fail(k, key == "(top level)" ? name : "\(key).\(name)",
                           "unknown key; expected one of: \(allowed.sorted().joined(separator: ", "))")
            }
            out[name] = v
        }
        return out
    }

    func string(_ node: Node, key: String) throws -> String {
        guard case .scalar(let s) = node, !s.string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
              !s.string.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw fail(node, key, "must be non-empty text on one line")
        }
        return s.string
    }

    func probability(_ node: Node, key: String) throws -> Double {
        guard let value = node.float, value.isFinite else { throw fail(node, key, "must be a number") }
        guard (0...1).contains(value) else { throw fail(node, key, "must be between 0 and 1, got \(value)") }
        return value
    }

    /// One flag's rules. For a built-in flag, `base` is Veil's default rule and the keys the
    /// file leaves out keep their default values; a site flag needs its review threshold.
    func flag(_ node: Node, key: String, base: FlagPolicy?) throws -> FlagPolicy {
        let m = try mapping(node, key: key, allowed: ["enabled", "review_threshold", "restrict_threshold", "near_miss_review_threshold",
                                                      "calibration", "confidentiality", "category"])
        guard var rule = base ?? m["review_threshold"].map({ _ in FlagPolicy(reviewThreshold: 0) }) else {
            throw fail(node, key, "needs a review_threshold")
        }
        if let n = m["review_threshold"] { rule.reviewThreshold = try probability(n, key: "\(key).review_threshold") }
        if let n = m["restrict_threshold"] {
            // `null` removes a default restriction.
            rule.restrictThreshold = n.null != nil ? nil : try probability(n, key: "\(key).restrict_threshold")
        }
        if let n = m["near_miss_review_threshold"] { rule.nearMissThreshold = try probability(n, key: "\(key).near_miss_review_threshold") }
        if let e = m["enabled"] {
            guard let b = e.bool else { throw fail(e, "\(key).enabled", "must be true or false") }
            rule.enabled = b
        }
        if let c = m["confidentiality"] { rule.confidentiality = try string(c, key: "\(key).confidentiality") }
        if let c = m["calibration"] { rule.calibration = try calibration(c, key: "\(key).calibration") }
        if let c = m["category"] {
            // `131394` or `DCM:131394`; CID 900 codes are all DCM.
            let text = try string(c, key: "\(key).category")
            guard let code = SensitiveContentCode.recognize(text.contains(":") ? text : "DCM:" + text) else {
                throw fail(c, "\(key).category", "'\(text)' is not a DICOM sensitive content category; use one of \(FlagPolicy.categoryChoices)")
            }
            rule.category = code
        }
        try rule.validate { subkey, reason in
            // `calibration.platt` is given when `calibration` is.
            let written = m[subkey] ?? m[String(subkey.prefix { $0 != "." })]
            return fail(written ?? node, "\(key).\(subkey)", written != nil ? reason : reason + " (Veil's default, which the file does not change)")
        }
        return rule
    }

    func calibration(_ node: Node, key: String) throws -> Calibration {
        let m = try mapping(node, key: key, allowed: ["platt", "isotonic"])
        if m.count > 1 { throw fail(node, key, "give platt or isotonic, not both") }
        if let p = m["platt"] {
            let ab = try mapping(p, key: "\(key).platt", allowed: ["a", "b"])
            guard let a = ab["a"]?.float, let b = ab["b"]?.float, a.isFinite, b.isFinite else {
                throw fail(p, "\(key).platt", "needs numbers a and b")
            }
            return .platt(a: a, b: b)
        }
        if let iso = m["isotonic"] {
            guard let seq = iso.sequence, !seq.isEmpty else { throw fail(iso, "\(key).isotonic", "needs a list of [score, probability] pairs") }
            var points: [(score: Double, probability: Double)] = []
            for item in seq {
                guard let pair = item.sequence, pair.count == 2, let s = pair[0].float, let p = pair[1].float,
                      (0...1).contains(p), s.isFinite else {
                    throw fail(item, "\(key).isotonic", "each point must be [score, probability] with probability in [0, 1]")
                }
                if let last = points.last, s < last.score || p < last.probability {
                    throw fail(item, "\(key).isotonic", "points must not decrease in score or probability")
                }
                points.append((s, p))
            }
            return .isotonic(points: points)
        }
        throw fail(node, key, "needs platt or isotonic")
    }
}
