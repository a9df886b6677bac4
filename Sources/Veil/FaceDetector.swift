import Foundation
import VeilDICOM
import VeilEngine
import VeilImage
import VeilModels
import VeilPolicy
import VeilTensor

/// A face found in an image, in that image's pixels (origin top left).
public struct FaceDetection: Sendable, Hashable, Encodable {
    /// The box's left edge.
    public var x: Double
    /// The top edge.
    public var y: Double
    /// The box's width.
    public var width: Double
    /// The box's height.
    public var height: Double
    /// The detector's confidence, 0 to 1.
    public var score: Double
    /// BlazeFace's six keypoints, `[x, y]` each: right eye, left eye, nose tip, mouth
    /// centre, right ear tragion, left ear tragion (the subject's right and left).
    public var keypoints: [[Double]]

    /// Creates a detection, for example to render a preview of faces found elsewhere.
    public init(x: Double, y: Double, width: Double, height: Double, score: Double, keypoints: [[Double]] = []) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.score = score
        self.keypoints = keypoints
    }

    /// Intersection over union with `other`.
    public func iou(_ other: FaceDetection) -> Double {
        let w = min(x + width, other.x + other.width) - max(x, other.x)
        let h = min(y + height, other.y + other.height) - max(y, other.y)
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        let union = width * height + other.width * other.height - inter
        return union > 0 ? inter / union : 0
    }
}

/// Finds faces with a single-shot detector such as MediaPipe's BlazeFace, reproducing
/// MediaPipe's post-processing: SSD anchors, box and keypoint decoding, sigmoid scores and
/// weighted non-maximum suppression, with the parameters in the model's manifest.
///
/// ``detect(in:)`` is MediaPipe's own pipeline (the whole image letterboxed into the model's
/// input). The default, BlazeFace full range (192×192), finds faces down to about a fifth of
/// the image's shorter side in that one pass, most down to a tenth. For smaller faces,
/// ``faces(in:levels:)`` also runs the model over a pyramid of overlapping square tiles and
/// merges the results.
///
/// Immutable and `Sendable`; load once and share.
public final class FaceDetector: Sendable {
    /// The network.
    package let model: Model
    let spec: ModelManifest.DetectorSpec
    /// The preprocessing chain from the model's manifest.
    package let preprocessor: Preprocessor
    /// The detector's name, version and weights hash, as recorded with its scores.
    public var identity: ModelIdentity { ModelIdentity(model.manifest) }
    let anchors: [Anchor]

    struct Anchor: Sendable {
        var x: Double, y: Double, w: Double, h: Double
    }

    /// Loads the detector whose manifest is at `path` (it needs a `detector` section).
    ///
    /// - Throws: ``ModelLoadingError`` naming the file and the cause.
    public convenience init(manifestAt path: String, runtime: Runtime = .automatic) throws {
        try self.init(model: try Model.load(manifestAt: path, runtime: runtime))
    }

    /// Wraps a loaded detector model; its manifest needs a `detector` section.
    package init(model: Model) throws {
        guard let spec = model.manifest.detector else {
            throw ModelLoadingError(file: "manifest of \(model.manifest.name)", "is not a face detector: it has no 'detector' section (it looks like an image classifier)")
        }
        self.model = model
        self.spec = spec
        self.preprocessor = try Preprocessor(manifest: model.manifest)
        self.anchors = Self.anchors(spec.anchors)
        let expected = zip(spec.boxHeads, spec.anchors.strides.uniqued()).reduce(0) { total, pair in
            let (head, stride) = pair
            return total + head.anchorsPerCell * Int((Double(spec.anchors.inputHeight) / Double(stride)).rounded(.up))
                * Int((Double(spec.anchors.inputWidth) / Double(stride)).rounded(.up))
        }
        guard expected == anchors.count else {
            throw ModelLoadingError(file: "manifest of \(model.manifest.name)",
                                    "the heads give \(expected) anchors, the anchor options \(anchors.count)")
        }
    }

    /// Loads the bundled BlazeFace full-range detector, Veil's default.
    public static func loadDefault(runtime: Runtime = .automatic) throws -> FaceDetector {
        try FaceDetector(manifestAt: BundledModels.blazeFaceManifestPath, runtime: runtime)
    }

    /// Loads the bundled BlazeFace short-range detector (128×128 input, made for faces close
    /// to the camera): cheaper per pass than the full-range model, for tiles or selfies.
    public static func loadShortRange(runtime: Runtime = .automatic) throws -> FaceDetector {
        try FaceDetector(manifestAt: BundledModels.blazeFaceShortRangeManifestPath, runtime: runtime)
    }

    /// Faces in `image`, as MediaPipe's face detection finds them: the whole image fitted
    /// into the model's input.
    public func detect(in image: RGBImage) throws -> [FaceDetection] {
        try detect(inEach: [image])[0]
    }

    /// ``detect(in:)`` for several images in one forward pass.
    public func detect(inEach images: [RGBImage]) throws -> [[FaceDetection]] {
        guard !images.isEmpty else { return [] }
        let size = preprocessor.inputSize
        let framed = images.parallelMap(threads: model.runtime.threads) { $0.letterboxed(to: size) }
        let raw = try run(framed.map(\.image))
        return zip(raw, framed).map { detections, frame in
            suppress(detections).map { project($0, frame.letterbox) }
        }
    }

    /// Faces anywhere in `image`: the whole image, then square tiles of 1/2 (and, with
    /// `levels` 3, 1/4) of its shorter side overlapping by half, each fitted to the model's
    /// input; detections from all are merged by weighted non-maximum suppression.
    public func faces(in image: RGBImage, levels: Int = 2) throws -> [FaceDetection] {
        try faces(inEach: [image], levels: levels)[0]
    }

    /// ``faces(in:levels:)`` for several images, their passes batched together.
    public func faces(inEach images: [RGBImage], levels: Int = 2) throws -> [[FaceDetection]] {
        var crops: [(image: RGBImage, owner: Int, x: Int, y: Int)] = []
        for (owner, image) in images.enumerated() {
            crops.append((image, owner, 0, 0))
            let short = min(image.width, image.height)
            for level in 1..<max(1, levels) {
                let side = short >> level
                guard side >= preprocessor.inputSize.width / 2 else { break }
                for y in Self.starts(length: image.height, side: side) {
                    for x in Self.starts(length: image.width, side: side) {
                        crops.append((image.region(x: x, y: y, size: PixelSize(width: side, height: side)), owner, x, y))
                    }
                }
            }
        }
        var all = Array(repeating: [FaceDetection](), count: images.count)
        for start in stride(from: 0, to: crops.count, by: Self.passBatch) {
            let chunk = crops[start..<min(start + Self.passBatch, crops.count)]
            let found = try detect(inEach: chunk.map(\.image))
            for (faces, crop) in zip(found, chunk) {
                all[crop.owner] += faces.map { face in
                    var f = face
                    f.x += Double(crop.x)
                    f.y += Double(crop.y)
                    f.keypoints = f.keypoints.map { [$0[0] + Double(crop.x), $0[1] + Double(crop.y)] }
                    return f
                }
            }
        }
        return all.map { Self.weightedSuppression($0, threshold: spec.suppression.minSuppressionThreshold) }
    }

    /// Images per forward pass. Small: the detector's layers are depthwise and 1×1, whose
    /// speed hardly depends on the batch, while its activations (a 96×96×32 map per image)
    /// and the pool of storage kept between runs grow with it, on top of the classifier's.
    static let passBatch = 4

    /// Tile origins covering `length` with tiles of `side`, overlapping by half, the last flush with the end.
    static func starts(length: Int, side: Int) -> [Int] {
        guard length > side else { return [0] }
        var result = Array(stride(from: 0, to: length - side, by: max(1, side / 2)))
        if result.last != length - side { result.append(length - side) }
        return result
    }

    // MARK: - MediaPipe's post-processing

    /// SsdAnchorsCalculator, for the options Veil supports (no lowest-layer reduction).
    static func anchors(_ o: ModelManifest.DetectorSpec.Anchors) -> [Anchor] {
        func scale(_ index: Int) -> Double {
            o.numLayers == 1 ? (o.minScale + o.maxScale) / 2 : o.minScale + (o.maxScale - o.minScale) * Double(index) / Double(o.numLayers - 1)
        }
        var anchors: [Anchor] = []
        var layer = 0
        while layer < o.numLayers {
            var heights: [Double] = [], widths: [Double] = []
            var last = layer
            while last < o.strides.count && o.strides[last] == o.strides[layer] {
                let s = scale(last)
                for ratio in o.aspectRatios {
                    heights.append(s / ratio.squareRoot())
                    widths.append(s * ratio.squareRoot())
                }
                if o.interpolatedScaleAspectRatio > 0 {
                    let next = last == o.strides.count - 1 ? 1.0 : scale(last + 1)
                    let interpolated = (s * next).squareRoot()
                    heights.append(interpolated / o.interpolatedScaleAspectRatio.squareRoot())
                    widths.append(interpolated * o.interpolatedScaleAspectRatio.squareRoot())
                }
                last += 1
            }
            let stride = Double(o.strides[layer])
            let rows = Int((Double(o.inputHeight) / stride).rounded(.up)), columns = Int((Double(o.inputWidth) / stride).rounded(.up))
            for y in 0..<rows {
                for x in 0..<columns {
                    for i in 0..<heights.count {
                        anchors.append(Anchor(x: (Double(x) + o.offsetX) / Double(columns), y: (Double(y) + o.offsetY) / Double(rows),
                                              w: o.fixedAnchorSize ? 1 : widths[i], h: o.fixedAnchorSize ? 1 : heights[i]))
                    }
                }
            }
            layer = last
        }
        return anchors
    }

    /// Runs the network and decodes every anchor scoring at least the minimum, in
    /// model-input coordinates normalised to [0, 1].
    func run(_ inputs: [RGBImage]) throws -> [[FaceDetection]] {
        let size = preprocessor.inputSize
        let preprocessor = self.preprocessor
        let input = Tensor(batchNCHW: inputs.parallelMap(threads: model.runtime.threads) { preprocessor.tensorValues(prepared: $0) },
                           channels: 3, height: size.height, width: size.width)
        let outputs = try model.run(input)
        let d = spec.decoding
        return (0..<inputs.count).map { n in
            var found: [FaceDetection] = []
            var anchorIndex = 0
            for (boxHead, scoreHead) in zip(spec.boxHeads, spec.scoreHeads) {
                let boxes = outputs[boxHead.tensor]!, scores = outputs[scoreHead.tensor]!
                let plane = boxes.shape.plane, batch = boxes.shape.batch
                for cell in 0..<plane {
                    for a in 0..<boxHead.anchorsPerCell {
                        defer { anchorIndex += 1 }
                        var logit = Double(scores.storage[(a * batch + n) * plane + cell])
                        logit = min(max(logit, -d.scoreClippingThreshold), d.scoreClippingThreshold)
                        let score = d.sigmoidScore ? 1 / (1 + exp(-logit)) : logit
                        guard score >= d.minScore else { continue }
                        func value(_ j: Int) -> Double {
                            Double(boxes.storage[((a * spec.valuesPerAnchor + j) * batch + n) * plane + cell])
                        }
                        let anchor = anchors[anchorIndex]
                        let o = d.boxCoordOffset
                        let (cx0, cy0, w0, h0) = d.reverseOutputOrder ? (value(o), value(o + 1), value(o + 2), value(o + 3))
                                                                      : (value(o + 1), value(o), value(o + 3), value(o + 2))
                        let cx = cx0 / d.xScale * anchor.w + anchor.x, cy = cy0 / d.yScale * anchor.h + anchor.y
                        let w = w0 / d.wScale * anchor.w, h = h0 / d.hScale * anchor.h
                        let keypoints = (0..<d.keypoints).map { k -> [Double] in
                            let base = d.keypointCoordOffset + k * d.valuesPerKeypoint
                            let (kx, ky) = d.reverseOutputOrder ? (value(base), value(base + 1)) : (value(base + 1), value(base))
                            return [kx / d.xScale * anchor.w + anchor.x, ky / d.yScale * anchor.h + anchor.y]
                        }
                        found.append(FaceDetection(x: cx - w / 2, y: cy - h / 2, width: w, height: h, score: score, keypoints: keypoints))
                    }
                }
            }
            return found
        }
    }

    /// The heads for one `(C, H, W)` input, in MediaPipe's anchor order: per anchor its
    /// `valuesPerAnchor` raw box values and its score logit. For parity tests.
    func rawAnchors(_ values: [Float]) throws -> (boxes: [[Float]], logits: [Float]) {
        let size = preprocessor.inputSize
        let outputs = try model.run(Tensor(batchNCHW: [values], channels: 3, height: size.height, width: size.width))
        var boxes: [[Float]] = [], logits: [Float] = []
        for (boxHead, scoreHead) in zip(spec.boxHeads, spec.scoreHeads) {
            let b = outputs[boxHead.tensor]!, s = outputs[scoreHead.tensor]!
            for cell in 0..<b.shape.plane {
                for a in 0..<boxHead.anchorsPerCell {
                    boxes.append((0..<spec.valuesPerAnchor).map { b.storage[(a * spec.valuesPerAnchor + $0) * b.shape.plane + cell] })
                    logits.append(s.storage[a * s.shape.plane + cell])
                }
            }
        }
        return (boxes, logits)
    }

    func suppress(_ detections: [FaceDetection]) -> [FaceDetection] {
        spec.suppression.algorithm == .weighted
            ? Self.weightedSuppression(detections, threshold: spec.suppression.minSuppressionThreshold)
            : Self.plainSuppression(detections, threshold: spec.suppression.minSuppressionThreshold)
    }

    /// MediaPipe's weighted NMS: take the best remaining detection, average it with every
    /// detection overlapping it by more than `threshold` IoU (weights: their scores), keep
    /// the best one's score; repeat on the rest.
    static func weightedSuppression(_ detections: [FaceDetection], threshold: Double) -> [FaceDetection] {
        var remaining = detections.enumerated().sorted { $0.element.score > $1.element.score || ($0.element.score == $1.element.score && $0.offset < $1.offset) }.map(\.element)
        var kept: [FaceDetection] = []
        while let best = remaining.first {
            var cluster: [FaceDetection] = [], rest: [FaceDetection] = []
            for d in remaining { if best.iou(d) > threshold || d == best { cluster.append(d) } else { rest.append(d) } }
            let total = cluster.reduce(0) { $0 + $1.score }
            var merged = best
            if cluster.count > 1, total > 0 {
                func mean(_ f: (FaceDetection) -> Double) -> Double { cluster.reduce(0) { $0 + f($1) * $1.score } / total }
                let xmin = mean(\.x), ymin = mean(\.y)
                merged.x = xmin
                merged.y = ymin
                merged.width = mean { $0.x + $0.width } - xmin
                merged.height = mean { $0.y + $0.height } - ymin
                merged.keypoints = best.keypoints.indices.map { k in [mean { $0.keypoints[k][0] }, mean { $0.keypoints[k][1] }] }
            }
            kept.append(merged)
            remaining = rest
        }
        return kept
    }

    static func plainSuppression(_ detections: [FaceDetection], threshold: Double) -> [FaceDetection] {
        var kept: [FaceDetection] = []
        for d in detections.sorted(by: { $0.score > $1.score }) where !kept.contains(where: { $0.iou(d) > threshold }) {
            kept.append(d)
        }
        return kept
    }

    /// From normalised model-input coordinates to the original image's pixels.
    func project(_ d: FaceDetection, _ box: Letterbox) -> FaceDetection {
        let size = preprocessor.inputSize
        func px(_ u: Double) -> Double { (u * Double(size.width) - box.offsetX) / box.scaleX }
        func py(_ v: Double) -> Double { (v * Double(size.height) - box.offsetY) / box.scaleY }
        return FaceDetection(x: px(d.x), y: py(d.y), width: d.width * Double(size.width) / box.scaleX,
                             height: d.height * Double(size.height) / box.scaleY, score: d.score,
                             keypoints: d.keypoints.map { [px($0[0]), py($0[1])] })
    }
}

private extension Array where Element: Hashable {
    /// The elements in order, repeats removed: the distinct strides, one per head.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
