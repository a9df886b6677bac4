"""What the scripts in this folder share with VeilVocabulary: its tokenizer and its tables.

Kept byte-for-byte faithful to Sources/VeilVocabulary (Tokenizer.swift, Vocabulary.swift), so
that what the scripts compute about phrase keys and fuzzy targets is what the Swift code does.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.normpath(os.path.join(HERE, "..", "..", "Sources", "VeilVocabulary", "Resources"))


def words(text):
    """Tokenizer.words: ASCII letters (lower-cased), digits and bytes >= 0x80 form words,
    apostrophes are dropped ("Morrison's" -> "morrisons"), every other byte separates.
    Words are cut at 64 bytes, as the Swift scratch buffer does."""
    out, cur = [], bytearray()
    for b in text.encode("utf-8"):
        if 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A or 0x30 <= b <= 0x39 or b >= 0x80:
            if len(cur) < 64:
                cur.append(b | 0x20 if 0x41 <= b <= 0x5A else b)
        elif b == 0x27:
            continue
        elif cur:
            out.append(cur.decode("utf-8", "replace"))
            cur = bytearray()
    if cur:
        out.append(cur.decode("utf-8", "replace"))
    return out


def phrase_key(text):
    return " ".join(words(text))


def rows(name):
    with open(os.path.join(RES, name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if line and not line.startswith("#"):
                yield line.split("\t")


def phrases():
    """Every phrase key and the SNOMED CT code it resolves to, built in Vocabulary.swift's
    order: Annex L meanings and terms (first wins), extra concepts, then synonyms (override)."""
    by_term, out = {}, {}
    for term, snomed, _srt, meaning, _lat in rows("body-part-examined.tsv"):
        by_term[term] = snomed
        out.setdefault(phrase_key(meaning), snomed)
        out.setdefault(phrase_key(term), snomed)
    for snomed, meaning, _lat in rows("concepts.tsv"):
        out.setdefault(phrase_key(meaning), snomed)
    for phrase, target in rows("synonyms.tsv"):
        if phrase_key(phrase):
            out[phrase_key(phrase)] = by_term.get(target, target)
    out.pop("", None)
    return out


def sensitivity():
    """SNOMED CT code -> intimate | face (codes not listed are none)."""
    return {code: cls for code, cls, _reason in rows("sensitivity.tsv")}


def fuzzy_targets(keys):
    """The words fuzzy matching may land on: single-word keys of 4 bytes or more."""
    return sorted(k for k in keys if " " not in k and len(k.encode("utf-8")) >= 4)


def distance(a, b, limit):
    """Levenshtein distance, or None as soon as it must exceed `limit` (as editDistance)."""
    if abs(len(a) - len(b)) > limit:
        return None
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return None
        prev = cur
    return prev[-1] if prev[-1] <= limit else None
