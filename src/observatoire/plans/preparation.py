"""The preparation note: the beds needed next winter for a target risk of refusal, back-tested.

**Rule.** For each month of the coming winter, the smallest number of beds ``b`` such that the
expected share of nights with a refusal stays under ``targets.refusal_night_share``
(``params/plans.yaml``): a night has a refusal when its demand exceeds the beds, so the
expected share is the mean over the month's nights of P(D > b). The nightly demand D is drawn
from the forecast's predictive distribution (:mod:`observatoire.models.forecast`, the model the
annual report publishes): the monthly demand simulated by the forecast (parameter uncertainty
and count noise) divided by the month's days is the mean night ``m``, and the nights scatter
around it as a negative binomial NB2(m, α_night) whose ``α_night`` is estimated on the past
nights of the same months (:func:`nightly_dispersion`: method of moments within each month,
so that the seasonal and yearly level do not enter the dispersion). P(D > b) is averaged over
the forecast's draws, which carries the uncertainty of the level into the beds.

**Back-test** (:func:`backtest`): for each past winter with enough history before it, the
rule applied as it would have been — forecast from the data up to the December eleven months
before the winter (the horizon of the report), ``α_night`` from the nights before that
origin — and what happened: the share of nights whose observed demand exceeded the
recommended beds (the refusal-night share that capacity would have given, had demand been the
same), beside the share observed with the beds actually offered. :func:`capacity_grid` shows
what each choice of beds would have given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from observatoire.models.demand import MODEL_WINTER
from observatoire.models.forecast import forecast_winter, winter_months

__all__ = [
    "BedsNeeded",
    "backtest",
    "beds_needed",
    "capacity_grid",
    "nightly_dispersion",
    "refusal_night_share",
]


def nightly_dispersion(nights: pd.Series, months: tuple[int, ...] = (11, 12, 1, 2, 3)) -> float:
    """NB2 α of nightly demand around its monthly mean (``nights``: demand indexed by night):
    the method-of-moments (var − mean) / mean², pooled over the months of the given calendar
    months (0 when the nights vary no more than Poisson)."""
    s = nights.dropna()
    s = s[s.index.month.isin(months)]
    if s.empty:
        return 0.0
    g = s.groupby(s.index.to_period("M"))
    mean, var, n = g.mean(), g.var(ddof=1), g.size()
    ok = (n > 5) & (mean > 0)
    if not ok.any():
        return 0.0
    a = ((var - mean) / mean**2)[ok]
    return float(max(0.0, np.average(a, weights=n[ok])))


def refusal_night_share(beds: int, mean_nights: np.ndarray, alpha: float) -> float:
    """Expected share of nights with demand above ``beds``: P(D > beds) averaged over the
    draws of the mean night (NB2 with ``alpha``, Poisson when 0)."""
    m = np.asarray(mean_nights, dtype=float)
    if alpha <= 0:
        return float(np.mean(stats.poisson.sf(beds, m)))
    n = 1.0 / alpha
    return float(np.mean(stats.nbinom.sf(beds, n, n / (n + m))))


def _smallest_beds(mean_nights: np.ndarray, alpha: float, target: float) -> int:
    lo, hi = 0, int(max(10, np.max(mean_nights) * 4 + 50))
    while lo < hi:
        mid = (lo + hi) // 2
        if refusal_night_share(mid, mean_nights, alpha) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


@dataclass(frozen=True)
class BedsNeeded:
    """Per month: ``month``, ``forecast`` (expected demand, nights), ``mean_night``, ``beds``
    (the rule's beds), ``share_at_beds`` (expected refusal-night share with them)."""

    months: pd.DataFrame
    alpha_night: float
    target: float
    winter: str

    def to_dict(self) -> dict[str, Any]:
        m = self.months.copy()
        m["month"] = m["month"].dt.strftime("%Y-%m")
        return {
            "winter": self.winter,
            "alpha_night": self.alpha_night,
            "target": self.target,
            "months": m.to_dict(orient="records"),
        }


def beds_needed(
    history: pd.DataFrame,
    nights: pd.Series,
    target: float,
    start_year: int | None = None,
    draws: int = 2000,
    seed: int = 20250101,
    method: str = MODEL_WINTER,
) -> BedsNeeded:
    """The rule of the module docstring for the winter starting ``start_year`` (default: the
    forecast's coming winter), from the monthly ``history`` (``month``, ``demand``) and the
    nightly demand ``nights`` up to the origin."""
    fc = forecast_winter(history, start_year=start_year, method=method, draws=max(draws, 1000))
    months = pd.DatetimeIndex(fc.months["month"])
    sims = fc.model.simulate(months, max(draws, 1000), np.random.default_rng(seed))
    days = months.days_in_month.to_numpy(dtype=float)
    alpha = nightly_dispersion(nights)
    rows = []
    for j, month in enumerate(months):
        mean_night = sims[:, j] / days[j]
        b = _smallest_beds(mean_night, alpha, target)
        rows.append(
            {
                "month": month,
                "forecast": float(fc.months["forecast"].iloc[j]),
                "lo80": float(fc.months["lo80"].iloc[j]),
                "hi80": float(fc.months["hi80"].iloc[j]),
                "mean_night": float(np.mean(mean_night)),
                "beds": int(b),
                "share_at_beds": refusal_night_share(b, mean_night, alpha),
            }
        )
    return BedsNeeded(pd.DataFrame(rows), alpha, target, fc.winter)


def _observed_share(demand: pd.Series, beds: float | pd.Series) -> float:
    d = demand.dropna()
    if d.empty:
        return float("nan")
    b = beds if np.isscalar(beds) else pd.Series(beds).reindex(d.index)
    return float(np.mean(d.to_numpy() > np.asarray(b, dtype=float)))


def backtest(
    history: pd.DataFrame,
    nights: pd.DataFrame,
    target: float,
    min_history: int = 24,
    draws: int = 2000,
    seed: int = 20250101,
) -> pd.DataFrame:
    """The rule on each past winter (module docstring). ``history``: monthly ``month``,
    ``demand``; ``nights``: nightly ``demand`` and ``beds`` (offered) indexed by night. One
    row per month of each winter whose nights are all in the data: ``winter``, ``month``,
    ``beds_rule``, ``share_rule`` (observed share of nights with demand > beds_rule),
    ``beds_offered`` (mean), ``share_offered`` (observed share of nights with a refusal),
    ``expected_share`` (what the rule expected)."""
    months = pd.to_datetime(history["month"])
    last_night = nights["demand"].dropna().index.max()
    rows = []
    for start_year in range(months.min().year + 1, months.max().year + 1):
        target_months = winter_months(start_year)
        if target_months[-1] + pd.offsets.MonthEnd(0) > last_night:
            continue
        origin = pd.Timestamp(f"{start_year - 1}-12-01")
        past = history[months <= origin]
        if past["demand"].notna().sum() < min_history:
            continue
        past_nights = nights.loc[nights.index < origin + pd.offsets.MonthBegin(1), "demand"]
        rule = beds_needed(past, past_nights, target, start_year, draws, seed)
        for r in rule.months.itertuples(index=False):
            mask = (nights.index >= r.month) & (nights.index <= r.month + pd.offsets.MonthEnd(0))
            month = nights[mask]
            rows.append(
                {
                    "winter": rule.winter,
                    "month": r.month,
                    "beds_rule": r.beds,
                    "expected_share": r.share_at_beds,
                    "share_rule": _observed_share(month["demand"], r.beds),
                    "beds_offered": float(month["beds"].mean()),
                    "share_offered": float(np.mean(month["refused"].fillna(0) > 0))
                    if "refused" in month
                    else _observed_share(month["demand"], month["beds"]),
                }
            )
    return pd.DataFrame(rows)


def capacity_grid(
    nights: pd.DataFrame, steps: tuple[int, ...] = (-20, -10, 0, 10, 20, 30)
) -> pd.DataFrame:
    """For each winter month with data, what each choice of beds (offered + step) would have
    given: share of nights with demand above it and nights refused (demand beyond it)."""
    d = nights.dropna(subset=["demand"])
    d = d[d.index.month.isin([11, 12, 1, 2, 3])]
    rows = []
    for month, g in d.groupby(d.index.to_period("M")):
        offered = float(np.round(g["beds"].mean())) if g["beds"].notna().any() else np.nan
        for step in steps:
            b = offered + step
            rows.append(
                {
                    "month": month.to_timestamp(),
                    "step": step,
                    "beds": b,
                    "share_nights_refusal": float(np.mean(g["demand"] > b)),
                    "nights_refused": float(np.clip(g["demand"] - b, 0, None).sum()),
                }
            )
    return pd.DataFrame(rows)
