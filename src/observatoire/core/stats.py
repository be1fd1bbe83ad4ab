"""Small statistics helpers shared by the indicators, the models and the youth study."""

from __future__ import annotations

import math

from statsmodels.stats.proportion import proportion_confint

__all__ = ["newcombe_diff", "proportion_ci"]


def proportion_ci(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for x / n; (NaN, NaN) when n = 0."""
    if n <= 0:
        return math.nan, math.nan
    low, upp = proportion_confint(x, n, alpha=alpha, method="wilson")
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
