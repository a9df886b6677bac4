#!/usr/bin/env python3
"""ONNX Runtime's own per-node times on open_nsfw, to set beside `veil-compare layers`.

    python3 Benchmarks/peers/onnxruntime_layers.py THREADS BATCH [--runs 30]

Runs the network built from the same Caffe files as forward_vs_onnxruntime.py with ONNX
Runtime's profiler on, and prints the median time of a whole run, the sum of the nodes'
medians and of their minimums, then each node's median, slowest first. Veil's
`veil-compare layers THREADS BATCH by-layer` gives each layer's best of nine passes, so the
sum of minimums is the figure to compare with its total; the profiler itself adds to the
whole run's time, more so on several threads.
"""
import argparse, collections, json, os, statistics, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peer_env import ensure_packages  # noqa: E402
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def main():
    ensure_packages()
    import numpy as np, onnxruntime as ort
    from forward_vs_onnxruntime import caffe_dir
    sys.path.insert(0, os.path.join(ROOT, "Tools", "reference"))
    from open_nsfw_reference import build_onnx

    ap = argparse.ArgumentParser()
    ap.add_argument("threads", type=int)
    ap.add_argument("batch", type=int)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()

    d = caffe_dir()
    model, input_name = build_onnx(os.path.join(d, "deploy.prototxt"), os.path.join(d, "resnet_50_1by2_nsfw.caffemodel"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(tempfile.mkdtemp(prefix="veil-ort-profile-"), "profile")
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    # The same input as `veil-compare layers`.
    x = (np.arange(args.batch * 3 * 224 * 224, dtype=np.int64) * 7 % 255 - 127).astype(np.float32)
    x = x.reshape(args.batch, 3, 224, 224)
    for _ in range(5):
        session.run(["prob"], {input_name: x})
    runs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        session.run(["prob"], {input_name: x})
        runs.append(time.perf_counter() - start)
    events = json.load(open(session.end_profiling()))
    # The profile also holds the warm-up runs; minimums and medians are little moved by them.
    nodes = collections.defaultdict(list)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            nodes[event["name"][: -len("_kernel_time")]].append(event["dur"] / 1000)
    medians = {name: statistics.median(times) for name, times in nodes.items()}
    print(f"ONNX Runtime {ort.__version__}, open_nsfw at batch {args.batch} on {args.threads} threads, "
          f"{args.runs} profiled runs")
    print(f"median run {statistics.median(runs) * 1000:.1f} ms; nodes' medians sum to {sum(medians.values()):.1f} ms, "
          f"their minimums to {sum(min(t) for t in nodes.values()):.1f} ms")
    for name, ms in sorted(medians.items(), key=lambda item: -item[1]):
        print(f"{ms:8.3f} ms  {name}")


if __name__ == "__main__":
    main()
