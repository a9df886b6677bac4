import Foundation

/// A sensitive body region named in an image's metadata or path: the evidence behind the
/// `body-region` flag.
public struct BodyRegionEvidence: Sendable, Hashable, Encodable {
    /// Where the text came from, e.g. `"fileName"`, `"folderName"`, or a DICOM attribute.
    public var field: String
    /// The words that named the region.
    public var text: String
    /// The concept's SNOMED CT code.
    public var snomed: String
    /// The concept's meaning.
    public var meaning: String
    /// `L`, `R`, `B`, or nil.
    public var laterality: String?
    /// The concept's sensitivity class.
    public var sensitivity: SensitivityClass
    /// How sure the match is, 0 to 1.
    public var confidence: Double

    /// The regions of class `intimate` that `text` names, as evidence from `field`.
    public static func intimateRegions(in text: String, field: String, vocabulary: Vocabulary) -> [BodyRegionEvidence] {
        vocabulary.normalize(text: text).compactMap { region in
            guard let concept = region.concept, concept.sensitivity == .intimate else { return nil }
            return BodyRegionEvidence(field: field, text: region.matchedText, snomed: concept.snomed, meaning: concept.meaning,
                                      laterality: region.laterality == .none ? nil : region.laterality.rawValue,
                                      sensitivity: concept.sensitivity, confidence: region.confidence)
        }
    }

    /// Evidence from a file's name (without extension) and the folder it sits in: archives
    /// and exports often name the body part there ("L BREAST 2024-03-01.jpg").
    public static func fromPath(_ path: String, vocabulary: Vocabulary) -> [BodyRegionEvidence] {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().lastPathComponent
        return intimateRegions(in: url.deletingPathExtension().lastPathComponent, field: "fileName", vocabulary: vocabulary)
            + intimateRegions(in: folder, field: "folderName", vocabulary: vocabulary)
    }
}
