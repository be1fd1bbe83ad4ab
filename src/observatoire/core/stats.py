"""Small statistics helpers shared by the indicators, the models and the youth study."""

from __future__ import annotations

import math

from statsmodels.stats.proportion import proportion_confint

__all__ = ["proportion_ci"]


def proportion_ci(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for x / n; (NaN, NaN) when n = 0."""
    if n <= 0:
        return math.nan, math.nan
    low, upp = proportion_confint(x, n, alpha=alpha, method="wilson")
    return float(low), float(upp)
