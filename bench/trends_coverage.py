"""Coverage of every interval the trends chapter prints, by simulation (too slow for the tests).

Cases, each seeded, 1 000 replications unless said (targets 93–97 % for nominal 95 %):

* **monthly model** (:func:`observatoire.models.trends.coverage_simulation`, 60 months, level
  100, RR 1.06, planted seasonality): the July effect (the seasonality the report prints) and the
  trend, under independent Poisson and NB2 months and under a latent AR(1) (months sharing
  their persons). The monthly trend is *not* printed: with persistent dependence and 60 months
  its interval undercovers (see the results), which is why the report's trend is year-level;
* **yearly trend** (quasi-Poisson, t on n − 2 df, 5 years, RR 1.06): Poisson, overdispersed
  (NB2 α = 0.002 at level 3 000, variance 7 × the mean), underdispersed (binomial thinning), and
  four years (the sensitivity without 2020);
* **paired year on year** (:func:`observatoire.models.inference.paired_rate_ratio`): persons in
  both years, in one only, drawn as Poisson, against the former independent interval;
* **occupancy** (logit, serially correlated months): planted logit trend and winter ceiling.

    python bench/trends_coverage.py [--replications 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.models.inference import fit_occupancy_model, paired_rate_ratio
from observatoire.models.trends import coverage_simulation, fit_yearly_trend

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240601
MONTHLY = [
    ("mensuel_poisson", {}),
    ("mensuel_binomiale_negative_alpha_0.05", {"alpha": 0.05}),
    ("mensuel_ar1_rho_0.6", {"latent_rho": 0.6, "latent_sd": 0.08}),
    ("mensuel_ar1_rho_0.8_bn", {"alpha": 0.01, "latent_rho": 0.8, "latent_sd": 0.05}),
]


def _share(hit: int, reps: int) -> dict[str, float]:
    c = hit / reps
    return {
        "covered": hit,
        "replications": reps,
        "coverage": c,
        "mc_se": math.sqrt(c * (1 - c) / reps),
    }


def yearly_case(kind: str, reps: int, seed: int, years: int = 5) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    idx = np.arange(2020, 2020 + years)
    mean = 3000 * 1.06 ** (idx - idx[0])
    hit = 0
    for _ in range(reps):
        if kind == "poisson":
            y = rng.poisson(mean)
        elif kind == "surdispersion":
            y = rng.negative_binomial(1 / 0.002, 1 / (1 + 0.002 * mean))
        else:  # underdispersed: binomial with p = 0.8 of 1.25 × mean
            y = rng.binomial(np.round(mean / 0.8).astype(int), 0.8)
        res = fit_yearly_trend(pd.Series(y, index=idx))
        hit += res.ci_low <= 1.06 <= res.ci_high
    return _share(hit, reps)


def paired_case(reps: int, seed: int, m: tuple[float, float, float]) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    m11, m01, m10 = m
    truth = (m11 + m01) / (m11 + m10)
    hit = ind = 0
    for _ in range(reps):
        r = paired_rate_ratio(rng.poisson(m11), rng.poisson(m01), rng.poisson(m10))
        hit += r.ci_low <= truth <= r.ci_high
        ind += r.independent_ci[0] <= truth <= r.independent_ci[1]
    out = _share(hit, reps)
    out["independent_coverage"] = ind / reps
    return out


def occupancy_case(reps: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01", periods=60, freq="MS")
    t = (np.arange(60) - 29.5) / 12
    winter = np.where(months.month.isin([11, 12, 1, 2, 3]), 2.0, 0.0)
    hit = 0
    for _ in range(reps):
        u = np.zeros(60)
        for i in range(1, 60):
            u[i] = 0.6 * u[i - 1] + rng.normal(0, 0.1)
        p = 1 / (1 + np.exp(-(1.0 + 0.15 * t + winter + u)))
        frame = pd.DataFrame({"month": months, "nights": rng.binomial(900, p), "capacity": 900.0})
        m = fit_occupancy_model(frame)
        hit += m.ci_low <= math.exp(0.15) <= m.ci_high
    return _share(hit, reps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    args = parser.parse_args()
    reps = args.replications
    results: dict[str, dict] = {}

    def run(name: str, fn, *a, **kw) -> None:
        start = time.perf_counter()
        rec = fn(*a, **kw)
        rec = rec.to_dict() if hasattr(rec, "to_dict") else rec
        rec["seconds"] = round(time.perf_counter() - start, 1)
        results[name] = rec
        print(
            f"{name:40s} {json.dumps({k: v for k, v in rec.items() if 'coverage' in k})}",
            flush=True,
        )

    for name, kw in MONTHLY:
        run(name, coverage_simulation, replications=reps, seed=SEED, **kw)
    for kind in ("poisson", "surdispersion", "sousdispersion"):
        run(f"annuel_{kind}", yearly_case, kind, reps, SEED)
    run("annuel_sans_2020_poisson", yearly_case, "poisson", reps, SEED, years=4)
    run("apparie_reseau", paired_case, reps, SEED, (1059.0, 2284.0, 2031.0))
    run("apparie_fort_recouvrement", paired_case, reps, SEED, (900.0, 150.0, 120.0))
    run("apparie_petits_nombres", paired_case, reps, SEED, (60.0, 20.0, 15.0))
    run("occupation_logit_ar1", occupancy_case, reps, SEED)
    out = {
        "description": (
            "Couverture empirique des intervalles à 95 % imprimés par le chapitre Tendances : "
            "saisonnalité du modèle mensuel (erreurs autocorrélées), tendance annuelle "
            "quasi-Poisson, rapport apparié d'une année sur l'autre, occupation (logit). La "
            "tendance du modèle mensuel est donnée pour information (non imprimée)."
        ),
        "target": [0.93, 0.97],
        "printed": {
            "saisonnalite_mensuelle": "seasonal_coverage des cas mensuel_*",
            "tendance_annuelle": "annuel_*",
            "annee_sur_annee": "apparie_*",
            "occupation": "occupation_logit_ar1",
        },
        "cases": results,
        "machine": {"python": platform.python_version(), "platform": sys.platform},
    }
    path = ROOT / "bench/results/trends_coverage.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Résultats écrits dans {path}")


if __name__ == "__main__":
    main()
