import VeilEngine

/// What MediaPipe's BlazeFace TFLite files do not say about themselves: licence,
/// preprocessing and the detector parameters. Every number is copied from the calculator
/// options MediaPipe 0.10.14 compiles into its wheel (face_detection.pbtxt and the
/// FaceDetectionShortRange and FaceDetectionFullRange subgraphs);
/// `Tools/reference/mediapipe_face_options.py [full-range]` prints them from the wheel.
package enum BlazeFacePreset {
    private static let origin = "PyPI wheel mediapipe==0.10.14 (cp311-manylinux_2_17_x86_64), mediapipe/modules/face_detection"

    /// ImageToTensorCalculator: keep_aspect_ratio, BORDER_ZERO, float range [-1, 1].
    private static func preprocessing(side: Int) -> [ModelManifest.PreprocessingStep] {
        [.init(op: .letterbox, width: side, height: side, filter: .bilinear),
         .init(op: .channelOrder, order: .RGB),
         .init(op: .normalize, mean: [127.5, 127.5, 127.5], scale: [1 / 127.5, 1 / 127.5, 1 / 127.5])]
    }

    /// TensorsToDetectionsCalculator, the same for both models but for the input size and threshold.
    private static func decoding(side: Int, minScore: Double) -> ModelManifest.DetectorSpec.Decoding {
        let s = Double(side)
        return .init(boxCoordOffset: 0, keypointCoordOffset: 4, keypoints: 6, valuesPerKeypoint: 2,
                     xScale: s, yScale: s, wScale: s, hScale: s, reverseOutputOrder: true,
                     sigmoidScore: true, scoreClippingThreshold: 100, minScore: minScore)
    }

    /// The short-range model: faces within about 2 m, 128×128 input, 896 anchors in four layers.
    package static let shortRange = ModelDescription(
        name: "blazeface_short_range", version: "mediapipe-0.10.14", license: "Apache-2.0",
        summary: "MediaPipe's BlazeFace short-range face detector: faces within about 2 m of the camera, 128x128 input, 896 anchors.",
        notes: "Upstream: github.com/google-ai-edge/mediapipe (Apache-2.0), as shipped in the PyPI wheel mediapipe==0.10.14 "
            + "(cp311 manylinux) at mediapipe/modules/face_detection/face_detection_short_range.tflite. Float16 weights are "
            + "widened to float32; NHWC/OHWI layouts transposed to Veil's OIHW; SAME padding made explicit. The trailing "
            + "RESHAPE and CONCATENATION ops become the detector's box and score heads.",
        origin: origin, preprocessing: preprocessing(side: 128),
        detector: .init(
            valuesPerAnchor: 16, boxHeads: [], scoreHeads: [],
            anchors: .init(numLayers: 4, minScale: 0.1484375, maxScale: 0.75, inputWidth: 128, inputHeight: 128,
                           offsetX: 0.5, offsetY: 0.5, strides: [8, 16, 16, 16], aspectRatios: [1.0], fixedAnchorSize: true,
                           interpolatedScaleAspectRatio: 1.0),
            decoding: decoding(side: 128, minScore: 0.5),
            suppression: .init(minSuppressionThreshold: 0.3, algorithm: .weighted)),
        converter: "veil model import-tflite --preset blazeface-short-range")

    /// The full-range model: faces up to about 5 m, 192×192 input, one 48×48 anchor layer.
    package static let fullRange = ModelDescription(
        name: "blazeface_full_range", version: "mediapipe-0.10.14", license: "Apache-2.0",
        summary: "MediaPipe's BlazeFace full-range face detector: faces up to about 5 m from the camera, 192x192 input, 2304 anchors.",
        notes: "Upstream: github.com/google-ai-edge/mediapipe (Apache-2.0), as shipped in the PyPI wheel mediapipe==0.10.14 "
            + "(cp311 manylinux) at mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite. Sparse "
            + "float16 weights (TFLite sparsity metadata, DENSIFY) are expanded and widened to float32; NHWC/OHWI layouts "
            + "transposed to Veil's OIHW; SAME padding and zero-padding PADs made explicit convolution padding. The "
            + "trailing DEPTH_TO_SPACE ops stay in the graph; the RESHAPEs after them become the box and score heads.",
        origin: origin, preprocessing: preprocessing(side: 192),
        detector: .init(
            valuesPerAnchor: 16, boxHeads: [], scoreHeads: [],
            anchors: .init(numLayers: 1, minScale: 0.1484375, maxScale: 0.75, inputWidth: 192, inputHeight: 192,
                           offsetX: 0.5, offsetY: 0.5, strides: [4], aspectRatios: [1.0], fixedAnchorSize: true,
                           interpolatedScaleAspectRatio: 0),
            decoding: decoding(side: 192, minScore: 0.6),
            suppression: .init(minSuppressionThreshold: 0.3, algorithm: .weighted)),
        converter: "veil model import-tflite --preset blazeface-full-range")
}
