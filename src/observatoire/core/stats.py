"""Small statistics helpers shared by the indicators, the models and the youth study.

The Wilson interval is computed here rather than through statsmodels'
``proportion_confint``: importing statsmodels (and with it ``scipy.stats``) costs one to
three seconds in every stage that only needs this interval (the report stages among
them). The arithmetic is statsmodels 0.14/0.15's own, step by step on the same NumPy
types (``crit = norm.isf(alpha / 2)`` is ``-ndtri(alpha / 2)``, the same clipping to
[0, 1]), so the numbers are bit-identical; tests/unit/core/test_stats.py checks it against
statsmodels.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

__all__ = ["newcombe_diff", "proportion_ci"]


@cache
def _upper_quantile(tail: float) -> np.float64:
    """Standard normal quantile with ``tail`` probability above it (``scipy.stats.norm.isf``).

    ``norm.isf(q)`` is ``-ndtri(q) * scale + loc`` with scale 1 and loc 0; ``scipy.special``
    loads in a fraction of ``scipy.stats``' time.
    """
    from scipy.special import ndtri

    return np.float64(-ndtri(np.float64(tail)) * 1.0 + 0.0)


def proportion_ci(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for x / n; (NaN, NaN) when n = 0."""
    if n <= 0:
        return math.nan, math.nan
    # Same operations, in the same order and on the same types (0-d float64 arrays, as
    # statsmodels' array_like makes them), as proportion_confint(..., method="wilson").
    count, nobs = np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64)
    q = count / nobs
    crit = _upper_quantile(alpha / 2.0)
    crit2 = crit**2
    denom = 1 + crit2 / nobs
    center = (q + crit2 / (2 * nobs)) / denom
    dist = crit * np.sqrt(q * (1.0 - q) / nobs + crit2 / (4.0 * nobs**2))
    dist /= denom
    low = np.clip(center - dist, 0, 1)
    upp = np.clip(center + dist, 0, 1)
    return float(low), float(upp)


def newcombe_diff(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    """p2 − p1 with Newcombe's hybrid score 95 % interval (method 10), from Wilson intervals."""
    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = proportion_ci(x1, n1)
    l2, u2 = proportion_ci(x2, n2)
    d = p2 - p1
    lo = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return d, lo, hi
