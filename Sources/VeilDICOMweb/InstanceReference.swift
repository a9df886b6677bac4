/// One instance in an archive, as a QIDO-RS search names it.
public struct InstanceReference: Hashable, Sendable {
    /// Study Instance UID (0020,000D).
    public var studyInstanceUID: String
    /// Series Instance UID (0020,000E).
    public var seriesInstanceUID: String
    /// SOP Instance UID (0008,0018).
    public var sopInstanceUID: String
    /// SOP Class UID (0008,0016), when the archive returned it.
    public var sopClassUID: String?

    /// A reference from its three UIDs.
    public init(studyInstanceUID: String, seriesInstanceUID: String, sopInstanceUID: String, sopClassUID: String? = nil) {
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.sopInstanceUID = sopInstanceUID
        self.sopClassUID = sopClassUID
    }

    /// Whether `uid` can be put in a URL path as it is: a UID is digits and dots, at most 64.
    static func isUID(_ uid: String) -> Bool {
        (1...64).contains(uid.utf8.count) && uid.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }
    }
}

/// A QIDO-RS search: attribute keywords (or 8-digit tags) and the values to match.
///
/// Archives answer study-level keys (`StudyDate`, `ModalitiesInStudy`, `AccessionNumber`, …)
/// best at the study level, and some only there, so a search runs in two steps: the studies
/// that match the study-level keys, then the instances of each that match the rest.
public struct InstanceQuery: Sendable {
    /// The keys and values, in the order given.
    public var terms: [(key: String, value: String)]

    /// A search for every instance matching all of `terms`.
    public init(_ terms: [(key: String, value: String)] = []) { self.terms = terms }

    /// The attributes matched at the study level (PS3.18 10.6.1.2.1's study keys).
    static let studyKeys: Set<String> = [
        "StudyDate", "00080020", "StudyTime", "00080030", "AccessionNumber", "00080050",
        "ModalitiesInStudy", "00080061", "ReferringPhysicianName", "00080090", "PatientName", "00100010",
        "PatientID", "00100020", "StudyInstanceUID", "0020000D", "StudyID", "00200010",
        "StudyDescription", "00081030", "PatientBirthDate", "00100030", "PatientSex", "00100040",
        "IssuerOfPatientID", "00100021",
    ]

    var studyTerms: [(key: String, value: String)] { terms.filter { Self.studyKeys.contains($0.key) } }
    var instanceTerms: [(key: String, value: String)] { terms.filter { !Self.studyKeys.contains($0.key) } }
}
