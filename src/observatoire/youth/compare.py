"""Comparisons between groups (young people vs adults, age bands, types) on small samples.

Group sizes in the study are often a few dozen, so the intervals are chosen for their
small-sample behaviour: Wilson for a proportion, Newcombe's hybrid score interval (built from
the two Wilson intervals, Newcombe 1998, *Stat. Med.* 17:873, method 10) for a difference of
proportions, a percentile bootstrap for a difference of medians (durations are skewed, so
medians are what the report quotes; censored durations such as open engagement spells belong
to :mod:`observatoire.youth.survival` instead). Tests: Fisher's exact test when a
2 × 2 table is too sparse for the χ² approximation (an expected count below 5, Cochran's rule),
Pearson's χ² without continuity correction otherwise, Mann–Whitney for durations.
Degenerate inputs (an empty group) give NaNs rather than exceptions, so that a report table
can be built for every cell and flagged by :func:`unstable`.

Adjusted comparisons (:func:`adjusted_effects`): youth (by age band) against adults with sex
and first service held fixed, by a regression with sandwich (heteroscedasticity- or
cluster-robust) standard errors: a log-link Poisson model for a binary outcome gives adjusted
*risk ratios* (Zou, 2004, *Am. J. Epidemiol.* 159:702), a linear model on RMST
pseudo-observations adjusted differences in days (Andersen, Hansen & Klein, 2004). Several
comparisons reported together are corrected for multiplicity by Holm's step-down method
(:func:`holm`), which controls the family-wise error rate without assuming independence.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.tools.tools import add_constant

__all__ = [
    "DEFAULT_SEED",
    "MAX_REL_WIDTH",
    "MIN_N",
    "TEST_CHI2",
    "TEST_FISHER",
    "adjusted_effects",
    "compare_means",
    "holm",
    "compare_proportions",
    "unstable",
]

TEST_FISHER = "test exact de Fisher"
TEST_CHI2 = "test du χ²"
MIN_EXPECTED = 5  # Cochran's rule for the χ² approximation
MIN_N = 30  # below this base an estimate is flagged as unstable
MAX_REL_WIDTH = 0.5  # CI width / |estimate| above which an estimate is flagged
N_BOOT = 2000
DEFAULT_SEED = 20_240_601


def compare_proportions(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> dict[str, Any]:
    """p1 = x1/n1 vs p2 = x2/n2: difference with Newcombe's interval and a test of equality.

    Returns ``p1``, ``p2``, ``diff`` (p1 − p2), ``lower``, ``upper``, ``pvalue`` and ``test``
    (French name of the test used: Fisher's exact test when an expected count is below 5,
    else the χ² test without continuity correction). With an empty group everything that
    depends on it is NaN and ``test`` is None.
    """
    p1 = x1 / n1 if n1 > 0 else math.nan
    p2 = x2 / n2 if n2 > 0 else math.nan
    out: dict[str, Any] = {
        "p1": p1,
        "p2": p2,
        "diff": p1 - p2,
        "lower": math.nan,
        "upper": math.nan,
        "pvalue": math.nan,
        "test": None,
    }
    if n1 <= 0 or n2 <= 0:
        return out
    low, upp = confint_proportions_2indep(
        x1, n1, x2, n2, compare="diff", method="newcomb", alpha=alpha
    )
    out["lower"], out["upper"] = float(low), float(upp)
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=np.float64)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    if (expected < MIN_EXPECTED).any():
        out["pvalue"] = float(stats.fisher_exact(table.astype(np.int64)).pvalue)
        out["test"] = TEST_FISHER
    else:
        out["pvalue"] = float(stats.chi2_contingency(table, correction=False).pvalue)
        out["test"] = TEST_CHI2
    return out


def _bootstrap_medians(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of ``n_boot`` resamples, drawn in blocks to bound memory on large groups."""
    out = np.empty(n_boot)
    block = max(1, 2_000_000 // len(values))
    for b0 in range(0, n_boot, block):
        b1 = min(b0 + block, n_boot)
        idx = rng.integers(0, len(values), size=(b1 - b0, len(values)))
        out[b0:b1] = np.median(values[idx], axis=1)
    return out


def compare_means(
    x: np.ndarray,
    y: np.ndarray,
    n_boot: int = N_BOOT,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Two groups of durations: medians, their difference with a bootstrap CI, Mann–Whitney.

    Despite the name (kept for symmetry with :func:`compare_proportions`) the location
    compared is the median. Returns ``n_x``, ``n_y``, ``median_x``, ``median_y``, ``diff``
    (median x − median y), ``lower``/``upper`` (percentile interval from ``n_boot`` resamples
    of each group, drawn with ``numpy.random.default_rng(seed)``: same seed, same interval)
    and ``pvalue`` (two-sided Mann–Whitney U). NaN values are dropped; an empty group gives
    NaNs.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    out: dict[str, Any] = {
        "n_x": len(x),
        "n_y": len(y),
        "median_x": float(np.median(x)) if len(x) else math.nan,
        "median_y": float(np.median(y)) if len(y) else math.nan,
        "diff": math.nan,
        "lower": math.nan,
        "upper": math.nan,
        "pvalue": math.nan,
    }
    if not len(x) or not len(y):
        return out
    out["diff"] = out["median_x"] - out["median_y"]
    rng = np.random.default_rng(seed)
    boot = _bootstrap_medians(x, n_boot, rng) - _bootstrap_medians(y, n_boot, rng)
    low, upp = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    out["lower"], out["upper"] = float(low), float(upp)
    out["pvalue"] = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    return out


def unstable(n: int, min_n: int = MIN_N, rel_width: float | None = None) -> bool:
    """Whether an estimate is too unstable to be interpreted (to be flagged in the report).

    Rule: the base ``n`` is below ``min_n`` (30 by default), or, when given, the relative
    width of its confidence interval, ``rel_width`` = (upper − lower) / |estimate|, exceeds
    0.5 (the interval spans more than half the estimate). A NaN ``rel_width`` (estimate 0 or
    no interval) counts as unstable: the precision cannot be vouched for.
    """
    if n < min_n:
        return True
    if rel_width is None:
        return False
    return bool(math.isnan(rel_width) or rel_width > MAX_REL_WIDTH)


def holm(pvalues: np.ndarray | pd.Series | list[float]) -> np.ndarray:
    """Holm-adjusted p-values of a family of tests (NaN stays NaN and is not counted)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, math.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def adjusted_effects(
    frame: pd.DataFrame,
    outcome: str,
    exposure: str,
    reference: str,
    covariates: tuple[str, ...] = (),
    family: str = "poisson",
    cluster: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Effect of each level of ``exposure`` against ``reference``, adjusted for ``covariates``.

    ``family="poisson"``: log-link Poisson GLM on a 0/1 outcome, effects are risk ratios
    (``exp`` of the coefficients), the sandwich covariance making the Poisson variance
    assumption harmless. ``family="gaussian"``: OLS, effects are differences (e.g. days of
    RMST from pseudo-observations). Covariates are categorical (one dummy per level but the
    most frequent); constant columns are dropped. Standard errors are cluster-robust on
    ``cluster`` when given (several rows per person), else HC1. Returns one row per exposure
    level: ``level``, ``estimate``, ``lower``, ``upper``, ``pvalue``, ``n``.
    """
    data = frame.dropna(subset=[outcome, exposure]).copy()
    levels = [lv for lv in pd.unique(data[exposure]) if lv != reference]
    x = pd.DataFrame(index=data.index)
    for lv in levels:
        x[f"{exposure}={lv}"] = (data[exposure] == lv).astype(float)
    for c in covariates:
        values = data[c].astype(str).fillna("inconnu")
        ref = values.value_counts().idxmax()
        for lv in sorted(set(values) - {ref}):
            x[f"{c}={lv}"] = (values == lv).astype(float)
    x = x.loc[:, x.std() > 0]
    x = add_constant(x, has_constant="add")
    y = data[outcome].astype(float)
    if cluster is not None:
        cov: dict = {"cov_type": "cluster", "cov_kwds": {"groups": data[cluster].to_numpy()}}
    else:
        cov = {"cov_type": "HC1"}
    if family == "poisson":
        fit = GLM(y, x, family=families.Poisson()).fit(**cov)
        transform = np.exp
    elif family == "gaussian":
        fit = OLS(y, x).fit(**cov)
        transform = np.asarray
    else:
        raise ValueError(f"unknown family {family!r} (poisson, gaussian)")
    ci = fit.conf_int(alpha=alpha)
    rows = []
    for lv in levels:
        name = f"{exposure}={lv}"
        if name not in fit.params:
            continue
        rows.append(
            {
                "level": lv,
                "estimate": float(transform(fit.params[name])),
                "lower": float(transform(ci.loc[name, 0])),
                "upper": float(transform(ci.loc[name, 1])),
                "pvalue": float(fit.pvalues[name]),
                "n": int(len(y)),
            }
        )
    return pd.DataFrame(rows, columns=["level", "estimate", "lower", "upper", "pvalue", "n"])
