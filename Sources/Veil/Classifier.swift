import Foundation
import VeilDICOM
import VeilEngine
import VeilImage
import VeilModels
import VeilPolicy
import VeilTensor

/// A model's name, version and weights hash: what every score records about its source.
public struct ModelIdentity: Sendable, Hashable, Codable {
    /// The model's name, e.g. `open_nsfw`.
    public var name: String
    /// Its version, e.g. `1.0.0`.
    public var version: String
    /// The SHA-256 of its weights file, lower-case hex.
    public var weightsSHA256: String

    init(_ manifest: ModelManifest) {
        name = manifest.name
        version = manifest.version
        weightsSHA256 = manifest.weights.sha256
    }

    init(name: String, version: String, weightsSHA256: String) {
        self.name = name
        self.version = version
        self.weightsSHA256 = weightsSHA256
    }
}

/// One image's scores and, for a model that names one, its embedding: the backbone's pooled
/// features from the same forward pass.
public struct ClassifierOutput: Sendable {
    /// Flag → score, the model's and its heads'.
    public var scores: [Flag: Double]
    /// ``Classifier/embeddingLength`` values, or nil if the model names no embedding (or
    /// the call only scores: `scores(for:)`).
    public var embedding: [Float]?
}

/// Scores images with an image classifier: one score per ``Flag`` the model produces.
///
/// ```swift
/// let classifier = try Classifier.loadDefault(runtime: Runtime(threads: 4))   // once
/// let scores = try classifier.scores(forFileAt: "/archive/wound-0042.jpg")
/// if scores[.nudity, default: 0] >= 0.4 { /* queue for human review */ }
/// ```
///
/// A `Classifier` is immutable and `Sendable`: load it once and share it between threads.
/// Each call allocates its own working memory. Scores are suggestions for human review,
/// never labels; ``Scorer`` adds faces, metadata and the policy's thresholds.
public final class Classifier: Sendable {
    package let model: Model
    package let preprocessor: Preprocessor
    package let decoder: ImageDecoder

    /// The model's name, version and weights hash.
    public let identity: ModelIdentity

    /// The flags this model scores, in the manifest's order, then its heads', e.g.
    /// `[.nudity, "gruesome"]`.
    public let flags: [Flag]

    /// Site-trained heads scored from this model's embedding (see ``adding(heads:)``).
    public let heads: [Head]

    /// The length of the model's embedding (open_nsfw: 1,024), or nil if it names none.
    public var embeddingLength: Int? { model.embeddingLength }

    /// The graph tensor the embedding is read from (open_nsfw: `pool`).
    package var embeddingTensor: String? { model.manifest.embedding?.tensor }

    /// The threads each forward pass uses.
    public var runtime: Runtime { model.runtime }

    /// The most images one forward pass takes; longer arrays are scored in passes of this
    /// size, so that memory stays bounded whatever the caller hands in.
    public let batchSize: Int

    /// How much larger than the model's resize target a scaled JPEG decode must stay.
    ///
    /// DCT scaling averages like a box filter; a real resize after it restores the
    /// reference's bilinear (triangle) filtering. Measured on the bundled samples against
    /// the reference pipeline (full decode, Pillow resize), the largest `nudity` difference
    /// was 2.3e-2 at 1.0, 4.4e-3 at 1.25, 4.0e-3 at 1.4, 1.3e-3 at 2.0 and 5.5e-4 with
    /// no scaling. At 1.4 a 12-megapixel 4:3 photo still decodes at 1/8 scale (504×378).
    public static let decodeOversampling = 1.4

    /// Loads the classifier whose manifest is at `path`.
    ///
    /// - Parameters:
    ///   - path: the model's `manifest.json`; the weights file is found beside it.
    ///   - runtime: the threads each forward pass may use.
    ///   - batchSize: the most images per forward pass (at least 1); larger batches make
    ///     faster matrix products and use more memory.
    ///   - decodingOptions: limits for decoding files; the target size is set from the model.
    /// - Throws: ``ModelLoadingError`` naming the file and the cause, also for a detector
    ///   (its outputs are boxes, not image scores).
    public convenience init(manifestAt path: String, runtime: Runtime = .automatic, batchSize: Int = 8,
                            decodingOptions: DecodingOptions = DecodingOptions()) throws {
        try self.init(model: try Model.load(manifestAt: path, runtime: runtime), batchSize: batchSize,
                      decodingOptions: decodingOptions)
    }

    /// Loads the embedded default model: Yahoo's open_nsfw, which scores `Flag.nudity`.
    public static func loadDefault(runtime: Runtime = .automatic, batchSize: Int = 8,
                                   decodingOptions: DecodingOptions = DecodingOptions()) throws -> Classifier {
        try Classifier(manifestAt: defaultModelManifestPath, runtime: runtime, batchSize: batchSize,
                       decodingOptions: decodingOptions)
    }

    /// This classifier with `heads` added: each head's flag is scored from the embedding of
    /// the same forward pass, at the cost of one small matrix product.
    ///
    /// - Throws: ``ModelLoadingError`` if a head was fitted on another backbone (name,
    ///   version or weights), takes another embedding length, or scores a flag already
    ///   scored.
    public func adding(heads more: [Head]) throws -> Classifier {
        try Classifier(model: model, heads: heads + more, batchSize: batchSize, decodingOptions: decoder.options)
    }

    /// Where the embedded default model's manifest is installed.
    public static var defaultModelManifestPath: String { BundledModels.openNSFWManifestPath }

    package init(model: Model, heads: [Head] = [], batchSize: Int = 8, decodingOptions: DecodingOptions = DecodingOptions()) throws {
        let manifest = model.manifest
        if manifest.detector != nil {
            throw ModelLoadingError(file: "manifest of \(manifest.name) \(manifest.version)",
                                    "is a detector (it has a 'detector' section), not an image classifier; a classifier such as open_nsfw is needed here")
        }
        if manifest.outputs.isEmpty {
            throw ModelLoadingError(file: "manifest of \(manifest.name) \(manifest.version)", "names no score outputs, so it cannot classify images")
        }
        if Set(manifest.outputs.map(\.name)).count != manifest.outputs.count {
            throw ModelLoadingError(file: "manifest of \(manifest.name) \(manifest.version)", "names a score output twice; one would hide the other")
        }
        let identity = ModelIdentity(manifest)
        var flags = manifest.outputs.map { Flag($0.name) }
        for head in heads {
            let name = "head \(head.identity.name) \(head.identity.version) (\(head.manifestPath))"
            guard let length = model.embeddingLength else {
                throw ModelLoadingError(file: name, "cannot run on \(identity.name) \(identity.version): that model names no embedding")
            }
            guard head.backbone == identity else {
                throw ModelLoadingError(file: name, "was fitted on \(head.backbone.name) \(head.backbone.version) (weights \(head.backbone.weightsSHA256.prefix(12))…), not on the loaded \(identity.name) \(identity.version) (weights \(identity.weightsSHA256.prefix(12))…); fit it again on this model")
            }
            guard head.embeddingLength == length else {
                throw ModelLoadingError(file: name, "takes embeddings of \(head.embeddingLength) values; \(identity.name) gives \(length)")
            }
            guard !flags.contains(head.flag) else {
                throw ModelLoadingError(file: name, "scores '\(head.flag)', which another output or head already scores")
            }
            flags.append(head.flag)
        }
        self.model = model
        self.identity = identity
        self.flags = flags
        self.heads = heads
        self.batchSize = max(1, batchSize)
        self.preprocessor = try Preprocessor(manifest: model.manifest)
        var options = decodingOptions
        let size = preprocessor.decodeSize ?? preprocessor.inputSize
        options.minimumSize = PixelSize(width: Int((Double(size.width) * Self.decodeOversampling).rounded(.up)),
                                        height: Int((Double(size.height) * Self.decodeOversampling).rounded(.up)))
        self.decoder = ImageDecoder(options: options)
    }

    /// Scores one decoded image.
    public func scores(for image: RGBImage) throws -> [Flag: Double] {
        try scores(for: [image])[0]
    }

    /// Scores decoded images, ``batchSize`` to a forward pass. Results are in input order.
    public func scores(for images: [RGBImage]) throws -> [[Flag: Double]] {
        try run(images, keepingEmbeddings: false).map(\.scores)
    }

    /// Scores decoded images and returns their embeddings, ``batchSize`` to a forward pass.
    /// Results are in input order.
    public func outputs(for images: [RGBImage]) throws -> [ClassifierOutput] {
        try run(images, keepingEmbeddings: true)
    }

    private func run(_ images: [RGBImage], keepingEmbeddings: Bool) throws -> [ClassifierOutput] {
        var results: [ClassifierOutput] = []
        results.reserveCapacity(images.count)
        for start in stride(from: 0, to: images.count, by: batchSize) {
            results += try forward(Array(images[start..<min(images.count, start + batchSize)]), keepingEmbeddings: keepingEmbeddings)
        }
        return results
    }

    /// One forward pass. Copying each image's embedding out is left to callers who want it:
    /// `veil score` scores millions of images and needs only the scores (heads read the
    /// tensor in place).
    private func forward(_ images: [RGBImage], keepingEmbeddings: Bool) throws -> [ClassifierOutput] {
        let size = preprocessor.inputSize
        let preprocessor = self.preprocessor
        let input = Tensor(batchNCHW: images.parallelMap(threads: runtime.threads) { preprocessor.tensorValues(for: $0) },
                           channels: 3, height: size.height, width: size.width)
        let outputs = try model.run(input)
        let embedding = model.manifest.embedding.flatMap { outputs[$0.tensor] }
        // Heads read the embedding tensor as it is: (C, N, 1, 1) is their input layout.
        let headScores = try embedding.map { e in try runtime.enter { try heads.map { try $0.scores(embeddings: e) } } } ?? []
        return (0..<images.count).map { n in
            var result: [Flag: Double] = [:]
            for spec in model.manifest.outputs {
                // The graph compiler checked at load that every output tensor exists.
                guard let tensor = outputs[spec.tensor] else { continue }
                result[Flag(spec.name)] = Double(tensor.storage[(spec.channel * tensor.shape.batch + n) * tensor.shape.plane])
            }
            for (head, scores) in zip(heads, headScores) { result[head.flag] = scores[n] }
            let vector = keepingEmbeddings ? embedding.map { e in (0..<e.shape.channels).map { c in e.storage[c * e.shape.batch + n] } } : nil
            return ClassifierOutput(scores: result, embedding: vector)
        }
    }

    /// The model or head that scores `flag`, for a score's provenance.
    public func identity(scoring flag: Flag) -> ModelIdentity {
        heads.first { $0.flag == flag }?.identity ?? identity
    }

    /// Reads files for this model: JPEG, PNG and DICOM, decoded at the scale it needs.
    public var reader: ImageReader { ImageReader(options: decoder.options) }

    /// Decodes the file at `path` (JPEG, PNG or DICOM, sniffed from its bytes) and scores
    /// it. For a multi-frame DICOM object each score is the highest over its frames, so
    /// that one sensitive frame is enough; frames are decoded ``batchSize`` at a time, so a
    /// long object never sits in memory whole.
    ///
    /// - Throws: `ImageDecodingError` naming the file and the cause.
    public func scores(forFileAt path: String) throws -> [Flag: Double] {
        var best: [Flag: Double] = [:]
        for frame in try frames(atPath: path, keepingEmbeddings: false) { best.merge(frame.scores, uniquingKeysWith: max) }
        return best
    }

    /// Decodes the file at `path` and returns each picture's scores and embedding: one for
    /// a photograph, one per frame for a DICOM object, decoded ``batchSize`` at a time.
    ///
    /// - Throws: `ImageDecodingError` naming the file and the cause.
    public func outputs(forFileAt path: String) throws -> [ClassifierOutput] {
        try frames(atPath: path, keepingEmbeddings: true)
    }

    private func frames(atPath path: String, keepingEmbeddings: Bool) throws -> [ClassifierOutput] {
        let source = try reader.pictures(inFileAt: path)
        var results: [ClassifierOutput] = []
        for start in stride(from: 0, to: source.count, by: batchSize) {
            let images = try (start..<min(source.count, start + batchSize)).map { try source.picture(at: $0).image }
            results += try forward(images, keepingEmbeddings: keepingEmbeddings)
        }
        return results
    }
}
