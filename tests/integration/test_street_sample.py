"""The planted growth of young people's presence in zone Gare, recovered from the synthetic
sample's street-work records once ingested (``data_raw/sample_truth/terrain.json`` written by
the generator; skipped until the sample and the ingest of the field tables exist)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from observatoire.field.street import ORIENTATION_EXTRA, compute_diagnosis
from observatoire.field.street_settings import load_diagnostic

ROOT = Path(__file__).resolve().parents[2]
TRUTH = ROOT / "data_raw/sample_truth/terrain.json"
FIELD = ROOT / "data_clean/field"


@pytest.mark.skipif(
    not (TRUTH.exists() and (FIELD / "street_observations.parquet").exists()),
    reason="échantillon de terrain non généré ou non ingéré",
)
def test_young_growth_in_gare_matches_the_truth_file():
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))["street"]["young_gare"]
    obs = pd.read_parquet(FIELD / "street_observations.parquet")
    groups = pd.read_parquet(FIELD / "street_groups.parquet")
    if obs["zone"].nunique() < 2 or obs["year"].nunique() < 2:
        pytest.skip("observations d'une seule année ou d'une seule zone")
    res = compute_diagnosis(
        obs, groups, load_diagnostic(ROOT / "params/terrain.yaml"), 2024, list(ORIENTATION_EXTRA)
    )
    gare = res.model["zones"]["Gare"]
    assert abs(gare["rr"] / truth["planted_ratio"] - 1) < 0.20
    assert gare["ci95"][0] <= truth["planted_ratio"] <= gare["ci95"][1]
    for zone, entry in res.model["zones"].items():
        if zone != "Gare" and entry.get("computed"):
            assert entry["ci95"][0] < truth["other_zones_ratio"] * 1.25
