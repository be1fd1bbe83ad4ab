"""The planted weather and plan services of the sample have the stated properties."""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.sample.config import SampleParams
from observatoire.sample.plans import PLANTED, plan_files, sample_weather

PARAMS = SampleParams.from_mapping(
    {
        "seed": 20240601,
        "first_year": 2020,
        "last_year": 2024,
        "scale": 1.0,
        "annual_growth": 0.04,
        "youth_share": 0.18,
        "noise": {
            "name_variant": 0.09,
            "day_month_swap": 0.025,
            "missing_birth_date": 0.06,
            "second_local_id": 0.04,
        },
    }
)


def test_seasonal_means_cold_snaps_and_heatwaves():
    weather, spells = sample_weather(PARAMS)
    assert len(weather) == 1827 and weather["date"].is_monotonic_increasing
    month = weather.groupby(weather["date"].dt.month)[["tmin", "tmax"]].mean()
    assert -0.5 <= month.loc[1, "tmin"] <= 1.5 and 12.5 <= month.loc[7, "tmin"] <= 14.5
    assert 4.0 <= month.loc[1, "tmax"] <= 6.5 and 22.0 <= month.loc[7, "tmax"] <= 24.5
    assert (weather["tmin"] <= weather["tmax"]).all()
    by_day = weather.groupby(weather["date"].dt.dayofyear)["tmin"]
    anomaly = weather["tmin"] - by_day.transform("mean")
    assert anomaly.autocorr(1) > 0.5  # day-to-day persistence
    for year in range(2020, 2025):
        winter = weather[(weather["date"].dt.year == year) & (weather["date"].dt.month == 1)]
        assert (winter["tmin"] <= -8).sum() >= 7  # a week of −8 to −12 °C nights
        summer = weather[(weather["date"].dt.year == year) & (weather["date"].dt.month == 7)]
        hot = (summer["tmax"] >= 30).astype(int)
        assert hot.rolling(3).sum().max() >= 3  # ≥ 30 °C three days running at least
    assert {s["kind"] for s in spells} == {"froid", "chaleur"}


def test_demand_follows_the_planted_cold_effect_and_is_censored_at_capacity():
    files, truth = plan_files(PARAMS)
    assert truth["cold"] == PLANTED["cold"] and truth["heat"]["per_degree"] == 0.04
    text = "".join(f.text for f in files if f.relative_path.startswith("abri_grand_froid/"))
    rows = [line.split(";") for line in text.splitlines() if line[:1].isdigit()]
    nights = pd.DataFrame(rows, columns=["date", "beds", "extra", "occupied", "refused"])
    nights = nights.astype({c: int for c in ["beds", "extra", "occupied", "refused"]})
    nights["date"] = pd.to_datetime(nights["date"], format="%d/%m/%Y")
    assert (nights["occupied"] <= nights["beds"] + nights["extra"]).all()
    full = nights["refused"] > 0
    assert (nights.loc[full, "occupied"] == (nights["beds"] + nights["extra"])[full]).all()
    weather, _ = sample_weather(PARAMS)
    merged = nights.merge(weather, on="date")
    demand = merged["occupied"] + merged["refused"]
    cold = merged["tmin"] <= -8
    mild = merged["tmin"] >= 0
    ratio = demand[cold].mean() / demand[mild].mean()
    expected = np.exp(0.05 * (-merged.loc[cold, "tmin"]).mean())
    assert abs(ratio / expected - 1) < 0.15
    assert merged.loc[cold, "refused"].gt(0).mean() > merged.loc[mild, "refused"].gt(0).mean()


def test_the_plan_partners_seasons_are_the_plans_periods():
    """The sample's seasonal mappings declare the windows of params/plans.yaml: a plan moved in
    one file and not in the other would make a month « hors saison » that the plan covers."""
    from pathlib import Path

    from observatoire.intake.mapping import load_mapping
    from observatoire.plans.settings import load_plans

    root = Path(__file__).resolve().parents[3]
    plans = load_plans(root / "params/plans.yaml").plans
    window = {pid: (p.period.start, p.period.end) for pid, p in plans.items()}
    expected = {
        "abri_grand_froid": (window["grand_froid"],),
        "accueil_canicule": (window["canicule"],),
        "maraude_plans": (window["grand_froid"], window["canicule"]),
    }
    for pid, season in expected.items():
        mapping = load_mapping(root / f"params/partners/{pid}.yaml", root / "params/codes")
        assert mapping.season == season, pid
        assert mapping.coverage == (("2020-01", "2024-12"),), pid
