"""Neighbourhood relays: service sheets (form ``relais_prestation``) and the coordinator's
allowance spreadsheet (one row per volunteer and day of presence).

Eight volunteer residents hold a fixed contact point (Tuesday and Thursday mornings, Saturday)
and a mobile one on a cargo bike (Wednesday and Friday afternoons, April to October). Needs,
actions and barriers differ between the two points; allowances are a flat rate per hour,
capped by the coordinator at the daily ceiling except planted cases: one volunteer exceeds the
yearly ceiling in 2024 (approaches it in 2023) and one day exceeds the daily ceiling.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
from openpyxl import Workbook
from openpyxl.styles import Font

from observatoire.core.storage import pin_zip_times
from observatoire.sample.fieldwork.common import (
    FIELD_YEARS,
    FieldFile,
    at,
    kobo_file,
    new_submission,
    number_submissions,
)
from observatoire.sample.fieldwork.kobo import KoboForm, Submission, kobo_form, kobo_time
from observatoire.sample.fieldwork.notes import Identity, NoteWriter

__all__ = ["CEILINGS", "RELAYS", "relay_files"]

CEILINGS = {
    2023: {"daily": 40.67, "yearly": 1626.77},
    2024: {"daily": 41.48, "yearly": 1659.29},
}
CEILING_SOURCE = (
    "Loi du 3 juillet 2005 relative aux droits des volontaires, art. 10 (montants indexés) : "
    "2023 — 40,67 €/jour et 1 626,77 €/an (INAMI, « Indemnité maximum pour travail volontaire "
    "en 2023 », inami.fgov.be) ; 2024 — 41,48 €/jour et 1 659,29 €/an (UCM, « Volontaires : "
    "montants de l'indemnité forfaitaire maximale », ucm.be ; Liantis, « Nouvelles indemnités "
    "maximales de volontariat pour 2024 », liantis.be)"
)
RELAYS = tuple(f"HR{k:02d}" for k in range(1, 9))
HOURLY_RATE = 5.5
# Half-days of presence a week (the busy volunteer of the planted yearly excess is HR03).
PRESENCE = dict(zip(RELAYS, (1.2, 1.1, 2.2, 1.0, 1.3, 0.9, 1.1, 1.2), strict=True))
EXCESS_VOLUNTEER = "HR03"
EXCESS_DAY_VOLUNTEER = "HR06"
POINTS = {2023: ("fixe", "mobile"), 2024: ("fixe", "mobile")}
NEEDS = ("social", "sante", "logement", "administratif", "langue", "autre")
NEED_P = {"fixe": [0.35, 0.15, 0.25, 0.5, 0.2, 0.05], "mobile": [0.45, 0.35, 0.2, 0.15, 0.1, 0.08]}
ACTIONS = ("information", "accompagnement", "orientation", "ecoute")
ACTION_P = {"fixe": [0.6, 0.3, 0.4, 0.3], "mobile": [0.5, 0.1, 0.35, 0.55]}
ORIENTED = (
    "abri_nuit", "accueil_jour", "urgence_sociale", "cpas", "mutuelle", "sante",
    "logement_social", "autre",
)  # fmt: skip
ORIENTED_P = [0.03, 0.08, 0.04, 0.3, 0.08, 0.12, 0.08, 0.05]
BARRIERS = {
    2023: ("langue", "numerique", "mobilite", "documents", "horaires", "mefiance", "autre"),
    2024: ("langue", "numerique", "mobilite", "documents", "horaires", "mefiance", "autre"),
}
BARRIER_P = {
    "fixe": {
        "langue": 0.2,
        "numerique": 0.3,
        "mobilite": 0.08,
        "documents": 0.25,
        "horaires": 0.1,
        "mefiance": 0.05,
        "autre": 0.04,
    },
    "mobile": {
        "langue": 0.12,
        "numerique": 0.1,
        "mobilite": 0.2,
        "documents": 0.1,
        "horaires": 0.08,
        "mefiance": 0.25,
        "autre": 0.04,
    },
}
PEOPLE_MEAN = {"fixe": 0.2, "mobile": 0.7}  # people helped = 1 + Poisson(mean)
SERVICES_PER_PRESENCE = {"fixe": 3.0, "mobile": 2.4}
VERSION = {2023: "2023.1", 2024: "2024.1"}

NOTES = {
    "fixe": [
        "Aide pour remplir le formulaire de demande au CPAS",
        "Explication d'un courrier de la mutuelle",
        "Prise de rendez-vous à la maison médicale",
        "Dame ne parlant que l'arabe, une voisine a traduit",
        "Questions sur la prime énergie, renvoi vers le guichet communal",
        "Recherche d'un logement, inscription sur la liste du logement social",
    ],
    "mobile": [
        "Passage du vélo-cargo sur la place, café offert et discussion",
        "Monsieur rencontré près du marché, isolé depuis le décès de son épouse",
        "Distribution de flyers de la permanence, beaucoup de curiosité",
        "Jeune maman qui cherche une crèche, orientation vers l'ONE",
        "Personne méfiante au début, a fini par accepter le numéro de la permanence",
    ],
}


def form_of(year: int) -> KoboForm:
    return kobo_form("relais_prestation", VERSION[year])


def _allowance_workbook(rows: list[tuple[dt.date, str, float, float]], year: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Défraiements"
    bold = Font(bold=True)
    ws.append(["Date", "Code volontaire", "Heures", "Montant (€)"])
    for cell in ws[1]:
        cell.font = bold
    for day, code, hours, amount in rows:
        ws.append([day, code, hours, amount])
        ws.cell(row=ws.max_row, column=1).number_format = "DD/MM/YYYY"
        ws.cell(row=ws.max_row, column=4).number_format = "#,##0.00 €"
    stamp = dt.datetime(year + 1, 1, 10, 16, 30, 0)
    wb.properties.creator = "Coordination CLSS"
    wb.properties.lastModifiedBy = "Coordination CLSS"
    wb.properties.created = stamp
    buffer = io.BytesIO()
    wb.save(buffer)
    return pin_zip_times(buffer.getvalue(), stamp)


def _slots(year: int) -> list[tuple[dt.date, str, int, float]]:
    """(day, point, start hour, hours) of every opening of a point in the year."""
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        wd = day.weekday()
        if wd in (1, 3):
            out.append((day, "fixe", 9, 3.5))
        elif wd == 5:
            out.append((day, "fixe", 10, 3.0))
        elif wd in (2, 4) and 4 <= day.month <= 10:
            out.append((day, "mobile", 14, 4.0))
        day += dt.timedelta(days=1)
    return out


def relay_files(
    rng: np.random.Generator, writer: NoteWriter, identity_rate: float
) -> tuple[list[FieldFile], list[tuple[str, str, int, str, Identity]], dict]:
    out, planted, realised = [], [], {}
    first_id = 250_000_000
    for year in FIELD_YEARS:
        ceiling = CEILINGS[year]
        presences: list[tuple[dt.date, str, str, int, float]] = []
        for day, point, hour, hours in _slots(year):
            for relay in RELAYS:
                p = min(0.95, PRESENCE[relay] / 5)  # five kinds of slot a week
                if rng.random() < p:
                    presences.append((day, relay, point, hour, hours))
        allowance: list[tuple[dt.date, str, float, float]] = []
        for day, relay, _, _, hours in presences:
            worked = hours + float(rng.choice([0.0, 0.5, 1.0], p=[0.6, 0.3, 0.1]))
            amount = min(round(worked * HOURLY_RATE, 2), ceiling["daily"])
            allowance.append((day, relay, worked, amount))
        # Planted: HR03's total against the yearly ceiling (≈ 93 % in 2023, 107 % in 2024).
        target = ceiling["yearly"] * (0.93 if year == 2023 else 1.07)
        idx = [k for k, a in enumerate(allowance) if a[1] == EXCESS_VOLUNTEER]
        total = sum(allowance[k][3] for k in idx)
        scale = target / total
        for k in idx:
            d, r, h, a = allowance[k]
            allowance[k] = (d, r, h, min(round(a * scale, 2), ceiling["daily"]))
        drift = round(target - sum(allowance[k][3] for k in idx), 2)
        for k in idx:  # put the rounding rest on days still under the daily ceiling
            d, r, h, a = allowance[k]
            room = round(ceiling["daily"] - a, 2)
            step = max(min(room, drift), 0.0)
            allowance[k] = (d, r, h, round(a + step, 2))
            drift = round(drift - step, 2)
        excess_day = None
        if year == 2024:  # one day over the daily ceiling: the neighbourhood party in June
            k = next(
                k
                for k, a in enumerate(allowance)
                if a[1] == EXCESS_DAY_VOLUNTEER and a[0].month == 6
            )
            d, r, _, _ = allowance[k]
            allowance[k] = (d, r, 9.0, round(9.0 * HOURLY_RATE, 2))
            excess_day = {
                "volunteer": r,
                "date": d.isoformat(),
                "hours": 9.0,
                "amount": allowance[k][3],
            }
        allowance.sort(key=lambda a: (a[0], a[1]))
        path = f"relais_quartier/defraiements_{year}.xlsx"
        out.append(
            FieldFile(
                path,
                _allowance_workbook(allowance, year),
                "relais_quartier/defraiements",
                year,
                len(allowance),
            )
        )

        subs: list[Submission] = []
        for day, relay, point, hour, hours in presences:
            for _ in range(int(rng.poisson(SERVICES_PER_PRESENCE[point]))):
                subs.append(
                    _service(rng, writer, identity_rate, year, day, relay, point, hour, hours)
                )
        number_submissions(subs, first_id, rng)
        first_id = int(subs[-1].meta["_id"]) + 10_000
        path = f"relais_quartier/relais_prestation_{year}.xlsx"
        out.append(kobo_file(path, "relais_quartier/prestations", year, form_of(year), subs))
        for row, sub in enumerate(subs, start=1):
            planted += [
                (path, "relais_prestation", row, "situation/description", s)
                for s in sub.meta.pop("_spans")
            ]
        totals = {}
        for _, r, h, a in allowance:
            t = totals.setdefault(r, {"days": 0, "hours": 0.0, "amount": 0.0})
            t["days"] += 1
            t["hours"] = round(t["hours"] + h, 2)
            t["amount"] = round(t["amount"] + a, 2)
        points = [s.answers["prestation/point"] for s in subs]
        realised[str(year)] = {
            "services": len(subs),
            "services_fixed": sum(p == "fixe" for p in points),
            "services_mobile": len(points) - sum(p == "fixe" for p in points),
            "presence_days": len(allowance),
            "per_volunteer": totals,
            "yearly_excess": [r for r, t in totals.items() if t["amount"] > ceiling["yearly"]],
            "daily_excess": excess_day,
        }
    truth = {
        "relays": {
            "form": "relais_prestation",
            "partner": "relais_quartier",
            "volunteers": list(RELAYS),
            "points": "fixe : mardi et jeudi 9 h–12 h 30, samedi 10 h–13 h ; mobile (vélo-cargo) : "
            "mercredi et vendredi 14 h–18 h, d'avril à octobre",
            "services_per_presence": SERVICES_PER_PRESENCE,
            "people_helped": {p: f"1 + Poisson({m})" for p, m in PEOPLE_MEAN.items()},
            "need_probabilities": {p: dict(zip(NEEDS, q, strict=True)) for p, q in NEED_P.items()},
            "action_probabilities": {
                p: dict(zip(ACTIONS, q, strict=True)) for p, q in ACTION_P.items()
            },
            "barrier_probabilities": BARRIER_P,
            "orientation_probabilities": dict(zip(ORIENTED, ORIENTED_P, strict=True)),
            "allowances": {
                "rule": f"{HOURLY_RATE:.2f} € par heure de présence, plafonné par la coordination "
                "au plafond journalier (sauf cas plantés)",
                "ceilings": {str(y): c for y, c in CEILINGS.items()},
                "ceilings_source": CEILING_SOURCE,
                "yearly_excess": {
                    "volunteer": EXCESS_VOLUNTEER,
                    "2023": "≈ 93 % du plafond annuel (approché, pas dépassé)",
                    "2024": "≈ 107 % du plafond annuel (dépassé)",
                },
                "daily_excess": {
                    "volunteer": EXCESS_DAY_VOLUNTEER,
                    "year": 2024,
                    "rule": "un jour de juin (fête de quartier) : 9 h × 5,50 € = 49,50 € > 41,48 €",
                },
            },
            "__version__": VERSION,
            "realised": realised,
        }
    }
    return out, planted, truth


def _service(rng, writer, identity_rate, year, day, relay, point, hour, hours):
    minute = int(rng.integers(0, int(hours * 60)))
    moment = at(day, hour) + dt.timedelta(minutes=minute)
    needs = [n for n, q in zip(NEEDS, NEED_P[point], strict=True) if rng.random() < q] or ["social"]
    actions = [a for a, q in zip(ACTIONS, ACTION_P[point], strict=True) if rng.random() < q] or [
        "information"
    ]
    oriented = (
        [o for o, q in zip(ORIENTED, ORIENTED_P, strict=True) if rng.random() < q]
        if "orientation" in actions
        else []
    )
    barriers = [b for b in BARRIERS[year] if rng.random() < BARRIER_P[point][b]]
    sentences = [writer.pick(NOTES[point])]
    note, spans = writer.note(sentences, identity_rate) if rng.random() < 0.7 else ("", [])
    answers = {
        "prestation/date": day.isoformat(),
        "prestation/heure": kobo_time(moment),
        "prestation/relais": relay,
        "prestation/point": POINTS[year][0 if point == "fixe" else 1],
        "prestation/personnes": 1 + int(rng.poisson(PEOPLE_MEAN[point])),
        "besoins/besoins": needs,
        "besoins/actions": actions,
        "besoins/orientations": oriented,
        "besoins/obstacles": barriers,
        "situation/description": note or None,
    }
    filled = moment + dt.timedelta(minutes=float(rng.exponential(60)) + 5)
    sub = new_submission(rng, answers, filled, float(rng.uniform(2, 6)), f"relais_{relay.lower()}")
    sub.meta["_spans"] = spans
    return sub
