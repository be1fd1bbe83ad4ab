"""Street-work observation sheets (form ``observation_rue``, repeat group ``groupes``).

About three rounds a week; each round passes through the four zones of the city. At each
passage the educators note who is there (one repeat row per group: size, age band, sex), the
problems and resources seen, the climate, the orientations given, and whether a collective
session with young people took place. Planted: young people (15–25) at the Gare grow
×``GARE_YOUTH_GROWTH`` from 2023 to 2024; evenings (18–21 h) see more people; collective
sessions in the Gare and Parc zones.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

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

__all__ = ["GARE_YOUTH_GROWTH", "ZONES", "street_files"]

ZONES = {"gare": "Gare", "centre_ville": "Centre-ville", "parc": "Parc", "quais": "Quais"}
PLACES = ("rue", "parc", "gare", "squat", "commerce", "autre")
PLACE_P = {
    "gare": [0.35, 0.0, 0.45, 0.05, 0.1, 0.05],
    "centre_ville": [0.6, 0.0, 0.0, 0.1, 0.25, 0.05],
    "parc": [0.1, 0.8, 0.0, 0.05, 0.0, 0.05],
    "quais": [0.6, 0.1, 0.0, 0.2, 0.0, 0.1],
}
PROBLEMS = (
    "consommation", "deal", "violence", "sante_mentale", "hygiene", "mendicite", "nuisances",
    "isolement", "autre",
)  # fmt: skip
PROBLEM_P = {
    "gare": [0.5, 0.35, 0.1, 0.15, 0.15, 0.4, 0.2, 0.1, 0.03],
    "centre_ville": [0.25, 0.1, 0.05, 0.15, 0.2, 0.5, 0.15, 0.2, 0.03],
    "parc": [0.45, 0.2, 0.08, 0.1, 0.15, 0.05, 0.35, 0.15, 0.03],
    "quais": [0.3, 0.05, 0.05, 0.3, 0.35, 0.05, 0.05, 0.4, 0.03],
}
RESOURCES = ("commerce_solidaire", "association", "point_eau", "toilettes", "abri", "autre")
RESOURCE_P = {
    "gare": [0.2, 0.1, 0.3, 0.4, 0.1, 0.05],
    "centre_ville": [0.4, 0.3, 0.3, 0.3, 0.05, 0.05],
    "parc": [0.05, 0.05, 0.6, 0.2, 0.2, 0.05],
    "quais": [0.05, 0.1, 0.2, 0.05, 0.4, 0.05],
}
CLIMATE = {2023: ("calme", "tendu", "conflictuel"), 2024: ("calme", "tendu", "conflictuel")}
ORIENTATIONS = (
    "abri_nuit", "accueil_jour", "maison_accueil", "urgence_sociale", "housing_first", "cpas",
    "sante", "autre",
)  # fmt: skip
AGE_BANDS = ("moins_15", "15_17", "18_25", "26_44", "45_64", "65_plus", "inconnu")
SEXES = ("hommes", "femmes", "mixte", "inconnu")
YES_NO = ("oui", "non")
VERSION = {2023: "2023.1", 2024: "2024.1"}
ROUNDS_PER_WEEK = 3
EVENING = range(18, 22)
EVENING_FACTOR = 1.5
ADULT_GROUPS = {"gare": 1.6, "centre_ville": 1.4, "parc": 1.0, "quais": 1.1}
YOUNG_GROUPS = {
    "gare": (1.0, 1.6),
    "centre_ville": (0.5, 0.5),
    "parc": (0.7, 0.7),
    "quais": (0.2, 0.2),
}
YOUNG_GROUP_MEAN_SIZE = 2.5  # 1 + Poisson(1.5)
GARE_YOUTH_GROWTH = YOUNG_GROUPS["gare"][1] / YOUNG_GROUPS["gare"][0]
SESSION_P = {"gare": (0.06, 0.12), "parc": (0.08, 0.1)}


def form_of(year: int) -> KoboForm:
    return kobo_form("observation_rue", VERSION[year])


NOTE_BITS = {
    "gare": [
        "Groupe de jeunes près de l'arrêt de bus, échanges sur les projets de la maison de jeunes",
        "Présence habituelle sous l'auvent de la gare, deux nouvelles têtes",
        "Agents de sécurité de la gare présents, les personnes se sont déplacées vers le parking",
        "Petit groupe qui fait la manche à la sortie des quais",
    ],
    "centre_ville": [
        "Rue piétonne calme, quelques personnes qui font la manche devant les commerces",
        "Discussion avec une commerçante solidaire qui offre le café le matin",
        "Un monsieur âgé dort sous un porche, couverture donnée",
    ],
    "parc": [
        "Jeunes autour des bancs du kiosque, musique, ambiance détendue",
        "Seringues trouvées près des buissons, signalées au service propreté",
        "Foot improvisé avec les jeunes, bon contact",
    ],
    "quais": [
        "Campement le long du quai, trois tentes",
        "Personne isolée qui ne souhaite pas parler, on repassera",
        "Hygiène très dégradée, proposition de douche à l'accueil de jour",
    ],
}
NOTE_COMMON = [
    "Distribution de soupe et de café",
    "Orientation vers l'abri de nuit pour ce soir",
    "Rappel des horaires de la permanence du CPAS",
    "Tension entre deux personnes, apaisée rapidement",
    "Ambiance calme, beaucoup de passage",
    "Personne qui semble décompenser, à suivre avec l'équipe santé mentale",
]


def street_files(
    rng: np.random.Generator, writer: NoteWriter, identity_rate: float
) -> tuple[list[FieldFile], list[tuple[str, str, int, str, Identity]], dict]:
    out, planted = [], []
    realised: dict[str, dict] = {}
    first_id = 230_000_000
    for year in FIELD_YEARS:
        days = [dt.date(year, 1, 1) + dt.timedelta(days=k) for k in range(366)]
        days = [d for d in days if d.year == year]
        subs: list[Submission] = []
        young: dict[str, list[int]] = {z: [] for z in ZONES}
        evening_people, other_people = [], []
        sessions = {z: [0, 0] for z in ZONES}
        for week_start in range(0, len(days), 7):
            week = days[week_start : week_start + 7]
            n_rounds = min(len(week), int(rng.choice([2, 3, 3, 3, 4])))
            for day in sorted(rng.choice(week, size=n_rounds, replace=False)):
                evening = rng.random() < 0.6
                hour = (
                    int(rng.choice([18, 19, 20])) if evening else int(rng.choice([10, 14, 15, 16]))
                )
                minute = int(rng.choice([0, 15, 30, 45]))
                order = list(rng.permutation(list(ZONES)))
                clock = at(day, hour, minute)
                for zone in order:
                    duration = float(
                        rng.choice([0.5, 0.75, 1.0, 1.25, 1.5], p=[0.3, 0.3, 0.2, 0.1, 0.1])
                    )
                    sub, n_young, total, session = _passage(
                        rng, writer, identity_rate, year, zone, clock, duration
                    )
                    subs.append(sub)
                    young[zone].append(n_young)
                    (evening_people if clock.hour in EVENING else other_people).append(total)
                    if session:
                        sessions[zone][0] += 1
                        sessions[zone][1] += session
                    clock += dt.timedelta(hours=duration, minutes=int(rng.integers(5, 20)))
        number_submissions(subs, first_id, rng)
        first_id = int(subs[-1].meta["_id"]) + 10_000
        path = f"travail_rue_observations/observation_rue_{year}.xlsx"
        out.append(
            kobo_file(path, "travail_rue_observations/observations", year, form_of(year), subs)
        )
        for row, sub in enumerate(subs, start=1):
            planted += [
                (path, "observation_rue", row, "notes/observations", s)
                for s in sub.meta.pop("_spans")
            ]
        realised[str(year)] = {
            "observations": len(subs),
            "groups": sum(len(s.repeats) for s in subs),
            "mean_young_per_observation": {
                ZONES[z]: round(float(np.mean(v)), 3) for z, v in young.items()
            },
            "mean_persons_evening_18_21": round(float(np.mean(evening_people)), 3),
            "mean_persons_other_hours": round(float(np.mean(other_people)), 3),
            "collective_sessions": {
                ZONES[z]: {"sessions": v[0], "participants": v[1]} for z, v in sessions.items()
            },
        }
    truth = {
        "street": {
            "form": "observation_rue",
            "partner": "travail_rue_observations",
            "rounds": f"{ROUNDS_PER_WEEK} tournées par semaine en moyenne (2 à 4), chacune passe "
            "par les quatre zones (une observation par zone)",
            "evening": {
                "definition": "passage commencé entre 18:00 et 21:59",
                "round_start": "60 % des tournées commencent à 18, 19 ou 20 h ; les autres à "
                "10, 14, 15 ou 16 h",
                "planted_persons_ratio": EVENING_FACTOR,
                "estimand": "rapport du nombre moyen de personnes rencontrées par passage, soir / "
                "autres heures (à zone égale)",
            },
            "young_gare": {
                "estimand": "nombre moyen de jeunes (15–25 ans) rencontrés par passage en zone "
                "Gare, 2024 / 2023 (à heure égale)",
                "planted_ratio": GARE_YOUTH_GROWTH,
                "other_zones_ratio": 1.0,
                "expected_young_per_passage_daytime": {
                    ZONES[z]: {
                        str(y): g[i] * YOUNG_GROUP_MEAN_SIZE for i, y in enumerate(FIELD_YEARS)
                    }
                    for z, g in YOUNG_GROUPS.items()
                },
            },
            "groups": "groupes d'adultes ~ Poisson(a_zone × 1,5 le soir), "
            "taille 1 + Poisson(0,8) ; "
            "groupes de jeunes ~ Poisson(g_zone,année × 1,5 le soir), taille 1 + Poisson(1,5), "
            "tranche 15_17 (30 %) ou 18_25 (70 %)",
            "collective_sessions": {
                "zones": {
                    ZONES[z]: {str(y): p[i] for i, y in enumerate(FIELD_YEARS)}
                    for z, p in SESSION_P.items()
                },
                "participants": "3 + Poisson(4)",
            },
            "problem_probabilities": {
                ZONES[z]: dict(zip(PROBLEMS, p, strict=True)) for z, p in PROBLEM_P.items()
            },
            "resource_probabilities": {
                ZONES[z]: dict(zip(RESOURCES, p, strict=True)) for z, p in RESOURCE_P.items()
            },
            "__version__": VERSION,
            "realised": realised,
        }
    }
    return out, planted, truth


def _passage(rng, writer, identity_rate, year, zone, clock, duration):
    evening = clock.hour in EVENING
    factor = EVENING_FACTOR if evening else 1.0
    groups = []
    for _ in range(int(rng.poisson(ADULT_GROUPS[zone] * factor))):
        band = str(
            rng.choice(
                ["26_44", "45_64", "65_plus", "inconnu", "moins_15"],
                p=[0.45, 0.35, 0.07, 0.1, 0.03],
            )
        )
        size = 1 + int(rng.poisson(0.8))
        groups.append((size, band, str(rng.choice(SEXES, p=[0.6, 0.12, 0.23, 0.05]))))
    for _ in range(int(rng.poisson(YOUNG_GROUPS[zone][year - FIELD_YEARS[0]] * factor))):
        band = "15_17" if rng.random() < 0.3 else "18_25"
        size = 1 + int(rng.poisson(1.5))
        groups.append((size, band, str(rng.choice(SEXES, p=[0.55, 0.1, 0.33, 0.02]))))
    order = rng.permutation(len(groups)) if groups else []
    groups = [groups[k] for k in order]
    total = sum(g[0] for g in groups)
    n_young = sum(g[0] for g in groups if g[1] in ("15_17", "18_25"))
    problems = [p for p, q in zip(PROBLEMS, PROBLEM_P[zone], strict=True) if rng.random() < q]
    resources = [r for r, q in zip(RESOURCES, RESOURCE_P[zone], strict=True) if rng.random() < q]
    tense = ("violence" in problems) or rng.random() < 0.15
    climate = CLIMATE[year][2 if "violence" in problems and rng.random() < 0.5 else int(tense)]
    orientations = [o for o in ORIENTATIONS if total and rng.random() < 0.06]
    p_session = SESSION_P.get(zone, (0.0, 0.0))[year - FIELD_YEARS[0]]
    session = 3 + int(rng.poisson(4)) if rng.random() < p_session else 0
    sentences = [writer.pick(NOTE_BITS[zone])]
    if rng.random() < 0.5:
        sentences.append(writer.pick(NOTE_COMMON))
    if session:
        sentences.append("Séance du projet collectif avec les jeunes (atelier graff)")
    note, spans = writer.note(sentences, identity_rate) if rng.random() < 0.85 else ("", [])
    place = PLACES[int(rng.choice(len(PLACES), p=PLACE_P[zone]))]
    answers = {
        "presence/date": clock.date().isoformat(),
        "presence/heure_debut": kobo_time(clock),
        "presence/duree": duration,
        "presence/zone": ZONES[zone],
        "presence/type_lieu": place,
        "constats/problemes": problems,
        "constats/ressources": resources,
        "constats/climat": climate,
        "actions/orientations": orientations,
        "actions/projet_collectif": "oui" if session else "non",
        "actions/participants": session or None,
        "notes/observations": note or None,
    }
    filled = clock + dt.timedelta(hours=duration) + dt.timedelta(minutes=float(rng.exponential(40)))
    sub = new_submission(
        rng,
        answers,
        filled,
        float(rng.uniform(4, 12)),
        str(rng.choice(["tdr_educ1", "tdr_educ2", "tdr_educ3"])),
    )
    sub.repeats = [
        {
            "groupes/taille": g[0],
            "groupes/tranche_age": g[1],
            "groupes/genre": g[2],
        }
        for g in groups
    ]
    sub.meta["_spans"] = spans
    return sub, n_young, total, session
