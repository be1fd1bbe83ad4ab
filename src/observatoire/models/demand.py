"""Candidate forecasters of the monthly shelter demand: two count models and three naive
benchmarks, all forecasting the same quantity from the same history.

**Quantity.** Nights *demanded* per month = nights used + refusals for lack of place (see
:mod:`observatoire.models.forecast`). History: one row per month up to the forecast origin,
``month`` and the demand; the capacity-capped benchmark also needs ``nights`` and
``refusals``.

**Count models** (log link, days of the month as exposure, Poisson or NB2 by the published
overdispersion decision, :func:`observatoire.models.trends.fit_counts`):

* ``commune`` — one trend for every month + month-of-year effects:
  ``log E[y_t] = log d_t + a + b·t + s(m_t)``. This was the only model up to the 2024
  report. It forces the winter demand, capped by the beds and measured through refusals, to
  grow at the summer's rate.
* ``hiver`` — a trend specific to the winter-plan months:
  ``log E[y_t] = log d_t + a + b·t + c·t·W_t + s(m_t)`` with ``W_t`` = 1 in the months of the
  plan (November to March by default). The summer trend is exp(b), the winter trend exp(b + c)
  per year; ``c`` = 0 gives back ``commune``, so a Wald test of c = 0 says whether the
  data distinguish the two.

Both give prediction intervals by simulation (:meth:`DemandModel.simulate`): coefficients
from their asymptotic normal law, then counts around the resulting means.

**Naive benchmarks** (point forecasts only, :func:`naive_forecast`), each month ``m`` of the
target from the last observed month ``m'`` of the same calendar month (12, or 24, months
earlier):

* ``dernier_hiver`` — « comme l'hiver dernier »: each month of the last *complete* winter
  before the origin (the winter still under way at the origin is ignored);
* ``saisonnier`` — seasonal naive: the latest observed same calendar month, so the months of
  the current winter already observed (November and December at a 31 December origin) are
  used;
* ``plafonne`` — capacity-capped naive: the shelter fills its beds of month ``m`` whenever
  it turned people away in ``m'`` (nights = capacity of ``m``; otherwise the nights of ``m'``,
  capped at the capacity of ``m``), and turns away as many as in ``m'``. It follows a change of
  capacity that the other two ignore.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from observatoire.core.formatting import MOIS_NOMS, NNBSP, french_number, french_percent
from observatoire.models.trends import (
    FAMILY_NB,
    FAMILY_QUASI_POISSON,
    fit_counts,
    ljung_box_glm,
)

__all__ = [
    "METHODS",
    "METHOD_LABELS",
    "MODELS",
    "NAIVE",
    "DemandModel",
    "fit_demand_model",
    "naive_forecast",
    "winter_months_of_year",
]

MODEL_COMMON = "commune"
MODEL_WINTER = "hiver"
NAIVE_LAST_WINTER = "dernier_hiver"
NAIVE_SEASONAL = "saisonnier"
NAIVE_CAPPED = "plafonne"
MODELS: tuple[str, ...] = (MODEL_COMMON, MODEL_WINTER)
NAIVE: tuple[str, ...] = (NAIVE_LAST_WINTER, NAIVE_SEASONAL, NAIVE_CAPPED)
METHODS: tuple[str, ...] = MODELS + NAIVE
METHOD_LABELS: dict[str, str] = {
    MODEL_COMMON: "modèle à tendance commune",
    MODEL_WINTER: "modèle à tendance propre à l'hiver",
    NAIVE_LAST_WINTER: "comme l'hiver dernier",
    NAIVE_SEASONAL: "naïf saisonnier (même mois, dernière année)",
    NAIVE_CAPPED: "naïf plafonné à la capacité",
}
_Z = float(stats.norm.ppf(0.975))
_NBSP = "\u00a0"


def winter_months_of_year(winter: tuple[str, str]) -> tuple[int, ...]:
    """Calendar months (1–12) with at least one night of the winter plan ``winter``
    (« MM-JJ », « MM-JJ »): (11, 12, 1, 2, 3) for November → March."""
    first, last = int(winter[0][:2]), int(winter[1][:2])
    if first <= last:
        return tuple(range(first, last + 1))
    return tuple(range(first, 13)) + tuple(range(1, last + 1))


def _month_starts(months: Any) -> pd.Series:
    """The first day of each of ``months`` (dates), in microseconds, index 0..n-1.

    numpy's month unit truncates each date to its month: the same dates as
    ``.dt.to_period("M").dt.to_timestamp()`` at half the cost (the rolling-origin back-test
    calls this some 800 times)."""
    days = pd.to_datetime(pd.Series(months)).to_numpy()
    return pd.Series(days.astype("datetime64[M]").astype("datetime64[us]"))


def _design(
    months: Any, time_centre: float, present: Sequence[int], winter_moy: Sequence[int] | None
) -> pd.DataFrame:
    """const, trend_years (centred, in years), one dummy per present month ≠ January, and
    ``trend_winter`` = trend_years in the winter-plan months when ``winter_moy`` is given."""
    stamps = _month_starts(months)
    moy = stamps.dt.month.to_numpy()
    t = (stamps.dt.year.to_numpy() * 12 + moy - 1 - time_centre) / 12.0
    cols = {"const": np.ones(len(stamps)), "trend_years": t}
    for m in present:
        cols[f"month_{m:02d}"] = (moy == m).astype(float)
    if winter_moy is not None:
        cols["trend_winter"] = t * np.isin(moy, list(winter_moy))
    return pd.DataFrame(cols)


@dataclass(frozen=True)
class DemandModel:
    """A fitted count model of the monthly demand (``method`` in :data:`MODELS`).

    ``summer_rate_ratio`` is exp(b), the annual rate ratio outside the winter-plan months (of
    every month under ``commune``); ``winter_rate_ratio`` exp(b + c) in the winter months (equal
    to the former under ``commune``), each with its 95 % confidence interval (``*_ci``);
    ``p_winter_differs`` the Wald test of c = 0 (None under ``commune``). ``ljung_box_p`` is
    the calibrated Ljung–Box test (12 lags) of the Pearson residuals
    (:func:`observatoire.models.trends.ljung_box_glm`; None when diagnostics were skipped),
    ``acf1`` their lag-1 autocorrelation.
    """

    method: str
    family: str
    alpha: float | None
    dispersion: float
    residual_dispersion: float
    params: pd.Series
    cov: pd.DataFrame
    time_centre: float
    present: tuple[int, ...]
    winter_moy: tuple[int, ...] | None
    n_months: int
    last_month: pd.Timestamp
    summer_rate_ratio: float
    summer_ci: tuple[float, float]
    winter_rate_ratio: float
    winter_ci: tuple[float, float]
    p_winter_differs: float | None
    ljung_box_p: float | None
    ljung_box_stat: float | None
    acf1: float
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return METHOD_LABELS[self.method]

    def design(self, months: Any) -> np.ndarray:
        """Design matrix for ``months`` (e.g. a coming winter); French error for a calendar
        month whose effect the history could not estimate."""
        stamps = _month_starts(months)
        absent = sorted(set(stamps.dt.month) - set(self.present) - {1})
        if absent:
            names = ", ".join(MOIS_NOMS[m - 1] for m in absent)
            raise ValueError(
                f"Mois de l'année absents de l'historique ({names})\u00a0: leur effet "
                "saisonnier n'est pas estimé."
            )
        return _design(stamps, self.time_centre, self.present, self.winter_moy).to_numpy()

    def mean(self, months: Any) -> np.ndarray:
        """Expected demand of each of ``months`` at the estimated coefficients."""
        stamps = _month_starts(months)
        offset = np.log(stamps.dt.days_in_month.to_numpy(dtype=float))
        return np.exp(self.design(stamps) @ self.params.to_numpy() + offset)

    def simulate(self, months: Any, draws: int, rng: np.random.Generator) -> np.ndarray:
        """``draws`` × months simulated demands: coefficients from N(β̂, V) (parameter
        uncertainty, growing with the horizon through the trends), then counts around the
        means (Poisson; NB2 with α held at its estimate; gamma–Poisson with variance φμ under
        quasi-Poisson)."""
        stamps = _month_starts(months)
        exog = self.design(stamps)
        offset = np.log(stamps.dt.days_in_month.to_numpy(dtype=float))
        beta = rng.multivariate_normal(
            self.params.to_numpy(), self.cov.to_numpy(), size=draws, method="eigh"
        )
        mu = np.exp(beta @ exog.T + offset)
        if self.family == FAMILY_NB and self.alpha:
            return rng.poisson(rng.gamma(shape=1 / self.alpha, scale=self.alpha * mu))
        if self.family == FAMILY_QUASI_POISSON and self.dispersion > 1:
            phi = self.dispersion
            return rng.poisson(rng.gamma(shape=mu / (phi - 1), scale=phi - 1))
        return rng.poisson(mu)

    @property
    def trend_sentence(self) -> str:
        """French sentence on the trend(s), for the report."""

        def pct(rr: float) -> str:
            return french_percent(100 * (rr - 1), 1, signed=True)

        def ci(lo_hi: tuple[float, float]) -> str:
            return f"IC 95{NNBSP}%{_NBSP}: {pct(lo_hi[0])} à {pct(lo_hi[1])}"

        if self.method == MODEL_COMMON:
            return (
                f"Tendance commune à tous les mois{_NBSP}: {pct(self.summer_rate_ratio)} par an "
                f"({ci(self.summer_ci)})."
            )
        p = self.p_winter_differs
        p_text = (
            f"< {french_number(0.001, 3)}"
            if p is not None and p < 0.001
            else f"= {french_number(p, 3)}"
        )
        return (
            f"Tendance des mois d'hiver{_NBSP}: {pct(self.winter_rate_ratio)} par an "
            f"({ci(self.winter_ci)})\u00a0; autres mois{_NBSP}: {pct(self.summer_rate_ratio)} "
            f"par an ({ci(self.summer_ci)})\u00a0; test de l'égalité des deux tendances{_NBSP}: "
            f"p {p_text}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "label": self.label,
            "family": self.family,
            "alpha": self.alpha,
            "dispersion": self.dispersion,
            "residual_dispersion": self.residual_dispersion,
            "n_months": self.n_months,
            "summer_rate_ratio": self.summer_rate_ratio,
            "summer_ci": list(self.summer_ci),
            "winter_rate_ratio": self.winter_rate_ratio,
            "winter_ci": list(self.winter_ci),
            "p_winter_differs": self.p_winter_differs,
            "ljung_box_p": self.ljung_box_p,
            "ljung_box_stat": self.ljung_box_stat,
            "acf1": self.acf1,
            "trend_sentence": self.trend_sentence,
            "notes": list(self.notes),
        }


def fit_demand_model(
    history: pd.DataFrame,
    method: str,
    winter: tuple[str, str] = ("11-01", "03-31"),
    value: str = "demand",
    diagnostics: bool = True,
) -> DemandModel:
    """Fit the count model ``method`` (``commune`` or ``hiver``) to the monthly ``value``.

    ``history``: one row per month (``month``, ``value``), months without a value dropped. At
    least 24 months and a January (the reference month) are needed. ``diagnostics=False``
    skips the Ljung–Box test (the back-test refits the model at every origin and does not
    print it).
    """
    if method not in MODELS:
        raise ValueError(f"Modèle « {method} » inconnu ({', '.join(MODELS)}).")
    data = history[["month", value]].copy()
    data["month"] = _month_starts(data["month"]).to_numpy()
    data = data[data[value].notna()].sort_values("month").reset_index(drop=True)
    n = len(data)
    if n < 24:
        raise ValueError(f"au moins 24 mois sont nécessaires, {n} disponibles")
    y = data[value].to_numpy(dtype=float)
    if np.any(y < 0) or not np.any(y > 0):
        raise ValueError("la demande mensuelle doit être positive ou nulle, et pas toute nulle")
    moy = data["month"].dt.month.to_numpy()
    if 1 not in moy:
        raise ValueError("janvier (mois de référence) est absent de l'historique")
    month_index = data["month"].dt.year.to_numpy() * 12 + moy - 1
    time_centre = float(month_index.mean())
    present = tuple(sorted(set(int(m) for m in moy) - {1}))
    winter_moy = winter_months_of_year(winter) if method == MODEL_WINTER else None
    exog = _design(data["month"], time_centre, present, winter_moy)
    offset = np.log(data["month"].dt.days_in_month.to_numpy(dtype=float))
    fit = fit_counts(pd.Series(y, name=value), exog, offset)

    names = list(exog.columns)
    params = pd.Series(fit.params, index=names)
    cov = pd.DataFrame(fit.cov, index=names, columns=names)
    i = names.index("trend_years")
    b, vb = float(fit.params[i]), float(fit.cov[i, i])
    summer = (math.exp(b), (math.exp(b - _Z * math.sqrt(vb)), math.exp(b + _Z * math.sqrt(vb))))
    if winter_moy is not None:
        j = names.index("trend_winter")
        c, vc, vbc = float(fit.params[j]), float(fit.cov[j, j]), float(fit.cov[i, j])
        sw = math.sqrt(vb + vc + 2 * vbc)
        winter_rr = (math.exp(b + c), (math.exp(b + c - _Z * sw), math.exp(b + c + _Z * sw)))
        p_diff: float | None = float(2 * stats.norm.sf(abs(c) / math.sqrt(vc)))
    else:
        winter_rr, p_diff = summer, None

    pearson = (y - fit.mu) / np.sqrt(fit.variance)
    k = exog.shape[1]
    notes: list[str] = []
    lb_stat = lb_p = None
    if diagnostics:
        weights = fit.mu**2 / fit.variance
        lb_stat, lb_p, _ = ljung_box_glm(pearson, exog.to_numpy(), weights, lags=12)
        if lb_p < 0.05:
            notes.append(
                "Autocorrélation résiduelle significative (Ljung–Box, 12 retards\u00a0: p = "
                f"{french_number(lb_p, 3)})\u00a0: les mois ne sont pas indépendants une fois "
                "la tendance et la saison retirées, les intervalles de prévision sont "
                "probablement trop étroits."
            )
    if fit.family == FAMILY_NB:
        notes.append("Le paramètre de surdispersion alpha est tenu fixé à son estimation.")
    return DemandModel(
        method=method,
        family=fit.family,
        alpha=fit.alpha,
        dispersion=fit.overdispersion.dispersion,
        residual_dispersion=float(np.sum(pearson**2) / (n - k)),
        params=params,
        cov=cov,
        time_centre=time_centre,
        present=present,
        winter_moy=winter_moy,
        n_months=n,
        last_month=pd.Timestamp(data["month"].iloc[-1]),
        summer_rate_ratio=summer[0],
        summer_ci=summer[1],
        winter_rate_ratio=winter_rr[0],
        winter_ci=winter_rr[1],
        p_winter_differs=p_diff,
        ljung_box_p=lb_p,
        ljung_box_stat=lb_stat,
        acf1=float(np.corrcoef(pearson[:-1], pearson[1:])[0, 1]),
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Naive benchmarks
# --------------------------------------------------------------------------------------------


def _same_month_before(known: pd.DatetimeIndex, target: pd.Timestamp, origin: pd.Timestamp):
    """Latest month of ``known`` (≤ ``origin``) with the calendar month of ``target``."""
    for back in range(12, 12 * 6, 12):
        cand = target - pd.DateOffset(months=back)
        if cand <= origin and cand in known:
            return cand
        if cand < known.min():
            break
    return None


def naive_forecast(
    history: pd.DataFrame,
    method: str,
    months: Any,
    capacity: Mapping[pd.Timestamp, float] | pd.Series | None = None,
    winter: tuple[str, str] = ("11-01", "03-31"),
    value: str = "demand",
) -> np.ndarray:
    """Point forecast of ``value`` for each of ``months`` by the benchmark ``method`` (see
    the module docstring), from ``history`` (months up to the origin, its last month). NaN
    where the history has no month to copy (or, for ``plafonne``, no capacity or no
    ``nights``/``refusals`` columns)."""
    if method not in NAIVE:
        raise ValueError(f"Méthode naïve « {method} » inconnue ({', '.join(NAIVE)}).")
    frame = history.copy()
    frame["month"] = _month_starts(frame["month"]).to_numpy()
    frame = frame[frame[value].notna()].set_index("month").sort_index()
    targets = _month_starts(months)
    out = np.full(len(targets), math.nan)
    if frame.empty:
        return out
    origin = frame.index.max()
    known = pd.DatetimeIndex(frame.index)
    winter_moy = set(winter_months_of_year(winter))
    if method == NAIVE_LAST_WINTER:
        # The last winter whose every month is observed up to the origin.
        first_moy = int(winter[0][:2])
        complete = None
        for year in range(origin.year, known.min().year - 2, -1):
            start = pd.Timestamp(year=year, month=first_moy, day=1)
            span = [start + pd.DateOffset(months=k) for k in range(len(winter_moy))]
            if span[-1] <= origin and all(m in known for m in span):
                complete = span
                break
        if complete is None:
            return out
        by_moy = {m.month: float(frame.at[m, value]) for m in complete}
        for i, t in enumerate(targets):
            if t.month in by_moy:
                out[i] = by_moy[t.month]
        return out
    for i, t in enumerate(targets):
        src = _same_month_before(known, pd.Timestamp(t), origin)
        if src is None:
            continue
        if method == NAIVE_SEASONAL:
            out[i] = float(frame.at[src, value])
            continue
        if capacity is None or not {"nights", "refusals"} <= set(frame.columns):
            continue
        cap = float(pd.Series(capacity).get(pd.Timestamp(t), math.nan))
        if not math.isfinite(cap):
            continue
        nights, refused = float(frame.at[src, "nights"]), float(frame.at[src, "refusals"])
        out[i] = (cap if refused > 0 else min(nights, cap)) + refused
    return out
