import Foundation
import VeilModels

/// Scores images with a model: the vendor-facing entry point.
///
/// ```swift
/// let classifier = try Classifier.loadDefault()   // once, at start-up
/// let scores = try classifier.scores(forFileAt: "/archive/wound-0042.jpg")
/// if scores["nudity", default: 0] >= 0.4 { /* queue for human review */ }
/// ```
///
/// A `Classifier` is immutable and `Sendable`: load it once and share it between threads.
/// Each call allocates its own working memory. Scores are suggestions for human review,
/// never labels.
public final class Classifier: Sendable {
    /// The loaded network.
    public let model: Model
    /// The preprocessing chain from the model's manifest.
    public let preprocessor: Preprocessor
    /// How files are decoded for this model: scaled JPEG decoding down to
    /// ``decodeOversampling`` times the size the first preprocessing resize produces.
    public let decoder: ImageDecoder

    /// How much larger than the model's resize target a scaled JPEG decode must stay.
    ///
    /// DCT scaling averages like a box filter; a real resize after it restores the
    /// reference's bilinear (triangle) filtering. Measured on the bundled samples against
    /// the reference pipeline (full decode, Pillow resize), the largest `nudity` difference
    /// was 2.3e-2 at 1.0, 4.4e-3 at 1.25, 4.0e-3 at 1.4, 1.3e-3 at 2.0 and 5.5e-4 with
    /// no scaling. At 1.4 a 12-megapixel 4:3 photo still decodes at 1/8 scale (504×378).
    public static let decodeOversampling = 1.4

    /// Wraps a loaded model. A detector (a manifest with a `detector` section, such as the
    /// face detector) is refused: its outputs are boxes, not image scores, and reading them as
    /// scores would give meaningless flags.
    public init(model: Model, decodingOptions: DecodingOptions = DecodingOptions()) throws {
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
        self.model = model
        self.preprocessor = try Preprocessor(manifest: model.manifest)
        var options = decodingOptions
        let size = preprocessor.decodeSize ?? preprocessor.inputSize
        options.minimumSize = PixelSize(width: Int((Double(size.width) * Self.decodeOversampling).rounded(.up)),
                                        height: Int((Double(size.height) * Self.decodeOversampling).rounded(.up)))
        self.decoder = ImageDecoder(options: options)
    }

    /// Loads the model whose manifest is at `path`.
    public convenience init(manifestAt path: String, decodingOptions: DecodingOptions = DecodingOptions()) throws {
        try self.init(model: try Model.load(manifestAt: path), decodingOptions: decodingOptions)
    }

    /// Loads the embedded default model: Yahoo's open_nsfw, which scores `nudity`.
    public static func loadDefault(decodingOptions: DecodingOptions = DecodingOptions()) throws -> Classifier {
        try Classifier(manifestAt: defaultModelManifestPath, decodingOptions: decodingOptions)
    }

    /// Where the embedded default model's manifest is installed.
    public static var defaultModelManifestPath: String { BundledModels.openNSFWManifestPath }

    /// The names of the scores this model produces, e.g. `["nudity"]`.
    public var scoreNames: [String] { model.manifest.outputs.map(\.name) }

    /// Scores one decoded image.
    public func scores(for image: RGBImage) throws -> [String: Float] {
        try scores(for: [image])[0]
    }

    /// Scores a batch of decoded images in one forward pass; larger batches make larger,
    /// faster matrix products. Results are in input order.
    public func scores(for images: [RGBImage]) throws -> [[String: Float]] {
        guard !images.isEmpty else { return [] }
        let size = preprocessor.inputSize
        let preprocessor = self.preprocessor
        let input = Tensor(batchNCHW: images.parallelMap { preprocessor.tensorValues(for: $0) },
                           channels: 3, height: size.height, width: size.width)
        let outputs = try model.run(input)
        return (0..<images.count).map { n in
            var result: [String: Float] = [:]
            for spec in model.manifest.outputs {
                let tensor = outputs[spec.tensor]!
                result[spec.name] = tensor.storage[(spec.channel * tensor.shape.batch + n) * tensor.shape.plane]
            }
            return result
        }
    }

    /// Reads files for this model: JPEG, PNG and DICOM, decoded at the scale ``decoder`` uses.
    public var reader: ImageReader { ImageReader(options: decoder.options) }

    /// Decodes the file at `path` (JPEG, PNG or DICOM, sniffed from its bytes) and scores
    /// it. For a multi-frame DICOM object each score is the highest over its frames, so
    /// that one sensitive frame is enough.
    public func scores(forFileAt path: String) throws -> [String: Float] {
        let frames = try scores(for: reader.read(contentsOf: path).map(\.image))
        return frames.dropFirst().reduce(frames[0]) { best, next in best.merging(next, uniquingKeysWith: max) }
    }
}
