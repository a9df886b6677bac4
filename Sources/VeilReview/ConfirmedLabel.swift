import Foundation
import VeilPolicy
import VeilVocabulary

/// A FHIR `Coding` for `meta.security`, from the HL7 v3 Confidentiality code system.
public struct SecurityLabel: Sendable, Equatable, Codable {
    /// The HL7 v3 Confidentiality code system's URI.
    public static let confidentialitySystem = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    /// The code system, ``confidentialitySystem``.
    public var system = SecurityLabel.confidentialitySystem
    /// The confidentiality code: `R` (restricted) or `V` (very restricted).
    public var code: String
    /// The code's display text.
    public var display: String

    /// The label for a confidentiality code from the policy.
    public init(code: String) {
        self.code = code
        display = code == "V" ? "very restricted" : "restricted"
    }
}

/// A FHIR `Coding` of a DICOM sensitive content code: DCM codes in DICOM's own system,
/// SCT codes in SNOMED CT's, any other scheme as `urn:dicom:scheme:` and its designator.
public struct ContentCoding: Sendable, Equatable, Codable {
    /// The code system's URI.
    public var system: String
    /// The code.
    public var code: String
    /// The code's meaning.
    public var display: String

    /// The coding of `label`.
    public init(_ label: LabelCode) {
        switch label.scheme {
        case "DCM": system = "http://dicom.nema.org/resources/ontology/DCM"
        case "SCT": system = "http://snomed.info/sct"
        default: system = "urn:dicom:scheme:" + label.scheme
        }
        code = label.value
        display = label.meaning
    }
}

/// One reviewer-confirmed label, as `veil review export` writes it: the image, the flag,
/// who confirmed it and when, the FHIR security label the policy gives the flag, and the
/// DICOM sensitive content codes (CID 900 category, CID 901 details) it carries.
public struct ConfirmedLabel: Sendable, Equatable, Codable {
    /// The image's SHA-256.
    public var sha256: String
    /// The image's path when it was scored.
    public var path: String
    /// For DICOM: the frame (1-based) of a multi-frame object.
    public var frame: Int?
    /// For DICOM: the UIDs that find the object in the archive.
    public var studyInstanceUID: String?
    /// For DICOM: the Series Instance UID.
    public var seriesInstanceUID: String?
    /// For DICOM: the SOP Instance UID.
    public var sopInstanceUID: String?
    /// The confirmed flag; nil for a clearance (every flag of the image rejected).
    public var flag: Flag?
    /// The score when it was suggested.
    public var score: Double
    /// Who confirmed it.
    public var reviewer: String
    /// When, as an ISO 8601 timestamp.
    public var decidedAt: String
    /// The policy's name and version it was suggested under.
    public var policy: String
    /// The security label the policy maps the flag to; nil for a clearance.
    public var security: SecurityLabel?
    /// The DICOM sensitive content codes the label carries: the category, then details.
    /// A clearance carries 131390 "No Sensitive Content Identified" alone.
    public var codes: [LabelCode]
    /// The same codes as FHIR Codings, for `meta.security` or `meta.tag`.
    public var codings: [ContentCoding]

    /// The label of a confirmed ledger entry; nil if the entry is not confirmed.
    public init?(_ e: LedgerEntry) {
        guard e.state == .confirmed else { return nil }
        self.init(e, flag: e.flag, score: e.score, security: SecurityLabel(code: e.confidentiality), codes: e.codes)
    }

    private init(_ e: LedgerEntry, flag: Flag?, score: Double, security: SecurityLabel?, codes: [LabelCode]) {
        sha256 = e.sha256
        path = e.path
        frame = e.frame
        studyInstanceUID = e.studyInstanceUID
        seriesInstanceUID = e.seriesInstanceUID
        sopInstanceUID = e.sopInstanceUID
        self.flag = flag
        self.score = score
        reviewer = e.reviewer ?? ""
        decidedAt = e.decidedAt ?? ""
        policy = "\(e.policy) \(e.policyVersion)"
        self.security = security
        self.codes = codes
        codings = codes.map(ContentCoding.init)
    }

    /// The labels of a whole ledger: one per confirmed suggestion, and for each image (or
    /// frame) whose every suggestion was reviewed and rejected, one clearance carrying 131390
    /// "No Sensitive Content Identified", from its latest rejection.
    public static func labels(from entries: [LedgerEntry]) -> [ConfirmedLabel] {
        var labels = entries.compactMap(ConfirmedLabel.init)
        var groups: [String: [LedgerEntry]] = [:], order: [String] = []
        for e in entries {
            let key = "\(e.sha256)#\(e.frame ?? 0)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(e)
        }
        for key in order {
            let group = groups[key]!
            guard group.allSatisfy({ $0.state == .rejected }),
                  let last = group.max(by: { ($0.decidedAt ?? "") < ($1.decidedAt ?? "") }) else { continue }
            // A clearance: no flag, no security label, 131390 alone.
            labels.append(ConfirmedLabel(last, flag: nil, score: 0, security: nil, codes: [SensitiveContentCode.noSensitiveContent.label]))
        }
        return labels
    }

    /// The CSV header `veil review export --format csv` writes.
    public static let csvHeader = "sha256,path,frame,study_instance_uid,series_instance_uid,sop_instance_uid,flag,score,reviewer,decided_at,security_system,security_code,security_display,sensitive_content_codes"

    /// This label as a CSV row under ``csvHeader``, fields quoted where they need it.
    public var csvRow: String {
        let fields = [sha256, path, frame.map(String.init) ?? "", studyInstanceUID ?? "", seriesInstanceUID ?? "",
                      sopInstanceUID ?? "", flag?.rawValue ?? "", String(score), reviewer, decidedAt,
                      security?.system ?? "", security?.code ?? "", security?.display ?? "",
                      codes.map(\.key).joined(separator: " ")]
        return fields.map { s in
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }.joined(separator: ",")
    }
}

extension ConfirmedLabel {
    /// The labels as DICOM JSON (PS3.18 F.2), one data set per line: for each DICOM object,
    /// its Study, Series and SOP Instance UIDs and the Sensitive Content Code Sequence
    /// (0008,001D) its labels call for, one item per code (the labels of all its frames
    /// together, each code once); for any other image, its SHA-256 in place of the UIDs, in
    /// the private element (0009,1010) of the private creator ``privateCreator`` (0009,0010).
    /// A clearance (131390) is written only when nothing else labels the image.
    public static func dicomJSON(_ labels: [ConfirmedLabel]) -> [String] {
        var codesByImage: [String: [LabelCode]] = [:], first: [String: ConfirmedLabel] = [:], order: [String] = []
        for label in labels {
            let key = label.sopInstanceUID.map { "uid:" + $0 } ?? "sha:" + label.sha256
            if first[key] == nil { first[key] = label; order.append(key) }
            for code in label.codes where !(codesByImage[key] ?? []).contains(where: { $0.key == code.key }) {
                codesByImage[key, default: []].append(code)
            }
        }
        return order.compactMap { key in
            guard let label = first[key] else { return nil }
            var codes = codesByImage[key] ?? []
            let clearance = SensitiveContentCode.noSensitiveContent.label.key
            if codes.contains(where: { $0.key != clearance }) { codes.removeAll { $0.key == clearance } }
            var object: [String: Any] = ["0008001D": ["vr": "SQ", "Value": codes.map(item)]]
            if let sop = label.sopInstanceUID {
                object["00080018"] = ["vr": "UI", "Value": [sop]]
                if let study = label.studyInstanceUID { object["0020000D"] = ["vr": "UI", "Value": [study]] }
                if let series = label.seriesInstanceUID { object["0020000E"] = ["vr": "UI", "Value": [series]] }
            } else {
                // In a private element, so that the line stays a DICOM JSON data set that any
                // reader parses (PS3.5 7.8: the creator reserves block 10 of group 0009).
                object["00090010"] = ["vr": "LO", "Value": [Self.privateCreator]]
                object["00091010"] = ["vr": "LO", "Value": [label.sha256]]
            }
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                return nil
            }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// The private creator under which ``dicomJSON(_:)`` writes a non-DICOM image's SHA-256.
    public static let privateCreator = "VEIL 1"

    /// One code sequence item: Code Value (SH, or Long Code Value, UC, past 16 characters),
    /// Coding Scheme Designator (SH) and Code Meaning (LO).
    private static func item(_ code: LabelCode) -> [String: Any] {
        var item: [String: Any] = ["00080102": ["vr": "SH", "Value": [code.scheme]],
                                   "00080104": ["vr": "LO", "Value": [code.meaning]]]
        if code.value.count > 16 {
            item["00080119"] = ["vr": "UC", "Value": [code.value]]
        } else {
            item["00080100"] = ["vr": "SH", "Value": [code.value]]
        }
        return item
    }
}
