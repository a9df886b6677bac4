#!/usr/bin/env python3
"""Two builds of Veil's forward pass against each other, in one run, on a noisy machine.

    python3 Benchmarks/peers/ab_forward.py A/veil-compare B/veil-compare [--threads 2] [--batch 1]
                                           [--cycles 80] [--burst 10]

Each path is a release build of `veil-compare` (for an older commit, check it out with `git
worktree add --detach DIR COMMIT` and run `swift build -c release --product veil-compare`
there). Both run as `veil-compare forward-serve` processes and take turns in bursts of
--burst passes, the order swapped every cycle, so that both meet the same stretches of a
shared VM's noise, which last seconds and decide whole rounds of a plain alternation. Prints
each build's median and fastest pass and B's time relative to A's. A change smaller than the
spread of the per-cycle ratios is not shown by one run.
"""
import argparse, os, statistics, subprocess, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--cycles", type=int, default=80)
    ap.add_argument("--burst", type=int, default=10)
    args = ap.parse_args()
    if min(args.threads, args.batch, args.cycles, args.burst) < 1:
        ap.error("counts must be positive")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    builds = [subprocess.Popen([path, "forward-serve", str(args.threads), str(args.batch)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env) for path in (args.a, args.b)]
    for path, build in zip((args.a, args.b), builds):
        if build.stdout.readline().strip() != "ready":
            raise SystemExit(f"{path} forward-serve did not start")
    times, ratios = ([], []), []
    for cycle in range(args.cycles):
        for side in ((0, 1) if cycle % 2 == 0 else (1, 0)):
            time.sleep(0.03)  # the other build's workers spin for 200 us after a pass
            builds[side].stdin.write(f"{args.burst}\n")
            builds[side].stdin.flush()
            times[side].extend(float(t) for t in builds[side].stdout.readline().split())
        ratios.append(statistics.median(times[1][-args.burst:]) / statistics.median(times[0][-args.burst:]))
    for build in builds:
        build.stdin.close()
        build.wait()
    median = statistics.median
    ratios.sort()
    print(f"forward pass at batch {args.batch}, {args.threads} threads, {args.cycles} cycles of {args.burst} passes each")
    for name, t in (("A", times[0]), ("B", times[1])):
        print(f"{name}: median {median(t):.2f} ms, fastest {min(t):.2f} ms")
    print(f"B's time / A's: by medians {median(times[1]) / median(times[0]):.3f}, by fastest {min(times[1]) / min(times[0]):.3f}; "
          f"per cycle p10 {ratios[len(ratios) // 10]:.3f} median {median(ratios):.3f} p90 {ratios[9 * len(ratios) // 10]:.3f}")


if __name__ == "__main__":
    main()
