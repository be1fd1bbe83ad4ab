"""Next winter's demand at the night shelter, forecast against its capacity, and back-tested.

**Target.** Nights *demanded* = nights used + refusals for lack of place, per month. A
refusal is a night asked for and not given; nights used are capped by the beds, so in a
full winter they measure the capacity, not the need. Demand is the quantity the Plan Grand
Froid has to be sized for.

**Horizon.** The data of report year Y end on 31 December Y, and the report is published in
the course of Y + 1, when the winter Nov Y → Mar Y + 1 is over or under way. The winter still
ahead of its readers is **1 November Y + 1 → 31 March Y + 2**: its first month is 11 months
after the last month of data, its last 15 months after (:func:`coming_winter`). The months of
the current winter already in the data (November and December Y) enter every model's fit, the
seasonal naive benchmark and, as targets, the back-test; :func:`current_winter` sets them
against the same months a year earlier for the report.

**Models.** Two count models of the monthly demand, with the days of the month as exposure
(:mod:`observatoire.models.demand`): one trend for every month (``commune``, the only model
up to the 2024 report), or a trend specific to the winter-plan months (``hiver``). The
shelter is full every winter, so its winter demand is what it can offer plus what it turns
away, and need not grow at the summer's rate.

**Choice.** A rolling-origin back-test (:mod:`observatoire.models.rolling_origin`) forecasts
every month up to 15 months ahead from every monthly origin with 24 months of history, with
both models and three naive benchmarks (same as last winter, seasonal naive, capacity-capped
naive); the published model is the winter-specific one, which nests the other, unless the
common-trend model has a lower MAPE on the winter months at the report's horizons (11–15
months) by at least 0.1 point
(:func:`observatoire.models.rolling_origin.choose_model`). :func:`winter_outlook` does it all.

**Prediction intervals** (« intervalles de prévision ») by simulation (``draws`` ≥ 1 000,
seeded): coefficients drawn from their asymptotic normal distribution (parameter
uncertainty, which grows with the horizon through the trend), then monthly counts drawn
around the resulting means (Poisson, NB2 with the estimated α, or a gamma–Poisson with
variance φμ under quasi-Poisson). The NB α is held at its estimate; months are drawn
independently, which the Ljung–Box test of the residuals (disclosed in the report) checks.
The 80 % and 95 % intervals are the quantiles of the simulated winter totals; the same draws
give the probability that demand exceeds the bed-nights of capacity (winter beds included)
and the expected shortfall, counted month by month (a free bed in November does not serve a
refusal in January). Their calibration is simulated in ``bench/forecast_coverage.py``.
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
from observatoire.indicators.capacity import bed_nights_per_day, has_beds
from observatoire.intake.mapping import PartnerMapping
from observatoire.models.demand import (
    METHOD_LABELS,
    MODEL_WINTER,
    MODELS,
    NAIVE,
    DemandModel,
    fit_demand_model,
    naive_forecast,
)
from observatoire.models.rolling_origin import (
    RollingOrigin,
    Selection,
    choose_model,
    rolling_origin,
)
from observatoire.models.trends import SERIES_LABELS

__all__ = [
    "DEFAULT_WINTER",
    "CurrentWinter",
    "WinterForecast",
    "WinterOutlook",
    "coming_winter",
    "current_winter",
    "forecast_winter",
    "monthly_bed_nights",
    "monthly_demand",
    "shelter_capacity",
    "winter_label",
    "winter_months",
    "winter_outlook",
]

DEFAULT_WINTER: tuple[str, str] = ("11-01", "03-31")
DEFAULT_DRAWS = 5000
DEFAULT_SEED = 20250101
MIN_HISTORY = 24
REPORT_LAG = 11  # months from the origin (31 December) to the coming winter's first month
_NBSP = "\u00a0"


# --------------------------------------------------------------------------------------------
# Capacity, demand and winters
# --------------------------------------------------------------------------------------------


def shelter_capacity(
    partners: Mapping[str, PartnerMapping], dispositif: str = SHELTER
) -> dict[str, int]:
    """Beds and winter-plan beds of all partners of ``dispositif``, summed (as the report)."""
    shelters = [p for p in partners.values() if p.runs(dispositif)]
    return {
        "beds": sum(p.capacity.get("beds", 0) for p in shelters),
        "winter_extra_beds": sum(p.capacity.get("winter_extra_beds", 0) for p in shelters),
    }


def _month_starts(months: Any) -> pd.DatetimeIndex:
    stamps = pd.to_datetime(pd.Series(months)).dt.to_period("M").dt.to_timestamp()
    return pd.DatetimeIndex(stamps)


def monthly_bed_nights(
    capacity: ind.Capacity | None, months: Any, winter: tuple[str, str] = DEFAULT_WINTER
) -> pd.Series:
    """Bed-nights offered in each month, night by night: the capacity series
    (:mod:`observatoire.indicators.capacity`), or two fixed numbers, ``beds`` every night +
    ``winter_extra_beds`` on the nights of the winter plan (so a plan starting mid-month is
    counted exactly). A month after the last night of a series holds the declaration, or 0."""
    index = _month_starts(months)
    # Every night of the months asked for, in one call (a night's beds do not depend on the
    # other nights asked for; a call per month was most of the trends stage's capacity time).
    if index.empty:
        return pd.Series([], index=index, name="capacity", dtype="int64")
    nights = pd.DatetimeIndex(
        np.concatenate(
            [pd.date_range(m, m + pd.offsets.MonthEnd(0)).to_numpy() for m in index.unique()]
        )
    )
    beds = pd.Series(bed_nights_per_day(capacity, nights, winter), index=nights)
    per_month = beds.groupby(nights.to_period("M").to_timestamp()).sum()
    values = [int(per_month[start]) for start in index]
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


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


@dataclass(frozen=True)
class WinterForecast:
    """Forecast of the nights demanded over one winter, with prediction intervals.

    ``total`` is the point forecast (sum of the monthly expected demand at the estimated
    coefficients of ``model``); ``pi80``/``pi95`` are prediction intervals of the winter total
    (parameter uncertainty and count noise). ``months`` has ``month``, ``forecast``, ``lo80``,
    ``hi80``, ``lo95``, ``hi95``, ``capacity`` and ``p_exceed`` per month. ``capacity`` is the
    winter's bed-nights (NaN when no capacity was given), ``p_exceed`` the probability that the
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
    model: DemandModel
    draws: int
    seed: int
    value: str = "demand"
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.model.method

    @property
    def interpretation(self) -> str:
        """French sentence for the report."""
        first, last = self.months["month"].iloc[0], self.months["month"].iloc[-1]
        what = SERIES_LABELS.get(self.value, self.value)
        text = (
            f"Hiver {self.winter} (de {first.strftime('%m/%Y')} à {last.strftime('%m/%Y')})\u00a0: "
            f"{french_number(self.total)} {what} prévues (intervalle de prévision à "
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
        return {
            "winter": self.winter,
            "start_year": self.start_year,
            "origin": _ym(self.origin),
            "horizon_months": self.horizon_months,
            "value": self.value,
            "method": self.method,
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
            "model": self.model.to_dict(),
            "draws": self.draws,
            "seed": self.seed,
            "interpretation": self.interpretation,
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
    frame = history.copy()
    frame["month"] = _month_starts(frame["month"])
    if frame["month"].duplicated().any():
        raise ValueError("Historique mensuel\u00a0: une seule ligne par mois est attendue.")
    return frame.sort_values("month").reset_index(drop=True)


def forecast_winter(
    history: pd.DataFrame,
    start_year: int | None = None,
    capacity: ind.Capacity | None = None,
    winter: tuple[str, str] = DEFAULT_WINTER,
    value: str = "demand",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    min_history: int = MIN_HISTORY,
    method: str = MODEL_WINTER,
) -> WinterForecast:
    """Forecast the monthly ``value`` (nights demanded) over the winter starting ``start_year``
    with the count model ``method`` (see :mod:`observatoire.models.demand`).

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
    if method not in MODELS:
        raise ValueError(f"Modèle « {method} » inconnu ({', '.join(MODELS)}).")
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
        model = fit_demand_model(frame, method, winter, value)
        point = model.mean(months)
        sims = model.simulate(months, draws, np.random.default_rng(seed))
    except ValueError as exc:
        raise ValueError(f"Prévision de l'hiver {label} impossible\u00a0: {exc}") from None
    totals = sims.sum(axis=1)
    q = np.quantile(sims, [0.025, 0.1, 0.9, 0.975], axis=0)
    tq = np.quantile(totals, [0.025, 0.1, 0.9, 0.975])

    notes: list[str] = []
    if has_beds(capacity):
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
# The current winter, and the whole outlook
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrentWinter:
    """The months of the winter under way at the origin already in the data, against the same
    months of the winter before (``previous``; None when they are not all observed)."""

    winter: str
    months: list[str]
    observed: float
    previous: float | None

    @property
    def change(self) -> float | None:
        """Change on the same months a year earlier, in percent."""
        if not self.previous:
            return None
        return 100 * (self.observed / self.previous - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "winter": self.winter,
            "months": list(self.months),
            "observed": float(self.observed),
            "previous": _num(self.previous),
            "change": _num(self.change),
        }


def current_winter(
    history: pd.DataFrame, winter: tuple[str, str] = DEFAULT_WINTER, value: str = "demand"
) -> CurrentWinter | None:
    """The partial winter at the end of ``history`` (None when its last month is outside a
    winter or closes it: the winter is then complete)."""
    frame = _check_history(history, value)
    frame = frame[frame[value].notna()].set_index("month")
    if frame.empty:
        return None
    origin = frame.index.max()
    for start_year in (origin.year, origin.year - 1):
        months = winter_months(start_year, winter)
        if months[0] <= origin < months[-1]:
            seen = [m for m in months if m <= origin]
            if not all(m in frame.index for m in seen):
                return None
            before = [m - pd.DateOffset(years=1) for m in seen]
            previous = (
                float(frame.loc[before, value].sum())
                if all(m in frame.index for m in before)
                else None
            )
            return CurrentWinter(
                winter=winter_label(start_year, winter),
                months=[_ym(m) for m in seen],
                observed=float(frame.loc[seen, value].sum()),
                previous=previous,
            )
    return None


@dataclass(frozen=True)
class WinterOutlook:
    """Everything the report says about next winter: the back-test, the model it chose, that
    model's forecast, the other model's and the naive benchmarks' forecasts of the same
    winter (``alternatives``: method → total, and for the models their 80 % and 95 %
    intervals), the other model itself (``other``, for its diagnostics) and the partial
    current winter."""

    forecast: WinterForecast
    backtest: RollingOrigin
    selection: Selection
    other: WinterForecast
    naive: dict[str, float | None]
    current: CurrentWinter | None

    def alternatives(self) -> list[dict[str, Any]]:
        rows = []
        for fc in (self.forecast, self.other):
            rows.append(
                {
                    "method": fc.method,
                    "label": METHOD_LABELS[fc.method],
                    "point": float(fc.total),
                    "pi80": [float(fc.pi80[0]), float(fc.pi80[1])],
                    "pi95": [float(fc.pi95[0]), float(fc.pi95[1])],
                }
            )
        for method, total in self.naive.items():
            rows.append(
                {
                    "method": method,
                    "label": METHOD_LABELS[method],
                    "point": _num(total),
                    "pi80": [None, None],
                    "pi95": [None, None],
                }
            )
        return rows

    def report_winters(self) -> pd.DataFrame:
        """The complete past winters forecast from a 31 December origin (11 months ahead, as
        the published forecast), every method."""
        w = self.backtest.winters
        return w[w["lag"] == REPORT_LAG].reset_index(drop=True)


def winter_outlook(
    history: pd.DataFrame,
    capacity: ind.Capacity | None = None,
    winter: tuple[str, str] = DEFAULT_WINTER,
    value: str = "demand",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    min_history: int = MIN_HISTORY,
    backtest_draws: int = 2000,
) -> WinterOutlook:
    """Back-test, choose, forecast (see the module docstring). ``history`` is
    :func:`monthly_demand` up to the origin (``nights`` and ``refusals`` are needed by the
    capacity-capped benchmark only)."""
    frame = _check_history(history, value)
    observed = int(frame[value].notna().sum())
    if observed <= min_history:
        raise ValueError(
            f"historique trop court pour valider la prévision : {observed} mois, il en faut "
            f"plus de {min_history} (la validation à origine glissante prévoit à partir de "
            f"chaque mois précédé d'au moins {min_history} mois, et compare aux mois suivants)"
        )
    origin = pd.Timestamp(frame["month"].iloc[-1])
    start_year = coming_winter(origin)
    target = winter_months(start_year, winter)
    cap_months = None
    if has_beds(capacity):
        span = pd.date_range(frame["month"].min(), target[-1], freq="MS")
        cap_months = monthly_bed_nights(capacity, span, winter)
    bt = rolling_origin(
        frame,
        cap_months,
        winter,
        value,
        min_history=min_history,
        draws=backtest_draws,
        seed=seed,
    )
    selection = choose_model(bt)
    kwargs = dict(
        start_year=start_year,
        capacity=capacity,
        winter=winter,
        value=value,
        draws=draws,
        seed=seed,
        min_history=min_history,
    )
    chosen = forecast_winter(frame, method=selection.method, **kwargs)
    other_method = next(m for m in MODELS if m != selection.method)
    other = forecast_winter(frame, method=other_method, **kwargs)
    naive: dict[str, float | None] = {}
    for method in NAIVE:
        if method == "plafonne" and cap_months is None:
            continue
        point = naive_forecast(frame, method, target, cap_months, winter, value)
        naive[method] = float(point.sum()) if np.all(np.isfinite(point)) else None
    return WinterOutlook(
        forecast=chosen,
        backtest=bt,
        selection=selection,
        other=other,
        naive=naive,
        current=current_winter(frame, winter, value),
    )
