"""The phase calendar on a planted weather series: the rule of docs/plans-saisonniers.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.plans.phases import daily_phases, phase_days
from observatoire.plans.settings import PlansError, load_plans

PLANS = load_plans(Path(__file__).resolve().parents[3] / "params" / "plans.yaml")
WINTER, SUMMER = PLANS.plans["grand_froid"], PLANS.plans["canicule"]


def _weather(start: str, end: str, tmin: float = 4.0, tmax: float = 20.0) -> pd.DataFrame:
    days = pd.date_range(start, end, freq="D")
    return pd.DataFrame({"date": days, "station": "6447", "tmin": tmin, "tmax": tmax, "alert": ""})


def _set(frame: pd.DataFrame, first: str, last: str, **values) -> None:
    mask = frame["date"].between(pd.Timestamp(first), pd.Timestamp(last))
    for column, value in values.items():
        frame.loc[mask, column] = value


def _phase_on(calendar: pd.DataFrame, day: str) -> str:
    return calendar.loc[calendar["date"] == pd.Timestamp(day), "phase"].item()


def test_grand_froid_starts_when_the_cold_has_held_min_days_and_ends_with_it():
    weather = _weather("2023-11-01", "2024-04-10")
    _set(weather, "2024-01-10", "2024-01-16", tmin=-6.0)  # 7 cold nights
    _set(weather, "2024-02-05", "2024-02-05", tmin=-8.0)  # a single cold night: too short
    calendar = daily_phases(WINTER, weather, 2024)
    assert list(calendar.columns) == ["date", "phase"]
    assert len(calendar) == 138
    assert calendar["date"].iloc[0] == pd.Timestamp("2023-11-15")
    assert calendar["date"].iloc[-1] == pd.Timestamp("2024-03-31")
    assert _phase_on(calendar, "2024-01-10") == "veille"  # held 1 day of 2
    assert _phase_on(calendar, "2024-01-11") == "grand_froid"  # held 2 days: starts
    assert _phase_on(calendar, "2024-01-16") == "grand_froid"
    assert _phase_on(calendar, "2024-01-17") == "veille"  # no longer holds: ends
    assert _phase_on(calendar, "2024-02-05") == "veille"
    summary = phase_days(calendar, WINTER).set_index("phase")
    assert summary.loc["grand_froid", "days"] == 6
    assert summary.loc["grand_froid", "episodes"] == 1
    assert summary["days"].sum() == 138
    assert calendar.attrs["missing_days"] == 0


def test_the_threshold_is_inclusive_and_days_before_the_window_count():
    weather = _weather("2023-11-01", "2024-04-10")
    _set(weather, "2023-11-14", "2023-11-15", tmin=-3.0)  # exactly the threshold
    calendar = daily_phases(WINTER, weather, 2024)
    assert _phase_on(calendar, "2023-11-15") == "grand_froid"
    assert _phase_on(calendar, "2023-11-16") == "veille"


def test_an_official_alert_puts_the_phase_in_force_on_its_days():
    weather = _weather("2023-11-01", "2024-04-10")
    _set(weather, "2024-03-02", "2024-03-03", alert="froid")
    calendar = daily_phases(WINTER, weather, 2024)
    assert _phase_on(calendar, "2024-03-01") == "veille"
    assert _phase_on(calendar, "2024-03-02") == "grand_froid"
    assert _phase_on(calendar, "2024-03-03") == "grand_froid"
    assert _phase_on(calendar, "2024-03-04") == "veille"


def test_canicule_needs_three_hot_days_and_a_missing_day_breaks_the_run():
    weather = _weather("2024-05-20", "2024-09-05")
    _set(weather, "2024-07-01", "2024-07-05", tmax=32.0)
    _set(weather, "2024-08-01", "2024-08-05", tmax=33.0)
    _set(weather, "2024-08-03", "2024-08-03", tmax=np.nan, tmin=np.nan)  # no reading
    calendar = daily_phases(SUMMER, weather, 2024)
    assert len(calendar) == 92
    heat = calendar.loc[calendar["phase"] == "canicule", "date"].dt.strftime("%m-%d")
    assert list(heat) == ["07-03", "07-04", "07-05"]
    assert calendar.attrs["missing_days"] == 1


def test_days_without_any_row_are_counted_and_stay_in_the_default_phase():
    weather = _weather("2024-06-01", "2024-07-31", tmax=35.0)
    calendar = daily_phases(SUMMER, weather, 2024)
    assert calendar.attrs["missing_days"] == 31  # August has no reading
    assert (calendar.loc[calendar["date"] >= "2024-08-01", "phase"] == "veille").all()
    assert _phase_on(calendar, "2024-06-03") == "canicule"  # 1, 2, 3 June: three days held


def test_the_station_is_chosen_by_name_and_an_unknown_one_is_refused():
    one = _weather("2023-11-01", "2024-04-10")
    other = _weather("2023-11-01", "2024-04-10", tmin=-10.0).assign(station="6414")
    both = pd.concat([one, other])
    assert (daily_phases(WINTER, both, 2024, station="6447")["phase"] == "veille").all()
    assert (daily_phases(WINTER, both, 2024, station="6414")["phase"] == "grand_froid").all()
    with pytest.raises(PlansError, match="Plusieurs stations"):
        daily_phases(WINTER, both, 2024)
    with pytest.raises(PlansError, match="« 9999 »"):
        daily_phases(WINTER, both, 2024, station="9999")
