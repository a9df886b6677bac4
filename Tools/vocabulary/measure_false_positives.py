#!/usr/bin/env python3
"""Measures how often the vocabulary sends harmless text to review, and whether it still
catches misspelled intimate regions and the face.

    python3 Tools/vocabulary/measure_false_positives.py [--veil .build/release/veil]
        [--corpus FILE] [--misspellings FILE] [--intimate 0.6] [--face 0.7] [--max-rate 0.1]

Runs `veil vocab normalize --file` once over benign_corpus.py's strings and those of
benign_corpus_languages.py (German, French, Spanish, Italian, Dutch), or --corpus (one per
line), plus misspellings.txt. An input reaches review when one of its regions is intimate with
confidence >= --intimate or face with confidence >= --face (the default policy's thresholds).
Exits 1 if more than --max-rate percent of the benign corpus reaches review or a misspelling
does not, so it can gate a change to the fuzzy matching.
"""
import argparse, collections, json, os, subprocess, sys, tempfile
import benign_corpus, benign_corpus_languages

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def run_veil(veil, inputs):
    """input -> list of regions. `--file` prints one JSON line per input line, with the list of
    regions it names."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write("\n".join(inputs) + "\n")
    try:
        out = subprocess.run([veil, "vocab", "normalize", "--file", f.name],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    regions = collections.defaultdict(list)
    for line in out.splitlines():
        if line.strip():
            r = json.loads(line)
            regions[r["input"]].extend(r["regions"])
    return regions


def cause(regions, a):
    """The region that sends an input to review (the most confident), or None."""
    hits = [r for r in regions if (r.get("sensitivity") == "intimate" and r.get("confidence", 0) >= a.intimate)
            or (r.get("sensitivity") == "face" and r.get("confidence", 0) >= a.face)]
    return max(hits, key=lambda r: r.get("confidence", 0), default=None)


def describe(r):
    return (f"{r.get('matchedText', '')!r} -> {r.get('meaning', '?')} "
            f"({r.get('sensitivity')}, {r.get('match')} {r.get('confidence')})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--veil", default=os.path.join(ROOT, ".build", "release", "veil"))
    ap.add_argument("--corpus", help="benign strings, one per line (default: benign_corpus.py)")
    ap.add_argument("--misspellings", default=os.path.join(HERE, "misspellings.txt"))
    ap.add_argument("--intimate", type=float, default=0.6, help="review threshold for intimate regions")
    ap.add_argument("--face", type=float, default=0.7, help="review threshold for the face")
    ap.add_argument("--max-rate", type=float, default=0.1, help="allowed benign review rate, percent")
    ap.add_argument("--offenders", type=int, default=30, help="how many offending inputs to list")
    a = ap.parse_args()

    if a.corpus:
        with open(a.corpus, encoding="utf-8") as f:
            corpus = {"corpus": list(dict.fromkeys(s.strip() for s in f if s.strip()))}
    else:
        corpus = {k: benign_corpus.generate(k) for k in benign_corpus.COUNTS}
        corpus.update({f"lang {k}": benign_corpus_languages.generate(k) for k in benign_corpus_languages.LANGUAGES})
    with open(a.misspellings, encoding="utf-8") as f:
        missp = [s.strip() for s in f if s.strip() and not s.startswith("#")]
    everything = list(dict.fromkeys([s for lines in corpus.values() for s in lines] + missp))
    regions = run_veil(a.veil, everything)

    print(f"benign corpus (review: intimate >= {a.intimate}, face >= {a.face})")
    offenders, total, reached = [], 0, 0
    for kind, lines in corpus.items():
        bad = [(s, cause(regions.get(s, []), a)) for s in lines]
        bad = [(s, c) for s, c in bad if c]
        offenders += [(kind, s, c) for s, c in bad]
        total, reached = total + len(lines), reached + len(bad)
        print(f"  {kind:12} {len(lines):6} strings, {len(bad):5} reach review ({100 * len(bad) / len(lines):.2f}%)")
    rate = 100 * reached / max(total, 1)
    print(f"  {'all':12} {total:6} strings, {reached:5} reach review ({rate:.2f}%)")

    if offenders:
        print(f"\nfirst {min(a.offenders, len(offenders))} offenders:")
        for kind, s, c in offenders[:a.offenders]:
            print(f"  [{kind}] {s!r}: {describe(c)}")
        # What the fix has to handle: the words that cause review, most frequent first.
        by_word = collections.Counter((c.get("matchedText", "").lower(), c.get("meaning"), c.get("match"))
                                      for _k, _s, c in offenders)
        print(f"\noffending words ({len(by_word)}), by number of inputs:")
        for (word, meaning, match), n in by_word.most_common():
            print(f"  {n:5}  {word!r} -> {meaning} ({match})")

    missed = [s for s in missp if not cause(regions.get(s, []), a)]
    print(f"\nmisspellings: {len(missp) - len(missed)} of {len(missp)} caught")
    for s in missed:
        got = [describe(r) for r in regions.get(s, []) if r.get("match") != "none"]
        print(f"  missed {s!r}: {'; '.join(got) or 'no region'}")

    ok = rate <= a.max_rate and not missed
    print(f"\n{'PASS' if ok else 'FAIL'}: benign {reached}/{total} reach review ({rate:.2f}%, limit {a.max_rate}%); "
          f"misspellings caught {len(missp) - len(missed)}/{len(missp)}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
