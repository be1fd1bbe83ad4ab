"""The « bilan » of a seasonal plan: what the network offered and what was asked of it.

For a plan and report year Y (the winter (Y−1)–Y, the summer Y; :meth:`Plan.window`), night by
night over the plan's window:

* the **shelters with person-level data** (``data_clean/contacts.parquet``,
  ``refusals.parquet``): beds offered (the dated capacity series), nights used, refusals for
  lack of place; demand = used + refused;
* each **count-only partner** of the plan's services that sends an aggregate return
  (``data_clean/aggregates.parquet``): its own beds, occupied beds and refusals, or its visits;
  the street-work rounds and distributions (``rounds``, ``water_distributions``,
  ``blankets``…) summed over the window where partners report them;
* the **phase** of the day (:func:`observatoire.plans.phases.daily_phases`) and the
  temperature.

**Totals** (:func:`summarise`): nights offered, nights used, occupancy = used / offered,
refusals, nights with at least one refusal, days per phase, and **what the extra capacity
absorbed**: on the days of a triggered phase, the nights used above the *base beds* (the
median beds offered on the days of the default phase), capped by the extra beds offered that
day — the nights that would have been refusals without the plan's beds, if demand had been the
same. It is an upper bound of the refusals avoided (some of those persons would have found a
place elsewhere).

**Persons** (:func:`persons_in_window`): distinct persons sheltered during the window, those
*new* (no presence anywhere in the network in the 730 days before their first night of the
window, the annual report's look-back), *known* (the others) and *young* (18–25 at a night of
the window); counts of persons go through the audited publication
(:mod:`observatoire.disclosure.plans`), never printed raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.dispositifs import SHELTER
from observatoire.core.presence import presence_span
from observatoire.indicators.counts import daily_refusals, nightly_counts
from observatoire.plans.phases import daily_phases, station_series
from observatoire.plans.settings import Plan

__all__ = [
    "BED_MEASURES",
    "DISTRIBUTION_MEASURES",
    "NightTable",
    "PlanSummary",
    "base_beds",
    "count_only_nights",
    "network_counts",
    "night_table",
    "plan_covariate",
    "years_of",
    "distributions",
    "persons_in_window",
    "summarise",
    "window_days",
]

BED_MEASURES = ("beds_available", "winter_extra_beds", "beds_occupied", "refusals", "visits")
DISTRIBUTION_MEASURES = ("rounds", "water_distributions", "blankets", "meals")
"""Street-work measures summed over a window when a return gives them (labels come from
``core.schema.AGGREGATE_MEASURES`` when the measure is declared there)."""
NEW_LOOKBACK_DAYS = 730


def window_days(plan: Plan, year: int) -> pd.DatetimeIndex:
    start, end = plan.window(year)
    return pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")


@dataclass(frozen=True)
class NightTable:
    """One row per day of the window: ``date``, ``phase``, ``tmin``, ``tmax``, ``beds``,
    ``used``, ``refused``, ``demand`` (NaN where the source has no data)."""

    plan: str
    year: int
    frame: pd.DataFrame
    source: str  # « réseau (données nominatives) » or the partner id


def night_table(
    plan: Plan,
    year: int,
    counts: pd.DataFrame,
    weather: pd.DataFrame | None,
    source: str,
    station: str | None = None,
) -> NightTable:
    """The window's days with their phase and temperatures, joined to ``counts`` (indexed by
    day: ``beds``, ``used``, ``refused``, ``demand``…). Without weather every day is in the
    default phase and the temperatures are NaN."""
    days = window_days(plan, year)
    frame = pd.DataFrame({"date": days})
    if weather is not None and len(weather):
        cal = daily_phases(plan, weather, year, station=station)
        frame["phase"] = cal["phase"].to_numpy()
        series = station_series(weather, station).reindex(days)
        frame["tmin"] = series["tmin"].to_numpy()
        frame["tmax"] = series["tmax"].to_numpy()
    else:
        frame["phase"] = plan.phases[0].id
        frame["tmin"] = np.nan
        frame["tmax"] = np.nan
    c = counts.reindex(days)
    for col in c.columns:
        frame[col] = c[col].to_numpy()
    return NightTable(plan.id, year, frame, source)


def network_counts(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    beds: pd.Series | None,
    days: pd.DatetimeIndex,
    dispositif: str = SHELTER,
) -> pd.DataFrame:
    """Per night of ``days``: beds offered (``beds``, a series by night, None when no
    capacity is known), nights used and refusals of the shelters with person-level data, and
    demand = used + refused. NaN on nights after the last night of data."""
    used = nightly_counts(contacts, dispositif).reindex(days, fill_value=0).astype("float64")
    ref = refusals
    if "dispositif" in ref.columns:
        ref = ref[ref["dispositif"] == dispositif]
    refused = daily_refusals(ref).reindex(days, fill_value=0).astype("float64")
    out = pd.DataFrame({"used": used, "refused": refused}, index=days)
    out["beds"] = np.nan if beds is None else beds.reindex(days).to_numpy(dtype="float64")
    last = pd.to_datetime(contacts["date_start"]).max() if len(contacts) else None
    if last is None or pd.isna(last):
        out[:] = np.nan
    else:
        out.loc[out.index > last.normalize()] = np.nan
    out["demand"] = out["used"] + out["refused"]
    return out


def base_beds(nights: pd.DataFrame, default_phase: str) -> float:
    """Beds offered outside the triggered phases: the median over the default phase's days."""
    beds = nights.loc[nights["phase"] == default_phase, "beds"].dropna()
    return float(beds.median()) if len(beds) else float("nan")


def count_only_nights(
    aggregates: pd.DataFrame, partner: str, days: pd.DatetimeIndex
) -> pd.DataFrame:
    """A count-only partner's daily return over ``days`` (whole population rows, programmes
    added up): ``beds`` (beds available plus the winter's extra beds), ``used``, ``refused``,
    ``visits`` (NaN where no return covers the
    day)."""
    a = aggregates[(aggregates["partner_id"] == partner) & aggregates["measure"].isin(BED_MEASURES)]
    if "group_role" in a.columns:
        a = a[a["group_role"].fillna("").isin(["", "total", "ensemble"]) | a["group"].isna()]
    a = a[a["period"].isin(["jour", "nuit"])] if "period" in a.columns else a
    day = pd.to_datetime(a["date"]).dt.normalize()
    wide = a.assign(day=day).pivot_table(
        index="day", columns="measure", values="value", aggfunc="sum"
    )
    wide = wide.reindex(days)
    out = pd.DataFrame(index=days)
    out["beds"] = wide.get("beds_available")
    if "winter_extra_beds" in wide and out["beds"] is not None:  # the plan's beds, on top
        out["beds"] = out["beds"] + wide["winter_extra_beds"].fillna(0)
    out["used"] = wide.get("beds_occupied")
    out["refused"] = wide.get("refusals")
    out["visits"] = wide.get("visits")
    if out["used"].notna().any():
        out["demand"] = out["used"] + out["refused"].fillna(0)
    else:
        out["demand"] = out["visits"]
    return out


def distributions(aggregates: pd.DataFrame, days: pd.DatetimeIndex) -> dict[str, float]:
    """Street-work rounds and distributions reported over the window (days or months that
    start in it), summed across partners; measures nobody reported are absent."""
    a = aggregates[aggregates["measure"].isin(DISTRIBUTION_MEASURES)]
    d = pd.to_datetime(a["date"]).dt.normalize()
    a = a[(d >= days[0]) & (d <= days[-1])]
    return {str(m): float(v) for m, v in a.groupby("measure")["value"].sum().items()}


def persons_in_window(
    contacts: pd.DataFrame, days: pd.DatetimeIndex, dispositif: str = SHELTER
) -> dict[str, int]:
    """Distinct persons with a night of ``dispositif`` in the window: ``persons``, ``new``,
    ``known``, ``young`` (18–25). See the module docstring."""
    stays = contacts[contacts["dispositif"] == dispositif]
    start = pd.to_datetime(stays["date_start"])
    end = pd.to_datetime(stays["date_end"]).fillna(
        start + pd.to_timedelta(stays["nights"].fillna(1).astype("float64"), unit="D")
    )
    lo, hi = days[0], days[-1] + pd.Timedelta(days=1)
    inside = stays[(start < hi) & (end > lo)]
    if inside.empty:
        return {"persons": 0, "new": 0, "known": 0, "young": 0}
    first = pd.to_datetime(inside["date_start"]).clip(lower=lo).groupby(inside["person_id"]).min()
    mine = contacts[contacts["person_id"].isin(first.index)]
    span = presence_span(mine)
    span["person_id"] = mine["person_id"]
    span["last_day"] = span["last_day"].fillna(pd.Timestamp.max.normalize())
    # any presence in the network in the look-back before the first night of the window
    span["first"] = span["person_id"].map(first)
    seen = span[
        (span["first_day"] < span["first"])
        & (span["last_day"] >= span["first"] - pd.Timedelta(days=NEW_LOOKBACK_DAYS))
    ]["person_id"].unique()
    age = inside["age_at_contact"]
    young = inside.loc[(age >= 18) & (age <= 25), "person_id"].nunique()
    persons = int(first.size)
    known = int(len(set(seen)))
    return {"persons": persons, "new": persons - known, "known": known, "young": int(young)}


@dataclass(frozen=True)
class PlanSummary:
    """The totals of one window (see :func:`summarise`)."""

    plan: str
    year: int
    days: int
    days_with_data: int
    phase_days: dict[str, int]
    offered: float | None
    used: float | None
    refused: float | None
    refusal_nights: int | None
    demand: float | None
    occupancy: float | None
    base_beds: float | None
    absorbed: float | None
    mean_temperature: float | None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _num(x: Any) -> float | None:
    return None if x is None or not np.isfinite(float(x)) else float(x)


def summarise(nights: NightTable, plan: Plan) -> PlanSummary:
    """Totals of a window (module docstring); None where the source has no data."""
    f = nights.frame
    has = f["demand"].notna() if "demand" in f else pd.Series(False, index=f.index)
    default = plan.phases[0].id
    phase_days = {p.id: int((f["phase"] == p.id).sum()) for p in plan.phases}
    d = f[has]
    if d.empty:
        return PlanSummary(
            plan.id, nights.year, len(f), 0, phase_days, None, None, None, None, None, None,
            None, None, _num(f[plan_covariate(plan)].mean()),
        )  # fmt: skip
    offered = _num(d["beds"].sum(min_count=1)) if "beds" in d else None
    used = _num(d["used"].sum(min_count=1)) if "used" in d else None
    refused = _num(d["refused"].fillna(0).sum()) if d.get("used") is not None else None
    base = base_beds(d, default) if "beds" in d and d["beds"].notna().any() else float("nan")
    absorbed = None
    if np.isfinite(base) and used is not None:
        extra = (d["beds"] - base).clip(lower=0)
        above = (d["used"] - base).clip(lower=0)
        on = d["phase"] != default
        absorbed = float(np.minimum(above, extra)[on].sum())
    return PlanSummary(
        plan=plan.id,
        year=nights.year,
        days=len(f),
        days_with_data=int(has.sum()),
        phase_days=phase_days,
        offered=offered,
        used=used,
        refused=refused,
        refusal_nights=None if refused is None else int((d["refused"].fillna(0) > 0).sum()),
        demand=_num(d["demand"].sum()),
        occupancy=None if not offered or used is None else used / offered,
        base_beds=_num(base),
        absorbed=absorbed,
        mean_temperature=_num(f[plan_covariate(plan)].mean()),
    )


def plan_covariate(plan: Plan) -> str:
    """``tmin`` for a winter plan (night minimum), ``tmax`` for a summer plan."""
    return "tmin" if plan.season == "hiver" else "tmax"


def years_of(plan: Plan, first_day: date, last_day: date) -> list[int]:
    """Report years whose window lies entirely within [first_day, last_day]."""
    out = []
    for y in range(first_day.year, last_day.year + 2):
        s, e = plan.window(y)
        if s >= first_day and e <= last_day:
            out.append(y)
    return out
