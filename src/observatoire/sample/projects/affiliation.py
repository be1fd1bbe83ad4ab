"""Social affiliation of Housing First tenants (project ``affiliation_hf``): the four HF teams'
spreadsheets — sessions (``activites_<Y>.xlsx``), attendance grids (``presences_<Y>.xlsx``),
individual follow-up log (``suivis_<Y>.xlsx``), tenants' council minutes (``conseil_2024.xlsx``)
— with the planted effects their analysis must find.

Tenants are the sample's Housing First tenants (their « Code locataire », entry and exit as the
export writes them), only while housed. Planted:

* **council effect**: the monthly number of distinct tenants taking part in non-council
  activities is ``sessions × BASE_RATE × season(month) × COUNCIL_EFFECT`` (the last factor from
  the council's first month on, 1 before), with a small log-normal noise — so the rate of
  distinct participants per session is ×``COUNCIL_EFFECT`` after the council starts, on top of
  a seasonality stated in the truth;
* **selection, no causal effect on housing**: who takes part is drawn with a weight growing
  with the tenant's tenure; housing outcomes come from the network simulation, drawn before and
  without participation;
* **affiliation**: each followed tenant's set of active domains at entry, 6 and 12 months is
  drawn (growing sets), and the follow-up log is written so that a domain is « active » at a
  time point exactly when the truth says (reached goals dated 20–40 days before the point);
* the activity names typed freely (variants, typos) and the marks of the grids.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from observatoire.sample.projects.sheets import (
    MONTHS_FR,
    Group,
    TableSheet,
    month_sheet_name,
    team_workbook,
)

__all__ = [
    "ACTIVITIES",
    "BASE_RATE",
    "COUNCIL_EFFECT",
    "COUNCIL_START",
    "DOMAINS",
    "SEASON",
    "TEAMS",
    "AffiliationOutput",
    "affiliation_files",
]

PROJECT = "affiliation_hf"
YEARS = (2023, 2024)
TEAMS = ("hf_nord", "hf_sud", "hf_est", "hf_ouest")
TEAM_TYPED = {
    "hf_nord": ("Nord", "HF Nord", "nord"),
    "hf_sud": ("Sud", "HF Sud", "sud"),
    "hf_est": ("Est", "HF Est", "est"),
    "hf_ouest": ("Ouest", "HF Ouest", "ouest"),
}
COUNCIL_START = dt.date(2024, 3, 1)
COUNCIL_EFFECT = 1.5
BASE_RATE = 1.8
"""Distinct participants per non-council session (season factor 1, before the council)."""
SEASON = (0.9, 0.9, 1.0, 1.0, 1.1, 1.15, 1.2, 1.05, 1.05, 1.0, 0.9, 0.85)
"""Seasonal factor of the rate of distinct participants per session, January to December."""
SESSIONS = (4, 4, 5, 5, 6, 6, 5, 3, 5, 5, 5, 4)
"""Non-council sessions a month (plus 0 or 1)."""
NOISE_SD = 0.05
SESSIONS_PER_PARTICIPANT = 0.6  # extra sessions of a participant in a month: Poisson(0.6)

# Sub-activities: canonical code, typed names (weights), duration, place, partner.
ACTIVITIES: dict[str, tuple[str, tuple[tuple[str, float], ...], float, str, str]] = {
    "foot_salle": ("sport", (("Foot en salle", 6), ("Mini-foot", 2), ("foot en salle", 2),
                             ("Foot en sale", 1)), 1.5,
                   "Hall omnisports de Meuse-Centre", "Club de futsal Meuse-Centre"),
    "piscine": ("sport", (("Piscine", 6), ("Natation", 2), ("Piscinne", 1)), 1.5,
                "Piscine communale", "Service des sports de la Ville"),
    "marche": ("sport", (("Marche nordique", 5), ("Balade sportive", 2)), 2.0,
               "Parc de la Citadelle", "Maison de quartier Saint-Servais"),
    "musee": ("culture", (("Visite musée", 5), ("Musée", 2), ("Visite du musée", 2),
                          ("Visite muse", 1)), 2.5, "Musée des Arts anciens", "Article 27"),
    "cinema": ("culture", (("Cinéma", 5), ("Ciné", 3), ("Cinema", 2)), 2.5,
               "Cinéma Caméo", "Article 27"),
    "theatre": ("culture", (("Théâtre", 5), ("Theatre", 2), ("Spectacle", 2)), 3.0,
                "Théâtre royal", "Article 27"),
    "cuisine": ("atelier", (("Atelier cuisine", 6), ("Cuisine", 2), ("atelier cuisine", 2),
                            ("Atelier cuisin", 1)), 2.0,
                "Maison de quartier Saint-Servais", "Maison de quartier Saint-Servais"),
    "peinture": ("atelier", (("Atelier peinture", 5), ("Peinture", 2),
                             ("Atelier dessin/peinture", 1)), 2.0,
                 "Centre culturel", "Centre culturel de Meuse-Centre"),
    "ecriture": ("atelier", (("Atelier d'écriture", 5), ("Atelier écriture", 2),
                             ("Ecriture", 1)), 2.0,
                 "Bibliothèque communale", "Bibliothèque communale"),
    "mer": ("sortie", (("Sortie à la mer", 5), ("Journée à la mer", 2), ("Sortie mer", 2)), 8.0,
            "Ostende", ""),
    "nature": ("sortie", (("Sortie nature", 4), ("Balade en forêt", 2), ("Excursion", 2)), 6.0,
               "Forêt domaniale", "Maison de la nature"),
    "repas": ("autre", (("Repas partagé", 5), ("Repas", 2), ("Auberge espagnole", 1)), 3.0,
              "Local de l'équipe", ""),
    "fete": ("autre", (("Fête de quartier", 4), ("Barbecue", 3), ("Fete des voisins", 1)), 4.0,
             "Place du quartier", "Comité de quartier"),
}  # fmt: skip
COUNCIL_TYPED = (
    ("Conseil des locataires", 6), ("Conseil locataires", 2), ("CONSEIL", 1),
    ("Conseil des locataire", 1), ("Conseil", 1),
)  # fmt: skip
KIND_P = {
    "foot_salle": 0.14, "piscine": 0.08, "marche": 0.07, "musee": 0.07, "cinema": 0.1,
    "theatre": 0.05, "cuisine": 0.14, "peinture": 0.07, "ecriture": 0.05, "mer": 0.04,
    "nature": 0.07, "repas": 0.08, "fete": 0.04,
}  # fmt: skip
SUMMER_ONLY = ("mer", "fete")

DOMAINS = (
    "culture", "sport", "communautaire", "famille", "formation_emploi", "sante_bien_etre",
    "citoyennete", "logement_appropriation",
)  # fmt: skip
DOMAIN_TYPED = {
    "culture": "Culture", "sport": "Sport", "communautaire": "Communautaire",
    "famille": "Famille", "formation_emploi": "Formation / emploi",
    "sante_bien_etre": "Santé / bien-être", "citoyennete": "Citoyenneté",
    "logement_appropriation": "Logement (appropriation)",
}  # fmt: skip
DOMAIN_WEIGHT = (1.0, 1.0, 1.0, 0.7, 0.6, 1.1, 0.4, 1.3)
PLACES = {
    "culture": ("Bibliothèque communale", "Centre culturel", "Article 27 (tickets)"),
    "sport": ("Club de foot de Jambes", "Piscine communale", "Club de marche nordique"),
    "communautaire": ("Maison de quartier Saint-Servais", "Restaurant social", "Potager collectif"),
    "famille": ("Rencontre avec la famille", "Espace-rencontre parents-enfants"),
    "formation_emploi": ("CPAS – cellule emploi", "École de promotion sociale", "Le Forem"),
    "sante_bien_etre": ("Maison médicale", "Groupe de parole", "Atelier bien-être"),
    "citoyennete": ("Comité de quartier", "Conseil consultatif", "Bénévolat à la Croix-Rouge"),
    "logement_appropriation": ("Domicile", "Atelier bricolage", "Ressourcerie"),
}  # fmt: skip
CONTACT_TYPED = {
    "visite_domicile": ("Visite à domicile", "VAD", "visite domicile"),
    "entretien": ("Entretien", "Entretien bureau"),
    "accompagnement_exterieur": ("Accompagnement", "Accompagnement extérieur"),
    "telephone": ("Téléphone", "Tél.", "Appel"),
    "autre": ("Autre",),
}
CONTACT_P = {"visite_domicile": 0.45, "entretien": 0.15, "accompagnement_exterieur": 0.15,
             "telephone": 0.2, "autre": 0.05}  # fmt: skip
ENTRY_SCORE_P = (0.35, 0.35, 0.2, 0.1)  # 0, 1, 2, 3 domains at entry
GAIN_6_P = (0.3, 0.5, 0.2)  # 0, 1, 2 more domains at 6 months
GAIN_12_P = (0.4, 0.45, 0.15)  # 0, 1, 2 more domains at 12 months (after 6)
SIX_MONTHS, TWELVE_MONTHS = 182, 365
BAND = (20, 40)  # reached goals of a time point: 20 to 40 days before it

THEMES = {
    "activite": ("Activité", ("Organiser un tournoi de pétanque", "Sortie au zoo",
                              "Atelier musique le samedi", "Cours de cuisine du monde")),
    "cadre_de_vie": ("Cadre de vie", ("Bancs devant l'immeuble", "Éclairage du parking",
                                      "Local vélos sécurisé", "Potager dans la cour")),
    "reglement": ("Règlement", ("Charte du conseil", "Horaires du local commun",
                                "Règles des animaux dans les parties communes")),
    "partenariat": ("Partenariat", ("Tickets Article 27 pour le théâtre", "Accès au club de foot",
                                    "Cours au centre culturel")),
    "autre": ("Autre", ("Journal des locataires", "Boîte à idées")),
}  # fmt: skip
THEME_P = (0.4, 0.25, 0.1, 0.2, 0.05)
OUTCOMES = {"realisee": "Réalisée", "en_cours": "En cours", "refusee": "Refusée",
            "abandonnee": "Abandonnée"}  # fmt: skip
MARKS = (("x", 0.85), ("X", 0.12), ("P", 0.03))
ROLE_TYPED = (("Locataire", 0.9), ("locataire", 0.07), ("Loc.", 0.03))
NOTES = {
    "visite_domicile": ("Visite au logement, échange sur le quotidien", "Passage au domicile",
                        "Aide au rangement du logement"),
    "entretien": ("Point sur les projets", "Bilan des objectifs", "Entretien de suivi"),
    "accompagnement_exterieur": ("Accompagnement sur place", "Première visite du lieu",
                                 "Accompagnement en bus"),
    "telephone": ("Appel de suivi", "Rappel du rendez-vous"),
    "autre": ("Rencontre fortuite au marché",),
}  # fmt: skip


def _month_starts() -> list[dt.date]:
    return [dt.date(y, m, 1) for y in YEARS for m in range(1, 13)]


def _month_end(first: dt.date) -> dt.date:
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _typed(options: tuple[tuple[str, float], ...], rng: np.random.Generator) -> str:
    weights = np.array([w for _, w in options], dtype=float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


@dataclass(frozen=True)
class Session:
    date: dt.date
    kind: str  # sub-activity key, or "conseil"
    code: str
    typed: str


@dataclass
class AffiliationOutput:
    """The project's workbooks (name → bytes, per year) and its truth."""

    files: list[tuple[str, int, str, bytes, int]]  # relative path, year, export, data, rows
    truth: dict


class _Tenants:
    """The HF tenants with their code, team, entry, exit and true person id (read only)."""

    def __init__(self, tenants: pd.DataFrame, rng: np.random.Generator) -> None:
        self.table = tenants.sort_values("code", kind="stable").reset_index(drop=True)
        self.table["team"] = rng.choice(np.array(TEAMS, dtype=object), size=len(self.table))
        self.end = dt.date(YEARS[-1], 12, 31)

    def housed(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        """Tenants housed every day from ``first`` to ``last``."""
        t = self.table
        ok = (t["entry"] <= first) & t["exit"].map(lambda x: x is None or x >= last)
        return t[ok.to_numpy(dtype=bool)]

    def housed_any(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        """Tenants housed on at least one day from ``first`` to ``last``."""
        t = self.table
        ok = (t["entry"] <= last) & t["exit"].map(lambda x: x is None or x >= first)
        return t[ok.to_numpy(dtype=bool)]


def _weights(tenants: pd.DataFrame, day: dt.date) -> np.ndarray:
    """Participation weight growing with tenure (the planted selection)."""
    years = np.array([(day - e).days / 365.25 for e in tenants["entry"]], dtype=float)
    return 0.3 + np.minimum(np.maximum(years, 0), 3.0) / 3.0


def _sessions(rng: np.random.Generator) -> list[Session]:
    """Non-council sessions of every month, and the council from its first month on."""
    kinds = list(KIND_P)
    out: list[Session] = []
    for first in _month_starts():
        n = SESSIONS[first.month - 1] + int(rng.integers(0, 2))
        last = _month_end(first)
        p = np.array([0 if k in SUMMER_ONLY and first.month not in (6, 7, 8) else KIND_P[k]
                      for k in kinds])  # fmt: skip
        used: set[tuple[dt.date, str]] = set()
        month: list[Session] = []
        while len(month) < n:
            kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
            code = ACTIVITIES[kind][0]
            day = first + dt.timedelta(days=int(rng.integers(0, last.day)))
            if day.weekday() == 6 or (day, code) in used:
                continue
            used.add((day, code))
            month.append(Session(day, kind, code, _typed(ACTIVITIES[kind][1], rng)))
        if first >= COUNCIL_START:
            # Second Thursday of the month.
            day = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 7)
            month.append(Session(day, "conseil", "conseil", _typed(COUNCIL_TYPED, rng)))
        out += sorted(month, key=lambda s: (s.date, s.code))
    return out


def _attendance(
    tenants: _Tenants, sessions: list[Session], rng: np.random.Generator
) -> tuple[dict[int, list[str]], list[dict]]:
    """Attendance per session (tenant codes) and the monthly planted counts."""
    by_session: dict[int, list[str]] = {k: [] for k in range(len(sessions))}
    monthly = []
    council_core: list[str] = []
    for first in _month_starts():
        last = _month_end(first)
        pool = tenants.housed(first, last)
        idx = [k for k, s in enumerate(sessions) if first <= s.date <= last]
        regular = [k for k in idx if sessions[k].code != "conseil"]
        council = [k for k in idx if sessions[k].code == "conseil"]
        after = first >= COUNCIL_START
        expected = (
            len(regular) * BASE_RATE * SEASON[first.month - 1] * (COUNCIL_EFFECT if after else 1.0)
        )
        drawn = int(round(expected * float(np.exp(rng.normal(0.0, NOISE_SD)))))
        distinct = min(drawn, len(pool))
        codes = pool["code"].to_numpy(dtype=object)
        w = _weights(pool, first)
        chosen = (
            rng.choice(len(pool), size=distinct, replace=False, p=w / w.sum()) if distinct else []
        )
        for c in sorted(int(i) for i in chosen):
            k = min(len(regular), 1 + int(rng.poisson(SESSIONS_PER_PARTICIPANT)))
            for s in rng.choice(regular, size=k, replace=False):
                by_session[int(s)].append(codes[c])
        if council:
            if not council_core:
                cw = _weights(pool, first) ** 2
                core = rng.choice(len(pool), size=min(6, len(pool)), replace=False, p=cw / cw.sum())
                council_core = sorted(codes[int(i)] for i in core)
            present = [c for c in council_core if c in set(codes) and rng.random() < 0.8]
            others = [c for c in codes if c not in council_core]
            extra = int(rng.integers(0, 3))
            if others and extra:
                pick = rng.choice(
                    np.array(others, dtype=object), size=min(extra, len(others)), replace=False
                )
                present += list(pick)
            by_session[council[0]] = sorted(present)
        monthly.append(
            {
                "month": f"{first:%Y-%m}",
                "sessions_non_conseil": len(regular),
                "season": SEASON[first.month - 1],
                "council_factor": COUNCIL_EFFECT if after else 1.0,
                "expected_distinct": round(expected, 3),
                "distinct_participants": distinct,
                "capped_by_pool": drawn > len(pool),
                "tenants_housed_all_month": len(pool),
            }
        )
    for k in by_session:
        by_session[k] = sorted(by_session[k])
    return by_session, monthly


def _activity_sheets(
    sessions: list[Session], attendance: dict[int, list[str]], year: int, rng: np.random.Generator
) -> list[TableSheet]:
    groups = (
        Group("Activité", ("Date", "Intitulé", "Durée (h)")),
        Group("Partenariat", ("Lieu", "Partenaire")),
        Group("Participation", ("Équipe(s)", "Nb participants")),
        Group("", ("Remarques",)),
    )
    sheets = []
    for month in range(1, 13):
        rows: list[list[object] | None] = []
        for k, s in enumerate(sessions):
            if s.date.year != year or s.date.month != month:
                continue
            if s.kind == "conseil":
                duration, place, partner = 2.0, "Local commun", ""
            else:
                _, _, duration, place, partner = ACTIVITIES[s.kind]
            team = (
                "Toutes"
                if rng.random() < 0.6
                else str(TEAM_TYPED[TEAMS[int(rng.integers(0, 4))]][1])
            )
            remark = "" if rng.random() < 0.8 else str(
                rng.choice(["Bonne ambiance", "Annulé puis reporté", "Météo difficile",
                            "Nouveaux venus", "Transport en minibus"]))  # fmt: skip
            rows.append([s.date, s.typed, duration, place, partner, team,
                         len(attendance[k]), remark])  # fmt: skip
            if rng.random() < 0.08:
                rows.append(None)
        style = "long" if year == 2023 else "short"
        sheets.append(
            TableSheet(
                month_sheet_name(year, month, style),
                (
                    f"Affiliation sociale – activités {MONTHS_FR[month - 1].lower()} {year}",
                    "Une ligne par activité (séance). Équipes Housing First Nord, Sud, Est, Ouest.",
                ),
                groups,
                rows,
                widths={2: 26, 4: 30, 5: 30, 8: 24},
            )  # fmt: skip
        )
    return sheets


def _grid_writer(
    year: int,
    month: int,
    sessions: list[Session],
    attendance: dict[int, list[str]],
    tenants: _Tenants,
    rng: np.random.Generator,
    counts: Counter,
    typed_codes: dict[str, str],
) -> Callable[[Worksheet], None]:
    first = dt.date(year, month, 1)
    last = _month_end(first)
    idx = [k for k, s in enumerate(sessions) if first <= s.date <= last]
    # Columns grouped by sub-activity (the top header typed once per group), then by date.
    idx.sort(key=lambda k: (sessions[k].kind, sessions[k].date))
    tops: dict[str, str] = {}
    for k in idx:
        kind = sessions[k].kind
        if kind not in tops:
            tops[kind] = sessions[k].typed
    people = tenants.housed_any(first, last)["code"].tolist()
    marks = {(code, k) for k in idx for code in attendance[k]}

    def write(ws: Worksheet) -> None:
        bold = Font(bold=True)
        ws.cell(row=1, column=1, value=f"Présences – {MONTHS_FR[month - 1]} {year}").font = Font(
            bold=True, size=13
        )
        ws.cell(row=2, column=1, value="Cocher x quand la personne était présente")
        ws.cell(row=4, column=1, value="Code locataire").font = bold
        ws.cell(row=4, column=2, value="Rôle").font = bold
        col = 3
        start = col
        for j, k in enumerate(idx):
            kind = sessions[k].kind
            if j == 0 or sessions[idx[j - 1]].kind != kind:
                start = col
                top = ws.cell(row=3, column=col, value=tops[kind])
                top.font = bold
                top.alignment = Alignment(horizontal="center")
            if (j == len(idx) - 1 or sessions[idx[j + 1]].kind != kind) and col > start:
                ws.merge_cells(start_row=3, start_column=start, end_row=3, end_column=col)
            date = ws.cell(row=4, column=col, value=sessions[k].date)
            date.number_format = "DD/MM"
            col += 1
        row = 5
        for code in people:
            written = typed_codes.get(code, code)
            ws.cell(row=row, column=1, value=written)
            ws.cell(row=row, column=2, value=_typed(ROLE_TYPED, rng))
            for j, k in enumerate(idx):
                if (code, k) in marks:
                    mark = _typed(MARKS, rng)
                    counts[mark] += 1
                elif rng.random() < 0.012:
                    mark = "?" if rng.random() < 0.5 else "A"
                    counts[mark] += 1
                else:
                    continue
                ws.cell(row=row, column=3 + j, value=mark)
            row += 1
            if rng.random() < 0.03:
                row += 1  # an empty row left by the team

    return write


def _followups(
    tenants: _Tenants, rng: np.random.Generator
) -> tuple[list[list[object]], list[dict]]:
    """Follow-up log rows (date first) and each followed tenant's planted scores."""
    rows: list[list[object]] = []
    truth = []
    start, end_all = dt.date(YEARS[0], 1, 1), dt.date(YEARS[-1], 12, 31)
    p_dom = np.array(DOMAIN_WEIGHT) / sum(DOMAIN_WEIGHT)
    for t in tenants.table.itertuples(index=False):
        stop = min(t.exit, end_all) if t.exit is not None else end_all
        if stop < start or t.entry > end_all:
            continue
        d0 = max(t.entry, start) + dt.timedelta(days=int(rng.integers(3, 26)))
        if d0 > stop:
            continue
        team = str(t.team)
        k0 = int(rng.choice(4, p=ENTRY_SCORE_P))
        k6 = min(8, k0 + int(rng.choice(3, p=GAIN_6_P)))
        k12 = min(8, k6 + int(rng.choice(3, p=GAIN_12_P)))
        order = [DOMAINS[int(i)] for i in rng.choice(8, size=8, replace=False, p=p_dom)]
        sets = {"entree": order[:k0], "6_mois": order[:k6], "12_mois": order[:k12]}
        points = {"entree": d0, "6_mois": d0 + dt.timedelta(days=SIX_MONTHS),
                  "12_mois": d0 + dt.timedelta(days=TWELVE_MONTHS)}  # fmt: skip
        place = {d: str(rng.choice(PLACES[d])) for d in DOMAINS}

        def add(
            day: dt.date,
            kind: str,
            domain: str,
            goal_set: str,
            reached: str,
            code: str = str(t.code),
            team: str = team,
            place: dict = place,
        ) -> None:
            note = "" if rng.random() < 0.3 else str(rng.choice(NOTES[kind]))
            rows.append(
                [day, code, str(rng.choice(TEAM_TYPED[team])), str(rng.choice(CONTACT_TYPED[kind])),
                 DOMAIN_TYPED.get(domain, ""), place.get(domain, "") if domain else "", goal_set,
                 reached, note]
            )  # fmt: skip

        # Entry: the first interview states the places of affiliation already there.
        if sets["entree"]:
            for d in sets["entree"]:
                add(d0, "entretien", d, "", "oui")
        else:
            add(d0, "entretien", "", "", "")
        reached_days: list[dt.date] = [d0]
        # Bands: the domains active at 6 and 12 months reached 20–40 days before the point.
        for point in ("6_mois", "12_mois"):
            when = points[point]
            for d in sets[point]:
                day = when - dt.timedelta(days=int(rng.integers(BAND[0], BAND[1] + 1)))
                if day <= stop:
                    add(day, "accompagnement_exterieur", d, "oui", "oui")
                    reached_days.append(day)
        # Goals set for the new domains, not yet reached, well before their band.
        for before, after, lo in (("entree", "6_mois", 15), ("6_mois", "12_mois", SIX_MONTHS + 15)):
            for d in sets[after]:
                if d in sets[before]:
                    continue
                day = d0 + dt.timedelta(days=int(rng.integers(lo, lo + 60)))
                if day <= stop:
                    add(day, "entretien", d, "oui", "non")
        # After 12 months: the active domains confirmed every three months or so.
        day = points["12_mois"] + dt.timedelta(days=int(rng.integers(30, 60)))
        while day <= stop:
            for d in sets["12_mois"]:
                add(day, "visite_domicile", d, "", "oui")
            day += dt.timedelta(days=int(rng.integers(80, 100)))
        # Routine contacts: no domain, no goal (about 1.5 a month).
        day = d0 + dt.timedelta(days=int(rng.integers(5, 20)))
        while day <= stop:
            kind = str(rng.choice(list(CONTACT_P), p=list(CONTACT_P.values())))
            add(day, kind, "", "", "")
            day += dt.timedelta(days=int(rng.integers(10, 30)))
        observable = {p: points[p] <= stop for p in points}
        truth.append(
            {
                "code": str(t.code),
                "team": team,
                "true_person_id": str(t.person),
                "first_followup": d0.isoformat(),
                "housing_exit": t.exit.isoformat() if t.exit is not None else None,
                "points": {p: points[p].isoformat() for p in points},
                "observable": observable,
                "score": {p: (len(sets[p]) if observable[p] else None) for p in points},
                "domains": {p: (sorted(sets[p]) if observable[p] else None) for p in points},
            }
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows, truth


def _followup_sheets(rows: list[list[object]], year: int, rng: np.random.Generator) -> list:
    groups = (
        Group("Locataire", ("Code", "Équipe")),
        Group("Contact", ("Date", "Type")),
        Group("Affiliation", ("Domaine", "Lieu")),
        Group("Objectif", ("Fixé", "Atteint")),
        Group("", ("Remarques",)),
    )
    sheets = []
    for month in range(1, 13):
        out: list[list[object] | None] = []
        for day, code, team, kind, domain, place, goal_set, reached, note in rows:
            if day.year == year and day.month == month:
                out.append([code, team, day, kind, domain, place, goal_set, reached, note])
                if rng.random() < 0.01:
                    out.append(None)
        name = month_sheet_name(year, month, "long" if year == 2023 else "short")
        if month in (6, 7, 8) and year == 2024:
            name = MONTHS_FR[month - 1] + " 24"
        sheets.append(
            TableSheet(
                name,
                (
                    f"Suivis individuels – {MONTHS_FR[month - 1]} {year}",
                    "Une ligne par contact. Objectif : oui / non.",
                ),
                groups,
                out,
                widths={4: 22, 5: 22, 6: 30, 9: 40},
            )  # fmt: skip
        )
    return sheets


def _council_sheet(sessions: list[Session], rng: np.random.Generator) -> tuple[TableSheet, dict]:
    groups = (
        Group("Conseil", ("Date", "N°")),
        Group("Proposition", ("Thème", "Texte")),
        Group("Suite", ("Décision", "Date")),
    )
    themes = list(THEMES)
    rows: list[list[object] | None] = []
    counts: dict[str, dict[str, int]] = {t: dict.fromkeys(OUTCOMES, 0) for t in themes}
    number = 0
    dates = [s.date for s in sessions if s.code == "conseil"]
    for day in dates:
        for _ in range(int(rng.integers(2, 5))):
            number += 1
            theme = themes[int(rng.choice(len(themes), p=THEME_P))]
            label, texts = THEMES[theme]
            age = (dt.date(2024, 12, 31) - day).days
            p = [0.5, 0.2, 0.2, 0.1] if age > 90 else [0.15, 0.75, 0.05, 0.05]
            outcome = list(OUTCOMES)[int(rng.choice(4, p=p))]
            done = None
            if outcome != "en_cours":
                done = min(
                    day + dt.timedelta(days=int(rng.integers(20, 120))), dt.date(2024, 12, 31)
                )
            counts[theme][outcome] += 1
            rows.append([day, f"P{number:02d}", label, str(rng.choice(texts)),
                         OUTCOMES[outcome], done])  # fmt: skip
    sheet = TableSheet(
        "Propositions",
        ("Conseil des locataires – propositions et suites 2024",
         "Une ligne par proposition ; la suite est mise à jour à chaque conseil."),
        groups, rows, widths={3: 14, 4: 44, 5: 14},
    )  # fmt: skip
    return sheet, {"proposals": number, "by_theme_outcome": counts}


GUIDE_ACTIVITIES = (
    "Mode d'emploi – tableau des activités",
    "Une feuille par mois. Une ligne par séance d'activité.",
    "Intitulé : le nom de l'activité, comme vous l'appelez (ex. Foot en salle, Atelier cuisine).",
    "Nb participants : le nombre de personnes présentes (voir le tableau des présences).",
    "Ne pas mettre de nom de locataire dans les remarques.",
)
GUIDE_GRID = (
    "Mode d'emploi – présences",
    "Une feuille par mois. Une ligne par locataire (code Housing First), une colonne par séance.",
    "Ligne 3 : l'activité (cellules fusionnées sur ses dates) ; ligne 4 : la date.",
    "Mettre x si la personne était présente. ? = pas sûr, A = absent excusé (non compté).",
)
GUIDE_FOLLOWUP = (
    "Mode d'emploi – suivis individuels",
    "Une feuille par mois, une ligne par contact avec un locataire (code Housing First).",
    "Domaine : culture, sport, communautaire, famille, formation / emploi, santé / bien-être, "
    "citoyenneté, logement (appropriation).",
    "Objectif fixé / atteint : oui ou non. Remarques : jamais de nom ni d'adresse.",
)
GUIDE_COUNCIL = (
    "Mode d'emploi – conseil des locataires",
    "Une ligne par proposition faite en conseil. Décision : Réalisée, En cours, Refusée, "
    "Abandonnée.",
)


def affiliation_files(
    tenants_table: pd.DataFrame, rngs: dict[str, np.random.Generator]
) -> AffiliationOutput:
    """The project's workbooks and truth, from the HF tenants (``code``, ``entry``, ``exit``,
    ``exit_reason``, ``person``) and the project's own streams."""
    tenants = _Tenants(tenants_table, rngs["teams"])
    sessions = _sessions(rngs["sessions"])
    attendance, monthly = _attendance(tenants, sessions, rngs["attendance"])
    typing = rngs["typing"]
    # A few codes typed in lower case or with a space (still the same tenant once normalised).
    typed_codes = {}
    for code in tenants.table["code"]:
        u = typing.random()
        if u < 0.03:
            typed_codes[code] = code.lower()
        elif u < 0.05:
            typed_codes[code] = code + " "
    files = []
    marks: Counter = Counter()
    follow_rows, affil_truth = _followups(tenants, rngs["followups"])
    council_sheet, council_truth = _council_sheet(sessions, rngs["council"])
    for year in YEARS:
        stamp = dt.datetime(year + 1, 1, 12, 10, 0, 0)
        author = "Coordination Housing First"
        sheets = _activity_sheets(sessions, attendance, year, typing)
        n = sum(1 for s in sessions if s.date.year == year)
        data = team_workbook(GUIDE_ACTIVITIES, sheets, author, stamp)
        files.append((f"{PROJECT}/activites_{year}.xlsx", year, f"{PROJECT}/activites", data, n))
        grid_sheets = []
        for month in range(1, 13):
            style = "long" if year == 2023 else ("short" if month % 4 else "iso")
            name = month_sheet_name(year, month, style)
            writer = _grid_writer(year, month, sessions, attendance, tenants, typing, marks,
                                  typed_codes)  # fmt: skip
            grid_sheets.append((name, writer))
        data = team_workbook(GUIDE_GRID, grid_sheets, author, stamp)
        n = sum(len(attendance[k]) for k, s in enumerate(sessions) if s.date.year == year)
        files.append((f"{PROJECT}/presences_{year}.xlsx", year, f"{PROJECT}/presences", data, n))
        data = team_workbook(GUIDE_FOLLOWUP, _followup_sheets(follow_rows, year, typing), author,
                             stamp)  # fmt: skip
        n = sum(1 for r in follow_rows if r[0].year == year)
        files.append((f"{PROJECT}/suivis_{year}.xlsx", year, f"{PROJECT}/suivis", data, n))
        if year == 2024:
            data = team_workbook(GUIDE_COUNCIL, [council_sheet], author, stamp)
            files.append((f"{PROJECT}/conseil_{year}.xlsx", year, f"{PROJECT}/conseil", data,
                          council_truth["proposals"]))  # fmt: skip
    truth = _truth(sessions, attendance, monthly, tenants, affil_truth, council_truth, marks,
                   typed_codes)  # fmt: skip
    return AffiliationOutput(files, truth)


def _truth(
    sessions: list[Session],
    attendance: dict[int, list[str]],
    monthly: list[dict],
    tenants: _Tenants,
    affil: list[dict],
    council: dict,
    marks: Counter,
    typed_codes: dict[str, str],
) -> dict:
    m = pd.DataFrame(monthly)
    after = m["council_factor"] > 1
    adj = m["distinct_participants"] / m["season"]

    def rate(sel: pd.Series, values: pd.Series) -> float:
        return float(values[sel].sum() / m.loc[sel, "sessions_non_conseil"].sum())

    variants: dict[str, dict[str, int]] = {}
    for s in sessions:
        variants.setdefault(s.code, {})
        variants[s.code][s.typed] = variants[s.code].get(s.typed, 0) + 1
    participants: dict[str, set[str]] = {str(y): set() for y in YEARS}
    for k, s in enumerate(sessions):
        participants[str(s.date.year)].update(attendance[k])
    council_sessions = [(s.date.isoformat(), len(attendance[k]))
                        for k, s in enumerate(sessions) if s.code == "conseil"]  # fmt: skip
    # Tenure at the end of 2024 (or at exit), for participants and others (the selection).
    table = tenants.housed_any(dt.date(YEARS[0], 1, 1), dt.date(YEARS[-1], 12, 31))
    ever = set().union(*participants.values())
    tenure = {}
    for group, sel in (("participants", table["code"].isin(ever)),
                       ("non_participants", ~table["code"].isin(ever))):  # fmt: skip
        sub = table[sel.to_numpy(dtype=bool)]
        days = [((x if x is not None else dt.date(YEARS[-1], 12, 31)) - e).days
                for e, x in zip(sub["entry"], sub["exit"], strict=True)]  # fmt: skip
        exits = int(sum(x is not None and x <= dt.date(YEARS[-1], 12, 31) for x in sub["exit"]))
        tenure[group] = {
            "tenants": int(len(sub)),
            "tenure_days_median": float(np.median(days)) if days else None,
            "tenure_days_mean": round(float(np.mean(days)), 1) if days else None,
            "exits_by_end_2024": exits,
        }
    scores = pd.DataFrame([{**{f"score_{p}": a["score"][p] for p in a["score"]}} for a in affil])
    paired12 = scores.dropna(subset=["score_entree", "score_12_mois"])
    paired6 = scores.dropna(subset=["score_entree", "score_6_mois"])
    return {
        "label": "Affiliation sociale des locataires Housing First",
        "teams": list(TEAMS),
        "effet_conseil": {
            "estimand": "rapport du taux de participants distincts par séance dans les activités "
            "autres que le conseil (nombre mensuel de locataires distincts présents à au moins une "
            "séance non-conseil ÷ nombre de séances non-conseil du mois), après (mois ≥ 2024-03) "
            "sur avant, à saisonnalité égale (facteur mensuel « season »)",
            "planted_ratio": COUNCIL_EFFECT,
            "council_start": f"{COUNCIL_START:%Y-%m}",
            "base_rate_per_session": BASE_RATE,
            "season": dict(zip([f"{k:02d}" for k in range(1, 13)], SEASON, strict=True)),
            "noise": f"log-normal, écart-type {NOISE_SD} (sur le log du nombre attendu)",
            "trend": "aucune (le taux par séance ne dépend pas du temps hors saison et conseil)",
            "realised_ratio_season_adjusted": round(rate(after, adj) / rate(~after, adj), 4),
            "realised_ratio_naive": round(
                rate(after, m["distinct_participants"]) / rate(~after, m["distinct_participants"]),
                4,
            ),
            "months_capped_by_pool": int(m["capped_by_pool"].sum()),
            "monthly": monthly,
        },
        "conseil": {
            "activity_code": "conseil",
            "sessions": council_sessions,
            "core_members": 6,
            "proposals": council,
        },
        "participants_hf": {
            "codes_per_year": {y: sorted(v) for y, v in participants.items()},
            "per_year": {y: len(v) for y, v in participants.items()},
            "attendances_per_year": {
                str(y): sum(len(attendance[k]) for k, s in enumerate(sessions) if s.date.year == y)
                for y in YEARS
            },
            "sessions_per_year": {
                str(y): {
                    c: sum(1 for s in sessions if s.date.year == y and s.code == c)
                    for c in sorted({s.code for s in sessions})
                }
                for y in YEARS
            },  # fmt: skip
        },
        "issues_logement": {
            "causal_effect_planted": 0,
            "note": "Aucun effet causal planté de la participation sur le maintien en logement ou "
            "les retours : les entrées et sorties de logement viennent de la simulation du réseau, "
            "tirées avant et sans la participation. Sélection plantée : la probabilité de "
            "participer croît avec l'ancienneté dans le logement (poids 0,3 + min(ancienneté en "
            "années, 3)/3), et seuls les locataires logés participent — toute différence observée "
            "entre participants et non-participants est de la sélection.",
            "tenure": tenure,
        },
        "affiliation": {
            "definition": "score = nombre de domaines distincts (0–8) ayant une ligne de suivi "
            "avec ce domaine et objectif atteint « oui » dans les 90 jours jusqu'au point ; "
            "points : "
            f"entrée = premier suivi (2023-01 au plus tôt), 6 mois = entrée + {SIX_MONTHS} j, 12 "
            f"mois = entrée + {TWELVE_MONTHS} j ; les lignes « atteint » d'un point sont datées "
            f"{BAND[0]} à {BAND[1]} jours avant lui (celles de l'entrée : le jour même), donc une "
            "définition à ±15 jours près donne le même score. Score None = point après la sortie "
            "du logement (housing_exit) ou après 2024-12-31 : une analyse qui ne censure pas à la "
            "sortie y lit les lignes d'avant la sortie (souvent 0).",
            "planted": {
                "entry_score_p": dict(enumerate(ENTRY_SCORE_P)),
                "gain_6_months_p": dict(enumerate(GAIN_6_P)),
                "gain_12_months_after_6_p": dict(enumerate(GAIN_12_P)),
                "expected_mean_gain_entry_to_6": float(np.dot(range(3), GAIN_6_P)),
                "expected_mean_gain_entry_to_12": float(
                    np.dot(range(3), GAIN_6_P) + np.dot(range(3), GAIN_12_P)
                ),
            },
            "realised": {
                "tenants_followed": len(affil),
                "paired_entry_6": int(len(paired6)),
                "paired_entry_12": int(len(paired12)),
                "mean_gain_entry_to_6": round(
                    float((paired6["score_6_mois"] - paired6["score_entree"]).mean()), 4
                )
                if len(paired6)
                else None,
                "mean_gain_entry_to_12": round(
                    float((paired12["score_12_mois"] - paired12["score_entree"]).mean()), 4
                )
                if len(paired12)
                else None,
                "distribution": {
                    p: scores[f"score_{p}"]
                    .dropna()
                    .astype(int)
                    .value_counts()
                    .sort_index()
                    .to_dict()
                    for p in ("entree", "6_mois", "12_mois")
                },
            },  # fmt: skip
            "tenants": affil,
        },
        "variants": {c: dict(sorted(v.items())) for c, v in sorted(variants.items())},
        "grid_marks": {
            "counted": {k: marks[k] for k in ("x", "X", "P")},
            "not_attendance": {k: marks[k] for k in ("?", "A")},
            "note": "« ? » (pas sûr) et « A » (absent excusé) ne sont pas des présences ; « ? » "
            "n'est pas une marque déclarée (mise en quarantaine marque_inconnue par la lecture), "
            "« A » est une absence déclarée (absent: [A])",
        },
        "codes_typed_differently": dict(sorted(typed_codes.items())),
    }
