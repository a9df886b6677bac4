#!/usr/bin/env python3
"""Veil against its peers, in one run: the forward pass against ONNX Runtime, then end-to-end
scoring against a tuned Python pipeline and NudeNet, with peak RSS and ratios.

    python3 Benchmarks/peers/compare.py [--threads 2] [--images 48]

It always runs in its own venv, Benchmarks/peers/.venv, which it creates on first use with
onnx, onnxruntime, numpy, pillow and nudenet==3.4.2 (NudeNet is AGPL-3.0 and is only measured
here, never linked into or shipped with Veil).
"""
import argparse, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peer_env import PY, create  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--images", type=int, default=48)
    args = ap.parse_args()
    create()
    print(subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split("Model name:")[1].splitlines()[0].strip(),
          f"- {os.cpu_count()} CPUs")
    subprocess.run([PY, os.path.join(HERE, "forward_vs_onnxruntime.py"), "--threads", str(args.threads)], check=True)
    print()
    subprocess.run([PY, os.path.join(HERE, "end_to_end.py"), "--threads", str(args.threads), "--images", str(args.images)], check=True)


if __name__ == "__main__":
    main()
