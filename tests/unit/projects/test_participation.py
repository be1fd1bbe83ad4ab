"""Participation measures on a hand-made case (exact) and the council effect on planted truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from observatoire.projects.participation import council_proposals, participation


def _tables(sessions: list[tuple[str, str, str]], presences: list[tuple[str, str, str]]):
    """sessions: (activity_id, date, activity); presences: (activity_id, participant, role)."""
    act = pd.DataFrame(sessions, columns=["activity_id", "date", "activity"])
    act["date"] = pd.to_datetime(act["date"])
    act["partner_id"] = "affiliation_hf"
    by_id = act.set_index("activity_id")
    att = pd.DataFrame(presences, columns=["activity_id", "participant_id", "role"])
    att["date"] = att["activity_id"].map(by_id["date"])
    att["activity"] = att["activity_id"].map(by_id["activity"])
    att["partner_id"] = "affiliation_hf"
    return att, act


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
    return _tables(sessions, presences)


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


SEASON = (0.9, 0.9, 1.0, 1.0, 1.1, 1.15, 1.2, 1.05, 1.05, 1.0, 0.9, 0.85)  # the sample's
RATE = 8.0  # distinct participants per session before the council (season 1)


def _simulate(ratio: float, seed: int, trend_per_month: float = 0.0):
    """24 months of sessions; distinct non-council participants per month ~ Poisson(sessions ×
    RATE × season × exp(trend·t) × ratio^after), council monthly from 2024-03 with six tenants."""
    rng = np.random.default_rng(seed)
    pool = [f"T{i:04d}" for i in range(1500)]
    months = pd.period_range("2023-01", "2024-12", freq="M")
    sessions, presences = [], []
    for t, m in enumerate(months):
        after = m >= pd.Period("2024-03", freq="M")
        n_s = int(rng.integers(8, 15))
        ids = [f"{m}|sport|{k}" for k in range(n_s)]
        for k, sid in enumerate(ids):
            sessions.append((sid, str(m.start_time.date() + pd.Timedelta(days=k * 2)), "sport"))
        lam = n_s * RATE * SEASON[m.month - 1] * math.exp(trend_per_month * t)
        lam *= ratio if after else 1.0
        y = min(int(rng.poisson(lam)), len(pool))
        for person in rng.choice(pool, size=y, replace=False):
            for sid in rng.choice(ids, size=int(rng.integers(1, 4)), replace=True):
                presences.append((sid, person, "locataire"))
        if after:
            cid = f"{m}|conseil|0"
            sessions.append((cid, str(m.start_time.date() + pd.Timedelta(days=27)), "conseil"))
            for person in rng.choice(pool[:10], size=6, replace=False):
                presences.append((cid, person, "locataire"))
    return _tables(sessions, presences)


def test_council_effect_recovers_planted_ratio_despite_a_trend_and_seasons():
    att, act = _simulate(1.5, seed=20, trend_per_month=0.02)
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
    att, act = _simulate(1.0, seed=7)
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
