"""Next winter's demand at the night shelter, forecast against its capacity, and back-tested.

**Target.** Nights *demanded* = nights used + refusals for lack of place, per month. A
refusal is a night asked for and not given; nights used are capped by the beds, so in a
full winter they measure the capacity, not the need. Demand is the quantity the Plan Grand
Froid has to be sized for.

**Horizon.** The data of report year Y end on 31 December Y, and the report is published in
the course of Y + 1, when the winter Nov Y → Mar Y + 1 is over or under way. The winter still
ahead of its readers is **1 November Y + 1 → 31 March Y + 2**: its first month is 11 months
after the last month of data, its last 15 months after. :func:`coming_winter` encodes this
rule and the back-test (:func:`backtest`, horizon ``"rapport"``) mirrors it exactly.

**Model.** :func:`observatoire.models.trends.fit_monthly_model` on the monthly demand with the
number of days of the month as exposure (so February's 28 or 29 days are not read as
seasonality): log-linear trend + month-of-year effects, Poisson, or negative binomial
(NB2) when overdispersed.

**Prediction intervals** by simulation (``draws`` ≥ 5 000, seeded): coefficients drawn from
their asymptotic normal distribution (parameter uncertainty, which grows with the horizon
through the trend), then monthly counts drawn around the resulting means (Poisson, NB2 with
the estimated α, or a gamma–Poisson with variance φμ under quasi-Poisson). The NB α is held
at its estimate. The 80 % and 95 % intervals are the quantiles of the simulated winter
totals; the same draws give the probability that demand exceeds the bed-nights of capacity
(winter beds included) and the expected shortfall, counted month by month (a free bed in
November does not serve a refusal in January).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.dispositifs import SHELTER
from observatoire.core.formatting import NNBSP, french_number, french_percent
from observatoire.indicators import counts as ind
from observatoire.intake.mapping import PartnerMapping
from observatoire.models.trends import (
    FAMILY_NB,
    FAMILY_QUASI_POISSON,
    SERIES_LABELS,
    MonthlyModelResult,
    fit_monthly_model,
)

__all__ = [
    "DEFAULT_WINTER",
    "HORIZONS",
    "Backtest",
    "BacktestWinter",
    "WinterForecast",
    "backtest",
    "coming_winter",
    "forecast_winter",
    "monthly_bed_nights",
    "monthly_demand",
    "shelter_capacity",
    "winter_label",
    "winter_months",
]

DEFAULT_WINTER: tuple[str, str] = ("11-01", "03-31")
DEFAULT_DRAWS = 5000
DEFAULT_SEED = 20250101
MIN_HISTORY = 24
# Months from the forecast origin (last month of data) to the winter's first month.
# "rapport": data to 31 December, winter from the next-but-one November (the real setting);
# "court": data to the end of October, winter starting the next month.
HORIZONS: dict[str, int] = {"rapport": 11, "court": 1}
HORIZON_LABELS: dict[str, str] = {
    "rapport": (
        "horizon du rapport\u00a0: données arrêtées au 31 décembre, hiver commençant "
        "11 mois plus tard"
    ),
    "court": (
        "horizon court\u00a0: données arrêtées au 31 octobre, hiver commençant le mois suivant"
    ),
}
_NBSP = "\u00a0"


# --------------------------------------------------------------------------------------------
# Capacity, demand and winters
# --------------------------------------------------------------------------------------------


def shelter_capacity(
    partners: Mapping[str, PartnerMapping], dispositif: str = SHELTER
) -> dict[str, int]:
    """Beds and winter-plan beds of all partners of ``dispositif``, summed (as the report)."""
    shelters = [p for p in partners.values() if p.dispositif == dispositif]
    return {
        "beds": sum(p.capacity.get("beds", 0) for p in shelters),
        "winter_extra_beds": sum(p.capacity.get("winter_extra_beds", 0) for p in shelters),
    }


def _month_starts(months: Any) -> pd.DatetimeIndex:
    stamps = pd.to_datetime(pd.Series(months)).dt.to_period("M").dt.to_timestamp()
    return pd.DatetimeIndex(stamps)


def monthly_bed_nights(
    capacity: Mapping[str, int], months: Any, winter: tuple[str, str] = DEFAULT_WINTER
) -> pd.Series:
    """Bed-nights offered in each month: ``beds`` every night + ``winter_extra_beds`` on the
    nights of the winter plan (per day, so a plan starting mid-month is counted exactly)."""
    index = _month_starts(months)
    values = []
    for start in index:
        days = pd.date_range(start, start + pd.offsets.MonthEnd(0), freq="D")
        extra = int(ind.is_winter(days, winter).sum())
        values.append(
            capacity.get("beds", 0) * len(days) + capacity.get("winter_extra_beds", 0) * extra
        )
    return pd.Series(values, index=index, name="capacity", dtype="int64")


def monthly_demand(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    end: str | pd.Timestamp,
    dispositif: str = SHELTER,
) -> pd.DataFrame:
    """``month``, ``nights`` (used), ``refusals``, ``demand`` = nights + refusals, ``days``.

    Months run from the first night or refusal of ``dispositif`` to ``end`` (the last month
    of data); a month with no refusal row has none (exports list refusal days only).
    """
    end = pd.Timestamp(end).to_period("M").to_timestamp()
    nights = ind.monthly_nights(contacts, dispositif).set_index("month")["nights"]
    ref = refusals
    if "dispositif" in ref.columns:
        ref = ref[ref["dispositif"] == dispositif]
    ref_month = pd.to_datetime(ref["date"]).dt.to_period("M").dt.to_timestamp()
    ref_by_month = ref["refusals"].groupby(ref_month).sum()
    starts = [s.min() for s in (nights.index, ref_by_month.index) if len(s)]
    if not starts:
        raise ValueError(f"Aucune nuitée ni aucun refus pour le dispositif « {dispositif} ».")
    grid = pd.date_range(min(starts), end, freq="MS")
    frame = pd.DataFrame({"month": grid})
    frame["nights"] = nights.reindex(grid, fill_value=0).to_numpy(dtype="int64")
    frame["refusals"] = ref_by_month.reindex(grid, fill_value=0).to_numpy(dtype="int64")
    frame["demand"] = frame["nights"] + frame["refusals"]
    frame["days"] = frame["month"].dt.days_in_month.astype("int64")
    return frame


def winter_months(start_year: int, winter: tuple[str, str] = DEFAULT_WINTER) -> pd.DatetimeIndex:
    """Calendar months of the winter plan starting in ``start_year`` (Nov → Mar by default)."""
    first = pd.Timestamp(f"{start_year}-{winter[0]}")
    end_year = start_year + (1 if winter[0] > winter[1] else 0)
    last = pd.Timestamp(f"{end_year}-{winter[1]}")
    return pd.date_range(
        first.to_period("M").to_timestamp(), last.to_period("M").to_timestamp(), freq="MS"
    )


def winter_label(start_year: int, winter: tuple[str, str] = DEFAULT_WINTER) -> str:
    """« 2025-2026 » for a winter across the new year, « 2025 » otherwise."""
    return f"{start_year}-{start_year + 1}" if winter[0] > winter[1] else str(start_year)


def coming_winter(last_month: str | pd.Timestamp) -> int:
    """Start year of the winter a report on data ending in ``last_month`` forecasts.

    Data end on 31 December Y; the report is read in Y + 1, so the coming winter starts in
    November Y + 1 (see the module docstring).
    """
    return pd.Timestamp(last_month).year + 1


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _ym(month: pd.Timestamp) -> str:
    return pd.Timestamp(month).strftime("%Y-%m")


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


@dataclass(frozen=True)
class WinterForecast:
    """Forecast of the nights demanded over one winter, with prediction intervals.

    ``total`` is the point forecast (sum of the monthly expected demand at the estimated
    coefficients); ``pi80``/``pi95`` are prediction intervals of the winter total (parameter
    uncertainty and count noise). ``months`` has ``month``, ``forecast``, ``lo80``, ``hi80``,
    ``lo95``, ``hi95``, ``capacity`` and ``p_exceed`` per month. ``capacity`` is the winter's
    bed-nights (NaN when no capacity was given), ``p_exceed`` the probability that the
    winter's demand exceeds it, ``expected_shortfall`` the expected nights demanded beyond the
    capacity, summed month by month, with its 80 % interval ``shortfall_pi80``.
    """

    winter: str
    start_year: int
    origin: pd.Timestamp
    horizon_months: int
    months: pd.DataFrame
    total: float
    pi80: tuple[float, float]
    pi95: tuple[float, float]
    capacity: float
    p_exceed: float
    expected_shortfall: float
    shortfall_pi80: tuple[float, float]
    model: MonthlyModelResult
    draws: int
    seed: int
    value: str = "demand"
    notes: list[str] = field(default_factory=list)

    @property
    def interpretation(self) -> str:
        """French sentence for the report."""
        first, last = self.months["month"].iloc[0], self.months["month"].iloc[-1]
        what = SERIES_LABELS.get(self.value, self.value)
        text = (
            f"Hiver {self.winter} (de {first.strftime('%m/%Y')} à {last.strftime('%m/%Y')})\u00a0: "
            f"{french_number(self.total)} {what} prévues (intervalle de prédiction à "
            f"80{NNBSP}%{_NBSP}: {french_number(self.pi80[0])} à {french_number(self.pi80[1])}"
            f"{NNBSP}; à 95{NNBSP}%{_NBSP}: {french_number(self.pi95[0])} à "
            f"{french_number(self.pi95[1])})"
        )
        if math.isfinite(self.capacity):
            text += (
                f", pour une capacité de {french_number(self.capacity)} nuitées-lits "
                f"(lits d'hiver compris)\u00a0; probabilité que la demande dépasse la capacité"
                f"{_NBSP}: {french_percent(100 * self.p_exceed, 0)}, manque attendu de "
                f"{french_number(self.expected_shortfall)} nuitées"
            )
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (months as « AAAA-MM »)."""
        m = self.model
        return {
            "winter": self.winter,
            "start_year": self.start_year,
            "origin": _ym(self.origin),
            "horizon_months": self.horizon_months,
            "value": self.value,
            "point": float(self.total),
            "pi80": [float(self.pi80[0]), float(self.pi80[1])],
            "pi95": [float(self.pi95[0]), float(self.pi95[1])],
            "capacity": _num(self.capacity),
            "p_exceed": _num(self.p_exceed),
            "expected_shortfall": _num(self.expected_shortfall),
            "shortfall_pi80": [_num(self.shortfall_pi80[0]), _num(self.shortfall_pi80[1])],
            "months": [
                {
                    "month": _ym(r.month),
                    "forecast": float(r.forecast),
                    "lo80": float(r.lo80),
                    "hi80": float(r.hi80),
                    "lo95": float(r.lo95),
                    "hi95": float(r.hi95),
                    "capacity": _num(r.capacity),
                    "p_exceed": _num(r.p_exceed),
                }
                for r in self.months.itertuples(index=False)
            ],
            "model": {
                "family": m.family,
                "annual_rate_ratio": m.annual_rate_ratio,
                "ci_low": m.ci_low,
                "ci_high": m.ci_high,
                "dispersion": m.dispersion,
                "alpha": m.alpha,
                "ljung_box_p": m.ljung_box_p,
                "n_months": m.n_months,
                "exposure": m.exposure,
                "notes": list(m.notes),
            },
            "draws": self.draws,
            "seed": self.seed,
            "interpretation": self.interpretation,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class BacktestWinter:
    """One past winter forecast from the data available at ``origin``, against the observed.

    ``ape`` is the absolute percentage error of the point forecast of the winter total.
    """

    winter: str
    start_year: int
    origin: pd.Timestamp
    horizon_months: int
    n_months: int
    family: str
    observed: float
    forecast: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float

    @property
    def ape(self) -> float:
        return 100 * abs(self.forecast - self.observed) / self.observed

    @property
    def covered80(self) -> bool:
        return bool(self.lo80 <= self.observed <= self.hi80)

    @property
    def covered95(self) -> bool:
        return bool(self.lo95 <= self.observed <= self.hi95)

    def to_dict(self) -> dict[str, Any]:
        return {
            "winter": self.winter,
            "start_year": self.start_year,
            "origin": _ym(self.origin),
            "horizon_months": self.horizon_months,
            "n_months": self.n_months,
            "family": self.family,
            "observed": float(self.observed),
            "forecast": float(self.forecast),
            "lo80": float(self.lo80),
            "hi80": float(self.hi80),
            "lo95": float(self.lo95),
            "hi95": float(self.hi95),
            "ape": float(self.ape),
            "covered80": self.covered80,
            "covered95": self.covered95,
        }


@dataclass(frozen=True)
class Backtest:
    """Forecasts of the past winters, each from the data before its origin.

    ``horizon`` is ``"rapport"`` (the real setting) or ``"court"``; ``mape`` the mean APE over
    the winters (None if no winter qualifies); ``coverage80``/``coverage95`` the share of
    winters whose observed total fell in the interval.
    """

    horizon: str
    description: str
    winters: list[BacktestWinter]
    notes: list[str] = field(default_factory=list)

    @property
    def mape(self) -> float | None:
        return float(np.mean([w.ape for w in self.winters])) if self.winters else None

    @property
    def coverage80(self) -> float | None:
        return float(np.mean([w.covered80 for w in self.winters])) if self.winters else None

    @property
    def coverage95(self) -> float | None:
        return float(np.mean([w.covered95 for w in self.winters])) if self.winters else None

    def table(self) -> pd.DataFrame:
        """One row per winter (the CSV ``backtest_hiver.csv``)."""
        columns = [
            "horizon",
            "winter",
            "origin",
            "horizon_months",
            "n_months",
            "family",
            "observed",
            "forecast",
            "lo80",
            "hi80",
            "lo95",
            "hi95",
            "ape",
            "covered80",
            "covered95",
        ]
        rows = [{"horizon": self.horizon, **w.to_dict()} for w in self.winters]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "description": self.description,
            "winters": [w.to_dict() for w in self.winters],
            "mape": self.mape,
            "coverage80": self.coverage80,
            "coverage95": self.coverage95,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------
# Forecast
# --------------------------------------------------------------------------------------------


def _check_history(history: pd.DataFrame, value: str) -> pd.DataFrame:
    missing = [c for c in ("month", value) if c not in history.columns]
    if missing:
        raise ValueError(
            "Historique mensuel incomplet\u00a0: colonne(s) manquante(s) "
            + ", ".join(f"« {c} »" for c in missing)
            + " (il faut « month » et la série à prévoir)."
        )
    frame = history[["month", value]].copy()
    frame["month"] = _month_starts(frame["month"])
    if frame["month"].duplicated().any():
        raise ValueError("Historique mensuel\u00a0: une seule ligne par mois est attendue.")
    frame = frame.sort_values("month").reset_index(drop=True)
    frame["days"] = frame["month"].dt.days_in_month.astype(float)
    return frame


def _simulate_counts(
    model: MonthlyModelResult,
    exog: np.ndarray,
    offset: np.ndarray,
    draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``draws`` × months simulated counts: coefficients from N(β̂, V), then count noise."""
    assert model.params is not None and model.cov_params is not None
    beta = rng.multivariate_normal(
        model.params.to_numpy(), model.cov_params.to_numpy(), size=draws, method="eigh"
    )
    mu = np.exp(beta @ exog.T + offset)
    if model.family == FAMILY_NB and model.alpha:
        return rng.poisson(rng.gamma(shape=1 / model.alpha, scale=model.alpha * mu))
    if model.family == FAMILY_QUASI_POISSON and model.dispersion > 1:
        phi = model.dispersion
        return rng.poisson(rng.gamma(shape=mu / (phi - 1), scale=phi - 1))
    return rng.poisson(mu)


def forecast_winter(
    history: pd.DataFrame,
    start_year: int | None = None,
    capacity: Mapping[str, int] | None = None,
    winter: tuple[str, str] = DEFAULT_WINTER,
    value: str = "demand",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    min_history: int = MIN_HISTORY,
) -> WinterForecast:
    """Forecast the monthly ``value`` (nights demanded) over the winter starting ``start_year``.

    ``history`` has one row per month (``month``, ``value``) up to the forecast origin, its
    last month; the model is fitted on all of it. ``start_year`` defaults to
    :func:`coming_winter` of the origin. ``capacity`` (``beds``, ``winter_extra_beds``) gives
    the bed-nights to set the demand against. Raises a French :class:`ValueError` when the
    history cannot support a forecast (too short, winter not after the origin, ...).
    """
    frame = _check_history(history, value)
    what = SERIES_LABELS.get(value, value)
    observed = frame[frame[value].notna()]
    if observed.empty:
        raise ValueError(f"Historique vide\u00a0: aucun mois de {what} à ajuster.")
    origin = pd.Timestamp(frame["month"].iloc[-1])
    start_year = coming_winter(origin) if start_year is None else int(start_year)
    label = winter_label(start_year, winter)
    months = winter_months(start_year, winter)
    if len(observed) < min_history:
        raise ValueError(
            f"Historique trop court pour prévoir l'hiver {label}\u00a0: {len(observed)} mois de "
            f"{what} jusqu'à {origin.strftime('%m/%Y')}, il en faut au moins {min_history} "
            "(deux cycles saisonniers complets) pour séparer la tendance de la saison."
        )
    if months[0] <= origin:
        raise ValueError(
            f"L'hiver {label} commence en {months[0].strftime('%m/%Y')}, avant la fin de "
            f"l'historique ({origin.strftime('%m/%Y')})\u00a0: ce n'est plus une prévision."
        )
    if draws < 1000:
        raise ValueError("Au moins 1 000 tirages sont nécessaires pour des intervalles à 95 %.")
    try:
        model = fit_monthly_model(frame, value, exposure="days")
        exog = model.design(months).to_numpy()
    except ValueError as exc:
        raise ValueError(f"Prévision de l'hiver {label} impossible\u00a0: {exc}") from None
    offset = np.log(months.days_in_month.to_numpy(dtype=float))
    assert model.params is not None
    point = np.exp(exog @ model.params.to_numpy() + offset)

    rng = np.random.default_rng(seed)
    sims = _simulate_counts(model, exog, offset, draws, rng)
    totals = sims.sum(axis=1)
    q = np.quantile(sims, [0.025, 0.1, 0.9, 0.975], axis=0)
    tq = np.quantile(totals, [0.025, 0.1, 0.9, 0.975])

    notes: list[str] = []
    if capacity is not None and sum(capacity.values()) > 0:
        cap = monthly_bed_nights(capacity, months, winter).to_numpy(dtype=float)
        cap_total = float(cap.sum())
        p_exceed = float(np.mean(totals > cap_total))
        p_exceed_month = np.mean(sims > cap, axis=0)
        shortfall = np.clip(sims - cap, 0, None).sum(axis=1)
        expected_shortfall = float(shortfall.mean())
        s_lo, s_hi = np.quantile(shortfall, [0.1, 0.9])
        shortfall_pi80 = (float(s_lo), float(s_hi))
        notes.append(
            "Le manque est compté mois par mois\u00a0; au jour le jour, des refus restent "
            "possibles même quand la demande mensuelle ne dépasse pas la capacité."
        )
    else:
        cap = np.full(len(months), math.nan)
        cap_total = p_exceed = expected_shortfall = math.nan
        p_exceed_month = np.full(len(months), math.nan)
        shortfall_pi80 = (math.nan, math.nan)
    if model.alpha is not None:
        notes.append("Le paramètre de surdispersion alpha est tenu fixé à son estimation.")

    table = pd.DataFrame(
        {
            "month": months,
            "forecast": point,
            "lo80": q[1],
            "hi80": q[2],
            "lo95": q[0],
            "hi95": q[3],
            "capacity": cap,
            "p_exceed": p_exceed_month,
        }
    )
    horizon = (months[0].year - origin.year) * 12 + months[0].month - origin.month
    return WinterForecast(
        winter=label,
        start_year=start_year,
        origin=origin,
        horizon_months=int(horizon),
        months=table,
        total=float(point.sum()),
        pi80=(float(tq[1]), float(tq[2])),
        pi95=(float(tq[0]), float(tq[3])),
        capacity=cap_total,
        p_exceed=p_exceed,
        expected_shortfall=expected_shortfall,
        shortfall_pi80=shortfall_pi80,
        model=model,
        draws=draws,
        seed=seed,
        value=value,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Back-test
# --------------------------------------------------------------------------------------------


def backtest(
    history: pd.DataFrame,
    horizon: str = "rapport",
    winter: tuple[str, str] = DEFAULT_WINTER,
    value: str = "demand",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    min_history: int = MIN_HISTORY,
) -> Backtest:
    """Forecast every past winter fully observed in ``history`` from its own origin.

    The origin of winter W is ``HORIZONS[horizon]`` months before W's first month: with
    ``"rapport"`` (11 months: data to 31 December W − 1, as the real forecast is made), or
    ``"court"`` (1 month: data to 31 October W). A winter qualifies when all its months are
    observed and at least ``min_history`` months precede its origin (inclusive). Each is
    forecast by :func:`forecast_winter` on the months up to its origin only.
    """
    if horizon not in HORIZONS:
        raise ValueError(f"Horizon « {horizon} » inconnu ({', '.join(HORIZONS)}).")
    frame = _check_history(history, value)
    observed = frame[frame[value].notna()]
    lag = HORIZONS[horizon]
    known = set(observed["month"])
    winters: list[BacktestWinter] = []
    if observed.empty:
        return Backtest(horizon, HORIZON_LABELS[horizon], winters, ["Historique vide."])
    first_year, last_year = observed["month"].min().year - 1, observed["month"].max().year
    for year in range(first_year, last_year + 1):
        months = winter_months(year, winter)
        if not set(months) <= known:
            continue
        origin = months[0] - pd.DateOffset(months=lag)
        past = observed[observed["month"] <= origin]
        if len(past) < min_history:
            continue
        fc = forecast_winter(
            past, year, None, winter, value, draws=draws, seed=seed, min_history=min_history
        )
        truth = float(observed.loc[observed["month"].isin(months), value].sum())
        winters.append(
            BacktestWinter(
                winter=fc.winter,
                start_year=year,
                origin=pd.Timestamp(origin),
                horizon_months=fc.horizon_months,
                n_months=fc.model.n_months,
                family=fc.model.family,
                observed=truth,
                forecast=fc.total,
                lo80=fc.pi80[0],
                hi80=fc.pi80[1],
                lo95=fc.pi95[0],
                hi95=fc.pi95[1],
            )
        )
    notes = []
    if not winters:
        notes.append(
            f"Aucun hiver passé n'est entièrement observé avec au moins {min_history} mois "
            "d'historique avant son origine."
        )
    elif len(winters) < 5:
        notes.append(
            f"{len(winters)} hiver(s) seulement\u00a0: le MAPE et la couverture des intervalles "
            "sont indicatifs, pas une mesure précise de la qualité de la prévision."
        )
    return Backtest(horizon, HORIZON_LABELS[horizon], winters, notes)
