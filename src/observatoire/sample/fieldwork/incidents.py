"""Incident sheets of the violence barometer (form ``fiche_incident``), with planted patterns.

Incidents arise per service and day as Poisson draws on the day's activity (occupied nights at
the shelter, contacts at the day centre, the DUS and street work, residents present at the
maison d'accueil, tenants in Housing First), with:

- a trend: the rate per 1,000 nights or contacts is ×``TREND`` from 2023 to 2024;
- winter nights with refusals at the shelter (nights of November–March on which the sample's
  own ``abri_nuit`` refused someone for lack of place): rate ×``REFUSAL_RATE_RATIO``;
- closing time: a share of a service's incidents fall in its closing hour window;
- exclusions: a share of the maison d'accueil's exits for exclusion (read from the sample's own
  exports) get an incident 0–2 days before, carrying the resident's file number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.sample.exports import HOUR_WEIGHTS, ExportFile
from observatoire.sample.fieldwork.common import (
    FIELD_YEARS,
    FieldFile,
    at,
    kobo_file,
    new_submission,
    number_submissions,
)
from observatoire.sample.fieldwork.kobo import (
    KoboForm,
    Question,
    Submission,
    brussels_offset,
    kobo_form,
)
from observatoire.sample.fieldwork.notes import Identity, NoteWriter
from observatoire.sample.network import Network

__all__ = [
    "BASE_RATE",
    "CLOSING_HOUR",
    "CLOSING_SHARE",
    "EXCLUSION_LINK_SHARE",
    "REFUSAL_RATE_RATIO",
    "SERVICES",
    "TREND",
    "incident_files",
]

SERVICES = (
    "abri_nuit", "accueil_jour", "maison_accueil", "urgence_sociale", "travail_rue",
    "housing_first",
)  # fmt: skip
EXPOSURE = {
    "abri_nuit": "nuitées occupées",
    "accueil_jour": "passages",
    "maison_accueil": "journées de résidence",
    "urgence_sociale": "interventions",
    "travail_rue": "contacts",
    "housing_first": "journées de location",
}
BASE_RATE = {  # incidents per 1,000 exposure units in 2023, outside winter nights with refusals
    "abri_nuit": 2.8,
    "accueil_jour": 1.9,
    "maison_accueil": 1.6,
    "urgence_sociale": 6.0,
    "travail_rue": 2.5,
    "housing_first": 0.25,
}
TREND = 1.15
REFUSAL_RATE_RATIO = 2.0
CLOSING_HOUR = {"abri_nuit": 7, "accueil_jour": 15, "maison_accueil": 22}
CLOSING_LABEL = {
    "abri_nuit": "7:00–7:59 (départ du matin, fermeture à 8 h)",
    "accueil_jour": "15:00–15:59 (fermeture de l'accueil à 16 h)",
    "maison_accueil": "22:00–22:59 (couvre-feu)",
}
CLOSING_SHARE = 0.35  # drawn in the window; the other incidents follow the opening hours
EXCLUSION_LINK_SHARE = 0.6
LINK_LAGS = (0, 1, 2)
LINK_LAG_P = (0.4, 0.35, 0.25)
UNKNOWN_HOUR = 0.04


def _hours(service: str) -> np.ndarray:
    w = np.zeros(24)
    if service == "abri_nuit":
        w[[20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7]] = [3, 3, 3, 2, 1.5, 1, 1, 1, 1, 1, 2, 3]
    elif service == "accueil_jour":
        w[9:16] = [3, 3, 4, 4, 3, 3, 3]
    elif service == "maison_accueil":
        w[:] = 1
        w[8:23] = 3
        w[17:23] = 4
    elif service == "urgence_sociale":
        w = HOUR_WEIGHTS.astype(float).copy()
    elif service == "travail_rue":
        w[10:22] = [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 2]
    else:
        w[9:19] = 1
    return w / w.sum()


TYPES = ("verbale", "physique", "sexuelle", "biens", "menaces", "autoagression")
DIRECTIONS = ("usager_travailleur", "usager_usager", "travailleur_usager", "exterieur_service")
CONSEQUENCES = ("blessure", "arret_travail", "exclusion", "police", "fermeture_service", "aucune")
CONTEXT_V1 = (
    "fermeture",
    "file_attente",
    "refus",
    "consommation",
    "conflit_entre_usagers",
    "autre",
)
CONTEXT_V2 = (
    "fermeture", "file_attente", "refus", "consommation", "sante_mentale",
    "conflit_entre_usagers", "autre",
)  # fmt: skip
SEVERITY = {2023: ("legere", "moyenne", "grave"), 2024: ("faible", "moyenne", "grave")}
SERVICE_CHOICES = (*SERVICES, "autre")
VERSION = {2023: "2023.1", 2024: "2024.1"}
ACCOUNTS = {
    "abri_nuit": "phare_veille",
    "accueil_jour": "adj_accueil",
    "maison_accueil": "tilleuls_equipe",
    "urgence_sociale": "dus_permanence",
    "travail_rue": "tdr_equipe",
    "housing_first": "hf_accompagnement",
}


def form_of(year: int) -> KoboForm:
    """The committed form (version 2024.1) in 2024; in 2023 its first version: the context
    was a question of the « incident » group without « sante_mentale », and the lowest
    severity was called « legere »."""
    form = kobo_form("fiche_incident", VERSION[year])
    if year == 2024:
        return form
    questions = []
    for q in form.questions:
        if q.path == "contexte/contexte_incident":
            continue
        if q.path == "incident/gravite":
            q = Question(q.path, q.kind, tuple("legere" if c == "faible" else c for c in q.choices))
        questions.append(q)
        if q.path == "incident/auteur":
            questions.append(Question("incident/contexte", "select_multiple", CONTEXT_V1))
    return KoboForm(form.name, form.version, tuple(questions))


def exposure(network: Network) -> dict[str, np.ndarray]:
    """Units of activity per simulated day and service (the rate denominators)."""
    n = network.timeline.n_days
    out = {}
    nights = network.shelter_nights
    out["abri_nuit"] = np.bincount(nights["day"], weights=nights["occupied"], minlength=n)
    for service in ("accueil_jour", "urgence_sociale", "travail_rue"):
        out[service] = np.bincount(network.contacts[service]["day"], minlength=n).astype(float)
    for service, stays in (
        ("maison_accueil", network.ma_stays),
        ("housing_first", network.tenancies),
    ):
        delta = np.zeros(n + 1)
        ends = np.where(stays["exit"].to_numpy() < 0, n, stays["exit"].to_numpy())
        np.add.at(delta, stays["entry"].to_numpy(), 1)
        np.add.at(delta, ends, -1)
        out[service] = np.cumsum(delta)[:n]
    return out


@dataclass
class _Incident:
    service: str
    day: int
    hour: int | None
    minute: int
    linked: dict | None = None


def _links(files: list[ExportFile], rng: np.random.Generator) -> list[dict]:
    """Exits for exclusion of the maison d'accueil in the field years, as its exports list them."""
    found = []
    for f in files:
        if f.partner_id != "maison_accueil":
            continue
        table = f.table
        for row in range(len(table)):
            reason = str(table["Motif de sortie"].iat[row] or "")
            exit_day = table["Date de sortie"].iat[row]
            if reason.startswith("exclusion") and exit_day and exit_day.year in FIELD_YEARS:
                found.append(
                    {
                        "source_file": f.relative_path,
                        "source_row": row + 1,
                        "ref": str(table["Réf."].iat[row]),
                        "exit_date": exit_day,
                        "exit_reason": reason,
                        "true_person_id": str(f.truth["true_person_id"].iat[row]),
                    }
                )
    found.sort(key=lambda d: (d["exit_date"], d["ref"]))
    chosen = rng.random(len(found)) < EXCLUSION_LINK_SHARE
    lags = rng.choice(LINK_LAGS, size=len(found), p=LINK_LAG_P)
    for d, lag in zip(found, lags, strict=True):
        d["lag_days"] = int(lag)
    return [d | {"linked": bool(c)} for d, c in zip(found, chosen, strict=True)]


NOTE_OPENINGS = {
    "abri_nuit": [
        "Usager alcoolisé à l'arrivée, refus d'entrée car l'abri était complet",
        "Tension dans la file devant la porte au moment de l'ouverture",
        "Dispute au dortoir pour un lit près du radiateur",
        "Usager réveillé agité vers 3 h, cris dans le couloir",
        "Le veilleur a dû séparer deux hébergés dans le réfectoire",
    ],
    "accueil_jour": [
        "Conflit au moment du repas, une chaise renversée",
        "Usager mécontent de l'heure de fermeture, refus de quitter les lieux",
        "Bousculade dans la file pour les douches",
        "Insultes répétées envers l'accueillante au comptoir",
        "Vol d'un sac à la consigne, l'usager accuse un autre",
    ],
    "maison_accueil": [
        "Retour tardif après le couvre-feu, ton qui monte avec l'éducateur",
        "Altercation dans la cuisine commune entre deux résidents",
        "Non-respect répété du règlement, menace envers l'équipe",
        "Résident en crise, objets lancés dans sa chambre",
    ],
    "urgence_sociale": [
        "Appel très agressif au numéro d'urgence, menaces de venir au bureau",
        "Personne énervée à la permanence faute de solution d'hébergement",
        "Intervention à domicile tendue, le voisin s'en est mêlé",
    ],
    "travail_rue": [
        "Pendant la tournée, un homme a menacé l'éducateur avec un tesson de bouteille",
        "Bagarre entre deux groupes près de la gare, nous avons dû nous retirer",
        "Insultes d'un passant envers la personne que nous accompagnions",
    ],
    "housing_first": [
        "Visite à domicile : le locataire refuse l'entrée et devient menaçant",
        "Conflit de voisinage, le voisin a frappé à la porte en criant",
    ],
}
NOTE_FOLLOWUPS = [
    "Appel de la police qui est passée vers minuit",
    "Mise à l'écart de la personne le temps qu'elle se calme",
    "Débriefing en équipe le lendemain",
    "Exclusion de trois jours décidée par la coordination",
    "Soins sur place, pas d'hospitalisation",
    "Collègue choqué, il a terminé son service plus tôt",
    "La situation s'est apaisée après discussion",
    "Rapport transmis à la direction",
    "Usager revenu s'excuser le lendemain",
    "Consommation visible (alcool) au moment des faits",
    "Signes de décompensation psychique, orientation vers le réseau santé mentale proposée",
]


def incident_files(
    network: Network,
    files: list[ExportFile],
    rng: np.random.Generator,
    writer: NoteWriter,
    identity_rate: float,
) -> tuple[list[FieldFile], list[tuple[str, str, int, str, Identity]], dict]:
    """The two yearly incident exports, the identities planted in their notes, the truth."""
    tl = network.timeline
    expo = exposure(network)
    days = np.flatnonzero(np.isin(tl.year, FIELD_YEARS))
    nights = network.shelter_nights
    refused = np.zeros(tl.n_days, dtype=bool)
    refused[nights.loc[nights["refusals"] > 0, "day"].to_numpy()] = True
    winter_refusal = refused & tl.winter
    incidents: list[_Incident] = []
    expected: dict[str, dict[int, float]] = {s: {} for s in SERVICES}
    for service in SERVICES:
        trend = TREND ** (tl.year[days] - FIELD_YEARS[0])
        rr = (
            np.where(winter_refusal[days], REFUSAL_RATE_RATIO, 1.0)
            if service == "abri_nuit"
            else 1.0
        )
        mean = BASE_RATE[service] / 1000 * expo[service][days] * trend * rr
        for y in FIELD_YEARS:
            expected[service][y] = float(mean[tl.year[days] == y].sum())
        counts = rng.poisson(mean)
        probs = _hours(service)
        for day, count in zip(days[counts > 0], counts[counts > 0], strict=True):
            for _ in range(int(count)):
                closing = service in CLOSING_HOUR and rng.random() < CLOSING_SHARE
                hour = CLOSING_HOUR[service] if closing else int(rng.choice(24, p=probs))
                incidents.append(_Incident(service, int(day), hour, int(rng.integers(0, 60))))
    links = _links(files, rng)
    day_of = {d: i for i, d in enumerate(tl.dates.astype("datetime64[D]").tolist())}
    for link in links:
        if link["linked"]:
            day = day_of[link["exit_date"]] - link["lag_days"]
            hour = int(rng.choice(24, p=_hours("maison_accueil")))
            incidents.append(_Incident("maison_accueil", day, hour, int(rng.integers(0, 60)), link))
    for inc in incidents:
        if rng.random() < UNKNOWN_HOUR:
            inc.hour = None

    subs: dict[int, list[Submission]] = {y: [] for y in FIELD_YEARS}
    notes: dict[int, list[tuple[Submission, str, list[Identity]]]] = {y: [] for y in FIELD_YEARS}
    for inc in incidents:
        year = int(tl.year[inc.day])
        day = tl.dates[inc.day].astype("datetime64[D]").item()
        sub, note, spans = _render(
            inc, year, day, winter_refusal[inc.day], rng, writer, identity_rate
        )
        subs[year].append(sub)
        notes[year].append((sub, note, spans))
        if inc.linked is not None:
            inc.linked["incident_uuid"] = sub.meta["_uuid"]
    out, planted = [], []
    first_id = 210_000_000
    for year in FIELD_YEARS:
        number_submissions(subs[year], first_id, rng)
        first_id = int(subs[year][-1].meta["_id"]) + 10_000 if subs[year] else first_id
        path = f"barometre_violences/fiche_incident_{year}.xlsx"
        out.append(
            kobo_file(path, "barometre_violences/incidents", year, form_of(year), subs[year])
        )
        row_of = {id(s): k for k, s in enumerate(subs[year], start=1)}
        for sub, _, spans in notes[year]:
            planted += [
                (path, "fiche_incident", row_of[id(sub)], "recit/description", s) for s in spans
            ]
    truth = _truth(incidents, links, expected, expo, tl, days, winter_refusal)
    return out, planted, truth


def _render(
    inc: _Incident,
    year: int,
    day: dt.date,
    refusal_night: bool,
    rng: np.random.Generator,
    writer: NoteWriter,
    identity_rate: float,
) -> tuple[Submission, str, list[Identity]]:
    s = inc.service
    p_types = {"verbale": 0.7, "physique": 0.25, "sexuelle": 0.03, "biens": 0.12, "menaces": 0.3}
    p_types["autoagression"] = 0.12 if s == "maison_accueil" else 0.05
    types = [t for t in TYPES if rng.random() < p_types[t]] or ["verbale"]
    direction = DIRECTIONS[int(rng.choice(4, p=[0.5, 0.35, 0.05, 0.1]))]
    grave = 0.25 if "physique" in types else 0.06
    severity_index = int(rng.choice(3, p=[0.94 - grave - 0.38, 0.38, grave + 0.06]))
    closing = inc.hour is not None and inc.hour == CLOSING_HOUR.get(s)
    context = []
    if closing and rng.random() < 0.8 or rng.random() < 0.05:
        context.append("fermeture")
    if rng.random() < (0.25 if s == "accueil_jour" else 0.1):
        context.append("file_attente")
    if rng.random() < (0.6 if s == "abri_nuit" and refusal_night else 0.08):
        context.append("refus")
    if rng.random() < 0.3:
        context.append("consommation")
    mental = rng.random() < 0.2
    if mental:
        context.append("sante_mentale" if year >= 2024 else "autre")
    if direction == "usager_usager" and rng.random() < 0.6:
        context.append("conflit_entre_usagers")
    if not context or rng.random() < 0.04:
        context.append("autre")
    consequences = []
    if "physique" in types and rng.random() < 0.4:
        consequences.append("blessure")
        if direction == "usager_travailleur" and rng.random() < 0.35:
            consequences.append("arret_travail")
    p_excl = {"abri_nuit": 0.15, "accueil_jour": 0.08, "maison_accueil": 0.05}.get(s, 0.0)
    if inc.linked is not None or rng.random() < p_excl:
        consequences.append("exclusion")
    if rng.random() < (0.35 if severity_index == 2 else 0.08):
        consequences.append("police")
    if rng.random() < 0.015:
        consequences.append("fermeture_service")
    consequences = consequences or ["aucune"]
    if inc.linked is not None:
        direction = DIRECTIONS[int(rng.choice(2, p=[0.6, 0.4]))]
        severity_index = max(severity_index, 1)
    persons = 1 + int(rng.poisson(0.5)) + (direction == "usager_usager")
    moment = at(day, inc.hour if inc.hour is not None else 12, inc.minute)
    sentences = [writer.pick(NOTE_OPENINGS[s])]
    sentences += [writer.pick(NOTE_FOLLOWUPS) for _ in range(int(rng.integers(0, 3)))]
    if inc.linked is not None:
        sentences.append("Fin de séjour décidée par l'équipe suite à l'incident")
    note, spans = writer.note(sentences, identity_rate)
    answers = {
        "incident/date": day.isoformat(),
        "incident/heure": None if inc.hour is None else f"{moment:%H:%M}:00.000{_offset(moment)}",
        "incident/service": s,
        "incident/types": types,
        "incident/direction": direction,
        "incident/gravite": SEVERITY[year][severity_index],
        "incident/personnes": persons,
        "incident/auteur": inc.linked["ref"] if inc.linked is not None else None,
        "suites/consequences": consequences,
        "recit/description": note,
        ("incident/contexte" if year == 2023 else "contexte/contexte_incident"): context,
    }
    filled = moment + dt.timedelta(hours=float(rng.exponential(6.0)) + 0.25)
    sub = new_submission(rng, answers, filled, float(rng.uniform(3, 15)), ACCOUNTS[s])
    return sub, note, spans


def _offset(moment: dt.datetime) -> str:
    return brussels_offset(moment)


def _truth(incidents, links, expected, expo, tl, days, winter_refusal) -> dict:
    frame = pd.DataFrame(
        {
            "service": [i.service for i in incidents],
            "year": [int(tl.year[i.day]) for i in incidents],
            "hour": [i.hour for i in incidents],
            "linked": [i.linked is not None for i in incidents],
        }
    )
    exposure_by = {
        s: {str(y): float(expo[s][days][tl.year[days] == y].sum()) for y in FIELD_YEARS}
        for s in SERVICES
    }
    closing = {}
    for s, h in CLOSING_HOUR.items():
        w = _hours(s)[h]
        part = frame[(frame["service"] == s) & frame["hour"].notna() & ~frame["linked"]]
        closing[s] = {
            "window": CLOSING_LABEL[s],
            "hour": h,
            "planted_share": CLOSING_SHARE,
            "expected_share_in_window": round(CLOSING_SHARE + (1 - CLOSING_SHARE) * w, 4),
            "share_if_no_concentration": round(float(w), 4),
            "realised_share": round(float((part["hour"] == h).mean()), 4) if len(part) else None,
        }
    ab = expo["abri_nuit"]
    sel = days
    wr = winter_refusal[sel]
    linked = [lk for lk in links if lk["linked"]]
    return {
        "incidents": {
            "form": "fiche_incident",
            "partner": "barometre_violences",
            "model": "Poisson par service et par jour : taux de base × activité du jour × "
            "tendance^(année−2023) × rapport de taux des nuits d'hiver avec refus (abri de nuit)",
            "base_rate_per_1000": BASE_RATE,
            "exposure_units": EXPOSURE,
            "exposure": exposure_by,
            "expected_background_incidents": {
                s: {str(y): round(v, 2) for y, v in e.items()} for s, e in expected.items()
            },
            "realised_incidents": {
                s: {
                    str(y): int(((frame["service"] == s) & (frame["year"] == y)).sum())
                    for y in FIELD_YEARS
                }
                for s in SERVICES
            },
            "trend": {
                "estimand": "rapport des taux d'incidents (par 1 000 unités d'activité) 2024/2023, "
                "à composition égale des nuits (hors incidents liés aux exclusions)",
                "planted_rate_ratio": TREND,
                "planted_percent_per_year": round((TREND - 1) * 100, 1),
            },
            "winter_refusal_nights": {
                "service": "abri_nuit",
                "definition": "nuits de novembre à mars où l'abri de nuit de l'échantillon a "
                "refusé au moins une personne faute de place (abri_nuit_refus_<année>.csv)",
                "estimand": "rapport des taux d'incidents par 1 000 nuitées occupées : nuits "
                "d'hiver avec refus / autres nuits",
                "planted_rate_ratio": REFUSAL_RATE_RATIO,
                "nights": {str(y): int((wr & (tl.year[sel] == y)).sum()) for y in FIELD_YEARS},
                "occupied_nights_on_them": float(ab[sel][wr].sum()),
                "occupied_nights_other": float(ab[sel][~wr].sum()),
                "refusal_context_share_on_them": 0.6,
            },
            "closing_time": closing,
            "unknown_hour_share": UNKNOWN_HOUR,
            "exclusions": {
                "source": "sorties pour exclusion de maison_accueil (Motif de sortie « exclusion "
                "(règlement) » ou « exclusion (violence) ») dont la date de sortie tombe en "
                "2023 ou 2024",
                "exits": len(links),
                "planted_share_with_incident": EXCLUSION_LINK_SHARE,
                "linked": len(linked),
                "lag_days": "0, 1 ou 2 jours avant la sortie (p = 0,4 / 0,35 / 0,25)",
                "carried_as": "incident/auteur = « Réf. » du séjour (identifiant local de "
                "maison_accueil) ; service = maison_accueil ; conséquences ⊇ exclusion",
                "links": [
                    {
                        "incident_uuid": lk["incident_uuid"],
                        "source_file": lk["source_file"],
                        "source_row": lk["source_row"],
                        "ref": lk["ref"],
                        "exit_date": lk["exit_date"].isoformat(),
                        "lag_days": lk["lag_days"],
                        "true_person_id": lk["true_person_id"],
                    }
                    for lk in linked
                ],
                "other_incidents_with_exclusion": "abri de nuit 15 %, accueil de jour 8 %, "
                "maison d'accueil 5 % des autres incidents (exclusions temporaires)",
            },
            "version_change": {
                "2023": "v1 — incident/contexte (sans « sante_mentale », noté « autre ») ; "
                "gravité legere/moyenne/grave",
                "2024": "v2 — contexte/contexte_incident (avec « sante_mentale ») ; gravité "
                "faible/moyenne/grave (legere renommé faible)",
                "__version__": VERSION,
            },
        }
    }
