"""The temperature model recovers the effects planted in the synthetic sample.

Reads the worktree's ingested sample (``data_clean/aggregates.parquet``,
``data_clean/weather.parquet``) and its truth (``data_raw/sample_truth/plans.json``); skips when
they are absent (run ``observatoire generate-sample`` then ``observatoire ingest``). The model
sees the series the way the ``plans`` stage does: the count-only partner's daily return over
each plan window, joined to the weather."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from observatoire.plans.bilan import count_only_nights, night_table, window_days, years_of
from observatoire.plans.settings import load_plans
from observatoire.plans.temperature import COLD, HEAT, fit_temperature_effect

ROOT = Path(__file__).resolve().parents[2]
TRUTH = ROOT / "data_raw" / "sample_truth" / "plans.json"
AGGREGATES = ROOT / "data_clean" / "aggregates.parquet"
WEATHER = ROOT / "data_clean" / "weather.parquet"

pytestmark = pytest.mark.skipif(
    not (TRUTH.exists() and AGGREGATES.exists() and WEATHER.exists()),
    reason="échantillon non généré ou non ingéré (generate-sample, ingest)",
)


@pytest.mark.parametrize("which", ["cold", "heat"])
def test_sample_planted_effect_recovered(which):
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))[which]
    plans = load_plans(ROOT / "params" / "plans.yaml")
    plan = plans.plans["grand_froid" if which == "cold" else "canicule"]
    aggregates = pd.read_parquet(AGGREGATES)
    weather = pd.read_parquet(WEATHER)
    if truth["partner"] not in set(aggregates["partner_id"]):
        pytest.skip(f"partenaire {truth['partner']} absent des données ingérées")
    first, last = weather["date"].min().date(), weather["date"].max().date()
    tables = []
    for y in years_of(plan, max(first, date(2000, 1, 1)), last):
        counts = count_only_nights(aggregates, truth["partner"], window_days(plan, y))
        if counts["demand"].notna().any():
            tables.append(night_table(plan, y, counts, weather, truth["partner"], plans.station))
    frame = pd.concat([t.frame for t in tables], ignore_index=True)
    fit = fit_temperature_effect(frame, COLD if which == "cold" else HEAT, "demand")
    planted = truth["per_degree"]
    assert fit.threshold == truth["threshold"] and fit.covariate == truth["covariate"]
    assert abs(fit.log_rr - planted) <= 0.2 * planted
    assert fit.ci95[0] <= planted <= fit.ci95[1]
