import Foundation

/// A code of DICOM's sensitive content labels: the items of the Sensitive Content Code
/// Sequence (0008,001D) that DICOM 2026a added to the SOP Common Module of every object.
///
/// Two PS3.16 context groups hold them: CID 900 "Sensitive Content Category" (what kind of
/// sensitivity) and CID 901 "Sensitive Content Detail" (the anatomy, finding or procedure
/// behind it). Both are extensible, so a reader must expect other codes; Veil counts any
/// code it does not recognise as sensitive.
public struct SensitiveContentCode: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The context group a code belongs to.
    public enum Group: Int, Sendable, Codable {
        /// CID 900 "Sensitive Content Category".
        case category = 900
        /// CID 901 "Sensitive Content Detail".
        case detail = 901
    }

    /// Code Value, e.g. `131391` or `76752008`.
    public let value: String
    /// Coding Scheme Designator: `DCM` or `SCT`.
    public let scheme: String
    /// The code's meaning as the context group gives it, e.g. `Nudity Content`.
    public let meaning: String
    /// Which group lists it.
    public let group: Group

    /// `SCHEME:VALUE`, e.g. `DCM:131391`.
    public var key: String { "\(scheme):\(value)" }

    /// `(VALUE, SCHEME, "MEANING")`, the standard's triplet notation.
    public var description: String { "(\(value), \(scheme), \"\(meaning)\")" }

    init(_ value: String, _ scheme: String, _ meaning: String, _ group: Group) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
        self.group = group
    }

    /// The code with this scheme and value, if CID 900 or 901 lists it. Schemes compare
    /// without regard to case and surrounding spaces; `SNM3`-era designators are not codes
    /// of these groups and are not recognised.
    public static func recognize(scheme: String, value: String) -> SensitiveContentCode? {
        let key = scheme.trimmingCharacters(in: .whitespaces).uppercased() + ":" + value.trimmingCharacters(in: .whitespaces)
        return byKey[key]
    }

    /// The code written `SCHEME:VALUE` (e.g. `SCT:312608009`), if CID 900 or 901 lists it.
    public static func recognize(_ key: String) -> SensitiveContentCode? {
        let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        return recognize(scheme: parts[0], value: parts[1])
    }

    /// 131390 "No Sensitive Content Identified": a person looked at the object and cleared it.
    public static let noSensitiveContent = SensitiveContentCode("131390", "DCM", "No Sensitive Content Identified", .category)
    /// 131391 "Nudity Content".
    public static let nudityContent = SensitiveContentCode("131391", "DCM", "Nudity Content", .category)
    /// 131392 "Personal Content".
    public static let personalContent = SensitiveContentCode("131392", "DCM", "Personal Content", .category)
    /// 131393 "Identifying Content".
    public static let identifyingContent = SensitiveContentCode("131393", "DCM", "Identifying Content", .category)
    /// 131394 "Gruesome Content".
    public static let gruesomeContent = SensitiveContentCode("131394", "DCM", "Gruesome Content", .category)
    /// 131395 "Sensitive Content": sensitive, without a more specific category.
    public static let sensitiveContent = SensitiveContentCode("131395", "DCM", "Sensitive Content", .category)

    /// CID 900, in code order.
    public static let categories: [SensitiveContentCode] = [
        noSensitiveContent, nudityContent, personalContent, identifyingContent, gruesomeContent, sensitiveContent,
    ]

    /// CID 901, in the order of its meanings. The DCM code table spells 131396 "Excised
    /// Tissue"; the group spells it "Excised tissue", which is kept here. Either spelling is
    /// read, since codes are recognised by scheme and value, never by meaning.
    public static let details: [SensitiveContentCode] = [
        ("386702006", "Abuse"), ("53505006", "Anus"), ("29240004", "Autopsy"), ("51089004", "Birthmark"),
        ("87612001", "Blood"), ("76752008", "Breast"), ("125666000", "Burn"), ("46862004", "Buttock"),
        ("65439009", "Clitoris"), ("73761001", "Colonoscopy"), ("392003006", "Colposcopy"), ("125667009", "Contusion"),
        ("56306000", "Cosmetic surgery"), ("423827005", "Endoscopy"), ("131396", "Excised tissue"), ("89545001", "Face"),
        ("71934003", "Genital"), ("430861001", "Gross specimen"), ("64013008", "Hair of scalp"), ("409774005", "Inflammation"),
        ("39117004", "Labium"), ("312608009", "Laceration"), ("73632009", "Laparoscopy"), ("24142002", "Nipple"),
        ("125643001", "Open wound"), ("430339001", "Pediatric autopsy"), ("18911002", "Penis"), ("77386006", "Pregnant"),
        ("75776007", "Pubic hair"), ("271807003", "Rash"), ("20233005", "Scrotum"), ("112633009", "Surgical wound"),
        ("65124004", "Swelling"), ("341000119102", "Tattoo of skin"), ("40689003", "Testis"), ("417746004", "Traumatic injury"),
        ("76784001", "Vagina"),
    ].map { SensitiveContentCode($0.0, $0.0 == "131396" ? "DCM" : "SCT", $0.1, .detail) }

    private static let byKey: [String: SensitiveContentCode] = Dictionary(
        (categories + details).map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
}

/// The CID 901 detail that labels images of an anatomic concept.
public struct ContentDetail: Sendable, Hashable, Codable {
    /// The detail code.
    public let code: SensitiveContentCode
    /// True when CID 901 has no member for the concept itself and this is the nearest
    /// broader one (the vulva or the perineum is labelled Genital).
    public let broader: Bool
}

extension AnatomicConcept {
    /// The CID 901 detail for images of this region: the group's own member when it has
    /// one, else the nearest broader member, else nil (the whole head, a whole-body view).
    public var contentDetail: ContentDetail? {
        if let own = SensitiveContentCode.recognize(scheme: "SCT", value: snomed), own.group == .detail {
            return ContentDetail(code: own, broader: false)
        }
        guard let broader = Self.broaderDetails[snomed], let code = SensitiveContentCode.recognize(scheme: "SCT", value: broader) else {
            return nil
        }
        return ContentDetail(code: code, broader: true)
    }

    /// The CID 900 category the region's sensitivity class implies: intimate regions Nudity
    /// Content, the face Identifying Content, others none.
    public var contentCategory: SensitiveContentCode? {
        switch sensitivity {
        case .intimate: return .nudityContent
        case .face: return .identifyingContent
        case .none: return nil
        }
    }

    /// Sensitive concepts of Veil's tables without a CID 901 member of their own → the
    /// nearest member that contains them. Parts of the breast are Breast; the external
    /// genitalia, the vulva, the cervix and the perineum are Genital (the example);
    /// the epididymis lies within the scrotum; the penile artery within the penis. Regions
    /// no member contains (the inguinal and hypogastric regions; anus, rectum and sigmoid
    /// colon; the whole body; the head) get no detail, only their class's category.
    static let broaderDetails: [String: String] = [
        "19100000": "76752008", "33564002": "76752008", "77831004": "76752008", "76365002": "76752008",  // breast quadrants
        "72005009": "76752008",  // skin of areola
        "38864007": "71934003",  // perineum
        "282044005": "18911002",  // penile artery
        "87644002": "20233005",  // epididymis
        "45292006": "71934003",  // vulva
        "71252005": "71934003",  // cervix
        "90418005": "71934003", "86969008": "71934003", "60944009": "71934003",  // external genitalia
    ]
}

/// A code as a label carries it: value, scheme and meaning. Most are ``SensitiveContentCode``s;
/// an archive's own code, which Veil does not recognise, is kept as the archive wrote it.
public struct LabelCode: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Code Value.
    public var value: String
    /// Coding Scheme Designator.
    public var scheme: String
    /// Code Meaning.
    public var meaning: String

    /// Creates a code.
    public init(value: String, scheme: String, meaning: String) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
    }

    /// `SCHEME:VALUE`.
    public var key: String { "\(scheme):\(value)" }

    /// `(VALUE, SCHEME, "MEANING")`.
    public var description: String { "(\(value), \(scheme), \"\(meaning)\")" }
}

extension SensitiveContentCode {
    /// This code as a label carries it.
    public var label: LabelCode { LabelCode(value: value, scheme: scheme, meaning: meaning) }
}
