#!/usr/bin/env python3
"""Prints a deterministic corpus of BENIGN strings in German, French, Spanish, Italian and
Dutch: what a European archive of clinical photographs and studies holds that names no
intimate region and not the face. The counterpart of benign_corpus.py for translations.tsv.

    python3 Tools/vocabulary/benign_corpus_languages.py [--lang de|fr|es|it|nl] [--out FILE]

Each language gives photo file names, folder names and Study/Series Descriptions built from
its words for ordinary regions, findings, stages, departments and radiology orders. Mixed in
deliberately are the words that trip a multilingual vocabulary: radiograph views and surfaces
that use the word for face ("face et profil", "cara anterior", "faccia interna"), the sinuses
that Spanish and Italian name with their word for the breast ("senos paranasales"), the head
of a bone ("cabeza femoral"), Spanish "año" beside "ano", and everyday words a letter from an
English body-part word. Names are common surnames, never patient data. Every string is
checked (see check): none may name an intimate region or the face.
"""
import argparse, random, sys
from vocab_tables import phrases, sensitivity, words
import benign_corpus

SEED = 20261202
COUNT = 1600  # per language

LANGUAGES = {
    "de": dict(
        sides=["links", "rechts", "li.", "re.", "bds.", "beidseits", "linkes", "rechtes", ""],
        regions=["Knie", "Sprunggelenk", "Fuß", "Fuss", "Ferse", "Zehe", "Großzehe", "Hand", "Finger", "Daumen",
                 "Handgelenk", "Unterarm", "Ellenbogen", "Oberarm", "Schulter", "Unterschenkel", "Wade",
                 "Oberschenkel", "Hüfte", "Rücken", "Bauch", "Bauchwand", "Flanke", "Kreuzbein", "Nacken",
                 "Steißbein", "Handrücken", "Fußsohle", "Fußrücken", "Stumpf", "Nagelbett", "Ellbogen"],
        findings=["Wunde", "Ulkus", "Ulcus cruris", "Dekubitus", "Verbrennung", "Verbrühung", "Narbe",
                  "Hämatom", "Schwellung", "Naht", "Verband", "Läsion", "Ekzem", "Muttermal", "Erysipel",
                  "Abszess", "Fistel", "Wundheilungsstörung", "Spalthaut", "Lappenplastik", "Exanthem",
                  "Prellung", "Schürfwunde", "Schnittwunde", "Bisswunde", "Blase", "Nävus", "Melanom"],
        stages=["Tag 3", "Tag 7", "postoperativ", "präoperativ", "Kontrolle", "Verlauf", "Verlaufskontrolle",
                "vor OP", "nach OP", "Z.n. OP", "Aufnahme", "Entlassung", "Woche 2", "Erstbefund", ""],
        photo=["Foto", "Fotodokumentation", "Wunddokumentation", "Bild", "Aufnahme", "Klinisches Foto"],
        depts=["Dermatologie", "Wundambulanz", "Plastische Chirurgie", "Unfallchirurgie", "Notaufnahme",
               "Fotodokumentation", "Handchirurgie", "Gefäßchirurgie", "Orthopädie", "Verbrennungszentrum",
               "Diabetische Fußambulanz", "Station 4B", "Intensivstation", "Ambulanz", "Archiv", "Export"],
        radiology=["Röntgen Thorax", "Röntgen Thorax p.a. und seitlich", "CT Schädel nativ", "MRT Knie",
                   "Sonographie Abdomen", "CT Thorax Abdomen Becken mit KM", "MRT LWS", "Röntgen Hand",
                   "Röntgen HWS in 2 Ebenen", "CT Nasennebenhöhlen", "MRT Schulter", "Röntgen Sprunggelenk",
                   "Angiographie Becken-Bein", "CT Angio Hals", "MRT Schädel mit KM", "Röntgen Becken Übersicht",
                   "Szintigraphie Skelett", "Mammographie Kontrolle", "Duplex Beinvenen"],
        everyday=["Boden", "Scheibe", "Brücke", "Bruch", "Busch", "Hosen", "Basis", "Gesichtet", "Ablage",
                  "Prüfung", "geprüft", "Übersicht", "Befund", "nativ", "Status", "Probe", "privat",
                  "Privatpatient", "Testbild", "Seite", "Lage", "Penne", "Posten", "Kopie", "Lehre"],
    ),
    "fr": dict(
        sides=["gauche", "droit", "droite", "G", "D", "bilatéral", "bilatérale", ""],
        regions=["genou", "cheville", "pied", "talon", "orteil", "gros orteil", "main droite", "doigt", "pouce",
                 "poignet", "avant-bras", "coude", "bras", "épaule", "jambe", "mollet", "cuisse", "hanche",
                 "dos", "abdomen", "paroi abdominale", "flanc", "sacrum", "nuque", "plante du pied", "moignon",
                 "lit de l'ongle", "dos de la main"],
        findings=["plaie", "ulcère", "escarre", "brûlure", "cicatrice", "hématome", "œdème", "suture",
                  "pansement", "lésion", "eczéma", "grain de beauté", "érysipèle", "abcès", "fistule",
                  "greffe de peau", "lambeau", "éruption", "contusion", "dermabrasion", "morsure", "phlyctène",
                  "naevus", "mélanome", "ulcère veineux", "plaie face antérieure jambe", "plaie face dorsale main"],
        stages=["J3", "J7", "post-op", "pré-op", "contrôle", "suivi", "J+14", "semaine 2", "avant", "après",
                "cicatrisé", "initial", "consultation", ""],
        photo=["Photo", "Photographie", "Photo clinique", "Cliché", "Image"],
        depts=["Dermatologie", "Chirurgie plastique", "Urgences", "Photographie médicale", "Orthopédie",
               "Centre des brûlés", "Chirurgie de la main", "Chirurgie vasculaire", "Consultation plaies",
               "Pied diabétique", "Service 3", "Réanimation", "Archives", "Exports", "Nouveau dossier"],
        radiology=["Radio thorax face", "Radio thorax face et profil", "Scanner abdomino-pelvien", "IRM genou",
                   "Échographie abdominale", "IRM rachis lombaire", "Radio genou face + profil",
                   "Radio rachis cervical face profil", "Scanner des sinus", "IRM épaule", "Radio cheville",
                   "Radio bassin de face", "Angioscanner thoracique", "IRM cérébrale", "Scintigraphie osseuse",
                   "Radio main face", "Radio tête fémorale",
                   "Radio genou face", "Radio thorax de face", "Échographie des parties molles cuisse"],
        everyday=["saint", "Seine", "peine", "public", "privé", "personnel", "testé", "testée",
                  "Gland", "vague", "visa", "bureau", "dossier", "copie", "essai", "fichier", "sortie"],
    ),
    "es": dict(
        sides=["izquierdo", "izquierda", "derecho", "derecha", "izq", "dcha", "bilateral", ""],
        regions=["rodilla", "tobillo", "pie", "talón", "dedo del pie", "mano", "dedo", "pulgar", "muñeca",
                 "antebrazo", "codo", "brazo", "hombro", "pierna", "pantorrilla", "muslo", "cadera",
                 "espalda", "abdomen", "flanco", "sacro", "cuello", "planta del pie", "muñón", "uña",
                 "dorso de la mano", "cara anterior pierna", "cara posterior muslo", "cara interna rodilla"],
        findings=["herida", "úlcera", "úlcera por presión", "quemadura", "cicatriz", "hematoma", "edema",
                  "sutura", "apósito", "lesión", "eccema", "lunar", "celulitis", "absceso", "fístula",
                  "injerto", "colgajo", "erupción", "contusión", "abrasión", "mordedura", "ampolla", "nevus",
                  "melanoma", "úlcera venosa"],
        stages=["día 3", "día 7", "postoperatorio", "preoperatorio", "control", "seguimiento", "semana 2",
                "antes", "después", "cicatrizada", "inicial", "consulta", "1 año", "control al año", ""],
        photo=["Foto", "Fotografía", "Fotografía clínica", "Imagen"],
        depts=["Dermatología", "Cirugía plástica", "Urgencias", "Fotografía clínica", "Traumatología",
               "Unidad de quemados", "Cirugía de la mano", "Cirugía vascular", "Consulta de heridas",
               "Pie diabético", "Planta 3", "UCI", "Archivo", "Exportar", "Nueva carpeta", "Año 2021"],
        radiology=["Rx tórax PA y lateral", "TC craneal sin contraste", "RM rodilla", "Ecografía abdominal",
                   "TC toracoabdominopélvico con contraste", "RM columna lumbar", "Rx mano",
                   "TC senos paranasales", "RM hombro", "Rx tobillo", "Rx cadera", "Angio TC troncos supraaórticos",
                   "RM cerebral", "Gammagrafía ósea", "TC seno maxilar", "Rx cabeza femoral", "Ecografía partes blandas",
                   "Angio RM senos venosos", "RM seno cavernoso", "Eco Doppler seno carotídeo"],
        everyday=["pena", "paso", "vagón", "prueba", "probado", "privado", "personal",
                  "público", "anual", "año", "años", "carta", "caro", "pecado"],
    ),
    "it": dict(
        sides=["sinistro", "sinistra", "destro", "destra", "bilaterale", "dx", "sx", ""],
        regions=["ginocchio", "caviglia", "piede", "tallone", "alluce", "mano", "dito", "pollice", "polso",
                 "avambraccio", "gomito", "braccio", "spalla", "gamba", "polpaccio", "coscia", "anca",
                 "schiena", "addome", "fianco", "osso sacro", "collo", "pianta del piede", "moncone",
                 "dorso della mano", "faccia anteriore gamba", "faccia interna coscia"],
        findings=["ferita", "ulcera", "piaga da decubito", "ustione", "cicatrice", "ematoma", "edema",
                  "sutura", "medicazione", "lesione", "eczema", "neo", "cellulite", "ascesso", "fistola",
                  "innesto cutaneo", "lembo", "eruzione", "contusione", "abrasione", "morso", "bolla", "nevo",
                  "melanoma", "ulcera venosa"],
        stages=["giorno 3", "giorno 7", "postoperatorio", "preoperatorio", "controllo", "follow-up",
                "settimana 2", "prima", "dopo", "guarita", "iniziale", "visita", ""],
        photo=["Foto", "Fotografia", "Fotografia clinica", "Immagine"],
        depts=["Dermatologia", "Chirurgia plastica", "Pronto soccorso", "Fotografia clinica", "Ortopedia",
               "Centro grandi ustionati", "Chirurgia della mano", "Chirurgia vascolare", "Ambulatorio ferite",
               "Piede diabetico", "Reparto 3", "Rianimazione", "Archivio", "Esportazioni", "Nuova cartella"],
        radiology=["RX torace", "TC cranio senza mdc", "RM ginocchio", "Ecografia addome",
                   "TC torace addome con mdc", "RM rachide lombare", "RX mano", "TC seni paranasali",
                   "RM spalla", "RX caviglia", "RX bacino", "Angio TC tronchi sovraortici", "RM encefalo",
                   "Scintigrafia ossea", "RX testa del femore", "Ecografia tessuti molli", "TC seno mascellare"],
        everyday=["testata", "testato", "pena", "penne", "pane", "pubblico", "privato", "personale",
                  "senso", "segno", "sereno", "copia", "prova", "anno", "caro"],
    ),
    "nl": dict(
        sides=["links", "rechts", "li", "re", "beiderzijds", "bdz", "linker", "rechter", ""],
        regions=["knie", "enkel", "voet", "hiel", "grote teen", "hand", "vinger", "duim", "pols", "onderarm",
                 "elleboog", "bovenarm", "schouder", "onderbeen", "kuit", "bovenbeen", "heup", "rug", "buik",
                 "buikwand", "flank", "heiligbeen", "nek", "voetzool", "stomp", "nagelbed", "handrug"],
        findings=["wond", "ulcus", "decubitus", "brandwond", "litteken", "hematoom", "zwelling", "hechting",
                  "verband", "laesie", "eczeem", "moedervlek", "wondroos", "abces", "fistel", "huidtransplantaat",
                  "lap", "uitslag", "kneuzing", "schaafwond", "bijtwond", "blaar", "naevus", "melanoom",
                  "open been"],
        stages=["dag 3", "dag 7", "postoperatief", "preoperatief", "controle", "follow-up", "week 2", "voor",
                "na", "genezen", "eerste", "polibezoek", ""],
        photo=["Foto", "Fotografie", "Klinische foto", "Afbeelding"],
        depts=["Dermatologie", "Plastische chirurgie", "Spoedeisende hulp", "Medische fotografie",
               "Orthopedie", "Brandwondencentrum", "Handchirurgie", "Vaatchirurgie", "Wondpoli",
               "Diabetische voet", "Afdeling 3", "Intensive care", "Archief", "Export", "Nieuwe map"],
        radiology=["X-thorax", "CT hersenen", "MRI knie", "Echo buik", "CT thorax abdomen met contrast",
                   "MRI lumbale wervelkolom", "X-hand", "CT sinussen", "MRI schouder", "X-enkel", "X-bekken",
                   "CTA halsvaten", "Botscan", "Echo weke delen bovenbeen"],
        everyday=["bord", "borstel", "hoofdkantoor", "getest", "openbaar", "privé", "persoonlijk", "kopie",
                  "proef", "test", "bestand", "map", "tijdelijk", "oud"],
    ),
}


def one(r, L):
    """One file name, folder name or description in the words of language L."""
    def clinical():
        parts = [r.choice(L["findings"]), r.choice(L["regions"]), r.choice(L["sides"]), r.choice(L["stages"])]
        if r.random() < 0.3:
            parts[0], parts[1] = parts[1], parts[0]
        if r.random() < 0.4:
            parts.append(benign_corpus.date(r))
        return " ".join(p for p in parts if p)

    k = r.random()
    if k < 0.3:  # a photo's file name
        s = r.choice([f"{r.choice(L['photo'])} {clinical()}", clinical().replace(" ", "_"),
                      f"{r.choice(benign_corpus.SURNAMES)}_{clinical()}", f"IMG_{benign_corpus.stamp(r)} {clinical()}"])
        s += r.choice(benign_corpus.EXT)
    elif k < 0.5:  # a folder
        y = r.randint(2012, 2025)
        s = r.choice([f"{r.choice(L['depts'])}/{y}", f"{r.choice(L['depts'])}/{r.choice(benign_corpus.SURNAMES)}",
                      f"{r.choice(L['depts'])}/{r.choice(L['everyday'])}", f"{r.choice(L['depts'])}/{y}/{r.choice(L['photo'])}"])
    elif k < 0.75:  # a radiology Study Description
        s = r.choice(L["radiology"])
        if r.random() < 0.5:
            s += " " + r.choice(L["sides"])
    elif k < 0.92:  # a photography Series Description
        s = f"{r.choice(L['photo'])} {clinical()}"
        s = s.upper() if r.random() < 0.5 else s
    else:  # everyday words near a body-part word
        s = f"{r.choice(L['everyday'])} {r.choice(L['stages'])} {benign_corpus.date(r)}"
    return " ".join(s.split())


def check(lines):
    """Reads each line as the vocabulary does (the longest known phrase at each word wins, so
    "face et profil" is not "face") and stops at a phrase classed intimate or face."""
    keys, classes = phrases(languages=True), sensitivity()
    longest = max(len(k.split(" ")) for k in keys)
    for s in lines:
        w, i = words(s), 0
        while i < len(w):
            for n in range(min(longest, len(w) - i), 0, -1):
                key = " ".join(w[i:i + n])
                if key in keys:
                    if keys[key] in classes:
                        sys.exit(f"benign_corpus_languages: {s!r} names {key!r}")
                    break
            else:
                n = 1
            i += n


def generate(lang, count=COUNT):
    """`count` unique benign strings of one language; the same every run."""
    out = benign_corpus.unique(lambda r: one(r, LANGUAGES[lang]), random.Random(f"{SEED}-{lang}"), count)
    check(out)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lang", choices=sorted(LANGUAGES))
    ap.add_argument("--out")
    a = ap.parse_args()
    benign_corpus.write([s for lang in LANGUAGES if a.lang in (None, lang) for s in generate(lang)], a.out)


if __name__ == "__main__":
    main()
