#!/usr/bin/env python3
"""Checks a DICOM copy that Veil labelled against its original, with pydicom as the
independent reader. Used by VeilDICOMTests (Debian's python3-pydicom, 2.3.1) and by hand:

    python3 Tools/reference/compare_labelled.py ORIGINAL COPY '[["131391","DCM","Nudity Content"]]' [--keep-original]

The third argument lists the codes Veil added, in order. Passes (prints OK, exits 0) when:
- the file meta information is equal;
- every other attribute of the data set is present in both and equal, except the Sensitive
  Content Code Sequence (0008,001D) and group lengths (gggg,0000);
- Pixel Data is byte-identical;
- (0008,001D) holds the original's items, unchanged and first, then exactly the added codes;
- with --keep-original, the Original Attributes Sequence (0400,0561) has gained one item whose
  Modified Attributes Sequence holds the original's (0008,001D) codes, with Modifying System
  "Veil" and a modification date and time.
Otherwise prints each difference and exits 1.
"""
import json
import sys

import pydicom
from pydicom.datadict import add_dict_entry

LABEL = 0x0008001D
ORIGINAL_ATTRIBUTES = 0x04000561
# pydicom releases before DICOM 2026a do not know the attribute; without its VR an implicit
# VR object's sequence would be read as raw bytes.
try:
    pydicom.datadict.dictionary_VR(LABEL)
except KeyError:
    add_dict_entry(LABEL, "SQ", "SensitiveContentCodeSequence", "Sensitive Content Code Sequence")


def codes(ds):
    if LABEL not in ds:
        return []
    out = []
    for item in ds[LABEL].value:
        value = item.get((0x0008, 0x0100)) or item.get((0x0008, 0x0119))
        out.append([str(value.value) if value is not None else "", str(item.get((0x0008, 0x0102)).value),
                    str(item.get((0x0008, 0x0104)).value)])
    return out


def main():
    original, copy = pydicom.dcmread(sys.argv[1], force=True), pydicom.dcmread(sys.argv[2], force=True)
    added = json.loads(sys.argv[3])
    keep = "--keep-original" in sys.argv[4:]
    problems = []
    meta_a, meta_b = getattr(original, "file_meta", None), getattr(copy, "file_meta", None)
    if (meta_a is None) != (meta_b is None) or (meta_a is not None and meta_a != meta_b):
        problems.append("the file meta information differs")
    skipped = {LABEL, ORIGINAL_ATTRIBUTES} if keep else {LABEL}
    a = {e.tag: e for e in original if e.tag not in skipped and e.tag.element != 0}
    b = {e.tag: e for e in copy if e.tag not in skipped and e.tag.element != 0}
    for tag in sorted(set(a) | set(b)):
        if tag not in a or tag not in b:
            problems.append(f"{tag} is only in the {'copy' if tag in b else 'original'}")
        elif tag == 0x7FE00010:
            if original.PixelData != copy.PixelData:
                problems.append("Pixel Data differs")
        elif a[tag].value != b[tag].value or a[tag].VR != b[tag].VR:
            problems.append(f"{tag} differs: {a[tag].value!r} / {b[tag].value!r}")
    before, after = codes(original), codes(copy)
    if after != before + added:
        problems.append(f"(0008,001D) is {after}, expected {before + added}")
    if keep:
        kept_before = list(original[ORIGINAL_ATTRIBUTES].value) if ORIGINAL_ATTRIBUTES in original else []
        kept_after = list(copy[ORIGINAL_ATTRIBUTES].value) if ORIGINAL_ATTRIBUTES in copy else []
        if len(kept_after) != len(kept_before) + 1 or kept_after[:-1] != kept_before:
            problems.append(f"(0400,0561) has {len(kept_after)} items, expected {len(kept_before) + 1}")
        else:
            last = kept_after[-1]
            modified = last[0x04000550].value[0] if 0x04000550 in last else None
            if modified is None or codes(modified) != before:
                problems.append(f"(0400,0550) holds {codes(modified) if modified is not None else None}, expected {before}")
            if str(last.get((0x0400, 0x0563)).value).strip() != "Veil" or not str(last.get((0x0400, 0x0562)).value).strip():
                problems.append("the Original Attributes item lacks Modifying System Veil or its date and time")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
