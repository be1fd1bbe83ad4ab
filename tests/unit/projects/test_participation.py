"""Participation measures on a hand-made case (exact) and the council effect on planted truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from observatoire.projects.participation import (
    _design,
    council_effect,
    council_proposals,
    participation,
)
from tests.support.projects_planted import SEASON, council_attendance, project_tables


@pytest.fixture
def hand_made():
    sessions = [(f"s{m}", f"2024-0{m}-10", "sport") for m in range(1, 7)]
    sessions.append(("c3", "2024-03-20", "conseil"))
    presences = [
        ("s1", "A", "locataire"),
        ("s1", "B", "locataire"),
        ("s1", "W", "travailleur"),
        ("s1", "A", "locataire"),  # written twice: counts once
        ("s2", "A", "locataire"),
        ("s2", "C", "locataire"),
        ("c3", "D", "locataire"),
        ("s5", "B", "locataire"),
        ("s6", "D", "locataire"),
    ]
    return project_tables(sessions, presences)


def test_monthly_counts_new_returning_and_roles(hand_made):
    att, act = hand_made
    r = participation(att, act, 2024, council_code="conseil", council_start="2024-03")
    m = r.monthly.set_index("month")
    assert m.loc["2024-01", ["sessions", "presences", "participants", "nouveaux"]].tolist() == [
        1,
        2,
        2,
        2,
    ]
    assert m.loc["2024-01", "participants_travailleur"] == 1
    assert m.loc["2024-03", ["sessions", "presences", "participants"]].tolist() == [2, 1, 1]
    assert m.loc["2024-05", ["nouveaux", "revenants"]].tolist() == [0, 1]
    assert m.loc["2024-09", "sessions"] == 0
    assert r.indicators["participants_uniques"] == 4
    assert r.indicators["nouveaux_participants"] == 4
    assert r.indicators["seances:conseil"] == 1
    spp = r.sessions_per_participant
    dist = dict(zip(spp["n_seances"], spp["participants"], strict=True))
    assert dist == {1: 1, 2: 3}


def test_retention_exact(hand_made):
    att, act = hand_made
    r = participation(att, act, 2024, council_code="conseil", council_start="2024-03")
    ret = r.retention.set_index("month")
    # observation ends in June (last session): January → seen again Feb–Apr: A of {A, B}
    assert ret.loc["2024-01", "share"] == 0.5
    assert ret.loc["2024-02", "share"] == 0.0
    assert ret.loc["2024-03", "share"] == 1.0
    assert not ret.loc["2024-04", "complete"] and math.isnan(ret.loc["2024-04", "share"])
    # newcomers: Jan {A, B} (A back), Feb {C} (no), Mar {D} (back in June) → 2 / 4
    assert (r.retention_3m["newcomers"], r.retention_3m["retained"]) == (4, 2)
    assert r.indicators["retention_3_mois"] == 0.5
    lo, hi = r.retention_3m["ci_low"], r.retention_3m["ci_high"]
    assert lo < 0.5 < hi
    c = r.cohorts.set_index("cohort")
    assert c.loc["2024-01", ["participants", "m1", "m4"]].tolist() == [2, 1, 1]
    assert math.isnan(c.loc["2024-03", "m4"])  # July is past observation
    assert r.council_summary["sessions"] == 1
    assert r.council_summary["attendees_year"] == 1
    assert r.council["presences"].tolist() == [1]
    # six months of data and the council in March: too thin for the effect, said in French
    assert not r.effect.computed
    assert r.effect.reason.startswith("non calculé")
    assert "effet_conseil" in r.reasons


def test_thin_data_never_raise():
    empty_att = pd.DataFrame(columns=["activity_id", "date", "activity", "participant_id", "role"])
    empty_act = pd.DataFrame(columns=["activity_id", "date", "activity"])
    r = participation(empty_att, empty_act, 2024, council_code="conseil", council_start="2024-03")
    assert r.reasons["participation"].startswith("non calculé")
    assert r.reasons["retention_3_mois"].startswith("non calculé")
    assert r.reasons["conseil"].startswith("non calculé")
    assert not r.effect.computed
    assert r.indicators["retention_3_mois"] is None
    assert r.to_dict()["effect"]["reason"].startswith("non calculé")
    r2 = participation(empty_att, empty_act, 2024, council_code=None)
    assert "pas de conseil" in r2.reasons["conseil"]


def test_council_effect_recovers_planted_ratio_despite_a_trend_and_seasons():
    att, act = council_attendance(1.5, seed=20, trend_per_month=0.02)
    e = participation(att, act, 2024, council_code="conseil", council_start="2024-03").effect
    assert e.computed, e.reason
    assert abs(e.estimate / 1.5 - 1) < 0.20
    assert e.ci_low < 1.5 < e.ci_high
    assert e.ci_low > 1.0
    # the naive before/after ratio carries the trend too: it is further from the truth
    assert abs(math.log(e.naive / 1.5)) > abs(math.log(e.estimate / 1.5))
    assert e.naive > 1.5 * 1.2
    assert e.months_before == 14 and e.months_after == 10
    assert not math.isnan(e.acf1) and 0 <= e.ljung_box_p <= 1
    d = e.to_dict()
    assert {"estimate", "ci_low", "ci_high", "naive", "model", "diagnostics"} <= set(d)


def test_council_effect_control_without_effect_contains_one():
    att, act = council_attendance(1.0, seed=7)
    e = participation(att, act, 2024, council_code="conseil", council_start="2024-03").effect
    assert e.computed, e.reason
    assert e.ci_low < 1.0 < e.ci_high


def test_proposals_table_and_share():
    p = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-03-20", "2024-03-20", "2024-04-17", "2023-12-01"]),
            "proposal_id": ["p1", "p2", "p3", "p0"],
            "theme": ["activite", "cadre_de_vie", "activite", "autre"],
            "outcome": ["realisee", "en_cours", "refusee", "realisee"],
            "outcome_date": pd.to_datetime(["2024-04-30", None, "2024-05-07", None]),
        }
    )
    r = council_proposals(p, 2024)
    t = r.table.set_index("theme")
    assert t.loc["activite", ["realisee", "refusee", "total"]].tolist() == [1, 1, 2]
    assert (r.proposals, r.realised) == (3, 1)
    assert r.median_days_to_outcome == pytest.approx((41 + 20) / 2)
    thin = council_proposals(p.iloc[:0], 2024)
    assert thin.reason.startswith("non calculé") and thin.proposals == 0


def test_underdispersed_counts_get_an_estimated_scale():
    """The sample's design (a stable pool: counts vary far less than Poisson): the Poisson
    interval would be several times too wide; the quasi-Poisson one is narrower and still holds
    the planted ratio (coverage in bench/projects_methods.py)."""
    rng = np.random.default_rng(5)
    months = pd.period_range("2023-01", "2024-12", freq="M")
    after = np.array([m >= pd.Period("2024-03", "M") for m in months])
    sessions = rng.integers(4, 8, len(months))
    season = np.array([SEASON[m.month - 1] for m in months])
    mean = sessions * 1.8 * season * np.where(after, 1.5, 1.0)
    y = np.round(mean * np.exp(rng.normal(0, 0.05, len(months)))).astype("int64")
    panel = pd.DataFrame({"month": months.astype(str), "sessions": sessions, "participants": y})
    e = council_effect(panel, "2024-03")
    assert e.family == "quasi-poisson" and e.pearson_chi2_df < 0.5
    assert e.underdispersion_p < 0.05
    assert e.ci_low < 1.5 < e.ci_high and e.ci_low > 1.0
    poisson = sm.GLM(
        y, _design(panel, pd.Period("2024-03", "M"), True), family=sm.families.Poisson(),
        offset=np.log(sessions),
    ).fit()  # fmt: skip
    assert e.ci_high / e.ci_low < math.exp(2 * 1.96 * float(poisson.bse["after"])) / 2
    assert any("sous-dispersion" in n for n in e.notes)
