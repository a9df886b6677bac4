import Foundation

/// Everything Veil concludes about one picture before any policy applies.
public struct Assessment: Sendable {
    /// Flag → score: the classifier's (`nudity`), `face` (the best face's confidence, or the
    /// metadata's), and the metadata flags (`body-region`, always present; `sensitive-content`).
    public var scores: [String: Double]
    /// The metadata behind metadata-raised flags.
    public var evidence: [Evidence]
    /// Faces found, in the original image's pixels (full size, display orientation).
    public var faces: [FaceDetection]
    /// Flag → what produced its score: the classifier, the face detector, the vocabulary
    /// (file and folder names) or a DICOM attribute. Recorded with each suggestion.
    public var sources: [String: Provenance] = [:]

    /// The flags whose score comes only from near-miss text matches (see
    /// ``Evidence/nearMissFlags(_:)``); a policy may hold them to their own threshold.
    public var nearMissFlags: Set<String> {
        // A model's or detector's score above the evidence's makes the flag no near miss.
        Evidence.nearMissFlags(evidence).filter { flag in
            evidence.contains { $0.flag == flag && $0.confidence >= (scores[flag] ?? 0) }
        }
    }
}

/// The classifier, the face detector and the vocabulary together: what `veil score` runs on
/// each picture, for embedders who want the same verdicts.
///
/// Immutable and `Sendable`; load once and share.
public final class Scorer: Sendable {
    /// The image classifier (`nudity` with the default model).
    public let classifier: Classifier
    /// The face detector, or nil to skip face detection.
    public let faceDetector: FaceDetector?
    /// The body-part vocabulary that reads paths and DICOM attributes.
    public let vocabulary: Vocabulary
    /// Face detection passes: 1 is the whole image only (MediaPipe's own pipeline), 2 adds
    /// tiles of half the shorter side, 3 also quarter tiles (see ``FaceDetector/faces(in:levels:)``).
    public let faceLevels: Int

    /// Combines loaded parts.
    public init(classifier: Classifier, faceDetector: FaceDetector?, vocabulary: Vocabulary, faceLevels: Int = 2) {
        self.classifier = classifier
        self.faceDetector = faceDetector
        self.vocabulary = vocabulary
        self.faceLevels = faceLevels
    }

    /// The bundled models, and the vocabulary as `policy` has it (its sensitivity
    /// overrides applied); `faces: false` leaves the face detector out.
    public static func loadDefault(faces: Bool = true, policy: Policy = .standard) throws -> Scorer {
        Scorer(classifier: try Classifier.loadDefault(), faceDetector: faces ? try FaceDetector.loadDefault() : nil,
               vocabulary: try policy.vocabulary())
    }

    /// What raised a piece of evidence: the vocabulary reading a path, or a DICOM attribute
    /// (with the vocabulary's tables when it named a region).
    private func source(of e: Evidence) -> Provenance {
        let fromPath = e.field == "fileName" || e.field == "folderName"
        return Provenance(name: fromPath ? "vocabulary" : "DICOM \(e.field)",
                          version: e.snomed == nil ? "attribute" : vocabulary.tableVersion)
    }

    /// What the metadata alone says of an input whose pixels cannot be scored (damaged, not
    /// a visible-light capture, no pixels at all): evidence from its path and, for DICOM,
    /// its attributes. Only metadata flags get scores; nothing is said of the pixels.
    public func assessMetadata(path: String, dicom: DICOMMetadata?) -> Assessment {
        var evidence = Evidence.fromPath(path, vocabulary: vocabulary)
        if let dicom { evidence += Evidence.fromDICOM(dicom, vocabulary: vocabulary) }
        var sources: [String: Provenance] = [:]
        for e in evidence.sorted(by: { $0.confidence > $1.confidence }) where sources[e.flag] == nil {
            sources[e.flag] = source(of: e)
        }
        return Assessment(scores: Evidence.scores(evidence), evidence: evidence, faces: [], sources: sources)
    }

    /// Assesses pictures in one batch; `paths[i]` is where `pictures[i]` came from (its file
    /// and folder names are evidence too).
    public func assess(_ pictures: [LoadedImage], paths: [String]) throws -> [Assessment] {
        precondition(pictures.count == paths.count, "one path per picture")
        let modelScores = try classifier.scores(for: pictures.map(\.image))
        let allFaces = try faceDetector?.faces(inEach: pictures.map(\.image), levels: faceLevels)
        return zip(pictures.indices, zip(paths, modelScores)).map { index, pathAndScores in
            let picture = pictures[index], (path, raw) = pathAndScores
            var evidence = Evidence.fromPath(path, vocabulary: vocabulary)
            if let dicom = picture.dicom { evidence += Evidence.fromDICOM(dicom, vocabulary: vocabulary) }
            var scores = raw.mapValues(Double.init)
            scores["body-region"] = 0
            var faces: [FaceDetection] = []
            if let allFaces {
                // Boxes come back in the decoded (possibly reduced) image; report full-size pixels.
                let sx = Double(picture.fullSize.width) / Double(picture.image.width)
                let sy = Double(picture.fullSize.height) / Double(picture.image.height)
                faces = allFaces[index].map { f in
                    FaceDetection(x: f.x * sx, y: f.y * sy, width: f.width * sx, height: f.height * sy, score: f.score,
                                  keypoints: f.keypoints.map { [$0[0] * sx, $0[1] * sy] })
                }
                scores["face"] = faces.map(\.score).max() ?? 0
            }
            var sources: [String: Provenance] = [:]
            let classifierSource = Provenance(name: classifier.model.manifest.name, version: classifier.model.manifest.version)
            for flag in raw.keys { sources[flag] = classifierSource }
            if let detector = faceDetector {
                sources["face"] = Provenance(name: detector.model.manifest.name, version: detector.model.manifest.version)
            }
            // A flag's strongest evidence names its source when it is at least as strong as
            // the model's score: then the metadata, not the model, sent the image to review.
            let evidenceScores = Evidence.scores(evidence)
            sources["body-region"] = Provenance(name: "vocabulary", version: vocabulary.tableVersion)
            for (flag, best) in evidenceScores where best >= (scores[flag] ?? 0) {
                guard let e = evidence.first(where: { $0.flag == flag && $0.confidence == best }) else { continue }
                sources[flag] = source(of: e)
            }
            scores.merge(evidenceScores, uniquingKeysWith: max)
            return Assessment(scores: scores, evidence: evidence, faces: faces, sources: sources)
        }
    }
}
