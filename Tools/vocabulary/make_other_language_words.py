#!/usr/bin/env python3
"""Writes Sources/VeilVocabulary/Resources/other-language-words.txt: the German, French,
Spanish, Italian and Dutch words that Veil would otherwise read as near misses of an English
intimate region or the face (Spanish "anual" as anal, Dutch "groen" as groin, Italian "testi"
as testes, Spanish "cervicales" as cervix).

    apt-get install -y wngerman wfrench wspanish witalian wdutch
    swift build -c release --product veil
    python3 Tools/vocabulary/make_other_language_words.py [--veil .build/release/veil] [--out FILE]

Every word of 5+ letters in the five Debian word lists, folded as Veil's tokenizer folds it
(accents dropped; words keeping a non-ASCII letter such as ñ are left out, as fuzzy matching
skips them), goes through `veil vocab normalize --file` with the tables as they stand
WITHOUT this file (`--tables`, a copy of the folder). The words that come back as a near miss of an intimate region or the face
are the list. Words that do name such a region in their language belong in translations.tsv
instead, as exact matches; run this again after adding them.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile
from vocab_tables import RES, words

LISTS = {"de": ("wngerman", "/usr/share/dict/ngerman"), "fr": ("wfrench", "/usr/share/dict/french"),
         "es": ("wspanish", "/usr/share/dict/spanish"), "it": ("witalian", "/usr/share/dict/italian"),
         "nl": ("wdutch", "/usr/share/dict/dutch")}
NAME = "other-language-words.txt"


def candidates():
    out = set()
    for _package, path in LISTS.values():
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                w = words(line.strip())
                if len(w) == 1 and len(w[0]) >= 5 and w[0].isascii() and w[0].isalpha():
                    out.add(w[0])
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--veil", default=os.path.join(RES, "..", "..", "..", ".build", "release", "veil"))
    ap.add_argument("--out", default=os.path.join(RES, NAME))
    a = ap.parse_args()
    # The vocabulary must judge the words without the list it is about to write: a copy of
    # the tables without it, loaded with --tables.
    tables = tempfile.mkdtemp(prefix="veil-tables-")
    try:
        for name in os.listdir(RES):
            if name != NAME:
                shutil.copy(os.path.join(RES, name), tables)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            cands = candidates()
            f.write("\n".join(cands) + "\n")
        out = subprocess.run([a.veil, "vocab", "normalize", "--tables", tables, "--file", f.name],
                             capture_output=True, text=True, check=True).stdout
        os.unlink(f.name)
    finally:
        shutil.rmtree(tables)
    kept = set()
    for line in out.splitlines():
        r = json.loads(line)
        if any(g.get("match") == "fuzzy" and g.get("sensitivity") in ("intimate", "face") for g in r["regions"]):
            kept.add(r["input"])
    versions = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}, "] + [p for p, _ in LISTS.values()],
                              capture_output=True, text=True, check=True).stdout.rstrip(", ")
    header = [
        "# Words of German, French, Spanish, Italian and Dutch that lie a near miss from an English word for an",
        "# intimate region or the face and mean something else (\"anual\" is annual, not anal): fuzzy matching",
        "# treats them as it treats the English words of dictionary-words.txt, as words, not misspellings.",
        f"# Contents: the {len(kept)} words, of {len(cands)} folded candidates of 5+ letters, that Veil read as such a",
        "#   near miss; single words, lower-cased, accents folded as Veil's tokenizer folds them.",
        f"# Found in: Debian {versions}.",
        "# Regenerate: apt-get install -y wngerman wfrench wspanish witalian wdutch &&",
        "#   python3 Tools/vocabulary/make_other_language_words.py",
    ]
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(header + sorted(kept)) + "\n")
    print(f"{len(kept)} words from {len(cands)} candidates -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
