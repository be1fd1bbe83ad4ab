"""The project measures' methods on planted truth, many replications (too slow for the tests).

Cases, each seeded:

* **council effect** (:func:`observatoire.projects.participation.council_effect`, 24 months,
  council from 2024-03, ratio 1.5 and 1.0): (a) the unit test's design (8–14 sessions a month,
  8 distinct participants per session, the sample's seasons, a trend of +2 % a month, Poisson
  months); (b) the synthetic sample's design (4–7 sessions, 1.8 per session, its seasons, a
  log-normal noise of sd 0.05, no trend: ``sample/projects/affiliation.py``); (c) design (a)
  overdispersed (NB2, α = 0.05). Design (b) is underdispersed (Pearson χ²/df ≈ 0.05: the model
  estimates the scale, quasi-Poisson with a Student interval; a Poisson interval covered 100 %
  there, five times too wide). Per case: mean and sd of the estimate, share within 20 % of the
  planted ratio, coverage of the model's 95 % interval and of the Newey–West one, the naive
  before/after ratio's share within 20 % and coverage, and the no-season model's share within 20 %.
* **affiliation** (:func:`observatoire.projects.affiliation.hodges_lehmann` through
  :func:`~observatoire.projects.affiliation.affiliation`): planted change of +1 and 0 domain,
  60 tenants: rejection rate of the Wilcoxon test, share of HL intervals containing the planted
  change (a discrete difference: the interval is closed on Walsh averages).
* **housing outcomes under a planted null** (constant exit hazard, participation with no effect):
  coverage of 0 by the guarded Newcombe interval against the naive (window from the project's
  start) one — the immortal-time bias the guard removes.

    python bench/projects_methods.py [--replications 200]

Writes ``bench/results/projects_methods.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from observatoire.projects.affiliation import affiliation  # noqa: E402
from observatoire.projects.outcomes import housing_outcomes  # noqa: E402
from observatoire.projects.participation import council_effect  # noqa: E402
from tests.support.projects_planted import SEASON, affiliation_log, null_tenants  # noqa: E402

SEED = 20240301
MONTHS = pd.period_range("2023-01", "2024-12", freq="M")
START = pd.Period("2024-03", freq="M")
SAMPLE_SESSIONS = (4, 4, 5, 5, 6, 6, 5, 3, 5, 5, 5, 4)


def _panel(design: str, ratio: float, rng: np.random.Generator) -> pd.DataFrame:
    after = np.array([m >= START for m in MONTHS])
    season = np.array([SEASON[m.month - 1] for m in MONTHS])
    t = np.arange(len(MONTHS))
    if design == "sample":
        sessions = np.array([SAMPLE_SESSIONS[m.month - 1] for m in MONTHS])
        sessions = sessions + rng.integers(0, 2, len(MONTHS))
        mean = sessions * 1.8 * season * np.where(after, ratio, 1.0)
        y = np.round(mean * np.exp(rng.normal(0, 0.05, len(MONTHS))))
    else:
        sessions = rng.integers(8, 15, len(MONTHS))
        mean = sessions * 8.0 * season * np.exp(0.02 * t) * np.where(after, ratio, 1.0)
        if design == "overdispersed":
            alpha = 0.05
            mean = rng.gamma(1 / alpha, mean * alpha)
        y = rng.poisson(mean)
    return pd.DataFrame(
        {"month": MONTHS.astype(str), "sessions": sessions, "participants": y.astype("int64")}
    )


def council_case(design: str, ratio: float, reps: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    est, inside, hac, naive_in, naive_cov, noseason_in, within = [], 0, 0, 0, 0, 0, 0
    widths = []
    families: dict[str, int] = {}
    for _ in range(reps):
        e = council_effect(_panel(design, ratio, rng), START)
        est.append(e.estimate)
        within += abs(e.estimate / ratio - 1) < 0.2
        inside += e.ci_low < ratio < e.ci_high
        widths.append(e.ci_high / e.ci_low)
        hac += e.hac_ci_low < ratio < e.hac_ci_high
        naive_in += abs(e.naive / ratio - 1) < 0.2
        naive_cov += e.naive_ci_low < ratio < e.naive_ci_high
        noseason_in += abs(e.estimate_without_season / ratio - 1) < 0.2
        families[e.family] = families.get(e.family, 0) + 1
    a = np.asarray(est)
    return {
        "planted": ratio,
        "replications": reps,
        "mean": float(a.mean()),
        "geometric_mean": float(np.exp(np.log(a).mean())),
        "sd": float(a.std(ddof=1)),
        "within_20pct": within / reps,
        "coverage": inside / reps,
        "median_ci_high_over_low": float(np.median(widths)),
        "coverage_newey_west": hac / reps,
        "naive_within_20pct": naive_in / reps,
        "naive_coverage": naive_cov / reps,
        "no_season_within_20pct": noseason_in / reps,
        "families": families,
    }


def affiliation_case(change: int, reps: int, seed: int) -> dict[str, float]:
    rejected = covered = 0
    hl = []
    for r in range(reps):
        f, _ = affiliation_log(change=change, seed=seed + r)
        p = affiliation(f, None, 2024).paired
        rejected += p["wilcoxon_p"] < 0.05
        covered += p["hl_ci_low"] <= change <= p["hl_ci_high"]
        hl.append(p["hl_estimate"])
    return {
        "planted_change": change,
        "replications": reps,
        "wilcoxon_rejection": rejected / reps,
        "hl_contains_planted": covered / reps,
        "hl_mean": float(np.mean(hl)),
    }


def outcomes_case(reps: int, seed: int) -> dict[str, float]:
    guarded = naive = 0
    d_g, d_n = [], []
    for r in range(reps):
        contacts, link, parts = null_tenants(seed=seed + r)
        res = housing_outcomes(contacts, link, parts, 2024)
        g, n = res.difference["retention"], res.naive["retention"]
        guarded += g["ci_low"] < 0 < g["ci_high"]
        naive += n["ci_low"] < 0 < n["ci_high"]
        d_g.append(g["d"])
        d_n.append(n["d"])
    return {
        "planted_difference": 0.0,
        "replications": reps,
        "guarded_coverage_of_0": guarded / reps,
        "guarded_mean_difference": float(np.mean(d_g)),
        "naive_coverage_of_0": naive / reps,
        "naive_mean_difference": float(np.mean(d_n)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replications", type=int, default=200)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    reps = args.replications
    t0 = time.time()
    out: dict[str, object] = {"seed": SEED, "python": platform.python_version()}
    council = {}
    for k, (design, ratio) in enumerate(
        [(d, r) for d in ("test", "sample", "overdispersed") for r in (1.5, 1.0)]
    ):
        council[f"{design}_ratio_{ratio}"] = council_case(design, ratio, reps, SEED + k)
        print(f"conseil {design} {ratio}: {council[f'{design}_ratio_{ratio}']}", flush=True)
    out["council_effect"] = council
    small = max(20, reps // 4)
    out["affiliation"] = {
        f"change_{c}": affiliation_case(c, small, SEED + 100 * (c + 1)) for c in (1, 0)
    }
    print(f"affiliation: {out['affiliation']}", flush=True)
    out["outcomes_null"] = outcomes_case(small, SEED + 1000)
    print(f"issues: {out['outcomes_null']}", flush=True)
    out["seconds"] = round(time.time() - t0, 1)
    path = ROOT / "bench" / "results" / "projects_methods.json"
    path.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"écrit : {path} ({out['seconds']} s)")
    assert all(math.isfinite(v["mean"]) for v in council.values())


if __name__ == "__main__":
    main()
