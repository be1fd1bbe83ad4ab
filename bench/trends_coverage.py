"""Coverage of the monthly trend model's 95 % CI, by simulation (too slow for the notebook).

Runs :func:`observatoire.models.trends.coverage_simulation` on 60-month series (level 100 a month,
annual rate ratio 1.06, planted seasonality): Poisson counts, NB2 counts with α = 0.05 (the
cases of the unit tests, with more replications), and two weakly overdispersed NB2 cases
(α = 0.01 and 0.002, variance 2 and 1.2 times the mean) where the Poisson-or-NB decision
can miss the overdispersion: their coverage shows what that pre-test costs. Seeded. Results
go to ``bench/results/trends_coverage.json``.

    python bench/trends_coverage.py [--replications 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from observatoire.models.trends import coverage_simulation

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240601
CASES = [
    ("poisson", 0.0, 1.0),
    ("binomiale_negative_alpha_0.05", 0.05, 1.0),
    ("binomiale_negative_alpha_0.01", 0.01, 0.5),
    ("binomiale_negative_alpha_0.002", 0.002, 0.5),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=2000)
    args = parser.parse_args()
    results = {}
    for name, alpha, share in CASES:
        reps = max(100, int(args.replications * share))
        start = time.perf_counter()
        res = coverage_simulation(replications=reps, alpha=alpha, seed=SEED)
        record = res.to_dict()
        record["seconds"] = round(time.perf_counter() - start, 1)
        results[name] = record
        print(
            f"{name:32s} couverture {res.coverage:.3f} ± {res.mc_se:.3f} "
            f"({res.covered}/{reps}) familles {res.families} en {record['seconds']} s",
            flush=True,
        )
    out = {
        "description": (
            "Couverture empirique de l'IC à 95 % du rapport de taux annuel du modèle mensuel "
            "(60 mois, niveau 100, RR 1,06, saisonnalité plantée), choix Poisson / binomiale "
            "négative compris."
        ),
        "target": [0.93, 0.97],
        "cases": results,
        "machine": {"python": platform.python_version(), "platform": sys.platform},
    }
    path = ROOT / "bench/results/trends_coverage.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Résultats écrits dans {path}")


if __name__ == "__main__":
    main()
