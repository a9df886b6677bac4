import Foundation
import VeilDICOM
import VeilEngine
import VeilImage
import VeilPolicy
import VeilTensor
import VeilVocabulary

/// Everything Veil concludes about one picture, and what the policy makes of it: the same
/// verdict `veil score` prints.
public struct Assessment: Sendable {
    /// Flag → score, as computed (never rounded): the classifier's (`Flag.nudity`),
    /// `Flag.face` (the best face's confidence, or the metadata's), and the metadata
    /// flags (`Flag.bodyRegion`, always present for a scored picture;
    /// `Flag.sensitiveContent`).
    public var scores: [Flag: Double]
    /// The metadata behind metadata-raised flags.
    public var evidence: [Evidence]
    /// Faces found, in the original image's pixels (full size, display orientation).
    public var faces: [FaceDetection]
    /// Flag → what produced its score: the classifier, the face detector, the vocabulary
    /// (file and folder names) or a DICOM attribute. Recorded with each suggestion.
    public var sources: [Flag: Provenance] = [:]
    /// The policy's verdict, one suggestion per enabled flag that has a score, each with its
    /// source; empty until a policy has been applied.
    public var suggestions: [Suggestion] = []
    /// For DICOM: this picture's frame (1-based) and the object's number of frames.
    public var frame: Int?
    /// For DICOM: the object's number of frames.
    public var frames: Int?
    /// Why the pixels were not scored, when they were not: the verdict then rests on what
    /// the metadata says (the path and, for DICOM, the attributes that could be read), as
    /// `veil score`'s `skipped` and `error` records do.
    public var notScored: NotScored?

    /// Why a picture's pixels were not scored.
    public enum NotScored: Sendable, Equatable {
        /// A DICOM object that is not a visible-light capture (CT, US, …): the models were
        /// made for photographs. The reason names the modality or SOP class.
        case notVisibleLight(String)
        /// The file, or this frame, could not be decoded; the error names the file and cause.
        case undecodable(ImageDecodingError)

        /// The decoding error, for ``undecodable(_:)``; nil for a capture that is not visible light.
        public var error: ImageDecodingError? {
            if case .undecodable(let error) = self { return error }
            return nil
        }
    }

    /// The most protective state of ``suggestions``: what the image needs now.
    public var review: ReviewSummary { ReviewSummary(suggestions) }

    /// The flags whose score comes only from near-miss text matches (see
    /// ``Evidence/nearMissFlags(_:)``); a policy may hold them to their own threshold.
    public var nearMissFlags: Set<Flag> {
        // A model's or detector's score above the evidence's makes the flag no near miss.
        Evidence.nearMissFlags(evidence).filter { flag in
            evidence.contains { $0.flag == flag && $0.confidence >= (scores[flag] ?? 0) }
        }
    }

    /// Fills ``suggestions`` from `policy`, each with its source and the codes its label would
    /// carry; `minor` says the patient was under 18.
    mutating func apply(_ policy: Policy, minor: Bool, vocabulary: Vocabulary) {
        suggestions = policy.suggestions(for: scores, minor: minor, nearMisses: nearMissFlags).map { s in
            var sourced = s
            sourced.source = sources[s.flag]
            sourced.labels = labels(for: s.flag, policy: policy, vocabulary: vocabulary)
            return sourced
        }
    }

    /// The codes a confirmed label of `flag` carries: the policy's category for the flag and
    /// the CID 901 details of the regions its evidence names, in that order (a `face` is
    /// always the Face detail, whether the detector or the metadata found it); for
    /// `sensitive-content` without a category, the archive's own codes (131390 aside: a
    /// clearance is no label of sensitivity).
    func labels(for flag: Flag, policy: Policy, vocabulary: Vocabulary) -> [LabelCode] {
        var codes: [LabelCode] = []
        func add(_ code: LabelCode) { if !codes.contains(where: { $0.key == code.key }) { codes.append(code) } }
        let mine = evidence.filter { $0.flag == flag && $0.confidence > 0 }
        if let category = policy.contentCategory(for: flag) {
            add(category.label)
        } else {
            for e in mine { if let code = e.contentCode?.label ?? e.archiveCode { add(code) } }
        }
        if flag == .face, let face = SensitiveContentCode.recognize("SCT:89545001") { add(face.label) }
        for e in mine {
            if let snomed = e.snomed, let detail = vocabulary.concept(snomed: snomed)?.contentDetail { add(detail.code.label) }
        }
        return codes
    }
}

/// Why a ``Scorer`` cannot be made from these parts.
public struct ScorerConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable {
        /// The model and the policy disagree on the flags: a score no rule thresholds, or a
        /// flag the policy enables that the model should produce and does not.
        case modelDoesNotFitPolicy
        /// No flag the policy enables can be scored by these models or read from metadata.
        case nothingToScore
    }
    /// What is wrong.
    public var kind: Kind
    /// A sentence for operators.
    public var reason: String
    public var description: String { reason }
}

/// The classifier, the face detector, the vocabulary and the policy together: what
/// `veil score` runs on each picture, for embedders who want the same verdicts.
///
/// ```swift
/// let scorer = try Scorer.load(policy: .standard, runtime: Runtime(threads: 4))
/// for assessment in try scorer.assess(fileAt: "/archive/IMG_0042.dcm") where assessment.review != .none {
///     // queue the image for human review
/// }
/// ```
///
/// Immutable and `Sendable`; load once and share.
public final class Scorer: Sendable {
    /// The image classifier (`Flag.nudity` with the default model).
    public let classifier: Classifier
    /// The face detector, or nil to skip face detection.
    public let faceDetector: FaceDetector?
    /// The body-part vocabulary that reads paths and DICOM attributes, with the policy's
    /// sensitivity overrides applied.
    public let vocabulary: Vocabulary
    /// The policy whose thresholds turn scores into suggestions.
    public let policy: Policy
    /// Face detection passes: 1 is the whole image only (MediaPipe's own pipeline; the
    /// default, full-range detector finds faces down to about a fifth of the image's shorter
    /// side, most down to a tenth), 2 adds tiles of half the shorter side, 3 also quarter
    /// tiles, for smaller faces (see ``FaceDetector/faces(in:levels:)``).
    public let faceLevels: Int
    /// Whether DICOM objects that are not visible-light captures are scored too (by default
    /// they are assessed on their metadata only, as `veil score` does without
    /// `--all-modalities`).
    public let allModalities: Bool

    /// Flags the policy enables that nothing in this scorer produces; they are never
    /// suggested. Worth telling the operator.
    public var unscoredFlags: [Flag] {
        policy.flags.filter(\.value.enabled).keys.filter { !producedFlags.contains($0) }.sorted()
    }

    /// The flags these parts can score: the classifier's, and those metadata can raise.
    public var producedFlags: Set<Flag> {
        Set(classifier.flags + [.bodyRegion, .face, .sensitiveContent])
    }

    /// Combines loaded parts, checking that the classifier and the policy agree: every score
    /// the classifier produces must be a flag of the policy, and a policy that enables
    /// `Flag.nudity` needs a classifier that scores it.
    ///
    /// - Parameters:
    ///   - classifier: the image classifier.
    ///   - faceDetector: the face detector, or nil to take `face` from metadata only.
    ///   - policy: the thresholds that turn scores into suggestions.
    ///   - faceLevels: 1, 2 or 3; other values are clamped into that range.
    ///   - allModalities: score DICOM objects that are not visible-light captures too.
    /// - Throws: ``PolicyError`` if the policy does not pass `Policy.validate(file:)` (a
    ///   threshold out of range would switch a flag off unseen), ``ScorerConfigurationError``,
    ///   or ``VocabularyError`` if the policy's sensitivity overrides name an unknown code.
    public init(classifier: Classifier, faceDetector: FaceDetector?, policy: Policy = .standard, faceLevels: Int = 1,
                allModalities: Bool = false) throws {
        try policy.validate(file: "policy \(policy.name) \(policy.version)")
        self.classifier = classifier
        self.faceDetector = faceDetector
        self.policy = policy
        self.faceLevels = min(3, max(1, faceLevels))
        self.allModalities = allModalities
        self.vocabulary = try policy.vocabulary()
        let name = "\(classifier.identity.name) \(classifier.identity.version)"
        for flag in classifier.flags where policy.flags[flag] == nil {
            throw ScorerConfigurationError(kind: .modelDoesNotFitPolicy,
                                           reason: "the model \(name) scores '\(flag)', which is not a flag of the policy, so nothing would ever threshold it")
        }
        if policy.flags[.nudity]?.enabled == true, !classifier.flags.contains(.nudity) {
            throw ScorerConfigurationError(kind: .modelDoesNotFitPolicy,
                                           reason: "the policy enables 'nudity', but the model \(name) does not score it; switch it off in the policy (enabled: false) to run without it")
        }
        let enabled = policy.flags.filter(\.value.enabled).keys.sorted()
        guard enabled.contains(where: producedFlags.contains) else {
            throw ScorerConfigurationError(kind: .nothingToScore,
                                           reason: "no flag the policy enables (\(enabled.map(\.rawValue).joined(separator: ", "))) can be scored by the model \(name) or read from metadata")
        }
    }

    /// The bundled models under `policy`, with the site-trained heads it names. The face
    /// detector is loaded when the policy enables `Flag.face` and `faces` is true.
    ///
    /// `decodingOptions` sets the limits for reading files (the pixel limit against
    /// decompression bombs); the target size comes from the model.
    ///
    /// - Throws: ``ModelLoadingError``, ``PolicyError``, ``ScorerConfigurationError`` or
    ///   ``VocabularyError``.
    public static func load(policy: Policy = .standard, runtime: Runtime = .automatic, faces: Bool = true,
                            faceLevels: Int = 1, batchSize: Int = 8, allModalities: Bool = false,
                            decodingOptions: DecodingOptions = DecodingOptions()) throws -> Scorer {
        let detector = faces && policy.flags[.face]?.enabled == true ? try FaceDetector.loadDefault(runtime: runtime) : nil
        let heads = try policy.loadHeads(runtime: runtime)
        let classifier = try Classifier.loadDefault(runtime: runtime, batchSize: batchSize, decodingOptions: decodingOptions)
        return try Scorer(classifier: try classifier.adding(heads: heads), faceDetector: detector, policy: policy.covering(heads),
                          faceLevels: faceLevels, allModalities: allModalities)
    }

    /// One picture to assess, and the path it came from (its file and folder names are
    /// evidence too).
    public struct Input: Sendable {
        /// The decoded picture.
        public var picture: LoadedImage
        /// Where it came from: a file path, or any name whose last parts describe it.
        public var path: String

        /// Pairs a picture with its path.
        public init(picture: LoadedImage, path: String) {
            self.picture = picture
            self.path = path
        }
    }

    /// Assesses the file at `path` as `veil score` does: one assessment per picture (a DICOM
    /// object has one per frame), frames decoded and scored ``Classifier/batchSize`` at a time.
    ///
    /// Nothing that can be read is lost. A file whose pixels cannot be decoded, a frame that
    /// fails, and a DICOM object that is not a visible-light capture each get an assessment
    /// with ``Assessment/notScored`` set, whose verdict rests on the path and on whatever
    /// DICOM attributes could be salvaged: a damaged object marked sensitive is still
    /// restricted.
    ///
    /// - Throws: `ImageDecodingError` only when the file cannot be read at all (it does not
    ///   exist, is a folder, a device, or unreadable).
    public func assess(fileAt path: String) throws -> [Assessment] {
        let data = try ImageDecoder.readFile(atPath: path)
        let source: PictureSource
        do {
            source = try classifier.reader.pictures(in: data)
        } catch let error as ImageDecodingError {
            let isDICOM = ImageFormat.sniff(data) == .dicom || DICOMObject.sniff(data)
            var assessment = assessMetadata(path: path, dicom: isDICOM ? DICOMObject.salvageMetadata(from: data) : nil)
            assessment.notScored = .undecodable(error.attributed(to: path))
            return [assessment]
        }
        if let dicom = source.dicom, !allModalities, let reason = VisibleLight.exclusionReason(for: dicom) {
            var assessment = assessMetadata(path: path, dicom: dicom)
            assessment.notScored = .notVisibleLight(reason)
            return [assessment]
        }
        var results: [Assessment] = []
        for start in stride(from: 0, to: source.count, by: classifier.batchSize) {
            // Frames that decode are scored together; one that fails is assessed on the
            // object's attributes, and the others go on.
            var decoded: [(index: Int, input: Input)] = [], failed: [(index: Int, assessment: Assessment)] = []
            for index in start..<min(source.count, start + classifier.batchSize) {
                do {
                    decoded.append((index, Input(picture: try source.picture(at: index), path: path)))
                } catch {
                    var assessment = assessMetadata(path: path, dicom: source.dicom)
                    assessment.notScored = .undecodable((error as? ImageDecodingError)?.attributed(to: path)
                                                        ?? ImageDecodingError(.corrupt, "\(error)", file: path))
                    assessment.frame = source.dicom == nil ? nil : index + 1
                    assessment.frames = source.dicom == nil ? nil : source.count
                    failed.append((index, assessment))
                }
            }
            let scored = try assess(decoded.map(\.input))
            results += (zip(decoded.map(\.index), scored).map { ($0, $1) } + failed.map { ($0.index, $0.assessment) })
                .sorted { $0.0 < $1.0 }.map(\.1)
        }
        return results
    }

    /// What the metadata alone says of an input whose pixels cannot be scored (damaged, not
    /// a visible-light capture, no pixels at all): evidence from its path and, for DICOM,
    /// its attributes, with the policy applied. Only metadata flags get scores; nothing is
    /// said of the pixels.
    public func assessMetadata(path: String, dicom: DICOMMetadata?) -> Assessment {
        var evidence = Evidence.fromPath(path, vocabulary: vocabulary)
        if let dicom { evidence += Evidence.fromDICOM(dicom, vocabulary: vocabulary) }
        var sources: [Flag: Provenance] = [:]
        for e in evidence.sorted(by: { $0.confidence > $1.confidence }) where sources[e.flag] == nil {
            sources[e.flag] = source(of: e)
        }
        var assessment = Assessment(scores: Evidence.scores(evidence), evidence: evidence, faces: [], sources: sources)
        assessment.apply(policy, minor: dicom?.isMinor == true, vocabulary: vocabulary)
        return assessment
    }

    /// Assesses pictures, ``Classifier/batchSize`` to a forward pass; results in input order.
    public func assess(_ inputs: [Input]) throws -> [Assessment] {
        guard !inputs.isEmpty else { return [] }
        let images = inputs.map(\.picture.image)
        let modelScores = try classifier.scores(for: images)
        var allFaces: [[FaceDetection]]?
        if let faceDetector {
            allFaces = []
            for start in stride(from: 0, to: images.count, by: classifier.batchSize) {
                allFaces! += try faceDetector.faces(inEach: Array(images[start..<min(images.count, start + classifier.batchSize)]),
                                                    levels: faceLevels)
            }
        }
        return inputs.indices.map { index in
            let picture = inputs[index].picture, raw = modelScores[index]
            var evidence = Evidence.fromPath(inputs[index].path, vocabulary: vocabulary)
            if let dicom = picture.dicom { evidence += Evidence.fromDICOM(dicom, vocabulary: vocabulary) }
            var scores = raw
            scores[.bodyRegion] = 0
            var faces: [FaceDetection] = []
            if let allFaces {
                // Boxes come back in the decoded (possibly reduced) image; report full-size pixels.
                let sx = Double(picture.fullSize.width) / Double(max(1, picture.image.width))
                let sy = Double(picture.fullSize.height) / Double(max(1, picture.image.height))
                faces = allFaces[index].map { f in
                    FaceDetection(x: f.x * sx, y: f.y * sy, width: f.width * sx, height: f.height * sy, score: f.score,
                                  keypoints: f.keypoints.map { [$0[0] * sx, $0[1] * sy] })
                }
                scores[.face] = faces.map(\.score).max() ?? 0
            }
            var sources: [Flag: Provenance] = [:]
            for flag in raw.keys {
                let model = classifier.identity(scoring: flag)
                sources[flag] = Provenance(name: model.name, version: model.version)
            }
            if let detector = faceDetector {
                sources[.face] = Provenance(name: detector.identity.name, version: detector.identity.version)
            }
            // A flag's strongest evidence names its source when it is at least as strong as
            // the model's score: then the metadata, not the model, sent the image to review.
            let evidenceScores = Evidence.scores(evidence)
            sources[.bodyRegion] = Provenance(name: "vocabulary", version: vocabulary.tableVersion)
            for (flag, best) in evidenceScores where best >= (scores[flag] ?? 0) {
                guard let e = evidence.first(where: { $0.flag == flag && $0.confidence == best }) else { continue }
                sources[flag] = source(of: e)
            }
            scores.merge(evidenceScores, uniquingKeysWith: max)
            var assessment = Assessment(scores: scores, evidence: evidence, faces: faces, sources: sources,
                                        frame: picture.frame?.number, frames: picture.frame?.of)
            assessment.apply(policy, minor: picture.dicom?.isMinor == true, vocabulary: vocabulary)
            return assessment
        }
    }

    /// What raised a piece of evidence: the vocabulary reading a path, or a DICOM attribute
    /// (with the vocabulary's tables when it named a region).
    private func source(of e: Evidence) -> Provenance {
        let fromPath = e.field == "fileName" || e.field == "folderName"
        return Provenance(name: fromPath ? "vocabulary" : "DICOM \(e.field)",
                          version: e.snomed == nil ? "attribute" : vocabulary.tableVersion)
    }
}
