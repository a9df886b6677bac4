import VeilEngine

/// What MediaPipe's BlazeFace short-range TFLite file does not say about itself: licence,
/// preprocessing and the detector parameters. Every number is copied from the calculator
/// options MediaPipe 0.10.14 compiles into its wheel (face_detection.pbtxt and the
/// FaceDetectionShortRange subgraph); `Tools/reference/mediapipe_face_options.py` prints
/// them from the wheel.
package enum BlazeFacePreset {
    package static let description = ModelDescription(
        name: "blazeface_short_range", version: "mediapipe-0.10.14", license: "Apache-2.0",
        summary: "MediaPipe's BlazeFace short-range face detector: faces within about 2 m of the camera, 128x128 input, 896 anchors.",
        notes: "Upstream: github.com/google-ai-edge/mediapipe (Apache-2.0), as shipped in the PyPI wheel mediapipe==0.10.14 "
            + "(cp311 manylinux) at mediapipe/modules/face_detection/face_detection_short_range.tflite. Float16 weights are "
            + "widened to float32; NHWC/OHWI layouts transposed to Veil's OIHW; SAME padding made explicit. The trailing "
            + "RESHAPE and CONCATENATION ops become the detector's box and score heads.",
        origin: "PyPI wheel mediapipe==0.10.14 (cp311-manylinux_2_17_x86_64), mediapipe/modules/face_detection",
        preprocessing: [
            // ImageToTensorCalculator: keep_aspect_ratio, BORDER_ZERO, float range [-1, 1].
            .init(op: .letterbox, width: 128, height: 128, filter: .bilinear),
            .init(op: .channelOrder, order: .RGB),
            .init(op: .normalize, mean: [127.5, 127.5, 127.5], scale: [1 / 127.5, 1 / 127.5, 1 / 127.5]),
        ],
        detector: .init(
            valuesPerAnchor: 16, boxHeads: [], scoreHeads: [],
            anchors: .init(numLayers: 4, minScale: 0.1484375, maxScale: 0.75, inputWidth: 128, inputHeight: 128,
                           offsetX: 0.5, offsetY: 0.5, strides: [8, 16, 16, 16], aspectRatios: [1.0], fixedAnchorSize: true,
                           interpolatedScaleAspectRatio: 1.0),
            decoding: .init(boxCoordOffset: 0, keypointCoordOffset: 4, keypoints: 6, valuesPerKeypoint: 2,
                            xScale: 128, yScale: 128, wScale: 128, hScale: 128, reverseOutputOrder: true,
                            sigmoidScore: true, scoreClippingThreshold: 100, minScore: 0.5),
            suppression: .init(minSuppressionThreshold: 0.3, algorithm: .weighted)),
        converter: "veil model import-tflite --preset blazeface-short-range")
}
