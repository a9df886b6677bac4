// The embedder's façade. `import Veil` gives scoring (`Scorer`, `Classifier`,
// `FaceDetector`), file reading (`ImageReader`) and previews, and names below the few
// types of Veil's other modules that its API takes and returns. The review ledger is its
// own product, VeilReview. The tensor engine, the model runtime and the importers are
// `package`: nothing outside this package sees them.
import VeilDICOM
import VeilEngine
import VeilImage
import VeilPolicy
import VeilTensor
import VeilVocabulary

/// The threads Veil's forward passes may use; see `VeilTensor.Runtime`.
public typealias Runtime = VeilTensor.Runtime
/// What OpenBLAS is doing in this process, read-only; see `VeilTensor.BLASDiagnostics`.
public typealias BLASDiagnostics = VeilTensor.BLASDiagnostics
/// A model that cannot be loaded, naming the file and the cause.
public typealias ModelLoadingError = VeilEngine.ModelLoadingError

// The types Veil's own API takes and returns, from the modules that define them, so that
// `import Veil` is enough to use it. Their members come with them.
/// A sensitivity flag's name; see `VeilPolicy.Flag`.
public typealias Flag = VeilPolicy.Flag
/// A site's sensitivity policy; see `VeilPolicy.Policy`.
public typealias Policy = VeilPolicy.Policy
/// One flag's rules in a policy; see `VeilPolicy.FlagPolicy`.
public typealias FlagPolicy = VeilPolicy.FlagPolicy
/// A policy file that cannot be used, naming the file, line and key; see `VeilPolicy.PolicyError`.
public typealias PolicyError = VeilPolicy.PolicyError
/// What the policy suggests for one flag of one image; see `VeilPolicy.Suggestion`.
public typealias Suggestion = VeilPolicy.Suggestion
/// Where a suggestion stands before review; see `VeilPolicy.SuggestionState`.
public typealias SuggestionState = VeilPolicy.SuggestionState
/// The most protective state of an image's suggestions; see `VeilPolicy.ReviewSummary`.
public typealias ReviewSummary = VeilPolicy.ReviewSummary
/// What produced a score; see `VeilPolicy.Provenance`.
public typealias Provenance = VeilPolicy.Provenance
/// Decoded pixels; see `VeilImage.RGBImage`.
public typealias RGBImage = VeilImage.RGBImage
/// A width and height in pixels; see `VeilImage.PixelSize`.
public typealias PixelSize = VeilImage.PixelSize
/// Limits for decoding; see `VeilImage.DecodingOptions`.
public typealias DecodingOptions = VeilImage.DecodingOptions
/// Why an image could not be read, naming the file and the cause; see `VeilImage.ImageDecodingError`.
public typealias ImageDecodingError = VeilImage.ImageDecodingError
/// Decodes JPEG and PNG bytes, optionally at reduced scale; see `VeilImage.ImageDecoder`.
public typealias ImageDecoder = VeilImage.ImageDecoder
/// Resampling filters for `RGBImage.resized(to:filter:)`; see `VeilImage.ResizeFilter`.
public typealias ResizeFilter = VeilImage.ResizeFilter
/// A container format; see `VeilImage.ImageFormat`.
public typealias ImageFormat = VeilImage.ImageFormat
/// A DICOM object's identification and evidence attributes; see `VeilDICOM.DICOMMetadata`.
public typealias DICOMMetadata = VeilDICOM.DICOMMetadata
/// The body-part vocabulary; see `VeilVocabulary.Vocabulary`.
public typealias Vocabulary = VeilVocabulary.Vocabulary
/// A body region's sensitivity class; see `VeilVocabulary.SensitivityClass`.
public typealias SensitivityClass = VeilVocabulary.SensitivityClass
/// A size that does not fit an image operation; see `VeilImage.ImageGeometryError`.
public typealias ImageGeometryError = VeilImage.ImageGeometryError
/// A DICOM transfer syntax; see `VeilDICOM.TransferSyntax`.
public typealias TransferSyntax = VeilDICOM.TransferSyntax
/// A policy's calibration of raw scores; see `VeilPolicy.Calibration`.
public typealias Calibration = VeilPolicy.Calibration
/// What a policy changes for images of minors; see `VeilPolicy.MinorsRule`.
public typealias MinorsRule = VeilPolicy.MinorsRule
/// Vocabulary tables or overrides that cannot be used; see `VeilVocabulary.VocabularyError`.
public typealias VocabularyError = VeilVocabulary.VocabularyError
/// A DICOM sensitive content code (CID 900 or 901); see `VeilVocabulary.SensitiveContentCode`.
public typealias SensitiveContentCode = VeilVocabulary.SensitiveContentCode
/// The CID 901 detail for an anatomic region; see `VeilVocabulary.ContentDetail`.
public typealias ContentDetail = VeilVocabulary.ContentDetail
/// A coded entry of a DICOM code sequence item; see `VeilDICOM.CodedEntry`.
public typealias CodedEntry = VeilDICOM.CodedEntry
/// Writes sensitive content labels into a copy of a DICOM object; see `VeilDICOM.SensitiveContentWriter`.
public typealias SensitiveContentWriter = VeilDICOM.SensitiveContentWriter
