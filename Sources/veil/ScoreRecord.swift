import Veil

/// One line of `veil score` output. Field names and meanings are documented in README.md
/// ("The score record"); `schema` changes whenever a field changes meaning.
struct ScoreRecord: Encodable {
    static let schemaVersion = 1

    struct ErrorInfo: Encodable {
        var kind: String
        var message: String
    }

    struct ModelInfo: Encodable {
        var name: String
        var version: String
        var weightsSHA256: String
    }

    var schema = ScoreRecord.schemaVersion
    var path: String
    var sha256: String?
    var status: String
    var error: ErrorInfo?
    var format: String?
    var width: Int?
    var height: Int?
    var scores: [String: Float]?
    /// Sensitive regions named in the path; the evidence for the `body-region` score.
    var evidence: [BodyRegionEvidence]?
    /// The policy's verdict per flag.
    var suggestions: [Suggestion]?
    /// `none`, `pending` or `restricted`: the most protective state of the suggestions.
    var review: ReviewSummary?
    var model: ModelInfo?
    var policy: PolicyInfo?

    struct PolicyInfo: Encodable {
        var name: String
        var version: String
    }
}
