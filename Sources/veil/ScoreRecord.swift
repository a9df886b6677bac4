import Veil
import VeilDICOM
import VeilPolicy

/// One line of `veil score` output. Field names and meanings are documented in
/// docs/command-line.md ("The score record"); `schema` changes whenever a field changes meaning.
struct ScoreRecord: Encodable {
    static let schemaVersion = 3

    struct ErrorInfo: Encodable {
        var kind: String
        var message: String
    }

    var schema = ScoreRecord.schemaVersion
    var path: String
    var sha256: String?
    /// `ok`, `error` (see `error`) or `skipped` (see `skipReason`).
    var status: String
    var error: ErrorInfo?
    /// Why an input was not scored, e.g. "modality US is not a visible-light capture".
    var skipReason: String?
    var format: String?
    var width: Int?
    var height: Int?
    /// For DICOM: this record's frame (1-based) and the object's number of frames.
    var frame: Int?
    var frames: Int?
    /// For DICOM: the UIDs that link the label back to the archive, and whether the
    /// patient was a minor. Never the patient's name, ID or dates.
    var dicom: DICOMInfo?
    var scores: [Flag: Double]?
    /// Faces found, boxes in original-image pixels.
    var faces: [Face]?
    /// The metadata that raised flags: which field or attribute raised which flag.
    var evidence: [Evidence]?
    /// The policy's verdict per flag.
    var suggestions: [Suggestion]?
    /// `none`, `pending` or `restricted`: the most protective state of the suggestions.
    var review: ReviewSummary?
    var model: ModelIdentity?
    var policy: PolicyInfo?

    struct DICOMInfo: Encodable {
        var studyInstanceUID: String?
        var seriesInstanceUID: String?
        var sopInstanceUID: String?
        var sopClassUID: String?
        var modality: String?
        var transferSyntax: String?
        /// `true` or `false` when the object says, absent otherwise.
        var minor: Bool?
        /// The attribute that decided `minor`, never its value.
        var minorBasis: String?

        init(_ m: DICOMMetadata, syntax: TransferSyntax?) {
            studyInstanceUID = m.studyInstanceUID
            seriesInstanceUID = m.seriesInstanceUID
            sopInstanceUID = m.sopInstanceUID
            sopClassUID = m.sopClassUID
            modality = m.modality
            transferSyntax = syntax?.uid
            minor = m.isMinor
            minorBasis = m.minorBasis
        }
    }

    struct Face: Encodable {
        var x: Int
        var y: Int
        var width: Int
        var height: Int
        var score: Double

        init(_ f: FaceDetection) {
            x = Int(f.x.rounded()); y = Int(f.y.rounded())
            width = Int(f.width.rounded()); height = Int(f.height.rounded())
            score = (f.score * 1e6).rounded() / 1e6
        }
    }

    struct PolicyInfo: Encodable {
        var name: String
        var version: String
    }
}
