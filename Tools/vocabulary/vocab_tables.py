"""What the scripts in this folder share with VeilVocabulary: its tokenizer and its tables.

Kept byte-for-byte faithful to Sources/VeilVocabulary (Tokenizer.swift, Vocabulary.swift), so
that what the scripts compute about phrase keys and fuzzy targets is what the Swift code does.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.normpath(os.path.join(HERE, "..", "..", "Sources", "VeilVocabulary", "Resources"))


def fold(lead, byte):
    """Tokenizer.folded: the lower-case letters a two-byte UTF-8 Latin letter folds to and
    whether it was a capital, or None."""
    if lead == 0xC5:
        return (b"oe", byte == 0x92) if byte in (0x92, 0x93) else None
    if lead != 0xC3 or not 0x80 <= byte <= 0xBF:
        return None
    upper = byte < 0xA0 and byte != 0x9F
    b = byte & ~0x20
    if 0x80 <= b <= 0x85: return b"a", upper
    if b == 0x86: return b"ae", upper
    if b == 0x87: return b"c", upper
    if 0x88 <= b <= 0x8B: return b"e", upper
    if 0x8C <= b <= 0x8F: return b"i", upper
    if b == 0x91: return bytes([0xC3, 0xB1]), upper
    if 0x92 <= b <= 0x96 or b == 0x98: return b"o", upper
    if 0x99 <= b <= 0x9C: return b"u", upper
    if b == 0x9D: return b"y", upper
    if b == 0x9F: return (b"ss" if byte == 0x9F else b"y"), upper
    return None


def words(text):
    """Tokenizer.words: ASCII letters (lower-cased), digits and bytes >= 0x80 form words,
    accented Latin letters fold (see fold), apostrophes are dropped ("Morrison's" ->
    "morrisons"), every other byte separates, and so do a capital after a lower-case letter
    and a digit after a letter. Words are cut at 64 bytes, as the Swift scratch buffer does."""
    out, cur = [], bytearray()
    lower = range(0x61, 0x7B)
    upper = range(0x41, 0x5B)

    def flush():
        if cur:
            out.append(cur.decode("utf-8", "replace"))
            cur.clear()

    def add(bs):
        for x in bs:
            if len(cur) < 64:
                cur.append(x)

    prev, lead = 0, 0
    for b in text.encode("utf-8"):
        if lead:
            first, lead = lead, 0
            f = fold(first, b)
            if f:
                letters, is_upper = f
                if is_upper and prev in lower:
                    flush()
                add(letters)
                prev = letters[0] & ~0x20 if is_upper else letters[0]
                continue
            add([first, b])
            prev = b
            continue
        if b in (0xC3, 0xC5):
            lead = b
            continue
        if b in upper:
            if prev in lower:
                flush()
            add([b | 0x20])
        elif 0x30 <= b <= 0x39:
            if prev in lower or prev in upper:
                flush()
            add([b])
        elif b in lower or b >= 0x80:
            add([b])
        elif b == 0x27:
            continue
        else:
            flush()
        prev = b
    if lead:
        add([lead])
    flush()
    return out


def phrase_key(text):
    return " ".join(words(text))


def rows(name):
    with open(os.path.join(RES, name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if line and not line.startswith("#"):
                yield line.split("\t")


def phrases(languages=False):
    """Every phrase key and the SNOMED CT code it resolves to, built in Vocabulary.swift's
    order: Annex L meanings and terms (first wins), extra concepts, then synonyms (override).
    With languages=True, the words of translations.tsv too (which fuzzy matching never
    lands on: see foreign_keys)."""
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
    if languages:
        for _lang, key, target in translations():
            out.setdefault(key, by_term.get(target, target))
        # As Vocabulary.swift: a French region word followed by "face" is its frontal view.
        classes = sensitivity()
        for lang, key, target in translations():
            if lang == "fr" and target != "-" and out.get(key) not in classes:
                out.setdefault(key + " face", out[key])
    return out


def translations():
    """(language, phrase key, target) of translations.tsv, the other languages' words."""
    return [(lang, phrase_key(phrase), target) for lang, phrase, target in rows("translations.tsv") if phrase_key(phrase)]


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
