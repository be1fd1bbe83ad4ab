"""A small synthetic network for the violence barometer, with PLANTED truth.

The canonical field tables (``incidents``, ``worker_survey``, ``testimonies``: columns of
coord19 / ``core.schema``) and the activity they are rated against (``contacts``, ``refusals``),
drawn from known rates so the tests can check that the analysis finds what was planted:

* incident rate per 1,000 exposure units per service, × :data:`YEAR_RR` in 2024 against 2023;
* at the night shelter, × :data:`REFUSAL_RR` on winter nights with a refusal;
* hours: the closing window is :data:`CLOSING_RR` times as likely per hour as another open hour;
* exclusions of the ``maison_accueil``: :data:`LINKED_EXCLUSIONS` of :data:`EXCLUSIONS` have an
  incident of the same person 1–5 days before;
* survey: a finite staff with prevalences by role, respondents drawn with role-dependent
  response (the most exposed answer least): the unweighted share is biased, the truth is the
  staff's share;
* testimonies: keyword-bearing sentences per theme, hand codes on half with planted errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.field.violence_settings import BarometreSettings

YEARS = (2023, 2024)
YEAR_RR = 1.30
REFUSAL_RR = 2.0
CLOSING_RR = 3.0
EXCLUSIONS = 24
LINKED_EXCLUSIONS = 15
BASE_RATE = {"abri_nuit": 20.0, "accueil_jour": 6.0, "maison_accueil": 15.0, "travail_rue": 8.0}
"""Incidents per 1,000 exposure units in 2023."""
OCCUPANCY = {"abri_nuit": 30, "maison_accueil": 20}
DAILY_CONTACTS = {"accueil_jour": 80, "travail_rue": 25}
HOURS = {"abri_nuit": (20, 8), "accueil_jour": (9, 16)}
SMALL_COUNTS = [
    ("services", "abri_nuit", "2024", 40),
    ("services", "accueil_jour", "2024", 3),
    ("services", "maison_accueil", "2024", 12),
    ("services", "total", "2024", 55),
    ("direction", "usager_travailleur", "2024", 50),
    ("direction", "usager_usager", "2024", 5),
    ("types", "physique", "2024", 2),
    ("types", "verbale", "2024", 55),
]
"""A barometer's ``comptes.csv`` rows (table, row, col, value) with two « < 5 » cells (the day
centre's 3 incidents, 2 physical ones) under printed totals."""
WINTER = ("11-01", "03-31")

STAFF = {  # service → role → (headcount, response probability, prevalence of physical_12m)
    "abri_nuit": {"educateur": (120, 0.8, 0.30), "veilleur": (100, 0.2, 0.75)},
    "accueil_jour": {"educateur": (150, 0.8, 0.25), "accueil": (80, 0.4, 0.60)},
}
THEME_SENTENCES = {
    "attente": "On attend des heures dans la file devant la porte sans savoir s'il reste de la "
    "place.",
    "regles": "Le règlement change tout le temps et l'exclusion tombe sans qu'on comprenne "
    "pourquoi.",
    "consommation": "Quand il a bu trop d'alcool le soir, les bagarres commencent toujours.",
    "peur": "J'ai peur la nuit, je dors mal, je ne me sens pas en sécurité ici.",
    "respect": "Ce qui compte c'est le respect, être écouté comme une personne normale.",
    "soutien": "Après l'agression, l'équipe a fait un débriefing et mes collègues m'ont aidé.",
}
THEME_PREVALENCE = {
    "attente": 0.5,
    "regles": 0.35,
    "consommation": 0.3,
    "peur": 0.4,
    "respect": 0.25,
    "soutien": 0.2,
}


def settings(**over) -> BarometreSettings:
    data = {
        "exposure": {
            "abri_nuit": "nights",
            "maison_accueil": "nights",
            "accueil_jour": "contacts",
            "travail_rue": "contacts",
        },
        "opening_hours": {
            s: {"opens": o, "closes": c, "closing_window": 1} for s, (o, c) in HOURS.items()
        },
        "exclusion_days": 7,
        "staffing": {s: {r: v[0] for r, v in roles.items()} for s, roles in STAFF.items()},
        "codebook": {
            "attente": {"label": "Attente", "definition": "d", "keywords": ["attend", "file"]},
            "regles": {"label": "Règles", "definition": "d", "keywords": ["regle", "exclu"]},
            "consommation": {"label": "Conso", "definition": "d", "keywords": ["alcool"]},
            "peur": {"label": "Peur", "definition": "d", "keywords": ["peur", "securite"]},
            "respect": {"label": "Respect", "definition": "d", "keywords": ["respect"]},
            "soutien": {"label": "Soutien", "definition": "d", "keywords": ["debrief", "equipe"]},
        },
    }
    data.update(over)
    return BarometreSettings.model_validate(data)


@dataclass
class Barometre:
    incidents: pd.DataFrame
    contacts: pd.DataFrame
    refusals: pd.DataFrame
    survey: pd.DataFrame
    testimonies: pd.DataFrame
    truth: dict


def _days() -> pd.DatetimeIndex:
    return pd.date_range(f"{YEARS[0]}-01-01", f"{YEARS[-1]}-12-31", freq="D")


def _winter(days: pd.DatetimeIndex) -> np.ndarray:
    md = days.strftime("%m-%d")
    return np.asarray((md >= WINTER[0]) | (md <= WINTER[1]))


def _open_hours(service: str) -> list[int]:
    o, c = HOURS[service]
    return [(o + i) % 24 for i in range((c - o) % 24)]


def _contacts(days: pd.DatetimeIndex, rng) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rows = []
    exposure = {}
    for service, occ in OCCUPANCY.items():
        n = rng.poisson(occ, len(days))
        exposure[service] = n.astype("float64")
        d = np.repeat(days.values, n)
        rows.append(
            pd.DataFrame(
                {
                    "partner_id": service,
                    "dispositif": "x",
                    "person_id": [f"P{service[:2]}{i:06d}" for i in range(len(d))],
                    "date_start": d,
                    "date_end": d + np.timedelta64(1, "D"),
                    "nights": 1.0,
                    "exit_reason": None,
                }
            )
        )
    for service, mean in DAILY_CONTACTS.items():
        n = rng.poisson(mean, len(days))
        exposure[service] = n.astype("float64")
        d = np.repeat(days.values, n)
        rows.append(
            pd.DataFrame(
                {
                    "partner_id": service,
                    "dispositif": "x",
                    "person_id": [f"P{service[:2]}{i:06d}" for i in range(len(d))],
                    "date_start": d,
                    "date_end": pd.NaT,
                    "nights": np.nan,
                    "exit_reason": None,
                }
            )
        )
    return pd.concat(rows, ignore_index=True), exposure


def _codes(rng, codes, n, p) -> list[str]:
    out = []
    for _ in range(n):
        pick = [c for c in codes if rng.random() < p]
        out.append(" ".join(sorted(pick or [codes[0]])))
    return out


def make_barometre(seed: int = 19) -> Barometre:
    rng = np.random.default_rng(seed)
    days = _days()
    contacts, exposure = _contacts(days, rng)
    winter = _winter(days)
    refusal = winter & (rng.random(len(days)) < 0.4)
    refusals = pd.DataFrame(
        {
            "partner_id": "abri_nuit",
            "dispositif": "hebergement_urgence",
            "date": days[winter],
            "refusals": np.where(refusal[winter], rng.integers(1, 6, winter.sum()), 0),
        }
    )
    rows = []
    year_factor = np.where(days.year == YEARS[-1], YEAR_RR, 1.0)
    month_noise = rng.gamma(20, 1 / 20, size=(len(BASE_RATE), 24))  # mild overdispersion
    month_index = (days.year - YEARS[0]) * 12 + days.month - 1
    for si, (service, rate) in enumerate(BASE_RATE.items()):
        lam = exposure[service] * rate / 1000 * year_factor * month_noise[si, month_index]
        if service == "abri_nuit":
            lam = lam * np.where(refusal, REFUSAL_RR, 1.0)
        n = rng.poisson(lam)
        night = np.repeat(days.values, n)
        k = len(night)
        if service in HOURS:
            hours = _open_hours(service)
            w = np.ones(len(hours))
            w[-1] = CLOSING_RR
            hour = rng.choice(hours, size=k, p=w / w.sum())
        else:
            hour = rng.integers(10, 18, size=k)
        date = pd.to_datetime(night)
        if service == "abri_nuit":  # the night's early hours are dated the next morning
            date = date + pd.to_timedelta((hour < 12).astype("int64"), unit="D")
        rows.append(
            pd.DataFrame(
                {
                    "service": service,
                    "date": date,
                    "hour": pd.array(hour, dtype="Int64"),
                }
            )
        )
    inc = pd.concat(rows, ignore_index=True)
    unknown = rng.random(len(inc)) < 0.05
    inc.loc[unknown, "hour"] = pd.NA
    n = len(inc)
    inc["types"] = _codes(rng, ["verbale", "physique", "menaces", "biens"], n, 0.4)
    inc["direction"] = rng.choice(
        ["usager_travailleur", "usager_usager", "travailleur_usager", "exterieur_service"],
        n,
        p=[0.5, 0.35, 0.05, 0.1],
    )
    inc["severity"] = rng.choice(["faible", "moyenne", "grave"], n, p=[0.5, 0.35, 0.15])
    inc["consequences"] = _codes(rng, ["aucune", "police", "blessure"], n, 0.2)
    inc["context"] = _codes(rng, ["fermeture", "file_attente", "refus", "consommation"], n, 0.3)
    inc["persons_involved"] = pd.array(rng.integers(1, 4, n), dtype="Int64")
    # the maison_accueil's sheets carry the author's pseudonym (never one of the excluded)
    inc["person_id"] = np.where(
        inc["service"] == "maison_accueil", [f"Pauthor{i % 50:02d}" for i in range(n)], ""
    )
    inc["note"] = ""
    # exclusions at the maison_accueil in 2024, LINKED_EXCLUSIONS with an incident 1–5 days
    # before by the same person; the incidents of the others are far away or absent
    excl_days = pd.to_datetime("2024-01-20") + pd.to_timedelta(
        np.sort(rng.choice(330, EXCLUSIONS, replace=False)), unit="D"
    )
    persons = [f"Pexcl{i:03d}" for i in range(EXCLUSIONS)]
    contacts = pd.concat(
        [
            contacts,
            pd.DataFrame(
                {
                    "partner_id": "maison_accueil",
                    "dispositif": "x",
                    "person_id": persons,
                    "date_start": excl_days - pd.Timedelta(days=40),
                    "date_end": excl_days,
                    "nights": 40.0,
                    "exit_reason": "exclusion",
                }
            ),
        ],
        ignore_index=True,
    )
    # a sheet's author is the service's client id keyed like its contacts (the record key);
    # here one record per person
    contacts["record_key"] = contacts["person_id"]
    extra = []
    for i in range(EXCLUSIONS):
        if i < LINKED_EXCLUSIONS:
            before = int(rng.integers(1, 6))
            extra.append((excl_days[i] - pd.Timedelta(days=before), persons[i], "exclusion"))
        else:  # another person's incident in the window: must not link
            extra.append((excl_days[i] - pd.Timedelta(days=2), "Pother", "exclusion"))
    extra_frame = pd.DataFrame(
        {
            "service": "maison_accueil",
            "date": [d for d, _, _ in extra],
            "hour": pd.array([15] * len(extra), dtype="Int64"),
            "types": "verbale",
            "direction": "usager_travailleur",
            "severity": "grave",
            "consequences": [c for _, _, c in extra],
            "context": "autre",
            "persons_involved": pd.array([1] * len(extra), dtype="Int64"),
            "person_id": [p for _, p, _ in extra],
            "note": "",
        }
    )
    inc = pd.concat([inc, extra_frame], ignore_index=True)
    inc["year"] = pd.to_datetime(inc["date"]).dt.year.astype("int64")
    inc["partner_id"] = "barometre_violences"
    inc["submission_id"] = [f"uuid-{i}" for i in range(len(inc))]
    inc["form_version"] = np.where(inc["year"] == 2024, "v2", "v1")
    survey, truth_survey = _survey(rng)
    testimonies, truth_themes = _testimonies(rng)
    truth = {
        "year_rr": YEAR_RR,
        "refusal_rr": REFUSAL_RR,
        "closing_rr": CLOSING_RR,
        "exclusions": EXCLUSIONS,
        "linked_exclusions": LINKED_EXCLUSIONS,
        "survey": truth_survey,
        "themes": truth_themes,
    }
    return Barometre(inc, contacts, refusals, survey, testimonies, truth)


def _survey(rng) -> tuple[pd.DataFrame, dict]:
    rows = []
    staff_physical = []
    for service, roles in STAFF.items():
        for role, (N, response, prevalence) in roles.items():
            physical = rng.random(N) < prevalence
            staff_physical += list(physical)
            answered = rng.random(N) < response
            for p in physical[answered]:
                rows.append(
                    {
                        "service": service,
                        "role": role,
                        "seniority": "2_5",
                        "verbal_12m": bool(rng.random() < 0.7),
                        "physical_12m": bool(p),
                        "threat_12m": bool(rng.random() < 0.4),
                        "witnessed_12m": bool(rng.random() < 0.8),
                        "safety": int(rng.integers(1, 6)),
                        "trained": bool(rng.random() < 0.5),
                        "support_after": str(rng.choice(["oui", "partiel", "non", "sans_objet"])),
                        "note": "",
                    }
                )
    frame = pd.DataFrame(rows)
    frame["safety"] = frame["safety"].astype("Int64")
    frame["partner_id"] = "enquete"
    frame["year"] = 2024
    return frame, {"physical_12m": float(np.mean(staff_physical))}


def _testimonies(rng, n: int = 160) -> tuple[pd.DataFrame, dict]:
    codes = list(THEME_SENTENCES)
    texts, hands, truths = [], [], []
    for i in range(n):
        present = [c for c in codes if rng.random() < THEME_PREVALENCE[c]] or [codes[i % 6]]
        truths.append(present)
        texts.append(" ".join(THEME_SENTENCES[c] for c in present))
        if i % 2 == 0:  # hand coded, with an error one time in ten (a code dropped)
            hand = list(present)
            if rng.random() < 0.1 and len(hand) > 1:
                hand = hand[1:]
            hands.append(" ".join(sorted(hand)))
        else:
            hands.append("")
    frame = pd.DataFrame(
        {
            "date": pd.Timestamp("2024-05-01"),
            "role": rng.choice(["usager", "expert_du_vecu", "travailleur"], n),
            "service": "",
            "themes": hands,
            "text": texts,
            "partner_id": "temoignages",
            "year": 2024,
        }
    )
    counts = {c: sum(c in t for t in truths) for c in codes}
    return frame, {"counts": counts}
