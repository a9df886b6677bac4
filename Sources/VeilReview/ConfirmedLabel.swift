import Foundation
import VeilPolicy

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

/// One reviewer-confirmed label, as `veil review export` writes it: the image, the flag,
/// who confirmed it and when, and the FHIR security label the policy gives the flag.
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
    /// The confirmed flag.
    public var flag: Flag
    /// The score when it was suggested.
    public var score: Double
    /// Who confirmed it.
    public var reviewer: String
    /// When, as an ISO 8601 timestamp.
    public var decidedAt: String
    /// The policy's name and version it was suggested under.
    public var policy: String
    /// The security label the policy maps the flag to.
    public var security: SecurityLabel

    /// The label of a confirmed ledger entry; nil if the entry is not confirmed.
    public init?(_ e: LedgerEntry) {
        guard e.state == .confirmed else { return nil }
        sha256 = e.sha256
        path = e.path
        frame = e.frame
        studyInstanceUID = e.studyInstanceUID
        seriesInstanceUID = e.seriesInstanceUID
        sopInstanceUID = e.sopInstanceUID
        flag = e.flag
        score = e.score
        reviewer = e.reviewer ?? ""
        decidedAt = e.decidedAt ?? ""
        policy = "\(e.policy) \(e.policyVersion)"
        security = SecurityLabel(code: e.confidentiality)
    }

    /// The CSV header `veil review export --format csv` writes.
    public static let csvHeader = "sha256,path,frame,study_instance_uid,series_instance_uid,sop_instance_uid,flag,score,reviewer,decided_at,security_system,security_code,security_display"

    /// This label as a CSV row under ``csvHeader``, fields quoted where they need it.
    public var csvRow: String {
        let fields = [sha256, path, frame.map(String.init) ?? "", studyInstanceUID ?? "", seriesInstanceUID ?? "",
                      sopInstanceUID ?? "", flag.rawValue, String(score), reviewer, decidedAt,
                      security.system, security.code, security.display]
        return fields.map { s in
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }.joined(separator: ",")
    }
}
