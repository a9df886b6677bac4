#!/usr/bin/env python3
"""Prints the face-detection calculator options that ship inside the mediapipe wheel.

MediaPipe compiles its face detection graphs (face_detection.pbtxt and its short-range and
full-range subgraphs) into _framework_bindings.so as serialized CalculatorGraphConfig protos. This tool
finds the SsdAnchorsCalculator, TensorsToDetectionsCalculator, NonMaxSuppressionCalculator
and FaceDetectionShortRange (or FullRange) nodes in that binary, decodes their options with the
wheel's own protobuf classes, and prints them. Veil's BlazeFace presets (Sources/VeilImport/
BlazeFacePreset.swift) copy these values; run this to check them.

Usage (in a venv with the wheel installed: pip install mediapipe==0.10.14):
    python Tools/reference/mediapipe_face_options.py            # short range
    python Tools/reference/mediapipe_face_options.py full-range
"""
import glob, os, sys
import mediapipe
from google.protobuf import text_format
from mediapipe.framework import calculator_pb2
from mediapipe.calculators.tflite import ssd_anchors_calculator_pb2  # noqa: F401 (registers extensions)
from mediapipe.calculators.tensor import tensors_to_detections_calculator_pb2  # noqa: F401
from mediapipe.calculators.tensor import image_to_tensor_calculator_pb2  # noqa: F401
from mediapipe.calculators.util import non_max_suppression_calculator_pb2  # noqa: F401
from mediapipe.modules.face_detection import face_detection_pb2


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def node_fields(data, name_at, name):
    """Walks the protobuf fields of the Node whose `calculator` string starts at name_at."""
    at = name_at + len(name)
    fields = []
    while at < len(data):
        key, after = varint(data, at)
        number, wire = key >> 3, key & 7
        if wire != 2 or number == 0 or number > 20:
            break
        length, start = varint(data, after)
        fields.append((number, data[start:start + length]))
        at = start + length
    return fields


def main():
    root = os.path.dirname(mediapipe.__file__)
    so = glob.glob(os.path.join(root, "python", "_framework_bindings*.so"))[0]
    data = open(so, "rb").read()
    # The FaceDetection graph follows the mention of the model file. Values the subgraph
    # binds from its own options (num_layers, strides, scales, thresholds) appear in the
    # FaceDetectionOptions printed last.
    full = sys.argv[1:] == ["full-range"]
    model = "face_detection_full_range_sparse.tflite" if full else "face_detection_short_range.tflite"
    start = data.find(b"mediapipe/modules/face_detection/" + model.encode())
    for calculator in [b"ImageToTensorCalculator", b"SsdAnchorsCalculator", b"TensorsToDetectionsCalculator", b"NonMaxSuppressionCalculator"]:
        at = data.find(calculator, start)
        for number, payload in node_fields(data, at, calculator):
            if number == 7:  # Node.options: CalculatorOptions with the calculator's extension
                options = calculator_pb2.CalculatorOptions.FromString(payload)
                print(f"# {calculator.decode()}\n{text_format.MessageToString(options)}")
    # The subgraph's FaceDetectionOptions (model, tensor size, anchors, threshold).
    at = data.find(b"type.googleapis.com/mediapipe.FaceDetectionOptions", start - 400)
    blob_at = data.find(b"\x12", at + len(b"type.googleapis.com/mediapipe.FaceDetectionOptions"))
    length, value_at = varint(data, blob_at + 1)
    options = face_detection_pb2.FaceDetectionOptions.FromString(data[value_at:value_at + length])
    print(f"# FaceDetection{'FullRange' if full else 'ShortRange'}: FaceDetectionOptions\n{text_format.MessageToString(options)}")


if __name__ == "__main__":
    main()
