"""Coverage of the temperature model's 95 % interval on planted truth (too slow for the tests).

Each replication draws four winters (or summers) of daily demand with a planted log rate ratio
per °C beyond the threshold (:func:`tests.support.plans.planted_winters`: seasonal temperature
with weather spells, a mid-season demand bump that confounds a naive comparison, weekday and
trend, NB2 noise and an AR(1) latent day effect), fits
:func:`observatoire.plans.temperature.fit_temperature_effect`, and records the bias, the share
of estimates within 20 % of the planted effect and the coverage of the 95 % interval (the
fortnight block jackknife the model reports; target 93–97 %) beside that of the Newey–West
interval it replaced, and the naive unadjusted slope. Cases: cold (0.05 per °C below 0 °C),
heat (0.04 per °C above 25 °C), no effect (coverage of 0), strong autocorrelation (ρ = 0.8).

    python bench/plans_temperature.py [--replications 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from observatoire.plans.temperature import COLD, HEAT, fit_temperature_effect
from tests.support.plans import planted_winters

OUT = Path(__file__).parent / "results" / "plans_temperature.json"

CASES = {
    "froid": dict(per_degree=0.05, direction=COLD, kwargs={}),
    "chaleur": dict(
        per_degree=0.04, direction=HEAT, kwargs=dict(threshold=25.0, heat=True, base=80.0)
    ),
    "sans_effet": dict(per_degree=0.0, direction=COLD, kwargs={}),
    "autocorrelation_forte": dict(per_degree=0.05, direction=COLD, kwargs=dict(rho=0.8)),
}


def run_case(name: str, reps: int) -> dict:
    case = CASES[name]
    truth = case["per_degree"]
    est, cover, cover_hac, within, naive, fam, se, se_hac = [], 0, 0, 0, [], [], [], []
    for seed in range(reps):
        frame = planted_winters(seed=1000 + seed, per_degree=truth, **case["kwargs"])
        fit = fit_temperature_effect(frame, case["direction"])
        est.append(fit.log_rr)
        naive.append(fit.naive_log_rr)
        fam.append(fit.family)
        cover += fit.ci95[0] <= truth <= fit.ci95[1]
        cover_hac += abs(fit.log_rr - truth) <= 1.96 * fit.se_hac
        se.append(fit.se)
        se_hac.append(fit.se_hac)
        within += truth != 0 and abs(fit.log_rr - truth) <= 0.2 * abs(truth)
    e = np.array(est)
    return {
        "planted_per_degree": truth,
        "replications": reps,
        "mean_estimate": float(e.mean()),
        "bias": float(e.mean() - truth),
        "sd_estimate": float(e.std(ddof=1)),
        "coverage95": cover / reps,
        "coverage95_newey_west": cover_hac / reps,
        "mean_se_over_sd": float(np.mean(se) / e.std(ddof=1)),
        "mean_se_newey_west_over_sd": float(np.mean(se_hac) / e.std(ddof=1)),
        "within_20pct": within / reps if truth else None,
        "naive_mean_estimate": float(np.mean(naive)),
        "negative_binomial_share": float(np.mean([f == "negative binomial" for f in fam])),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=100)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.time()
    results = {name: run_case(name, args.replications) for name in CASES}
    out = {
        "what": "coverage of the temperature model's 95 % interval on planted truth",
        "cases": results,
        "seconds": round(time.time() - t0, 1),
        "python": platform.python_version(),
    }
    OUT.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
