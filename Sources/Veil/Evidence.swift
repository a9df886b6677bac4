import Foundation
import VeilDICOM
import VeilEngine
import VeilImage
import VeilPolicy
import VeilTensor
import VeilVocabulary

/// Metadata that raised a flag: which field or DICOM attribute, what it said, and how
/// strongly. Model scores need no evidence; everything a flag gets from metadata has one.
public struct Evidence: Sendable, Hashable, Encodable {
    /// The flag raised: `body-region`, `face` or `sensitive-content`.
    public var flag: Flag
    /// Where the text came from: `fileName`, `folderName`, or a DICOM attribute's keyword
    /// and tag, e.g. `BodyPartExamined (0018,0015)`.
    public var field: String
    /// The words or code that raised the flag.
    public var text: String
    /// The anatomic concept's SNOMED CT code, when the evidence names a region.
    public var snomed: String?
    /// The concept's meaning.
    public var meaning: String?
    /// `L`, `R`, `B`, or nil.
    public var laterality: String?
    /// The concept's sensitivity class.
    public var sensitivity: SensitivityClass?
    /// How sure the match is, 0 to 1; the flag's score is the largest of its evidence.
    public var confidence: Double
    /// For text: how the words matched the vocabulary. `fuzzy` is a near miss, a word one or
    /// two letters from an anatomic term, which the policy may review at its own threshold.
    public var match: MatchKind?
    /// For a Sensitive Content Code Sequence item that Veil recognises: the CID 900
    /// category or CID 901 detail it holds, with the group's meaning.
    public var contentCode: SensitiveContentCode?
    /// For a Sensitive Content Code Sequence item: the code as the archive wrote it, which a
    /// confirmed label keeps even when Veil does not recognise it.
    public var archiveCode: LabelCode?

    /// Creates evidence.
    public init(flag: Flag, field: String, text: String, snomed: String? = nil, meaning: String? = nil,
                laterality: String? = nil, sensitivity: SensitivityClass? = nil, confidence: Double, match: MatchKind? = nil,
                contentCode: SensitiveContentCode? = nil, archiveCode: LabelCode? = nil) {
        self.contentCode = contentCode
        self.archiveCode = archiveCode
        self.flag = flag
        self.field = field
        self.text = text
        self.snomed = snomed
        self.meaning = meaning
        self.laterality = laterality
        self.sensitivity = sensitivity
        self.confidence = confidence
        self.match = match
    }

    /// The flag a region of this class raises: intimate regions `body-region`, the face
    /// `face`; other regions none.
    static func flag(for sensitivity: SensitivityClass) -> Flag? {
        switch sensitivity {
        case .intimate: return .bodyRegion
        case .face: return .face
        case .none: return nil
        }
    }

    /// Evidence from regions found by the vocabulary.
    static func from(_ regions: [NormalizedRegion], field: String) -> [Evidence] {
        regions.compactMap { region in
            guard let concept = region.concept, let flag = flag(for: concept.sensitivity) else { return nil }
            return Evidence(flag: flag, field: field, text: region.matchedText, snomed: concept.snomed, meaning: concept.meaning,
                            laterality: region.laterality == .none ? nil : region.laterality.rawValue,
                            sensitivity: concept.sensitivity, confidence: region.confidence, match: region.match)
        }
    }

    /// The sensitive regions that free `text` names, as evidence from `field`.
    public static func regions(in text: String, field: String, vocabulary: Vocabulary) -> [Evidence] {
        from(vocabulary.normalize(text: text), field: field)
    }

    /// Evidence from a file's name (without extension) and the folder it sits in: archives
    /// and exports often name the body part there ("L BREAST 2024-03-01.jpg"). Only intimate
    /// regions count here: "face" in a file name says little about what the photo shows.
    public static func fromPath(_ path: String, vocabulary: Vocabulary) -> [Evidence] {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().lastPathComponent
        return (regions(in: url.deletingPathExtension().lastPathComponent, field: "fileName", vocabulary: vocabulary)
            + regions(in: folder, field: "folderName", vocabulary: vocabulary)).filter { $0.flag == .bodyRegion }
    }

    /// Evidence from a DICOM object's attributes:
    /// - Body Part Examined, Anatomic Region Sequence codes, and the Study, Series and Image
    ///   descriptions name regions; intimate ones raise `body-region`, the face `face`;
    ///   Image Laterality fills in the side;
    /// - Recognizable Visual Features `YES` raises `face`: the archive says the image
    ///   identifies the patient;
    /// - any Sensitive Content Code Sequence item raises `sensitive-content`, and a code of
    ///   CID 900 or 901 is reported with its meaning. Veil fails closed here: a code it does
    ///   not recognise, or an item without a readable code, still counts as sensitive. The
    ///   one exception is 131390 "No Sensitive Content Identified", a person's earlier
    ///   clearance: it is reported, with confidence 0, and raises nothing by itself; the
    ///   pixels are still scored. An empty sequence raises nothing.
    public static func fromDICOM(_ metadata: DICOMMetadata, vocabulary: Vocabulary) -> [Evidence] {
        var found: [Evidence] = []
        if let value = metadata.bodyPartExamined {
            found += from(vocabulary.normalize(bodyPartExamined: value), field: "BodyPartExamined (0018,0015)")
        }
        for code in metadata.anatomicRegions {
            let field = "AnatomicRegionSequence (0008,2218)"
            if let region = vocabulary.normalize(code: "\(code.scheme):\(code.value)"), region.concept != nil {
                found += from([region], field: field).map { var e = $0; e.text = code.description; return e }
            } else {
                found += from(vocabulary.normalize(text: code.meaning), field: field)
            }
        }
        for description in metadata.descriptions {
            found += from(vocabulary.normalize(text: description.text), field: description.attribute)
        }
        if let side = metadata.imageLaterality, ["L", "R", "B"].contains(side) {
            found = found.map { var e = $0; e.laterality = e.laterality ?? side; return e }
        }
        if metadata.recognizableVisualFeatures == "YES" {
            found.append(Evidence(flag: .face, field: "RecognizableVisualFeatures (0028,0302)", text: "YES", confidence: 1))
        }
        for code in metadata.sensitiveContent {
            let known = SensitiveContentCode.recognize(scheme: code.scheme, value: code.value)
            // Only the clearance exactly as DICOM spells it clears: a code whose one effect is
            // to let an image through is not read leniently (`dcm`, ` DCM`).
            let clears = known == .noSensitiveContent && code.scheme == "DCM" && code.value == "131390"
            found.append(Evidence(flag: .sensitiveContent, field: "SensitiveContentCodeSequence (0008,001D)",
                                  text: code.description, meaning: known?.meaning, confidence: clears ? 0 : 1,
                                  contentCode: known, archiveCode: LabelCode(value: code.value, scheme: code.scheme, meaning: code.meaning)))
        }
        return found
    }

    /// The score each flag gets from `evidence`: its most confident item.
    public static func scores(_ evidence: [Evidence]) -> [Flag: Double] {
        evidence.reduce(into: [:]) { scores, e in scores[e.flag] = max(scores[e.flag] ?? 0, e.confidence) }
    }

    /// The flags whose score rests only on near misses: no item at least as confident is an
    /// exact or synonym match.
    public static func nearMissFlags(_ evidence: [Evidence]) -> Set<Flag> {
        let best = scores(evidence)
        let sure = Set(evidence.filter { $0.match != .fuzzy && $0.confidence >= best[$0.flag, default: 0] }.map(\.flag))
        return Set(evidence.filter { $0.match == .fuzzy }.map(\.flag)).subtracting(sure)
    }
}
