import Foundation

extension Policy {
    /// The policy as a policy file: every flag with every rule spelt out, so that a committee
    /// sees exactly what applies, defaults included. Loading the text gives this policy back.
    public var yaml: String {
        var lines = ["policy:", "  name: \(Self.quoted(name))", "  version: \(Self.quoted(version))"]
        if let approvedBy { lines.append("  approved_by: \(Self.quoted(approvedBy))") }
        if let approvedOn { lines.append("  approved_on: \(Self.quoted(approvedOn))") }
        if !siteFlags.isEmpty { lines.append("site_flags: [" + siteFlags.sorted().map { Self.quoted($0.rawValue) }.joined(separator: ", ") + "]") }
        lines.append("flags:")
        for (flag, rule) in flags.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(Self.plainOrQuoted(flag.rawValue)):")
            lines.append("    enabled: \(rule.enabled)")
            lines.append("    review_threshold: \(rule.reviewThreshold)")
            // Written even when absent, so that a default restriction is not inherited back.
            lines.append("    restrict_threshold: \(rule.restrictThreshold.map { "\($0)" } ?? "null")")
            if let nearMiss = rule.nearMissThreshold { lines.append("    near_miss_review_threshold: \(nearMiss)") }
            lines.append("    confidentiality: \(rule.confidentiality)")
            if let category = rule.category {
                lines.append("    category: \(Self.quoted(category.key))  # \(category.meaning)")
            } else if let category = contentCategory(for: flag) {
                // The default, as a comment: a written key would no longer follow the default.
                lines.append("    # category: \(category.key) \(category.meaning), the default for a flag without one")
            } else {
                lines.append("    # category: none; a confirmed label carries the archive's own codes")
            }
            switch rule.calibration {
            case let .platt(a, b)?: lines.append("    calibration:\n      platt: {a: \(a), b: \(b)}")
            case let .isotonic(points)?:
                lines.append("    calibration:\n      isotonic: [" + points.map { "[\($0.score), \($0.probability)]" }.joined(separator: ", ") + "]")
            case nil: break
            }
        }
        if !sensitivityOverrides.isEmpty {
            lines.append("sensitivity_overrides:")
            for (code, cls) in sensitivityOverrides.sorted(by: { $0.key < $1.key }) { lines.append("  \"\(code)\": \(cls.rawValue)") }
        }
        lines.append("minors: \(minors.rawValue)")
        if !heads.isEmpty { lines.append("heads: [" + heads.map(Self.quoted).joined(separator: ", ") + "]") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Flag names as written by hand where YAML allows it, quoted otherwise.
    static func plainOrQuoted(_ text: String) -> String {
        let plain = !text.isEmpty && text.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0)
            || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) } && text.first != "-" && !["null", "true", "false", "yes", "no", "on", "off"].contains(text.lowercased())
        return plain ? text : quoted(text)
    }

    /// A YAML double-quoted scalar; JSON's string escapes are valid YAML.
    static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes  // "heads/gruesome", not "heads\/gruesome"
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
