#!/usr/bin/env python3
"""Cross-checks Veil's anatomy tables against pydicom's copies of the DICOM code tables.

    pip install pydicom==3.0.2 && python3 Tools/vocabulary/check_tables.py

For every row of Sources/VeilVocabulary/Resources/*.tsv that names a SNOMED CT code, it
checks that pydicom knows the code, that the code meaning agrees (case-insensitively,
ignoring a trailing "(body structure)"), and that the legacy SNOMED-RT ID maps to the same
code. It prints every disagreement and exits non-zero if there is one. Run by hand after
editing the tables; the Swift tests then pin the tables' content.
"""
import os, sys
from pydicom.sr import _concepts_dict, _snomed_dict

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.join(HERE, "..", "..", "Sources", "VeilVocabulary", "Resources")

meanings = {}
for keyword, codes in _concepts_dict.concepts["SCT"].items():
    for code, (meaning, _cids) in codes.items():
        meanings.setdefault(code, set()).add(meaning.lower().replace(" (body structure)", "").strip())
srt_to_sct = _snomed_dict.mapping["SRT"]
# CID 901 Sensitive Content Detail (DICOM 2026a; ../shared/dicom/sensitive-content-codes.tsv)
# is newer than pydicom's tables; its anatomic members are checked against it instead.
for code, meaning in {"39117004": "labium", "65439009": "clitoris", "75776007": "pubic hair",
                      "64013008": "hair of scalp"}.items():
    meanings.setdefault(code, set()).add(meaning)


def rows(name):
    with open(os.path.join(RES, name), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            yield n, line.rstrip("\n").split("\t")


problems = 0
unknown = 0
for n, (term, code, srt, meaning, lat) in rows("body-part-examined.tsv"):
    if code not in meanings:
        unknown += 1
        print(f"note: line {n} {term}: code {code} ({meaning}) not in pydicom's tables")
    elif meaning.lower() not in meanings[code] and not any(meaning.lower() in m or m in meaning.lower() for m in meanings[code]):
        print(f"MEANING line {n} {term}: {code} is {sorted(meanings[code])}, table says {meaning!r}")
        problems += 1
    if srt and srt_to_sct.get(srt) not in (None, code):
        print(f"SRT line {n} {term}: {srt} maps to {srt_to_sct[srt]} in pydicom, table says {code}")
        problems += 1
    if lat not in ("paired", "unpaired"):
        print(f"LATERALITY line {n} {term}: {lat!r}")
        problems += 1
for name in ("concepts.tsv",):
    if os.path.exists(os.path.join(RES, name)):
        for n, cols in rows(name):
            code, meaning = cols[0], cols[1]
            if code not in meanings:
                print(f"UNKNOWN {name} line {n}: {code} {meaning}")
                problems += 1
            elif not any(meaning.lower() in m or m in meaning.lower() for m in meanings[code]):
                print(f"MEANING {name} line {n}: {code} is {sorted(meanings[code])}, table says {meaning!r}")
                problems += 1
print(f"{problems} problem(s); {unknown} code(s) pydicom does not list")
sys.exit(1 if problems else 0)
