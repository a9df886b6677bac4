/// A DICOM attribute tag, `(group,element)`.
public struct DICOMTag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// `group << 16 | element`.
    public let raw: UInt32

    /// Creates a tag from its group and element numbers.
    public init(_ group: UInt16, _ element: UInt16) {
        raw = UInt32(group) << 16 | UInt32(element)
    }

    init(raw: UInt32) { self.raw = raw }

    /// The group number.
    public var group: UInt16 { UInt16(raw >> 16) }
    /// The element number.
    public var element: UInt16 { UInt16(raw & 0xFFFF) }

    /// `"(0018,0015)"`, as the standard writes tags.
    public var description: String {
        "(" + hex4(group) + "," + hex4(element) + ")"
    }

    public static func < (lhs: DICOMTag, rhs: DICOMTag) -> Bool { lhs.raw < rhs.raw }
}

private func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - digits.count) + digits
}

extension DICOMTag {
    // File meta information.
    static let transferSyntaxUID = DICOMTag(0x0002, 0x0010)

    // Identification.
    static let sopClassUID = DICOMTag(0x0008, 0x0016)
    static let sopInstanceUID = DICOMTag(0x0008, 0x0018)
    static let studyInstanceUID = DICOMTag(0x0020, 0x000D)
    static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    static let modality = DICOMTag(0x0008, 0x0060)
    static let specificCharacterSet = DICOMTag(0x0008, 0x0005)

    // Evidence.
    static let sensitiveContentCodeSequence = DICOMTag(0x0008, 0x001D)
    static let studyDate = DICOMTag(0x0008, 0x0020)
    static let seriesDate = DICOMTag(0x0008, 0x0021)
    static let acquisitionDate = DICOMTag(0x0008, 0x0022)
    static let contentDate = DICOMTag(0x0008, 0x0023)
    static let studyDescription = DICOMTag(0x0008, 0x1030)
    static let seriesDescription = DICOMTag(0x0008, 0x103E)
    static let anatomicRegionSequence = DICOMTag(0x0008, 0x2218)
    static let patientBirthDate = DICOMTag(0x0010, 0x0030)
    static let patientAge = DICOMTag(0x0010, 0x1010)
    static let bodyPartExamined = DICOMTag(0x0018, 0x0015)
    static let imageLaterality = DICOMTag(0x0020, 0x0062)
    static let imageComments = DICOMTag(0x0020, 0x4000)
    static let studyComments = DICOMTag(0x0032, 0x4000)
    static let recognizableVisualFeatures = DICOMTag(0x0028, 0x0302)

    // Code sequence items.
    static let codeValue = DICOMTag(0x0008, 0x0100)
    static let codingSchemeDesignator = DICOMTag(0x0008, 0x0102)
    static let codeMeaning = DICOMTag(0x0008, 0x0104)
    static let longCodeValue = DICOMTag(0x0008, 0x0119)
    static let urnCodeValue = DICOMTag(0x0008, 0x0120)

    // Image pixel module.
    static let samplesPerPixel = DICOMTag(0x0028, 0x0002)
    static let photometricInterpretation = DICOMTag(0x0028, 0x0004)
    static let planarConfiguration = DICOMTag(0x0028, 0x0006)
    static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    static let rows = DICOMTag(0x0028, 0x0010)
    static let columns = DICOMTag(0x0028, 0x0011)
    static let bitsAllocated = DICOMTag(0x0028, 0x0100)
    static let bitsStored = DICOMTag(0x0028, 0x0101)
    static let highBit = DICOMTag(0x0028, 0x0102)
    static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    static let pixelData = DICOMTag(0x7FE0, 0x0010)

    // Sequence delimitation (group FFFE carries no VR, even in explicit syntaxes).
    static let item = DICOMTag(0xFFFE, 0xE000)
    static let itemDelimitation = DICOMTag(0xFFFE, 0xE00D)
    static let sequenceDelimitation = DICOMTag(0xFFFE, 0xE0DD)

    /// The attribute's keyword and tag, as evidence names it: `"BodyPartExamined (0018,0015)"`.
    static func named(_ keyword: String, _ tag: DICOMTag) -> String { "\(keyword) \(tag)" }
}

/// Value representations whose explicit-VR header has a 4-byte length after two reserved
/// bytes (PS3.5 Table 7.1-1); every other VR has a 2-byte length.
let longLengthVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UR", "UT", "UN", "UV"]

/// Implicit VR syntaxes carry no VR, so the parser must know which attributes are
/// sequences: these are the ones visible-light objects commonly hold. An unknown attribute
/// with a defined length is kept as opaque bytes, which is all Veil needs from it; one
/// with an undefined length can only be a sequence.
let implicitSequenceTags: Set<UInt32> = [
    0x0008_001D, 0x0008_0082, 0x0008_0096, 0x0008_0110, 0x0008_1032, 0x0008_1049, 0x0008_1052,
    0x0008_1062, 0x0008_1072, 0x0008_1084, 0x0008_1110, 0x0008_1111, 0x0008_1115, 0x0008_1120,
    0x0008_1125, 0x0008_1140, 0x0008_114A, 0x0008_1150, 0x0008_1155, 0x0008_1199, 0x0008_1200,
    0x0008_1250, 0x0008_2112, 0x0008_2218, 0x0008_2220, 0x0008_2228, 0x0008_2230, 0x0008_9121,
    0x0008_9215, 0x0010_0024, 0x0010_0050, 0x0010_0101, 0x0010_0102, 0x0010_1002, 0x0010_2293,
    0x0010_2294, 0x0012_0064, 0x0018_9506, 0x0020_9221, 0x0020_9222, 0x0022_0015, 0x0022_0016,
    0x0022_0017, 0x0022_0018, 0x0022_0019, 0x0022_0021, 0x0022_0022, 0x0022_0031, 0x0022_0042,
    0x0028_3000, 0x0028_3010, 0x0028_3110, 0x0028_9145, 0x0032_1064, 0x0038_0014, 0x0040_0008,
    0x0040_0100, 0x0040_0260, 0x0040_0270, 0x0040_0275, 0x0040_0555, 0x0040_A043, 0x0040_A168,
    0x0040_A170, 0x0040_A195, 0x0040_A370, 0x0040_A372, 0x0040_A375, 0x0040_A385, 0x0040_A504,
    0x0040_A525, 0x0040_A730, 0x0040_B020, 0x0050_0010, 0x0070_0001, 0x0070_0008, 0x0070_0009,
    0x0070_005A, 0x0070_0060, 0x0070_0062, 0x0088_0200, 0x0400_0500, 0x0400_0550, 0x0400_0561,
    0x0400_0562, 0x5200_9229, 0x5200_9230, 0xFFFA_FFFA,
]
