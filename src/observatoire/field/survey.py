"""The worker survey on violence: post-stratified prevalences with their confidence intervals.

Response is partial and uneven (night watchmen answer less than educators, and are more exposed),
so the respondents' raw shares misstate the staff's. The estimand is the **share of the staff of
the frame** (``barometre.staffing``: headcount per service × role) who report an exposure in the
last 12 months. Estimator: post-stratification on service × role cells (Cochran 1977, § 5A.9):
``p̂ = Σ_h W_h p̂_h``, ``W_h = N_h / N``, ``p̂_h`` the respondents' share in cell h — each
respondent weighs ``N_h / n_h``. Variance as for a stratified random sample within cells (the
assumption: within a cell, respondents are like non-respondents, *missing at random given
service and role*): ``V = Σ_h W_h² (1 − n_h/N_h) s_h² / n_h``; a cell with one respondent
borrows the pooled variance p̂(1−p̂). CI: Wilson's interval at the design's effective size
``n* = p̂(1−p̂)/V`` (Korn & Graubard 1998), which stays inside [0, 1]. Kish's effective size
``(Σw)²/Σw²`` says what the weighting costs. The unweighted share (Wilson CI on n) is shown
beside it.

Cells: a frame cell with no respondent is collapsed into its service's responding cells (its
headcount shared in proportion); a service with no respondent at all is outside what the
estimate covers (its headcount is reported as not covered); a respondent whose service × role is
not in the frame counts in the unweighted share only.

Comparisons (roles, services): each group against the rest of the staff. The groups are unions of
disjoint cells, so the two estimates are independent: a score test on the difference (the
variance under the null, one pooled share, each side at its Kish effective size — a Wald
variance is 0 for a small group whose answers are all alike), and Holm's correction over every
test of the family (outcomes × groups).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.stats import proportion_ci

__all__ = [
    "OUTCOMES",
    "Estimate",
    "compare_groups",
    "outcome_values",
    "poststrata",
    "prevalences",
    "weighted_share",
]

OUTCOMES: dict[str, str] = {
    "verbal_12m": "Violence verbale subie (12 mois)",
    "physical_12m": "Violence physique subie (12 mois)",
    "threat_12m": "Menaces subies (12 mois)",
    "witnessed_12m": "Témoin de violence (12 mois)",
    "unsafe": "Se sent peu ou pas en sécurité (1–2 sur 5)",
    "trained": "Formé à la gestion de la violence",
    "supported": "Soutien complet après un incident (parmi les concernés)",
}
"""Outcome → French label; ``unsafe`` and ``supported`` are derived (:func:`outcome_values`)."""


def outcome_values(survey: pd.DataFrame) -> pd.DataFrame:
    """0/1 (float, NaN when not answered or not concerned) for each outcome of :data:`OUTCOMES`."""
    out = pd.DataFrame(index=survey.index)
    for col in ("verbal_12m", "physical_12m", "threat_12m", "witnessed_12m", "trained"):
        out[col] = survey[col].astype("float64") if col in survey else np.nan
    safety = pd.to_numeric(survey["safety"], errors="coerce").astype("float64")
    out["unsafe"] = np.where(safety.isna(), np.nan, (safety <= 2).astype("float64"))
    support = survey["support_after"].fillna("").astype(str)
    out["supported"] = np.where(
        support.isin(["oui", "partiel", "non"]), (support == "oui").astype("float64"), np.nan
    )
    return out


@dataclass
class Strata:
    """Respondents' cells after collapsing, their frame headcounts, what the frame lost."""

    cell: pd.Series  # per respondent: the stratum label, NaN outside the frame
    population: pd.Series  # stratum → N_h
    not_covered: int
    out_of_frame: int
    collapsed: list[str]
    over: list[str] = field(default_factory=list)  # cells with more respondents than staff


def poststrata(survey: pd.DataFrame, staffing: Mapping[str, Mapping[str, int]]) -> Strata:
    """The post-strata of the respondents (see the module's rules on empty cells)."""
    cell = survey["service"].astype(str) + "×" + survey["role"].astype(str)
    n = cell.value_counts()
    population: dict[str, float] = {}
    not_covered = 0
    collapsed: list[str] = []
    over: list[str] = []
    for service, roles in staffing.items():
        cells = {f"{service}×{r}": N for r, N in roles.items()}
        answered = {c: N for c, N in cells.items() if n.get(c, 0) > 0}
        if not answered:
            not_covered += sum(cells.values())
            continue
        empty = sum(N for c, N in cells.items() if c not in answered)
        share = sum(answered.values())
        for c, N in answered.items():
            population[c] = N + empty * N / share
            if n[c] > population[c]:  # a stale frame: the respondents are at least the staff
                over.append(c)
                population[c] = float(n[c])
        collapsed += [c for c in cells if c not in answered]
    inside = cell.isin(population)
    return Strata(
        cell=cell.where(inside),
        population=pd.Series(population, dtype="float64"),
        not_covered=int(not_covered),
        out_of_frame=int((~inside).sum()),
        collapsed=collapsed,
        over=over,
    )


@dataclass(frozen=True)
class Estimate:
    """A weighted share with its design-based CI, beside the unweighted one."""

    n: int
    weighted: float
    ci95: tuple[float, float]
    se: float
    kish_n: float
    design_n: float
    unweighted: float
    unweighted_ci95: tuple[float, float]
    n_positive: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_positive": self.n_positive,
            "weighted": self.weighted,
            "ci95": list(self.ci95),
            "se": self.se,
            "kish_n": self.kish_n,
            "design_n": self.design_n,
            "unweighted": self.unweighted,
            "unweighted_ci95": list(self.unweighted_ci95),
        }


def _wilson(p: float, n: float, z: float = 1.959964) -> tuple[float, float]:
    if not n or not math.isfinite(n) or n <= 0:
        return math.nan, math.nan
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def weighted_share(y: pd.Series, strata: Strata) -> Estimate | None:
    """The post-stratified share of ``y`` (0/1 with NaN for no answer), None without answers."""
    ok = y.notna()
    if ok.sum() == 0:
        return None
    frame = pd.DataFrame({"y": y[ok], "cell": strata.cell[ok]})
    unweighted = float(frame["y"].mean())
    n_pos = int(frame["y"].sum())
    u_ci = proportion_ci(n_pos, int(len(frame)))
    inside = frame.dropna(subset=["cell"])
    if inside.empty:
        return None
    g = inside.groupby("cell")["y"].agg(["mean", "count", "var"])
    N = strata.population.reindex(g.index)
    W = N / N.sum()
    p = float((W * g["mean"]).sum())
    s2 = g["var"].where(g["count"] > 1, p * (1 - p)).fillna(0)
    fpc = (1 - g["count"] / N).clip(lower=0)
    var = float((W**2 * fpc * s2 / g["count"]).sum())
    w = (N / g["count"]).reindex(inside["cell"]).to_numpy()
    kish = float(w.sum() ** 2 / (w**2).sum())
    # every cell unanimous or a census: the finite-population variance is nil
    design_n = p * (1 - p) / var if var > 0 else math.inf
    ci = _wilson(p, design_n) if math.isfinite(design_n) else (p, p)
    return Estimate(
        n=int(len(frame)),
        weighted=p,
        ci95=ci,
        se=math.sqrt(var),
        kish_n=kish,
        design_n=design_n,
        unweighted=unweighted,
        unweighted_ci95=u_ci,
        n_positive=n_pos,
    )


def prevalences(survey: pd.DataFrame, strata: Strata) -> dict[str, dict[str, Any]]:
    """Every outcome's estimate (outcomes nobody answered are left out)."""
    values = outcome_values(survey)
    out = {}
    for code, label in OUTCOMES.items():
        est = weighted_share(values[code], strata)
        if est is not None:
            out[code] = {"label": label, **est.to_dict()}
    return out


def _group_estimate(y: pd.Series, strata: Strata, mask: pd.Series) -> Estimate | None:
    sub = Strata(
        cell=strata.cell[mask],
        population=strata.population,
        not_covered=0,
        out_of_frame=0,
        collapsed=[],
    )
    used = sub.cell.dropna().unique()
    sub.population = strata.population.reindex(used)
    return weighted_share(y[mask], sub)


def compare_groups(survey: pd.DataFrame, strata: Strata, by: str, min_n: int = 5) -> pd.DataFrame:
    """Each value of ``by`` (``role`` or ``service``) against the rest, for every outcome:
    weighted shares, difference, z-test p-value and Holm-adjusted p-value over the family.
    Groups with fewer than ``min_n`` respondents for an outcome are not tested.

    scipy.stats and statsmodels are imported here: the rest of the module (the barometer
    report's estimates) needs neither, and they cost seconds to load."""
    from scipy.stats import norm
    from statsmodels.stats.multitest import multipletests

    values = outcome_values(survey)
    rows = []
    for code in OUTCOMES:
        y = values[code]
        for group in sorted(survey[by].dropna().astype(str).unique()):
            mask = survey[by].astype(str) == group
            a = _group_estimate(y, strata, mask)
            b = _group_estimate(y, strata, ~mask)
            if a is None or b is None or a.n < min_n or b.n < min_n:
                continue
            diff = a.weighted - b.weighted
            # Score test: the variance under H0 (one share p0 for both groups, each at its Kish
            # effective size). The Wald variance of a small group whose answers are all alike
            # is 0 (7 watchmen out of 7 « oui »): it would make any difference significant.
            p0 = (a.weighted * a.kish_n + b.weighted * b.kish_n) / (a.kish_n + b.kish_n)
            se = math.sqrt(p0 * (1 - p0) * (1 / a.kish_n + 1 / b.kish_n))
            p = float(2 * norm.sf(abs(diff) / se)) if se > 0 else 1.0
            rows.append(
                {
                    "outcome": code,
                    by: group,
                    "n_group": a.n,
                    "share_group": a.weighted,
                    "share_rest": b.weighted,
                    "difference": diff,
                    "p_value": p,
                }
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["p_holm"] = multipletests(frame["p_value"], method="holm")[1]
    return frame
