#!/usr/bin/env python3
"""Writes a generated face-recall set: large photos with one face each, at known sizes.

Each frame is 1600x1200 (a phone photo decoded at reduced scale is about this size), one of
six scikit-image backgrounds stretched to fill it, with the astronaut's face (scikit-image's
`astronaut`, public domain) pasted at a known place. The face's width is 5% to 60% of the
frame's shorter side, in four variants (as is, mirrored, darker, grey). `truth.json` lists
each frame's face box; `veil-compare face-recall DIR` reads it. The set is synthetic, one
person's face: it measures how detection falls off with face size, not accuracy on a
population.

Usage: python3 Benchmarks/faces/make_recall_set.py OUT_DIR   (needs numpy, pillow, scikit-image)
"""
import json, os, sys
import numpy as np
from PIL import Image, ImageOps
from skimage import data

SIZES = [0.05, 0.075, 0.10, 0.15, 0.20, 0.30, 0.45, 0.60]
WIDTH, HEIGHT = 1600, 1200
# The astronaut's face in the 512x512 original (MediaPipe's full-range box, rounded), and a
# crop around it with half a face of margin on every side: the face is the crop's middle half.
FACE = (174, 68, 104)
CROP = (FACE[0] - FACE[2] // 2, FACE[1] - FACE[2] // 2, 2 * FACE[2])


def variants(crop):
    grey = ImageOps.grayscale(crop).convert("RGB")
    darker = Image.fromarray((np.asarray(crop).astype(np.float32) * 0.7).astype(np.uint8))
    return {"plain": crop, "mirrored": ImageOps.mirror(crop), "darker": darker, "grey": grey}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    astronaut = Image.fromarray(data.astronaut())
    x, y, side = CROP
    crop = astronaut.crop((x, y, x + side, y + side))
    backgrounds = {"coffee": data.coffee(), "rocket": data.rocket(), "brick": data.brick(),
                   "hubble": data.hubble_deep_field(), "grass": data.grass(), "gravel": data.gravel()}
    rng = np.random.default_rng(11)
    truth = []
    for size in SIZES:
        face = int(round(size * min(WIDTH, HEIGHT)))
        for (bname, background), (vname, variant) in zip(
                [(b, backgrounds[b]) for b in sorted(backgrounds)] * 4, [(v, im) for v, im in variants(crop).items() for _ in range(6)]):
            frame = Image.fromarray(background).convert("RGB").resize((WIDTH, HEIGHT), Image.BILINEAR)
            pasted = variant.resize((2 * face, 2 * face), Image.BILINEAR)
            fx = int(rng.integers(0, WIDTH - face + 1))
            fy = int(rng.integers(0, HEIGHT - face + 1))
            # The crop's margin may fall outside the frame; the face itself never does.
            frame.paste(pasted, (fx - face // 2, fy - face // 2))
            name = f"face{int(size * 1000):03d}-{bname}-{vname}.jpg"
            frame.save(os.path.join(out, name), quality=90)
            truth.append({"file": name, "size": size, "x": fx, "y": fy, "width": face, "height": face})
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"width": WIDTH, "height": HEIGHT, "faces": truth}, f, indent=1)
    print(f"wrote {len(truth)} frames to {out}")


if __name__ == "__main__":
    main()
