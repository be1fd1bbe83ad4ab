"""The socio-sport project (``sport_foot``, a street-football team): one KoboToolbox submission
of the form ``presence_activite`` per session (trainings twice a week, friendly matches,
tournaments), its repeat ``participants`` listing the players by surname, first name and birth
date (with the partner service who sent them), the volunteers and the workers.

Some players are persons of the network's exports (day centre, night shelter): their names and
birth date are written as one of those exports registered them, and a few with the sample's
usual spelling noise (a spelling variant, or day and month swapped) — so a part of them links
by names and birth dates and a part does not; the others are not in any export.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import pandas as pd

from observatoire.sample.fieldwork.common import at, new_submission, number_submissions
from observatoire.sample.fieldwork.kobo import (
    KoboForm,
    Question,
    Submission,
    kobo_date,
    kobo_workbook,
)
from observatoire.sample.identity_noise import spelling_variant
from observatoire.sample.names import draw_names

__all__ = ["PRESENCE_FORM", "SPORT_CODES", "sport_files"]

PROJECT = "sport_foot"
YEARS = (2023, 2024)
SPORT_CODES = ("entrainement", "tournoi", "sortie", "autre")
FORM_ACTIVITY_CHOICES = (
    "conseil", "sport", "culture", "atelier", "sortie", "entrainement", "tournoi", "autre",
)  # fmt: skip
TITLES = {
    "entrainement": ("", "Entraînement", "Entrainement", "Entraînement + repas"),
    "tournoi": ("Tournoi", "Tournoi de street foot", "Tournoi inter-services"),
    "sortie": ("Match au stade", "Sortie au stade"),
    "autre": ("Match amical", "Match amical", "Match contre les éducateurs"),
}
ROLES = ("locataire", "joueur", "volontaire", "travailleur", "autre")
SERVICES = (
    "abri_nuit", "accueil_jour", "maison_accueil", "urgence_sociale", "travail_rue",
    "housing_first", "autre",
)  # fmt: skip
VERSION = {2023: "2023.1", 2024: "2024.1"}


def presence_form(version: str) -> KoboForm:
    """The exported questions of ``presence_activite`` (the XLSForm of the coordination note)."""
    return KoboForm(
        "presence_activite",
        version,
        (
            Question("activite/date", "date"),
            Question("activite/type", "select_one", FORM_ACTIVITY_CHOICES),
            Question("activite/intitule", "text"),
            Question("activite/lieu", "text"),
            Question("activite/partenaire", "text"),
            Question("activite/duree", "decimal"),
        ),
        "participants",
        (
            Question("participants/nom", "text"),
            Question("participants/prenom", "text"),
            Question("participants/date_naissance", "date"),
            Question("participants/code", "text"),
            Question("participants/role", "select_one", ROLES),
            Question("participants/service", "select_one", SERVICES),
        ),
    )


PRESENCE_FORM = presence_form(VERSION[2024])
NETWORK_PLAYERS = 14
OTHER_PLAYERS = 22
NOISY_NETWORK_PLAYERS = 4  # of the network players: written with a variant or a swap
PLACES = {
    "entrainement": (("Hall omnisports de Meuse-Centre", "Club de futsal Meuse-Centre"),
                     ("Terrain synthétique du parc", "Service des sports de la Ville")),
    "autre": (("Terrain synthétique du parc", "Club de futsal Meuse-Centre"),),
    "tournoi": (("Complexe sportif de Liège", "Street Football Belgium"),
                ("Stade communal", "Fondation Roi Baudouin"),
                ("Hall omnisports de Meuse-Centre", "Ville de Meuse-Centre")),
    "sortie": (("Stade Maurice Dufrasne", "Club de football professionnel"),),
}  # fmt: skip
DURATION = {"entrainement": 1.5, "autre": 2.0, "tournoi": 6.0, "sortie": 3.0}
SEASON = (0.7, 0.8, 1.0, 1.0, 1.1, 1.1, 0.9, 0.6, 1.1, 1.0, 0.9, 0.7)
"""Players' presence propensity by month (winter and August lower)."""

_NON_LETTERS = re.compile(r"[^A-Z]")
NAME_COLUMNS = (
    ("Nom", "Prénom", "Date de naissance"),
    ("nom", "prenom", "date_naissance"),
    ("Nom", "Prénom", "Date naiss."),
    ("Nom de famille", "Prénom", "Né(e) le"),
)


def _norm(value: object) -> str:
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    return _NON_LETTERS.sub("", text.replace("Æ", "AE").replace("Œ", "OE"))


def _as_date(value: object) -> dt.date | None:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    try:
        if "/" in text:
            d, m, y = text.split("/")
            return dt.date(int(y), int(m), int(d))
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _export_identities(files: list) -> pd.DataFrame:
    """Every written (surname, first name, birth date) of the named exports, with the true
    person: the keys a name-and-birth-date linkage can match."""
    frames = []
    for f in files:
        if f.truth is None:
            continue
        for s, p, b in NAME_COLUMNS:
            if {s, p, b} <= set(f.table.columns):
                frames.append(
                    pd.DataFrame(
                        {
                            "partner": f.partner_id,
                            "year": f.year,
                            "surname": f.table[s].astype(str).to_numpy(),
                            "first_name": f.table[p].astype(str).to_numpy(),
                            "birth": f.table[b]
                            .map({v: _as_date(v) for v in f.table[b].unique()})
                            .to_numpy(),
                            "person": f.truth["true_person_id"].to_numpy(),
                        }
                    )
                )
                break
    return pd.concat(frames, ignore_index=True)


def _players(files: list, rng: np.random.Generator) -> list[dict]:
    all_ids = _export_identities(files)
    ids = all_ids[all_ids["birth"].notna() & all_ids["partner"].isin(["accueil_jour", "abri_nuit"])]
    recent = ids[ids["year"] >= YEARS[0]]
    persons = sorted(recent["person"].unique())
    chosen = sorted(rng.choice(np.array(persons, dtype=object), size=NETWORK_PLAYERS,
                               replace=False))  # fmt: skip
    players: list[dict] = []
    noisy = set(rng.choice(NETWORK_PLAYERS, size=NOISY_NETWORK_PLAYERS, replace=False).tolist())
    for k, person in enumerate(chosen):
        rows = recent[recent["person"] == person].sort_values(["partner", "surname"])
        row = rows.iloc[int(rng.integers(0, len(rows)))]
        surname, first, birth = str(row["surname"]), str(row["first_name"]), row["birth"]
        noise = ""
        if k in noisy:
            if birth.day <= 12 and birth.day != birth.month and rng.random() < 0.5:
                birth, noise = dt.date(birth.year, birth.day, birth.month), "jour_mois_inverses"
            else:
                surname, first = spelling_variant(surname, first, rng)
                noise = "variante_orthographe"
        players.append(
            {"surname": surname.title() if surname.isupper() else surname, "first_name": first,
             "birth": birth, "person": str(person), "service": str(row["partner"]),
             "noise": noise, "role": "joueur"}
        )  # fmt: skip
    origins = np.array(["BE", "MA", "CD", "AF", "ER", "RO", "FR"], dtype=object)
    country = rng.choice(origins, size=OTHER_PLAYERS + 4, p=[0.35, 0.2, 0.12, 0.1, 0.1, 0.08, 0.05])
    sex = np.array(["M"] * (OTHER_PLAYERS + 4), dtype=object)
    sex[rng.random(OTHER_PLAYERS + 4) < 0.12] = "F"
    surnames, firsts = draw_names(country, sex, rng)
    others = ("travail_rue", "housing_first", "maison_accueil", "urgence_sociale", "autre")
    for k in range(OTHER_PLAYERS + 4):
        age = int(rng.integers(19, 55)) if k < OTHER_PLAYERS else int(rng.integers(24, 60))
        birth = dt.date(2024 - age, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
        role = "joueur" if k < OTHER_PLAYERS else ("volontaire" if k < OTHER_PLAYERS + 2
                                                   else "travailleur")  # fmt: skip
        players.append(
            {"surname": str(surnames[k]), "first_name": str(firsts[k]), "birth": birth,
             "person": "", "noise": "", "role": role,
             "service": str(rng.choice(others)) if role == "joueur" else ""}
        )  # fmt: skip
    # Exact keys of the export rows born the same day as a player: who links by (surname,
    # first name, birth date).
    births = {p["birth"] for p in players}
    same_day = all_ids[all_ids["birth"].isin(births)]
    keys = {
        (_norm(s), _norm(f), b)
        for s, f, b in zip(same_day["surname"], same_day["first_name"], same_day["birth"],
                           strict=True)
    }  # fmt: skip
    for p in players:
        p["linkable"] = (_norm(p["surname"]), _norm(p["first_name"]), p["birth"]) in keys
    return players


def _sessions(year: int, rng: np.random.Generator) -> list[tuple[dt.date, str]]:
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        holiday = (
            (day.month == 8 and day.day <= 15)
            or (day.month == 12 and day.day >= 22)
            or (day.month == 1 and day.day <= 5)
        )
        if day.weekday() in (1, 3) and not holiday and rng.random() < 0.92:
            out.append((day, "entrainement"))
        if day.weekday() == 5 and not holiday:
            u = rng.random()
            if u < (0.22 if day.month in (4, 5, 6, 9) else 0.08):
                out.append((day, "tournoi"))
            elif u < 0.35:
                out.append((day, "autre"))
            elif u < 0.37:
                out.append((day, "sortie"))
        day += dt.timedelta(days=1)
    return out


def sport_files(
    files: list, rngs: dict[str, np.random.Generator]
) -> tuple[list[tuple[str, int, str, bytes, int]], dict]:
    """The Kobo exports of both years and the truth."""
    players = _players(files, rngs["players"])
    rng = rngs["attendance"]
    # Each player comes for a spell of months, with a presence propensity.
    months = [(y, m) for y in YEARS for m in range(1, 13)]
    for p in players:
        if p["role"] == "joueur":
            start = int(rng.integers(0, len(months) - 3))
            p["months"] = set(range(start, min(len(months), start + int(rng.integers(4, 20)))))
            p["propensity"] = float(rng.uniform(0.3, 0.8))
        else:
            p["months"] = set(range(len(months)))
            p["propensity"] = 0.6 if p["role"] == "volontaire" else 0.85
    out = []
    truth_sessions = {}
    for year in YEARS:
        form = presence_form(VERSION[year])
        subs: list[Submission] = []
        attend = 0
        for day, code in _sessions(year, rngs["sessions"]):
            month = months.index((year, day.month))
            place, partner = PLACES[code][int(rng.integers(0, len(PLACES[code])))]
            present = []
            for p in players:
                boost = 1.3 if code == "tournoi" else 1.0
                q = min(0.95, p["propensity"] * SEASON[day.month - 1] * boost)
                if month in p["months"] and rng.random() < q:
                    present.append(p)
            if not present:
                continue
            answers = {
                "activite/date": kobo_date(day),
                "activite/type": code,
                "activite/intitule": str(rng.choice(TITLES[code])) or None,
                "activite/lieu": place,
                "activite/partenaire": partner if rng.random() < 0.85 else "",
                "activite/duree": DURATION[code],
            }
            sub = new_submission(rng, answers, at(day, 20 if code == "entrainement" else 18,
                                                  int(rng.integers(0, 60))),
                                 float(rng.uniform(4, 15)), "foot_coach")  # fmt: skip
            sub.repeats = [
                {
                    "participants/nom": p["surname"],
                    "participants/prenom": p["first_name"],
                    "participants/date_naissance": kobo_date(p["birth"]),
                    "participants/code": None,
                    "participants/role": p["role"],
                    "participants/service": p["service"] or None,
                }
                for p in present
            ]
            attend += len(present)
            subs.append(sub)
        number_submissions(subs, 40_000_000 + 1_000_000 * (year - 2023), rng)
        stamp = dt.datetime(year + 1, 1, 15, 9, 0, 0)
        data = kobo_workbook(form, subs, stamp)
        out.append((f"{PROJECT}/presence_activite_{year}.xlsx", year,
                    f"{PROJECT}/activites", data, len(subs)))  # fmt: skip
        truth_sessions[str(year)] = {
            "sessions": len(subs),
            "by_type": {c: sum(1 for s in subs if s.answers["activite/type"] == c)
                        for c in SPORT_CODES},
            "attendances": attend,
            "participant_rows": attend,
        }  # fmt: skip
    seen = [p for p in players if p["role"] == "joueur"]
    truth = {
        "label": "Projet socio-sportif (équipe de football de rue)",
        "form": "presence_activite (KoboToolbox, feuille principale + répétition participants)",
        "sessions": truth_sessions,
        "players": {
            "total": len(seen),
            "network_persons": sum(1 for p in seen if p["person"]),
            "network_persons_with_noise": sum(1 for p in seen if p["noise"]),
            "linkable_by_names_birth_date": sum(1 for p in seen if p["linkable"]),
            "linkable_definition": "nom, prénom (majuscules, sans accents, lettres seules) et date "
            "de naissance identiques à ceux d'au moins une ligne d'un export nominatif de "
            "l'échantillon (abri_nuit, accueil_jour, urgence_sociale, maison_accueil, "
            "housing_first)",
            "volunteers": sum(1 for p in players if p["role"] == "volontaire"),
            "workers": sum(1 for p in players if p["role"] == "travailleur"),
            "list": [
                {
                    "true_person_id": p["person"],
                    "service": p["service"],
                    "noise": p["noise"],
                    "linkable": p["linkable"],
                    "role": p["role"],
                }
                for p in players
            ],  # fmt: skip
        },
    }
    return out, truth
