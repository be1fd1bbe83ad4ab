"""Coverage of the intervals the youth study prints, by simulation on planted truth (too slow
for the test suite).

Every case draws data shaped like the default sample's (bases, shares, censoring), computes the
interval with the study's own function, and counts how often it contains the planted value.
Target: 93–97 % for a nominal 95 % interval. Seeded; results in
``bench/results/youth_coverage.json``.

* **RMST** (:func:`observatoire.youth.survival.restricted_mean`, ``rmst_difference``): each
  group's RMST and the youth − adults difference, on the shelter (τ = 90 days, 339 young
  people and 813 adults, half the young people leaving after one or two nights) and on the
  network (τ = 365 days, 670 and 3 001 persons, curves that cross); independent censoring.
* **Adjusted RMST differences** (pseudo-observations, :func:`rmst_pseudo_values` then
  :func:`observatoire.youth.compare.adjusted_effects` with ``family="gaussian"``): age bands
  against adults, sex and first service confounding, an effect planted additive on the RMST
  scale (a mixture whose short-stay probability is linear in the covariates), shelter sizes.
  Fewer replications (each needs n leave-one-out Kaplan–Meier fits).
* **Aalen–Johansen** cumulative incidence of the three destinations at 3, 30 and 90 days
  (:func:`observatoire.youth.competing.incidence_intervals`, bootstrap over persons, 200
  resamples as in ``params/pipeline.yaml``), youth and adults, including the rare destination
  (housing within 3 days: about 1 % of the persons, a handful of events): the printed interval
  (Wilson with the bootstrap's effective sample size) and the percentile interval of the same
  resamples (printed before, which under-covered). Fewer replications (200 resamples each).
* **Adjusted risk ratios** (:func:`adjusted_effects`, log-link Poisson): one row per person with
  HC1 errors (the printed primary outcome), and several rows per person sharing a person effect,
  with cluster-robust errors against HC1 errors that ignore the clustering.
* **Newcombe** difference of two proportions (:func:`compare_proportions`), the primary
  outcome's and a sparse case.

    python bench/youth_coverage.py [--replications 1000] [--bootstrap 400] [--pseudo 300]
        [--only CASE ...]  (reruns CASE, keeps the other cases of the JSON)
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.youth import competing, survival
from observatoire.youth.compare import adjusted_effects, compare_proportions

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240601
TARGET = (0.93, 0.97)
TRUTH_DRAWS = 2_000_000
SHELTER_N = {"jeunes": 339, "adultes": 813}
NETWORK_N = {"jeunes": 670, "adultes": 3001}
INCIDENCE_TIMES = (3, 30, 90)
CAUSES = (competing.HOUSING, competing.OTHER_SERVICE, competing.NOTHING)
N_BOOT = 200

# Shelter: P(one or two nights), mean of the longer stays beyond 3 days, destination
# probabilities (housing, other service, nothing) after a short and after a long stay.
SHELTER = {
    "jeunes": {"short": 0.50, "long_mean": 25.0, "dest_short": (0.02, 0.85, 0.13),
               "dest_long": (0.10, 0.15, 0.75)},
    "adultes": {"short": 0.15, "long_mean": 35.0, "dest_short": (0.05, 0.25, 0.70),
                "dest_long": (0.08, 0.20, 0.72)},
}  # fmt: skip
# Network: P(one day), then a mixture of exponential durations (mean days, weight): young
# people stay longer at first, adults more often for years (the curves cross).
NETWORK = {
    "jeunes": {"one_day": 0.20, "parts": ((88.0, 1.0),)},
    "adultes": {"one_day": 0.30, "parts": ((40.0, 0.885), (2000.0, 0.115))},
}
CENSOR_MAX = {"abri": 400, "reseau": 1500}  # uniform censoring time, days


def _share(hit: int, reps: int) -> dict[str, object]:
    c = hit / reps
    lo, hi = TARGET
    verdict = "dans la cible" if lo <= c <= hi else ("sous la cible" if c < lo else "au-dessus")
    return {
        "covered": int(hit),
        "replications": reps,
        "coverage": c,
        "mc_se": math.sqrt(c * (1 - c) / reps),
        "verdict": verdict,
    }


# --- planted durations ---------------------------------------------------------------------


def shelter_durations(rng: np.random.Generator, group: str, n: int) -> tuple[np.ndarray, ...]:
    """Shelter spells: duration (days) and destination, uncensored."""
    p = SHELTER[group]
    short = rng.random(n) < p["short"]
    t = np.where(short, rng.integers(1, 3, size=n), 3 + rng.geometric(1 / p["long_mean"], size=n))
    u = rng.random(n)
    cause = np.empty(n, dtype=np.int64)
    for mask, probs in ((short, p["dest_short"]), (~short, p["dest_long"])):
        cum = np.cumsum(probs)
        cause[mask] = np.asarray(CAUSES)[np.searchsorted(cum, u[mask] * cum[-1], side="right")]
    return t.astype(np.float64), cause


def network_durations(rng: np.random.Generator, group: str, n: int) -> np.ndarray:
    p = NETWORK[group]
    means = np.array([m for m, _ in p["parts"]])
    weights = np.array([w for _, w in p["parts"]])
    part = rng.choice(len(means), size=n, p=weights / weights.sum())
    t = 1 + np.floor(rng.exponential(means[part]))
    return np.where(rng.random(n) < p["one_day"], 1.0, t)


def censor(rng: np.random.Generator, t: np.ndarray, cmax: int) -> tuple[np.ndarray, np.ndarray]:
    c = rng.integers(1, cmax + 1, size=len(t)).astype(np.float64)
    return np.minimum(t, c), (t <= c).astype(np.int64)


# --- cases ---------------------------------------------------------------------------------


def rmst_case(kind: str, reps: int, seed: int) -> dict[str, object]:
    """Each group's RMST CI and the difference's CI, shelter (τ 90) or network (τ 365)."""
    rng = np.random.default_rng(seed)
    tau = 90.0 if kind == "abri" else 365.0
    sizes = SHELTER_N if kind == "abri" else NETWORK_N

    def draw(group: str, n: int) -> np.ndarray:
        if kind == "abri":
            return shelter_durations(rng, group, n)[0]
        return network_durations(rng, group, n)

    truth = {g: float(np.minimum(draw(g, TRUTH_DRAWS), tau).mean()) for g in sizes}
    hits = {"jeunes": 0, "adultes": 0, "difference": 0}
    censored = []
    for _ in range(reps):
        data = {}
        for g, n in sizes.items():
            data[g] = censor(rng, draw(g, n), CENSOR_MAX[kind])
            censored.append(1 - data[g][1].mean())
            r = survival.restricted_mean(*data[g], tau)
            hits[g] += r["lower"] <= truth[g] <= r["upper"]
        d = survival.rmst_difference(*data["jeunes"], *data["adultes"], tau)
        hits["difference"] += d["lower"] <= truth["jeunes"] - truth["adultes"] <= d["upper"]
    return {
        "tau": tau,
        "n": sizes,
        "truth": truth | {"difference": truth["jeunes"] - truth["adultes"]},
        "censored_share": float(np.mean(censored)),
        "coverage": {k: _share(v, reps) for k, v in hits.items()},
    }


def _covariates(rng: np.random.Generator, n_youth: int, n_adults: int) -> pd.DataFrame:
    """Age band (two youth bands, adults), sex and first service, the last two associated
    with the band (confounding)."""
    band = np.array(
        ["18–21 ans"] * (n_youth // 2)
        + ["22–25 ans"] * (n_youth - n_youth // 2)
        + ["26 ans et plus"] * n_adults
    )
    youth = band != "26 ans et plus"
    sex = np.where(rng.random(len(band)) < np.where(youth, 0.35, 0.20), "F", "M")
    first = np.where(rng.random(len(band)) < np.where(youth, 0.55, 0.25), "accueil", "abri")
    return pd.DataFrame({"band": band, "sex": sex, "first": first})


PSEUDO_EFFECT = {"18–21 ans": 0.35, "22–25 ans": 0.30}  # added P(short stay)
PSEUDO_BASE, PSEUDO_SEX, PSEUDO_FIRST = 0.12, 0.05, 0.15


def pseudo_case(reps: int, seed: int) -> dict[str, object]:
    """Adjusted RMST differences from pseudo-observations (shelter sizes, τ = 90). The
    short-stay probability is linear in the covariates, so RMST(X) = r_long − p(X)·(r_long −
    r_short) is too, and the planted adjusted difference of a band is −effect·(r_long −
    r_short)."""
    rng = np.random.default_rng(seed)
    tau = 90.0
    long_mean = 30.0
    r_short = 1.5
    r_long = float(np.minimum(3 + rng.geometric(1 / long_mean, TRUTH_DRAWS), tau).mean())
    truth = {b: -e * (r_long - r_short) for b, e in PSEUDO_EFFECT.items()}
    hits = dict.fromkeys(truth, 0)
    for _ in range(reps):
        x = _covariates(rng, SHELTER_N["jeunes"], SHELTER_N["adultes"])
        p = (
            PSEUDO_BASE
            + x["band"].map(PSEUDO_EFFECT).fillna(0.0).to_numpy()
            + PSEUDO_SEX * (x["sex"] == "F").to_numpy()
            + PSEUDO_FIRST * (x["first"] == "accueil").to_numpy()
        )
        n = len(x)
        short = rng.random(n) < p
        t = np.where(short, rng.integers(1, 3, size=n), 3 + rng.geometric(1 / long_mean, n))
        time_, event = censor(rng, t.astype(np.float64), CENSOR_MAX["abri"])
        pseudo = survival.rmst_pseudo_values(time_, event, tau)
        fit = adjusted_effects(
            x.assign(pseudo=pseudo), "pseudo", "band", "26 ans et plus", ("sex", "first"),
            family="gaussian",
        )  # fmt: skip
        for row in fit.itertuples():
            hits[row.level] += row.lower <= truth[row.level] <= row.upper
    return {
        "tau": tau,
        "n": SHELTER_N,
        "truth": truth,
        "coverage": {k: _share(v, reps) for k, v in hits.items()},
    }


def incidence_case(reps: int, seed: int, n_boot: int = N_BOOT) -> dict[str, object]:
    """Bootstrap limits of the Aalen–Johansen incidences, shelter destinations: the printed
    interval (Wilson with the bootstrap's effective sample size) and the percentile interval
    of the same resamples (printed before)."""
    rng = np.random.default_rng(seed)
    truth: dict[str, dict[str, float]] = {}
    for g in SHELTER_N:
        t, c = shelter_durations(rng, g, TRUTH_DRAWS)
        truth[g] = {
            f"{competing.DESTINATIONS[k]} à {d} j": float(np.mean((t <= d) & (c == k)))
            for k in CAUSES
            for d in INCIDENCE_TIMES
        }
    methods = competing.INTERVAL_METHODS
    hits = {m: {g: dict.fromkeys(truth[g], 0) for g in SHELTER_N} for m in methods}
    for rep in range(reps):
        for g, n in SHELTER_N.items():
            t, c = shelter_durations(rng, g, n)
            time_, event = censor(rng, t, CENSOR_MAX["abri"])
            cause = np.where(event == 1, c, competing.CENSORED)
            for method in methods:
                limits = competing.incidence_intervals(
                    time_, cause, INCIDENCE_TIMES, CAUSES, n_boot, seed=rep, method=method
                )
                for k in CAUSES:
                    for i, d in enumerate(INCIDENCE_TIMES):
                        key = f"{competing.DESTINATIONS[k]} à {d} j"
                        lo, hi = limits[k][i]
                        hits[method][g][key] += lo <= truth[g][key] <= hi
    return {
        "n": SHELTER_N,
        "n_boot": n_boot,
        "truth": truth,
        "expected_events": {
            g: {k: v * SHELTER_N[g] for k, v in truth[g].items()} for g in SHELTER_N
        },
        "coverage": {
            m: {g: {k: _share(v, reps) for k, v in hits[m][g].items()} for g in SHELTER_N}
            for m in methods
        },
    }


RR = {"18–21 ans": 3.6, "22–25 ans": 3.3}
RR_BASE, RR_SEX, RR_FIRST = 0.12, 1.1, 1.4


def rr_case(reps: int, seed: int) -> dict[str, object]:
    """Adjusted risk ratios, one row per person, HC1 errors (the printed primary outcome)."""
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(RR, 0)
    for _ in range(reps):
        x = _covariates(rng, SHELTER_N["jeunes"], SHELTER_N["adultes"])
        p = (
            RR_BASE
            * x["band"].map(RR).fillna(1.0).to_numpy()
            * np.where(x["sex"] == "F", RR_SEX, 1.0)
            * np.where(x["first"] == "accueil", RR_FIRST, 1.0)
        )
        x["left"] = (rng.random(len(x)) < p).astype(float)
        fit = adjusted_effects(x, "left", "band", "26 ans et plus", ("sex", "first"))
        for row in fit.itertuples():
            hits[row.level] += row.lower <= RR[row.level] <= row.upper
    return {"n": SHELTER_N, "truth": RR, "coverage": {k: _share(v, reps) for k, v in hits.items()}}


CLUSTER_RR, CLUSTER_BASE, CLUSTER_SEX = 2.0, 0.15, 1.3
CLUSTER_PERSONS = {"jeunes": 150, "adultes": 450}


def cluster_case(reps: int, seed: int) -> dict[str, object]:
    """Several rows per person (1 + Poisson(1.5)) sharing a person effect u (mean 1, 2·Beta(½,
    ½)): P(y = 1 | x, u) = u·exp(xβ), so the marginal risk ratio is exp(β). Cluster-robust
    errors against HC1 errors that treat the rows as independent."""
    rng = np.random.default_rng(seed)
    hits = {"cluster": 0, "hc1": 0}
    rows_per_person = []
    for _ in range(reps):
        n_y, n_a = CLUSTER_PERSONS["jeunes"], CLUSTER_PERSONS["adultes"]
        persons = pd.DataFrame(
            {
                "person_id": np.arange(n_y + n_a),
                "group": ["jeunes"] * n_y + ["adultes"] * n_a,
                "u": 2 * rng.beta(0.5, 0.5, n_y + n_a),
            }
        )
        persons["sex"] = np.where(
            rng.random(len(persons)) < np.where(persons["group"] == "jeunes", 0.35, 0.2), "F", "M"
        )
        k = 1 + rng.poisson(1.5, len(persons))
        rows = persons.loc[persons.index.repeat(k)].reset_index(drop=True)
        rows_per_person.append(len(rows) / len(persons))
        p = (
            CLUSTER_BASE
            * rows["u"].to_numpy()
            * np.where(rows["group"] == "jeunes", CLUSTER_RR, 1.0)
            * np.where(rows["sex"] == "F", CLUSTER_SEX, 1.0)
        )
        rows["y"] = (rng.random(len(rows)) < p).astype(float)
        for name, cluster in (("cluster", "person_id"), ("hc1", None)):
            fit = adjusted_effects(rows, "y", "group", "adultes", ("sex",), cluster=cluster)
            r = fit.iloc[0]
            hits[name] += r["lower"] <= CLUSTER_RR <= r["upper"]
    return {
        "persons": CLUSTER_PERSONS,
        "mean_rows_per_person": float(np.mean(rows_per_person)),
        "truth": CLUSTER_RR,
        "coverage": {
            "erreurs robustes par personne (cluster)": _share(hits["cluster"], reps),
            "erreurs HC1 (lignes traitées comme indépendantes)": _share(hits["hc1"], reps),
        },
    }


NEWCOMBE = {
    "issue principale (53,7 % de 339 contre 14,6 % de 813)": (0.537, 339, 0.146, 813),
    "cas clairsemé (6 % de 50 contre 2 % de 200)": (0.06, 50, 0.02, 200),
}


def newcombe_case(reps: int, seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, (p1, n1, p2, n2) in NEWCOMBE.items():
        hit = 0
        for _ in range(reps):
            r = compare_proportions(int(rng.binomial(n1, p1)), n1, int(rng.binomial(n2, p2)), n2)
            hit += r["lower"] <= p1 - p2 <= r["upper"]
        out[name] = _share(hit, reps)
    return {"coverage": out}


def _timed(label: str, fn: Callable[[], dict[str, object]]) -> dict[str, object]:
    start = time.perf_counter()
    res = fn()
    res["seconds"] = round(time.perf_counter() - start, 1)
    print(f"{label}: {json.dumps(res['coverage'], ensure_ascii=False)[:600]}", flush=True)
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--bootstrap", type=int, default=400, help="replications, AJ bootstrap")
    parser.add_argument("--pseudo", type=int, default=300, help="replications, pseudo-values")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--output", default=str(ROOT / "bench/results/youth_coverage.json"))
    args = parser.parse_args()
    reps = args.replications
    cases: dict[str, Callable[[], dict[str, object]]] = {
        "rmst_abri_tau90": lambda: rmst_case("abri", reps, SEED + 1),
        "rmst_reseau_tau365_courbes_croisees": lambda: rmst_case("reseau", reps, SEED + 2),
        "rr_ajuste_hc1_une_ligne_par_personne": lambda: rr_case(reps, SEED + 3),
        "rr_ajuste_plusieurs_lignes_par_personne": lambda: cluster_case(reps, SEED + 4),
        "newcombe_difference_de_parts": lambda: newcombe_case(reps, SEED + 5),
        "aalen_johansen_bootstrap": lambda: incidence_case(args.bootstrap, SEED + 6),
        "rmst_ajuste_pseudo_observations": lambda: pseudo_case(args.pseudo, SEED + 7),
    }
    path = Path(args.output)
    results = {}
    if args.only is not None and path.exists():  # rerun some cases, keep the others
        results = json.loads(path.read_text(encoding="utf-8"))["cases"]
    for name, fn in cases.items():
        if args.only is None or name in args.only:
            results[name] = _timed(name, fn)
    out = {
        "description": (
            "Couverture empirique des intervalles à 95 % de l'étude « Jeunes en errance », "
            "sur des données simulées à vérité connue, de la taille de l'échantillon par "
            "défaut : RMST et écart de RMST (abri, τ 90 j ; réseau, τ 365 j, courbes qui se "
            "croisent), écarts de RMST ajustés (pseudo-observations), incidences cumulées "
            "d'Aalen–Johansen (bootstrap des personnes, 200 tirages : intervalle de Wilson à "
            "effectif efficace, imprimé, et intervalle percentile des mêmes tirages, imprimé "
            "avant), risques "
            "relatifs ajustés (Poisson à lien log, erreurs robustes HC1 ; et plusieurs lignes "
            "par personne, erreurs robustes par personne), différence de deux parts (Newcombe)."
        ),
        "target": list(TARGET),
        "replications": {
            "default": reps,
            "aalen_johansen_bootstrap": args.bootstrap,
            "rmst_ajuste_pseudo_observations": args.pseudo,
            "why_fewer": (
                "chaque réplication du bootstrap refait 200 estimations par groupe ; chaque "
                "réplication des pseudo-observations refait n = 1 152 estimations de Kaplan–Meier"
            ),
        },
        "seed": SEED,
        "cases": results,
        "machine": {"python": platform.python_version(), "platform": sys.platform},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Résultats écrits dans {path}")


if __name__ == "__main__":
    main()
