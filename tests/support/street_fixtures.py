"""A small synthetic street-work record with PLANTED truth, for the neighbourhood diagnosis.

Written like the canonical tables ``street_observations`` and ``street_groups`` (columns of
``core/schema.py``), two years (2023, 2024), four zones. What is planted (:data:`TRUTH`):

* young people's presence: the rate of young persons (15–25) met per hour of presence depends
  on the zone and the band of hours (evenings more than afternoons), and grows × 1.8 in zone
  ``Gare`` from 2023 to 2024 (× 1 elsewhere); at the same time the team moves its ``Gare``
  visits from evenings (2023) to afternoons (2024), so the naive ratio of rates understates the
  growth (the adjusted model must recover it);
* counts overdispersed (gamma–Poisson, persons come in groups);
* problems: ``deal`` noted on 10 % of the observations in 2023 and 30 % in 2024, every other
  code unchanged;
* zone ``Quais``: too few observations for a document of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TRUTH", "street_records"]

TRUTH = {
    "young_ratio": {"Gare": 1.8, "Centre-ville": 1.0, "Parc": 1.0, "Quais": 1.0},
    "deal_share": {2023: 0.10, 2024: 0.30},
    "observations": {"Gare": 160, "Centre-ville": 150, "Parc": 130, "Quais": 12},
}
BASE_YOUNG_PER_HOUR = {"Gare": 1.0, "Centre-ville": 0.6, "Parc": 0.8, "Quais": 0.4}
EVENING, AFTERNOON = 2.0, 0.5
PROBLEM_P = {
    "consommation": 0.25,
    "violence": 0.08,
    "sante_mentale": 0.15,
    "hygiene": 0.12,
    "mendicite": 0.2,
    "nuisances": 0.1,
    "isolement": 0.18,
}
RESOURCE_P = {"association": 0.3, "point_eau": 0.2, "toilettes": 0.15, "abri": 0.05}
ORIENT = ["abri_nuit", "accueil_jour", "cpas", "sante"]


def _split(total: int, rng: np.random.Generator, most: int) -> list[int]:
    sizes = []
    while total > 0:
        s = int(min(total, rng.integers(1, most + 1)))
        sizes.append(s)
        total -= s
    return sizes


def street_records(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(observations, groups) with the planted truth of :data:`TRUTH`."""
    rng = np.random.default_rng(seed)
    obs, groups = [], []
    for year in (2023, 2024):
        days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
        for zone, n in TRUTH["observations"].items():
            evening_share = (0.7 if year == 2023 else 0.3) if zone == "Gare" else 0.5
            for i in range(n):
                evening = rng.random() < evening_share
                hour = int(rng.integers(18, 21)) if evening else int(rng.integers(13, 16))
                hours = float(np.round(rng.uniform(1.5, 3.0), 1))
                rate = BASE_YOUNG_PER_HOUR[zone] * (EVENING if evening else AFTERNOON)
                if year == 2024:
                    rate *= TRUTH["young_ratio"][zone]
                young = int(rng.poisson(rng.gamma(2.0, rate * hours / 2.0)))
                adults = int(rng.poisson(rng.gamma(2.0, 1.5 * hours / 2.0)))
                uuid = f"uuid-{year}-{zone}-{i}"
                index = 0
                for size in _split(young, rng, 4):
                    band = "15_17" if rng.random() < 0.35 else "18_25"
                    groups.append((uuid, index, size, band, rng.choice(["hommes", "mixte"])))
                    index += 1
                for size in _split(adults, rng, 3):
                    band = rng.choice(
                        ["26_44", "45_64", "65_plus", "inconnu"], p=[0.5, 0.3, 0.1, 0.1]
                    )
                    groups.append((uuid, index, size, band, rng.choice(["hommes", "femmes"])))
                    index += 1
                problems = [c for c, p in PROBLEM_P.items() if rng.random() < p]
                if rng.random() < TRUTH["deal_share"][year]:
                    problems.append("deal")
                resources = [c for c, p in RESOURCE_P.items() if rng.random() < p]
                orient = [c for c in ORIENT if rng.random() < 0.1]
                session = bool(rng.random() < 0.1)
                obs.append(
                    {
                        "partner_id": "travail_rue_observations",
                        "submission_id": uuid,
                        "form_version": "v1" if year == 2023 else "v2",
                        "year": year,
                        "source_file": f"observation_rue_{year}.xlsx",
                        "source_row": i + 2,
                        "date": days[int(rng.integers(0, len(days)))],
                        "hour": hour,
                        "duration_hours": hours,
                        "zone": zone,
                        "place_type": "rue",
                        "persons_met": young + adults,
                        "young_met": young,
                        "problems": " ".join(sorted(problems)),
                        "resources": " ".join(sorted(resources)),
                        "climate": rng.choice(["calme", "tendu", "conflictuel"], p=[0.6, 0.3, 0.1]),
                        "orientations": " ".join(sorted(orient)),
                        "collective_session": session,
                        "collective_participants": int(rng.integers(3, 11)) if session else 0,
                        "note": "",
                    }
                )
    o = pd.DataFrame(obs)
    for col in ("hour", "persons_met", "young_met", "collective_participants"):
        o[col] = o[col].astype("Int64")
    g = pd.DataFrame(groups, columns=["submission_id", "group_index", "size", "age_band", "sex"])
    g["size"] = g["size"].astype("Int64")
    parent = o.set_index("submission_id")
    for col in ("partner_id", "form_version", "year", "source_file"):
        g[col] = g["submission_id"].map(parent[col])
    g["source_row"] = np.arange(len(g)) + 2
    return o, g
