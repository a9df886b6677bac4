import Foundation
import VeilImage

/// A coded entry from a code sequence item: value, scheme and meaning.
public struct CodedEntry: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Code Value (or Long or URN Code Value).
    public var value: String
    /// Coding Scheme Designator, e.g. `SCT` or `DCM`.
    public var scheme: String
    /// Code Meaning, as the writer gave it.
    public var meaning: String

    /// Creates a coded entry.
    public init(value: String, scheme: String, meaning: String) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
    }

    /// `"(VALUE, SCHEME, "MEANING")"`, the standard's triplet notation.
    public var description: String { "(\(value), \(scheme), \"\(meaning)\")" }

    init?(_ item: DataSet) {
        guard let value = item.string(.codeValue) ?? item.string(.longCodeValue) ?? item.string(.urnCodeValue) else { return nil }
        self.init(value: value, scheme: item.string(.codingSchemeDesignator) ?? "", meaning: item.string(.codeMeaning) ?? "")
    }
}

/// A text attribute's value, with the attribute it came from.
public struct AttributeText: Sendable, Hashable {
    /// Keyword and tag, e.g. `StudyDescription (0008,1030)`.
    public var attribute: String
    /// The value, padding removed.
    public var text: String

    /// Creates an attribute's text.
    public init(attribute: String, text: String) {
        self.attribute = attribute
        self.text = text
    }
}

/// What Veil reads from a DICOM object besides pixels: identification, for linking labels
/// back to the archive, and the attributes that are evidence of sensitive content.
///
/// Holds no patient name, ID, birth date or age: only whether the patient was a minor.
public struct DICOMMetadata: Sendable, Hashable {
    /// SOP Class UID (0008,0016).
    public var sopClassUID: String?
    /// SOP Instance UID (0008,0018).
    public var sopInstanceUID: String?
    /// Study Instance UID (0020,000D).
    public var studyInstanceUID: String?
    /// Series Instance UID (0020,000E).
    public var seriesInstanceUID: String?
    /// Modality (0008,0060), e.g. `XC` (external-camera photography).
    public var modality: String?
    /// Rows (0028,0010) and Columns (0028,0011): the frame size the object declares, known
    /// even when its pixels cannot be decoded.
    public var rows: Int?
    /// Columns (0028,0011).
    public var columns: Int?

    /// Body Part Examined (0018,0015).
    public var bodyPartExamined: String?
    /// Anatomic Region Sequence (0008,2218) codes.
    public var anatomicRegions: [CodedEntry] = []
    /// Image Laterality (0020,0062): `L`, `R`, `U` or `B`.
    public var imageLaterality: String?
    /// Free text that archives use to name what was photographed, by attribute:
    /// Study Description, Series Description, Image Comments and Study Comments.
    public var descriptions: [AttributeText] = []

    /// Sensitive Content Code Sequence (0008,001D): labels the archive already holds.
    public var sensitiveContent: [CodedEntry] = []
    /// Recognizable Visual Features (0028,0302): `YES` or `NO`.
    public var recognizableVisualFeatures: String?

    /// Whether the patient was under 18 when imaged; `nil` when the object does not say.
    public var isMinor: Bool?
    /// The attribute that decided ``isMinor``: `PatientAge (0010,1010)` or
    /// `PatientBirthDate (0010,0030)`. Never its value.
    public var minorBasis: String?

    /// Creates empty metadata.
    public init() {}

    /// The frame size declared by Rows and Columns, when both are there.
    public var size: PixelSize? {
        guard let rows, let columns, rows > 0, columns > 0 else { return nil }
        return PixelSize(width: columns, height: rows)
    }

    /// Whether the object carries an attribute that labels or locates its content: a
    /// Sensitive Content Code Sequence item, Body Part Examined, an Anatomic Region code,
    /// or Recognizable Visual Features YES. Such an object is never passed over silently.
    public var holdsSensitivityAttributes: Bool {
        !sensitiveContent.isEmpty || bodyPartExamined != nil || !anatomicRegions.isEmpty || recognizableVisualFeatures == "YES"
    }

    init(_ set: DataSet, now: Date) {
        sopClassUID = set.string(.sopClassUID)
        sopInstanceUID = set.string(.sopInstanceUID)
        studyInstanceUID = set.string(.studyInstanceUID)
        seriesInstanceUID = set.string(.seriesInstanceUID)
        modality = set.string(.modality)
        rows = set.uint16(.rows)
        columns = set.uint16(.columns)
        bodyPartExamined = set.string(.bodyPartExamined)
        anatomicRegions = set.items(.anatomicRegionSequence).compactMap(CodedEntry.init)
        imageLaterality = set.string(.imageLaterality)
        for (keyword, tag) in [("StudyDescription", DICOMTag.studyDescription), ("SeriesDescription", .seriesDescription),
                               ("ImageComments", .imageComments), ("StudyComments", .studyComments)] {
            if let text = set.string(tag) { descriptions.append(AttributeText(attribute: DICOMTag.named(keyword, tag), text: text)) }
        }
        sensitiveContent = set.items(.sensitiveContentCodeSequence).map {
            // An item without a readable code is still a label that says "sensitive".
            CodedEntry($0) ?? CodedEntry(value: "", scheme: "", meaning: "unreadable code item")
        }
        recognizableVisualFeatures = set.string(.recognizableVisualFeatures)?.uppercased()

        if let age = set.string(.patientAge).flatMap(Self.ageInYears) {
            isMinor = age < 18
            minorBasis = DICOMTag.named("PatientAge", .patientAge)
        } else if let birth = set.string(.patientBirthDate).flatMap(Self.date) {
            // Age when imaged: against the study's date, else the content's, else today.
            let reference = [DICOMTag.studyDate, .seriesDate, .acquisitionDate, .contentDate]
                .lazy.compactMap { set.string($0).flatMap(Self.date) }.first ?? Self.components(now)
            isMinor = Self.years(from: birth, to: reference) < 18
            minorBasis = DICOMTag.named("PatientBirthDate", .patientBirthDate)
        }
    }

    /// Patient's Age (VR AS): `nnnD`, `nnnW`, `nnnM` or `nnnY`, in whole years (rounded down).
    static func ageInYears(_ text: String) -> Int? {
        let chars = Array(text.uppercased())
        guard chars.count >= 2, let unit = chars.last, let n = Int(String(chars.dropLast())), n >= 0 else { return nil }
        switch unit {
        case "D": return n / 365
        case "W": return n / 52
        case "M": return n / 12
        case "Y": return n
        default: return nil
        }
    }

    /// A DA value, `YYYYMMDD` (the retired `YYYY.MM.DD` too).
    static func date(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let digits = text.filter(\.isNumber)
        guard digits.count == 8, let year = Int(digits.prefix(4)), let month = Int(digits.dropFirst(4).prefix(2)),
              let day = Int(digits.suffix(2)), (1...12).contains(month), (1...31).contains(day) else { return nil }
        return (year, month, day)
    }

    static func components(_ date: Date) -> (year: Int, month: Int, day: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return (c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }

    static func years(from birth: (year: Int, month: Int, day: Int), to date: (year: Int, month: Int, day: Int)) -> Int {
        var years = date.year - birth.year
        if (date.month, date.day) < (birth.month, birth.day) { years -= 1 }
        return years
    }
}
