#!/usr/bin/env python3
"""Writes BlazeFace goldens under Tests/VeilTests/Fixtures/faces from MediaPipe itself.

Run by hand, in a venv with the reference packages (they are never used by Veil):
    python3 -m venv /tmp/mpvenv
    /tmp/mpvenv/bin/pip install mediapipe==0.10.14 ai-edge-litert scikit-image pillow
    /tmp/mpvenv/bin/python Tools/reference/blazeface_reference.py

Two kinds of reference:
- raw.json + *.f32: input tensors and the TFLite interpreter's `regressors` and
  `classificators` for them, from the .tflite file in the same wheel: the network alone.
- detections.json: what MediaPipe's own face detection (mp.solutions.face_detection,
  model_selection=0, i.e. short range, min_detection_confidence 0.5) finds in each fixture
  image, boxes and keypoints in image pixels. Fixture images are 128x128, the model's input
  size, so that both sides feed the network identical pixels and the comparison measures
  the network and MediaPipe's post-processing, not two resamplers; larger images are listed
  under `resampled` and compared more loosely.
- full_range/: the same for the full-range model (face_detection_full_range_sparse.tflite,
  model_selection=1, min_detection_confidence 0.6 as MediaPipe's full-range graph sets it),
  on 192x192 crops, the letterboxed images above, and an 800x600 frame holding the
  astronaut's face crop at 200 and 100 pixels (25% and 12.5% of its width).
- lfw.json: for scikit-image's lfw_subset (100 faces, then 100 non-faces, 25x25 grey), each
  crop enlarged 5x by pixel repetition and centred on a black 128x128 frame (Veil builds the
  same frame from the same bytes), MediaPipe's detections: recall and false positives.
"""
import json, os
import numpy as np
import mediapipe as mp
from PIL import Image
from skimage import data
from ai_edge_litert.interpreter import Interpreter

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "VeilTests", "Fixtures", "faces")
MODELS = os.path.join(os.path.dirname(mp.__file__), "modules", "face_detection")
MODEL = os.path.join(MODELS, "face_detection_short_range.tflite")
FULL_RANGE_MODEL = os.path.join(MODELS, "face_detection_full_range_sparse.tflite")


def mediapipe_faces(rgb, full_range=False):
    options = dict(model_selection=1, min_detection_confidence=0.6) if full_range else dict(model_selection=0, min_detection_confidence=0.5)
    with mp.solutions.face_detection.FaceDetection(**options) as detector:
        result = detector.process(rgb)
    h, w = rgb.shape[:2]
    faces = []
    for d in result.detections or []:
        box = d.location_data.relative_bounding_box
        faces.append({
            "x": box.xmin * w, "y": box.ymin * h, "width": box.width * w, "height": box.height * h,
            "score": d.score[0],
            "keypoints": [[k.x * w, k.y * h] for k in d.location_data.relative_keypoints],
        })
    return faces


def lfw_frame(crop):
    """A 25x25 [0,1] grey crop, to 8 bits, 5x by repetition, centred on black 128x128, RGB."""
    grey = np.round(crop * 255).astype(np.uint8)
    big = np.repeat(np.repeat(grey, 5, axis=0), 5, axis=1)
    frame = np.zeros((128, 128), np.uint8)
    frame[1:126, 1:126] = big
    return np.repeat(frame[..., None], 3, axis=-1)


def raw_heads(model, tensors, out):
    """The network alone: each (H, W, 3) tensor in, both heads out, written as float32 files."""
    interpreter = Interpreter(model_path=model)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    outputs = interpreter.get_output_details()
    # Boxes are [1, anchors, 16], scores [1, anchors, 1], whatever the graph calls them.
    heads = {"regressors": next(d for d in outputs if d["shape"][-1] == 16),
             "classificators": next(d for d in outputs if d["shape"][-1] == 1)}
    raw = {}
    for name, nhwc in tensors.items():
        interpreter.set_tensor(inp["index"], nhwc[None])
        interpreter.invoke()
        np.ascontiguousarray(nhwc.transpose(2, 0, 1)).astype("<f4").tofile(os.path.join(out, f"{name}.input.f32"))
        for key, detail in heads.items():
            interpreter.get_tensor(detail["index"])[0].astype("<f4").tofile(os.path.join(out, f"{name}.{key}.f32"))
        raw[name] = {"input": f"{name}.input.f32", "regressors": f"{name}.regressors.f32",
                     "classificators": f"{name}.classificators.f32"}
    return raw


def full_range(astronaut, resampled):
    out = os.path.join(OUT, "full_range")
    os.makedirs(out, exist_ok=True)
    images = {
        "astronaut-face-192": np.asarray(Image.fromarray(astronaut[20:260, 120:360]).resize((192, 192), Image.BILINEAR)),
        "astronaut-head-192": np.asarray(Image.fromarray(astronaut[0:360, 60:420]).resize((192, 192), Image.BILINEAR)),
        "coffee-192": np.asarray(Image.fromarray(data.coffee()).resize((192, 192), Image.BILINEAR)),
    }
    # Two faces far from the camera: a smooth background, the face crop at 128 and 64 px.
    y, x = np.mgrid[0:600, 0:800]
    frame = np.stack([60 + x // 8, 70 + y // 8, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    face = Image.fromarray(astronaut[20:260, 120:360])
    frame[100:300, 500:700] = np.asarray(face.resize((200, 200), Image.BILINEAR))
    frame[380:480, 150:250] = np.asarray(face.resize((100, 100), Image.BILINEAR))
    images["distant-faces-800"] = frame
    detections = {}
    for name, rgb in images.items():
        Image.fromarray(rgb).save(os.path.join(out, name + ".png"))
        detections[name] = {"faces": mediapipe_faces(rgb, full_range=True), "resampled": not name.endswith("-192"), "file": f"full_range/{name}"}
    for name, rgb in resampled.items():
        detections[name] = {"faces": mediapipe_faces(rgb, full_range=True), "resampled": True, "file": name}
    rng = np.random.default_rng(7)
    raw = raw_heads(FULL_RANGE_MODEL, {
        "astronaut-face": images["astronaut-face-192"].astype(np.float32) / 127.5 - 1,
        "uniform-noise": rng.uniform(-1, 1, (192, 192, 3)).astype(np.float32),
    }, out)
    with open(os.path.join(out, "detections.json"), "w") as f:
        json.dump({"mediapipe": mp.__version__, "images": detections, "raw": raw}, f, indent=1, sort_keys=True)
        f.write("\n")
    print("full range", json.dumps({k: len(v["faces"]) for k, v in detections.items()}))


def main():
    os.makedirs(OUT, exist_ok=True)
    astronaut = data.astronaut()
    images = {
        # 128x128: crops around the astronaut's face at three sizes, and two without faces.
        "astronaut-face-128": np.asarray(Image.fromarray(astronaut[20:260, 120:360]).resize((128, 128), Image.BILINEAR)),
        "astronaut-head-128": np.asarray(Image.fromarray(astronaut[0:360, 60:420]).resize((128, 128), Image.BILINEAR)),
        "astronaut-tight-128": np.asarray(Image.fromarray(astronaut[60:220, 160:320]).resize((128, 128), Image.BILINEAR)),
        "coffee-128": np.asarray(Image.fromarray(data.coffee()).resize((128, 128), Image.BILINEAR)),
        "rocket-128": np.asarray(Image.fromarray(data.rocket()).resize((128, 128), Image.BILINEAR)),
    }
    resampled = {
        "astronaut-512": astronaut,
        "astronaut-wide": np.concatenate([astronaut[:300], np.full((300, 200, 3), 90, np.uint8)], axis=1)[:, :],
    }
    detections = {}
    for name, rgb in list(images.items()) + list(resampled.items()):
        Image.fromarray(rgb).save(os.path.join(OUT, name + ".png"))
        detections[name] = {"faces": mediapipe_faces(rgb), "resampled": name in resampled}

    # The network alone, on identical input tensors.
    rng = np.random.default_rng(7)
    raw = raw_heads(MODEL, {
        "astronaut-face": images["astronaut-face-128"].astype(np.float32) / 127.5 - 1,
        "uniform-noise": rng.uniform(-1, 1, (128, 128, 3)).astype(np.float32),
    }, OUT)

    # lfw_subset: faces first, then non-faces.
    lfw = data.lfw_subset()
    np.round(lfw * 255).astype(np.uint8).tofile(os.path.join(OUT, "lfw_subset.u8"))
    found = [len(mediapipe_faces(lfw_frame(crop))) for crop in lfw]
    scores = [max([f["score"] for f in mediapipe_faces(lfw_frame(crop))], default=0.0) for crop in lfw]
    lfw_result = {"faces_found": found, "best_scores": scores,
                  "recall": sum(1 for n in found[:100] if n > 0) / 100,
                  "false_positive_images": sum(1 for n in found[100:] if n > 0)}

    with open(os.path.join(OUT, "detections.json"), "w") as f:
        json.dump({"mediapipe": mp.__version__, "images": detections, "raw": raw, "lfw_subset": lfw_result}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps({k: len(v["faces"]) for k, v in detections.items()}), "lfw recall", lfw_result["recall"],
          "false-positive images", lfw_result["false_positive_images"])
    full_range(astronaut, resampled)


if __name__ == "__main__":
    main()
