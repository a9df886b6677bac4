#!/usr/bin/env python3
"""Prints a deterministic corpus of BENIGN strings: what an archive of clinical photographs
and DICOM studies holds that names no intimate region and not the face. Used by
measure_false_positives.py to count how often the vocabulary sends harmless text to review.

    python3 Tools/vocabulary/benign_corpus.py [--kind filename|folder|description] [--out FILE]

Three kinds: photo file names (phones, cameras, hospital naming habits), folder names, and
DICOM Study/Series Descriptions and Image Comments. Everyday words that lie a letter or two
from a body-part word (tested, breath, public, private, personal, button, glands, senile,
vertical, vesicles ...) are mixed in deliberately, because those are what fuzzy matching gets
wrong, and so are clinical words no ordinary dictionary has (vesicular, fascial, peritoneal). Names are common surnames, never patient data. Every string is checked: none may contain
a phrase the vocabulary classes as intimate or face (see check()).
"""
import argparse, random, sys
from vocab_tables import phrases, sensitivity, words

SEED = 20241202
COUNTS = {"filename": 5000, "folder": 3000, "description": 5000}

SURNAMES = """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood
Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott
Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson
Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams
Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell
Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins
Murray Dixon Harvey Garcia Rodriguez Martinez Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres
Nguyen Flores Rivera Gomez Diaz Reyes Cruz Morales Ortiz Gutierrez Chavez Ramos Kim Chen Wang Li
Zhang Liu Yang Huang Tran Le Pham O'Brien O'Connor Byrne Ryan Walsh Doyle McCarthy Gallagher
Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Rossi Russo Ferrari Esposito Bianchi
Romano Colombo Ricci Marino Greco Bruno Dubois Bernard Moreau Laurent Lefebvre Mercier Jansen Bakker
Visser Meijer Mulder Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Kowalski
Nowak Kumar Sharma Gupta Shah Ahmed Rahman Hossain Okafor Adeyemi Mensah Osei Silva Santos Oliveira
Souza Pereira Costa Rodrigues Novak Horvat Popescu Ivanova Petrov Yilmaz Kaya Demir Cohen Levi""".split()
GIVEN = "John Mary David Sarah James Emma Michael Olivia Robert Sophie Ahmed Priya Wei Maria Jose Anna".split()

SIDES = ["L", "R", "Lt", "Rt", "LT", "RT", "left", "right", "LEFT", "RIGHT", "bilat", ""]
REGIONS = ["knee", "ankle", "foot", "heel", "toe", "great toe", "hallux", "hand", "finger", "thumb",
           "wrist", "forearm", "elbow", "upper arm", "shoulder", "shin", "calf", "thigh", "lower leg",
           "hip", "back", "lower back", "upper back", "abdomen", "flank", "sacrum", "neck", "axilla",
           "spine", "lumbar spine", "palm", "sole", "instep", "dorsum of foot", "achilles", "nail bed",
           "BKA stump", "AKA stump", "knuckle", "index finger", "little finger", "lateral malleolus",
           "medial malleolus", "chest wall"]
FINDINGS = ["wound", "ulcer", "pressure ulcer", "pressure injury", "burn", "laceration", "abrasion",
            "rash", "lesion", "mole", "naevus", "nevus", "cellulitis", "eczema", "psoriasis", "scar",
            "skin graft", "donor site", "flap", "incision", "surgical site", "dressing", "blister",
            "bruise", "swelling", "cast", "splint", "sutures", "keloid", "wart", "tattoo", "insect bite",
            "dog bite", "callus", "ingrown nail", "venous ulcer", "haematoma", "SCC", "BCC", "skin tear",
            "moleskin dressing", "vertical mattress sutures", "senile purpura", "senile lentigo",
            "vesicles", "jellyfish sting tentacle marks", "wound breadth 2cm", "cellulitis margin marked"]
# Clinical words a letter or two from a body-part word that ordinary English dictionaries lack
# (vesicular~testicular, fascial~facial, perineural/peritoneal~perineal, peroneus~perineum):
# the dictionary rule cannot clear these, so the corpus keeps them honest.
MEDICAL = ["vesicular rash", "fascial dehiscence", "fascial closure", "periwound maceration",
           "peristomal skin", "reticular veins", "peritoneal dialysis exit site", "peroneus brevis tendon",
           "perineural injection site", "lenticular papules"]
FINDINGS += MEDICAL
STAGES = ["day 3", "day 7", "day 14", "D10", "week 2", "wk 6", "post op", "post debridement",
          "pre op", "follow up", "FU", "6 weeks", "healed", "baseline", "before", "after", "initial",
          "review", "dressing change", "VAC change", "2nd visit", "clinic", "ward round", ""]
# Everyday phrases with a word one or two letters from a body-part word (tested~testes,
# breath~breast, public~pubic, private~privates, personal~perianal, button~buttox, glands~glans,
# senile~penile, vertical~testical, vesicles~testicles, breadth~breasts, tastes~testes ...).
NEAR = ["tested ok", "tested", "QC tested", "not tested", "breath test", "breath hold", "breath",
        "public holiday", "public", "for public display", "personal", "personal copy", "private",
        "private and confidential", "privately referred", "vertical", "vertical crop", "festival",
        "staff festival", "button battery", "gastrostomy button", "PEG button site", "glands",
        "lymph glands", "sweat glands", "marginal", "gluten free", "ripple", "tester", "testers",
        "tastes", "testable", "foreseen", "breadth", "length and breadth", "textiles", "tactical",
        "mystical", "vertical view", "generals", "grains", "primates", "recitals",
        "tipple", "flutes", "mammal bite", "geranium", "homebody", "barest", "abreast",
        "tentacles", "festivals", "verticals", "testifies", "racial", "genial", "beasts"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
EXT = [".jpg", ".JPG", ".jpeg", ".png", ".HEIC", ".dcm", ".tif", "", "", ""]
DEPTS = ["Dermatology", "Wound care", "Tissue viability", "Plastic surgery", "Plastic surgery follow-up",
         "Podiatry", "Diabetic foot clinic", "Fracture clinic", "Orthopaedics", "Burns unit", "Vascular",
         "Rheumatology", "Hand therapy", "Physiotherapy", "Medical Photography", "Clinical Photography",
         "Teledermatology", "Mohs", "Radiology", "Endoscopy", "Cardiology", "Emergency Department",
         "Minor injuries", "District nursing", "Community nursing", "Outpatients", "Day surgery",
         "Respiratory", "Gastroenterology", "Lymphoedema clinic", "Breath test lab", "Pain clinic"]
WARDS = ["Nightingale", "Rowan", "Maple", "Cedar", "Willow", "Oak", "Ash", "Holly", "Elm", "Juniper",
         "Lavender", "Primrose", "Bluebell", "Thames", "Severn", "Avon", "Seacole", "Fleming", "Lister"]
SITES = ["St Mary's", "Royal Infirmary", "General Hospital", "City Hospital", "Memorial Clinic",
         "Riverside Health Centre", "Northgate Surgery", "Park Lane Practice", "Westfield Clinic"]
MISC_FOLDERS = ["Tested", "Public", "Exports", "Private", "Personal", "Imports", "Archive", "Backup",
                "Old", "New folder", "New folder (2)", "DCIM", "DCIM/100CANON", "DCIM/Camera",
                "Camera Roll", "Pictures", "Downloads", "To sort", "Teaching", "QC", "QC/tested",
                "Phantom tests", "Staff festival", "Public holiday cover", "Urea breath tests",
                "Tester", "Vertical", "Marginal cases", "Button batteries", "Gluten study",
                "Screenshots", "WhatsApp Images", "Scans", "Consent forms", "Referrals", "Audit"]


def date(r):
    y, m, d = r.randint(2015, 2025), r.randint(1, 12), r.randint(1, 28)
    return r.choice([f"{y}-{m:02}-{d:02}", f"{y}{m:02}{d:02}", f"{d:02}.{m:02}.{y}", f"{d}-{m}-{y % 100}",
                     f"{m:02}_{d:02}_{y}", f"{d:02}{m:02}{y % 100:02}"])


def stamp(r):
    return f"{r.randint(2015, 2025)}{r.randint(1, 12):02}{r.randint(1, 28):02}_{r.randint(0, 23):02}{r.randint(0, 59):02}{r.randint(0, 59):02}"


def clinical(r):
    """'wound L knee day 3', 'ulcer heel post debridement 2023-05-01' ..."""
    parts = [r.choice(FINDINGS), r.choice(SIDES), r.choice(REGIONS), r.choice(STAGES)]
    if r.random() < 0.3:
        parts[0], parts[2] = parts[2], parts[0]
    if r.random() < 0.4:
        parts.append(date(r))
    return " ".join(p for p in parts if p)


def filename(r):
    k = r.random()
    if k < 0.25:  # what cameras and phones write
        s = r.choice([f"IMG_{stamp(r)}", f"IMG_{r.randint(1, 9999):04}", f"DSC{r.randint(1, 99999):05}",
                      f"DSCN{r.randint(1, 9999):04}", f"PXL_{stamp(r)}{r.randint(0, 999):03}",
                      f"PXL_{stamp(r)}{r.randint(0, 999):03}.MP", f"P{r.randint(1000000, 1999999)}",
                      f"Screenshot_{date(r)}-{r.randint(10, 23)}-{r.randint(10, 59)}-{r.randint(10, 59)}",
                      f"WhatsApp Image {date(r)} at {r.randint(8, 22)}.{r.randint(10, 59)}.{r.randint(10, 59)}",
                      f"Scan {r.randint(1, 60)}", f"Scan_{date(r)}", f"image ({r.randint(1, 40)})",
                      f"{stamp(r)}", f"GOPR{r.randint(1, 9999):04}", "Capture", f"Untitled-{r.randint(1, 9)}",
                      f"Photo {date(r)} {r.randint(8, 22)} {r.randint(10, 59)} {r.randint(10, 59)}"])
    elif k < 0.55:
        s = clinical(r)
    elif k < 0.75:  # surname and date, as typed by staff
        n, g = r.choice(SURNAMES), r.choice(GIVEN)
        s = r.choice([f"{n}_{g[0]}_{date(r)}", f"{n.upper()} {date(r)} {r.choice(FINDINGS)}",
                      f"{n.lower()}-{g.lower()}_{date(r)}", f"{n} {g[0]} - {date(r)} {clinical(r)}",
                      f"{n}, {g} {r.choice(REGIONS)} {r.choice(STAGES)}", f"{n}_{r.randint(1, 30):03}"])
    else:  # everyday words that fuzzy matching confuses with body parts
        s = r.choice([f"{r.choice(NEAR)} {date(r)}", f"{r.choice(NEAR)}_{r.randint(1, 99)}",
                      f"{r.choice(NEAR)}", f"{clinical(r)} {r.choice(NEAR)}",
                      f"{r.choice(SURNAMES)} {r.choice(NEAR)}", f"{r.choice(NEAR).replace(' ', '_')}_{stamp(r)}"])
        if r.random() < 0.3:
            s = s.upper()
    return s + r.choice(EXT)


def folder(r):
    y, m = r.randint(2012, 2025), r.randint(1, 12)
    k = r.random()
    if k < 0.35:
        s = r.choice([f"{r.choice(DEPTS)}/{y}/{MONTHS[m - 1]}", f"{r.choice(DEPTS)}/{y}-{m:02}",
                      f"{r.choice(DEPTS)}/{y}/{MONTHS[m - 1][:3]}", f"{r.choice(DEPTS)}\\{y}\\{m:02}"])
    elif k < 0.55:
        s = r.choice([f"{r.choice(WARDS)} Ward", f"Ward {r.randint(1, 40)}", f"{r.choice(WARDS)} Ward/{y}",
                      f"{r.choice(SITES)}/{r.choice(DEPTS)}", f"{r.choice(SITES)} {r.choice(DEPTS)} {y}",
                      f"{r.choice(DEPTS)}/{r.choice(WARDS)} Ward/{MONTHS[m - 1]} {y}"])
    elif k < 0.75:
        s = r.choice([f"{r.choice(MISC_FOLDERS)}/{y}", f"{r.choice(DEPTS)}/{r.choice(MISC_FOLDERS)}",
                      f"{r.choice(MISC_FOLDERS)}", f"{r.choice(MISC_FOLDERS)}/{r.choice(MISC_FOLDERS)}",
                      f"{r.choice(MISC_FOLDERS)} {y}-{m:02}"])
    else:
        n, g = r.choice(SURNAMES), r.choice(GIVEN)
        s = r.choice([f"{n}_{g}_{y - 60 + r.randint(0, 40)}", f"{n.upper()}^{g.upper()}",
                      f"{r.choice(DEPTS)}/{n} {g[0]}", f"MRN {r.randint(1000000, 9999999)}",
                      f"{r.choice(DEPTS)}/{n}/{date(r)}", f"{r.choice(DEPTS)}/{r.choice(NEAR)}"])
    if r.random() < 0.1:
        s = "S:\\" + s.replace("/", "\\")
    return s


RADIOLOGY = {
    "CT": ["CHEST W/O CONTRAST", "CHEST W CONTRAST", "CHEST ABDOMEN PELVIS W CONTRAST", "ABD/PELVIS",
           "CTA CHEST PE PROTOCOL", "L SPINE", "C SPINE W/O", "KNEE", "ANKLE", "WRIST", "KUB",
           "CORONARY CALCIUM SCORE", "COLONOGRAPHY", "RENAL STONE PROTOCOL", "HIGH RES CHEST",
           "LOW DOSE LUNG SCREENING", "SOFT TISSUE NECK", "LIVER TRIPLE PHASE", "PET/CT SKULL BASE TO THIGH"],
    "XR": ["KNEE 3 VIEWS", "CHEST PA AND LATERAL", "CHEST 1 VIEW PORTABLE", "ANKLE 3V", "HAND 3 VIEWS",
           "FOOT WEIGHT BEARING", "L SPINE 2 VIEWS", "SHOULDER 2V", "ELBOW", "WRIST", "ABDOMEN 1 VIEW",
           "HIP 2 VIEWS", "TIBIA FIBULA", "FEMUR", "FINGER", "SCAPHOID SERIES", "HUMERUS", "CLAVICLE",
           "RIBS", "SCOLIOSIS SERIES", "ABDOMEN ?BUTTON BATTERY", "CHEST FOREIGN BODY BUTTON BATTERY"],
    "MR": ["KNEE W/O", "L SPINE W/O", "SHOULDER ARTHROGRAM", "BRAIN W/WO", "ANKLE", "CARDIAC", "MRCP",
           "LIVER", "WRIST", "C SPINE", "FOOT", "ELBOW"],
    "US": ["ABDOMEN COMPLETE", "RENAL", "THYROID", "DVT LOWER EXTREMITY", "LIVER ELASTOGRAPHY",
           "AORTA SCREENING", "SOFT TISSUE FOREARM", "GALLBLADDER", "LYMPH GLANDS AXILLA", "SHOULDER"],
    "NM": ["BONE SCAN", "MYOCARDIAL PERFUSION", "HIDA", "THYROID UPTAKE", "LUNG V/Q", "GASTRIC EMPTYING"],
    "FL": ["BARIUM SWALLOW", "UPPER GI", "LUMBAR PUNCTURE", "PICC PLACEMENT"],
    "DXA": ["HIP AND SPINE", "FOREARM"],
}
OTHER = ["COLONOSCOPY", "COLONOSCOPY WITH POLYPECTOMY", "UPPER GI ENDOSCOPY", "EGD", "EGD WITH BIOPSY",
         "GASTROSCOPY", "BRONCHOSCOPY", "ERCP", "CAPSULE ENDOSCOPY", "ENTEROSCOPY", "EUS",
         "ARTHROSCOPY KNEE", "ARTHROSCOPY SHOULDER", "BREATH HYDROGEN TEST", "UREA BREATH TEST",
         "LACTOSE BREATH TEST", "PULMONARY FUNCTION TEST", "EXERCISE TOLERANCE TEST", "ECHO TTE",
         "GASTROSTOMY BUTTON CHECK", "MEDICAL PHOTOGRAPHY", "DERMOSCOPY", "MOLE MAPPING BACK",
         "TELEDERMATOLOGY", "SENILE PURPURA FOREARM", "SENILE LENTIGO HAND", "VERTICAL MATTRESS SUTURES",
         "VESTIBULAR FUNCTION TEST", "US GUIDED PERINEURAL INJECTION", "MR ANKLE PERONEUS TENDONS",
         "PD CATHETER PERITONEAL DIALYSIS EXIT SITE", "CT PERITONEAL DIALYSIS LEAK", "FASCIAL CLOSURE CHECK"]
COMMENTS = ["Tested OK", "QC tested", "Image tested with phantom", "Patient unable to hold breath",
            "breath-hold images", "Breath hold: expiration", "Public health screening programme",
            "Vertical beam", "Horizontal beam lateral", "Personal copy for teaching", "Marginal image quality",
            "Motion artefact", "Repeat due to motion", "Tester image, do not report", "Wound breadth 2.5 cm",
            "length and breadth measured", "Gluten challenge", "Ripple artefact", "Moleskin dressing applied",
            "Private patient", "Privately referred", "Glands palpable", "Lymph glands enlarged",
            "Button gastrostomy", "vesicles noted", "Senile purpura", "Patient tastes metal",
            "Images sent to PACS", "Consent obtained", "Scale included", "Ruler in frame", "Flash off",
            "Cross-polarised", "Taken by medical photographer", "Not for public use"]


def description(r):
    k = r.random()
    if k < 0.45:
        mod = r.choice(sorted(RADIOLOGY))
        s = f"{mod} {r.choice(RADIOLOGY[mod])}"
        if r.random() < 0.5:
            s += " " + r.choice(["LT", "RT", "BILAT", "LEFT", "RIGHT"])
        if r.random() < 0.15:
            s += " " + r.choice(["TESTED", "QC", "REPEAT", "PORTABLE", "BREATH HOLD", "PRIVATE"])
    elif k < 0.6:
        s = r.choice(OTHER)
    elif k < 0.8:  # photography and dermatology series
        s = r.choice(["PHOTO", "CLINICAL PHOTO", "WOUND PHOTO", "DERM", "DERMOSCOPY", "TELEDERM",
                      "MEDICAL PHOTOGRAPHY", "PHOTO ULCER", "DERM LESION"]) + " " + clinical(r)
        s = s.upper() if r.random() < 0.7 else s
    else:
        s = r.choice(COMMENTS)
        if r.random() < 0.3:
            s += " " + date(r)
    return s


def check(lines, keys, classes):
    """The corpus must be benign: no line may contain, as whole words, a phrase the
    vocabulary classes as intimate or face. A hit means a template is wrong."""
    bad = [k.split(" ") for k, code in keys.items() if code in classes]
    for s in lines:
        w = words(s)
        for b in bad:
            if any(w[i:i + len(b)] == b for i in range(len(w) - len(b) + 1)):
                sys.exit(f"benign_corpus: {s!r} names {' '.join(b)!r}")


def unique(make, r, count):
    """`count` distinct strings from `make(r)`, spaces tidied, in the order made."""
    out, seen = [], set()
    while len(out) < count:
        s = " ".join(make(r).split())  # no stray or doubled spaces
        if s and s not in seen:
            seen.add(s)
            out.append(s)
    return out


def write(lines, path):
    """The lines to `path`, or to standard output without one."""
    text = "\n".join(lines) + "\n"
    if path:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def generate(kind, count=None):
    """`count` unique strings of one kind; the same every run (one seeded generator per kind)."""
    make = {"filename": filename, "folder": folder, "description": description}[kind]
    out = unique(make, random.Random(f"{SEED}-{kind}"), count or COUNTS[kind])
    check(out, phrases(), sensitivity())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", choices=sorted(COUNTS))
    ap.add_argument("--out")
    a = ap.parse_args()
    write([s for k in COUNTS if a.kind in (None, k) for s in generate(k)], a.out)


if __name__ == "__main__":
    main()
