/// One anatomic region of Veil's coded vocabulary.
public struct AnatomicConcept: Sendable, Hashable {
    /// The SNOMED CT concept id, e.g. `"76752008"`.
    public let snomed: String
    /// The code meaning, e.g. `"Breast"`.
    public let meaning: String
    /// The Body Part Examined (0018,0015) defined term, when DICOM defines one.
    public let bodyPartExamined: String?
    /// The legacy SNOMED-RT id (coding scheme `SRT`), when there is one.
    public let snomedRT: String?
    /// Whether the region has a left and a right, so that laterality applies.
    public let isPaired: Bool
    /// How sensitive an image of this region is.
    public let sensitivity: SensitivityClass

    /// The side a concept names itself, such as LINGUINAL's "Left inguinal region": it has
    /// no left and right of its own (it is unpaired), yet it is on the left.
    public var inherentLaterality: Laterality {
        if meaning.hasPrefix("Left ") { return .left }
        if meaning.hasPrefix("Right ") { return .right }
        return .none
    }
}

/// How sensitive an image showing a region is, for review routing.
public enum SensitivityClass: String, Sendable, Codable, CaseIterable {
    /// Genitalia, breast, buttock, perineum, anus, groin.
    case intimate
    /// The face, or the whole head.
    case face
    /// Neither.
    case none
}

/// Which side of the body a region is on.
public enum Laterality: String, Sendable, Codable {
    /// Left (DICOM Image Laterality `L`).
    case left = "L"
    /// Right (`R`).
    case right = "R"
    /// Both sides (`B`).
    case both = "B"
    /// Not stated, or the region has no sides.
    case none = ""
}

/// How an input was matched to a concept.
public enum MatchKind: String, Sendable, Codable {
    /// A code, or a Body Part Examined defined term, exactly.
    case exact
    /// A code meaning, a listed synonym, abbreviation or legacy term.
    case synonym
    /// A misspelling within a small edit distance of exactly one known word.
    case fuzzy
    /// Nothing matched.
    case none
}

/// For detector labels: whether the part was exposed or covered.
public enum Exposure: String, Sendable, Codable {
    case exposed
    case covered
}

/// One region found in an input.
public struct NormalizedRegion: Sendable, Hashable {
    /// The concept, or `nil` when nothing matched (then `match` is `.none`).
    public let concept: AnatomicConcept?
    /// The side, for paired regions.
    public let laterality: Laterality
    /// How the input was matched.
    public let match: MatchKind
    /// 1 for exact matches, less for synonyms and fuzzy matches, 0 for none.
    public let confidence: Double
    /// For detector labels, exposed or covered.
    public let exposure: Exposure?
    /// The words of the input that produced this match.
    public let matchedText: String

    /// The result for an input that names no known region.
    public static func unmatched(_ text: String) -> NormalizedRegion {
        NormalizedRegion(concept: nil, laterality: .none, match: .none, confidence: 0, exposure: nil, matchedText: text)
    }
}
