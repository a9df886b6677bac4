#!/usr/bin/env python3
"""Writes Sources/VeilVocabulary/Resources/dictionary-words.txt: the English words that lie near
a body-part word, so that fuzzy matching can tell a misspelling ("brest") from a real word
("breath", "tested", "public").

    apt-get install -y wamerican-huge wbritish && pip install pydicom==3.0.2
    python3 Tools/vocabulary/make_dictionary_words.py [--max-distance 4] [--out FILE]

Sources: SCOWL's largest American list (which holds clinical words such as lenticular,
peroneus and perineural) and its British list, plus every word of the SNOMED CT and DCM code
meanings pydicom tabulates (fascial, periosteal, ...): archives' free text is clinical.

Why distance 4 and length 5: the Swift rule is "a word X is a near miss of body-part word T
only if X is no dictionary word and no dictionary word is strictly closer to X than T".
Near misses are at most 2 edits away counting a swap of neighbours as one edit, so at most 4
plain (Levenshtein) edits: every dictionary word a near miss could be is in the list, and the
membership test is exact. The "closer word" test sees the words in the list only, which holds
every word a swap or an edit away from a target's near neighbours. Words that are phrase
keys themselves are left out: the vocabulary already matches them exactly.
"""
import argparse, os, subprocess, sys
from vocab_tables import RES, fuzzy_targets, phrases, words

DICTS = ["/usr/share/dict/american-english-huge", "/usr/share/dict/british-english"]
PACKAGES = ["wamerican-huge", "wbritish"]


def load_dictionary():
    """Lower-case, apostrophes dropped as the tokenizer does; pure ASCII letters only."""
    out = set()
    for path in DICTS:
        with open(path, encoding="utf-8") as f:
            for line in f:
                w = line.strip().lower().replace("'", "")
                if w.isascii() and w.isalpha():
                    out.add(w)
    # Clinical words: every word of the SNOMED CT and DCM meanings in pydicom's concept table.
    from pydicom.sr._concepts_dict import concepts
    for scheme in ("SCT", "DCM"):
        for by_code in concepts.get(scheme, {}).values():
            for meaning, _ in by_code.values():
                for w in "".join(c if c.isalnum() else " " for c in meaning.lower().replace("'", "")).split():
                    if w.isascii() and w.isalpha():
                        out.add(w)
    return out


def near_words(targets, dictionary, limit):
    """Every dictionary word within `limit` edits of some target. A trie of the dictionary is
    walked once per target, one Levenshtein row per trie node, abandoning a branch as soon as
    the row's minimum exceeds the limit (which also ends every branch longer than the target
    plus the limit: the length buckets come for free). A prefix shared by thousands of words
    is computed once, so this takes under a minute where one DP per word pair takes several."""
    trie = {}
    for w in dictionary:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node["$"] = w
    found = set()
    for t in targets:
        m, row0 = len(t), list(range(len(t) + 1))
        stack = [(child, c, row0) for c, child in trie.items()]
        pop, push = stack.pop, stack.extend
        while stack:
            node, c, prev = pop()
            x = prev[0] + 1
            cur = [x]
            for j in range(m):  # one Levenshtein row; x is the cell to the left
                x = min(x + 1, prev[j + 1] + 1, prev[j] + (t[j] != c))
                cur.append(x)
            if cur[m] <= limit and "$" in node:
                found.add(node["$"])
            if min(cur) <= limit:
                push((child, c2, cur) for c2, child in node.items() if c2 != "$")
    return found


def pydicom_version():
    import pydicom
    return pydicom.__version__


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-distance", type=int, default=4)
    ap.add_argument("--min-length", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(RES, "dictionary-words.txt"))
    a = ap.parse_args()

    keys = phrases()
    single = {k for k in keys if " " not in k}
    targets = fuzzy_targets(keys)
    dictionary = {w for w in load_dictionary() if len(w) >= a.min_length and w not in single}
    kept = sorted(near_words(targets, dictionary, a.max_distance))

    versions = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}, "] + PACKAGES,
                              capture_output=True, text=True, check=True).stdout.rstrip(", ")
    cmd = "python3 Tools/vocabulary/make_dictionary_words.py"
    if a.max_distance != 4 or a.min_length != 5:
        cmd += f" --max-distance {a.max_distance} --min-length {a.min_length}"
    header = [
        "# English and clinical words near body-part words, so fuzzy matching does not take a real word for a",
        "# misspelling (\"tested\" is not \"testes\", \"breath\" is not \"breast\"): a near miss counts only",
        "# if the word is not listed here and no listed word is strictly closer to it.",
        f"# Contents: every word of {a.min_length}+ letters within {a.max_distance} edits of a fuzzy-matching target",
        "#   (a one-word phrase key of 4+ letters), less the vocabulary's own one-word phrase keys;",
        "#   lower-cased, apostrophes dropped, ASCII letters only.",
        f"# Sources: Debian {versions} (SCOWL; /usr/share/dict/american-english-huge, british-english);",
        f"#   the words of the SNOMED CT and DCM code meanings in pydicom {pydicom_version()} (MIT licence).",
        "# Licence: SCOWL, Copyright 2000-2011 Kevin Atkinson and others; free to use, copy, modify,",
        "#   distribute and sell with the copyright and permission notice kept; parts public domain",
        "#   (see /usr/share/doc/wamerican/copyright).",
        f"# Regenerate: apt-get install -y wamerican-huge wbritish && pip install pydicom==3.0.2 && {cmd}",
    ]
    text = "\n".join(header + kept) + "\n"
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"{len(kept)} words from {len(dictionary)} candidates and {len(targets)} targets; "
          f"{len(text.encode())} bytes -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
