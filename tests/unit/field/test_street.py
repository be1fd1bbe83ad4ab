"""The neighbourhood diagnosis on a synthetic record with PLANTED truth
(tests/support/street_fixtures.py): the young people's growth in zone Gare, the rise of one
problem code, the zone with too few observations, and the tables' identities."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from observatoire.field.street import (
    ENSEMBLE,
    ORIENTATION_EXTRA,
    YOUNG_BANDS,
    compute_diagnosis,
    read_diagnosis,
    split_codes,
    write_diagnosis,
)
from observatoire.field.street_settings import (
    DiagnosticError,
    DiagnosticSettings,
    diagnostic_from_mapping,
)
from tests.support.street_fixtures import TRUTH, street_records

CODES = ["abri_nuit", "accueil_jour", *ORIENTATION_EXTRA]


@pytest.fixture(scope="module")
def records():
    return street_records()


@pytest.fixture(scope="module")
def result(records):
    obs, groups = records
    return compute_diagnosis(obs, groups, DiagnosticSettings(), 2024, CODES)


def test_split_codes_counts_each_code_once():
    frame = split_codes(
        pd.Series(["deal consommation", "", None, "deal"]), ["deal", "consommation"]
    )
    assert frame["deal"].tolist() == [1, 0, 0, 1]
    assert frame["consommation"].tolist() == [1, 0, 0, 0]


def test_young_growth_in_gare_is_recovered_within_20_percent(result):
    model = result.model
    assert model["computed"] and model["family"] == "binomiale négative"  # planted overdispersion
    gare = model["zones"]["Gare"]
    truth = TRUTH["young_ratio"]["Gare"]
    assert abs(gare["rr"] / truth - 1) < 0.20
    assert gare["ci95"][0] <= truth <= gare["ci95"][1]
    # the naive ratio is fooled by the team's move from evenings to afternoons
    assert gare["naive_rr"] < 0.8 * truth
    # the other zones did not change (planted × 1): their intervals cover 1
    for zone in ("Centre-ville", "Parc"):
        lo, hi = model["zones"][zone]["ci95"]
        assert lo < 1 < hi
    # the change differs between zones; the model reproduces the share of zeros
    assert model["interaction_p"] < 0.05
    assert abs(model["zero_share_observed"] - model["zero_share_expected"]) < 0.05


def test_the_planted_problem_is_a_plus_and_nothing_else_moves(result):
    c = result.changes
    net = c[c["zone"] == ENSEMBLE]
    flagged = net[net["verdict"].isin(["plus", "moins"])]
    assert flagged["code"].tolist() == ["deal"]
    assert flagged["verdict"].iloc[0] == "plus"
    row = flagged.iloc[0]
    assert row["diff_lo"] < 0.2 < row["diff_hi"]  # planted 0.10 → 0.30
    assert (c.loc[c["zone"] == "Quais", "verdict"] == "non testé").all()
    assert set(c["correction"]) == {"holm"}


def test_holm_is_at_least_as_strict_as_bh(records):
    obs, groups = records
    holm = compute_diagnosis(obs, groups, DiagnosticSettings(), 2024, CODES).changes
    bh = compute_diagnosis(obs, groups, DiagnosticSettings(correction="bh"), 2024, CODES).changes
    both = holm["p_adjusted"].notna()
    assert (holm.loc[both, "p_adjusted"] >= bh.loc[both, "p_adjusted"] - 1e-12).all()


def test_zone_under_the_minimum_has_no_document(result):
    assert result.reported_zones == ["Gare", "Centre-ville", "Parc"]
    assert any("Quais" in n for n in result.notes)


def test_the_tables_add_up(records, result):
    obs, _ = records
    pres = result.presence.set_index(["zone", "year"])
    zones = pres.drop(index=ENSEMBLE, level="zone")
    for year in (2023, 2024):
        assert (
            zones.xs(year, level="year")["persons_met"].sum()
            == pres.loc[(ENSEMBLE, year), "persons_met"]
        )
    grid = result.grid.groupby("zone")["persons_met"].sum()
    for zone in result.zones:
        assert grid[zone] == pres.loc[(zone, 2024), "persons_met"]
    age = result.publics["age"].groupby(["zone", "year"])["persons"].sum()
    sex = result.publics["sexe"].groupby(["zone", "year"])["persons"].sum()
    young = (
        result.publics["age"][result.publics["age"]["age_band"].isin(YOUNG_BANDS)]
        .groupby(["zone", "year"])["persons"]
        .sum()
    )
    for key in pres.index:
        assert age[key] == pres.loc[key, "persons_met"] == sex[key]
        assert young[key] == pres.loc[key, "young_met"]
    shares = result.shares
    deal = shares[(shares["code"] == "deal") & (shares["zone"] == ENSEMBLE)]
    assert deal["share"].between(0, 1).all()


def test_write_and_read_back(tmp_path, result):
    write_diagnosis(result, tmp_path)
    meta, frames = read_diagnosis(tmp_path)
    assert meta["reported_zones"] == result.reported_zones
    assert math.isclose(
        meta["young_model"]["zones"]["Gare"]["rr"], result.model["zones"]["Gare"]["rr"]
    )
    assert len(frames["grid"]) == 4 * 7 * 6


def test_settings_refuse_unknown_keys_in_french():
    with pytest.raises(DiagnosticError, match=r"diagnostic\.seuil"):
        diagnostic_from_mapping({"seuil": 3})
    with pytest.raises(DiagnosticError, match="croissantes"):
        diagnostic_from_mapping({"heures": [9, 0]})
    s = DiagnosticSettings()
    assert s.band_labels()[-1] == "21 h–0 h"
    assert s.band_of(3) == 0 and s.band_of(22) == 5
