"""The phase of each day of a plan, drawn from the weather.

**The rule.** A day of the plan's window is in a triggered phase when, on that day,

- its temperature condition (``tmin_below: x``: minimum ≤ x °C; ``tmax_above: x``: maximum ≥
  x °C) has held on each of the last ``min_days`` days, that day included — the phase starts on
  the day the condition has held ``min_days`` days in a row and ends on the first day it no
  longer holds (it is not kept on for ``min_days`` more days); days before the window count
  (a cold spell begun on 13 November puts 15 November in « grand froid » at once); or
- the official alert named by the trigger (``alert: froid`` or ``chaleur``) is in force that
  day (the ``alert`` column of the weather table).

Otherwise the day is in the default phase (the first of the plan). When several triggered
phases hold on the same day, the one listed last in ``params/plans.yaml`` wins (list the phases
from the mildest to the most severe).

A day without a reading (no row, or an empty temperature) does not satisfy a temperature
condition and breaks the run of days: a phase is never declared on weather the analyst does not
have. The number of such days of the window is left in ``attrs["missing_days"]`` of the result
and should be said where the calendar is published.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from observatoire.plans.settings import Plan, PlansError, Trigger

__all__ = ["WEATHER_COLUMNS", "daily_phases", "phase_days", "station_series"]

log = logging.getLogger(__name__)

WEATHER_COLUMNS = ["date", "station", "tmin", "tmax", "alert"]
"""Columns of ``data_clean/weather.parquet`` (one row per day and station)."""


def station_series(weather: pd.DataFrame, station: str | None = None) -> pd.DataFrame:
    """One station's rows of the weather table, indexed by day (a single station needs no
    name). Raises :class:`PlansError` in French when the table cannot say which station."""
    missing = [c for c in ("date", "tmin", "tmax") if c not in weather.columns]
    if missing:
        raise PlansError(
            f"Table météo incomplète : colonne(s) {', '.join(missing)} absente(s).\n  À faire : "
            "relancez `observatoire ingest` avec une correspondance météo (table: weather)."
        )
    frame = weather
    if "station" in frame.columns:
        stations = sorted(frame["station"].dropna().astype(str).unique())
        if station is not None:
            frame = frame[frame["station"].astype(str) == str(station)]
            if frame.empty and stations:
                raise PlansError(
                    f"La station météo « {station} » de params/plans.yaml est absente des "
                    f"données météo (stations présentes : {', '.join(stations)}).\n  À faire : "
                    "corrigez « station » dans params/plans.yaml ou ajoutez la série de cette "
                    "station."
                )
        elif len(stations) > 1:
            raise PlansError(
                f"Plusieurs stations météo dans les données ({', '.join(stations)}) : indiquez "
                "laquelle décide des phases (« station » de params/plans.yaml)."
            )
    days = pd.to_datetime(frame["date"]).dt.normalize()
    out = pd.DataFrame(
        {
            "tmin": pd.to_numeric(frame["tmin"], errors="coerce").to_numpy(),
            "tmax": pd.to_numeric(frame["tmax"], errors="coerce").to_numpy(),
            "alert": (
                frame["alert"].fillna("").astype(str).to_numpy() if "alert" in frame.columns else ""
            ),
        },
        index=pd.DatetimeIndex(days, name="date"),
    )
    return out[~out.index.duplicated(keep="last")].sort_index()


def _in_force(trigger: Trigger, series: pd.DataFrame) -> pd.Series:
    """Per day of ``series`` (a continuous daily index), whether ``trigger`` holds."""
    held = pd.Series(False, index=series.index)
    if trigger.covariate is not None:
        values = series[trigger.covariate]
        if trigger.tmin_below is not None:
            day_ok = values <= trigger.tmin_below
        else:
            day_ok = values >= trigger.tmax_above
        day_ok = day_ok.fillna(False).astype(bool)  # a missing reading never holds
        run = day_ok.astype(int).rolling(trigger.min_days, min_periods=trigger.min_days).sum()
        held |= (run >= trigger.min_days).fillna(False).astype(bool)
    if trigger.alert is not None:
        held |= series["alert"] == trigger.alert
    return held


def daily_phases(
    plan: Plan, weather: pd.DataFrame, year: int, *, station: str | None = None
) -> pd.DataFrame:
    """The phase id of each day of ``plan``'s window for report year ``year``.

    ``weather`` has the columns of :data:`WEATHER_COLUMNS` (``alert`` optional); ``station``
    picks one station when the table holds several. Returns one row per day of the window,
    columns ``date`` (datetime64) and ``phase`` (the phase id), in date order; the count of
    window days without a reading is in ``attrs["missing_days"]``.
    """
    first, last = plan.window(year)
    longest = max((p.trigger.min_days for p in plan.phases if p.trigger), default=1)
    lead = pd.Timestamp(first) - pd.Timedelta(days=longest - 1)
    days = pd.date_range(lead, pd.Timestamp(last), freq="D", name="date")
    series = station_series(weather, station).reindex(days)
    series["alert"] = series["alert"].fillna("")
    phase = pd.Series(plan.default_phase.id, index=days, dtype=object)
    for candidate in plan.phases[1:]:
        if candidate.trigger is None:  # refused by Plan: only the first phase has none
            continue
        phase[_in_force(candidate.trigger, series).to_numpy()] = candidate.id
    window = days >= pd.Timestamp(first)
    result = pd.DataFrame({"date": days[window], "phase": phase.to_numpy()[window]})
    no_reading = series[["tmin", "tmax"]].isna().all(axis=1).to_numpy()[window]
    result.attrs["missing_days"] = int(np.sum(no_reading))
    if result.attrs["missing_days"]:
        log.info(
            "%s : %d jour(s) sans relevé météo dans la période",
            plan.label(year),
            result.attrs["missing_days"],
        )
    return result.reset_index(drop=True)


def phase_days(calendar: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Days per phase of a calendar from :func:`daily_phases`, and the number of distinct
    episodes (runs of consecutive days) of each, every phase of the plan listed (0 when absent).
    Columns ``phase``, ``label``, ``days``, ``episodes``."""
    rows = []
    runs = (calendar["phase"] != calendar["phase"].shift()).cumsum()
    for phase in plan.phases:
        mask = calendar["phase"] == phase.id
        rows.append(
            {
                "phase": phase.id,
                "label": phase.label,
                "days": int(mask.sum()),
                "episodes": int(runs[mask].nunique()),
            }
        )
    return pd.DataFrame(rows)
