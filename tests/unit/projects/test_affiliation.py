"""Affiliation scores: the 90-day definition on a hand-made log, the change on planted truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from observatoire.projects.affiliation import affiliation, hodges_lehmann, housing_exits
from tests.support.projects_planted import FOLLOWUP_COLUMNS, affiliation_log, followups_frame


def test_definition_on_a_hand_made_log():
    f = followups_frame(
        [
            # tenant A enters in January 2024: entry = 31/01/2024, 6 months = 31/07, 12 = 31/01/25
            ("2024-01-05", "A", "", "", False, False),
            ("2024-01-20", "A", "sport", "Club de foot de Jambes", True, True),
            ("2024-01-25", "A", "culture", "", True, False),  # set, not reached: not active
            ("2024-05-02", "A", "famille", "", True, True),  # 90 days before 31/07 = 02/05: out
            ("2024-05-03", "A", "famille", "", True, True),  # inside the window
            ("2024-07-30", "A", "sport", "club de FOOT  de jambes", True, True),
            ("2024-07-31", "A", "culture", "Musée", True, True),
            # tenant B enters in September: 6 months would be 31/03/2025, past observation
            ("2024-09-10", "B", "communautaire", "Maison de quartier", True, True),
            ("2024-12-15", "B", "", "", False, False),
        ]
    )
    r = affiliation(f, None, 2024)
    t = r.per_tenant.set_index("participant_id")
    assert t.loc["A", "score_entree"] == 1  # sport only
    assert t.loc["A", "score_6_mois"] == 3  # famille (03/05), sport, culture
    assert t.loc["A", "places_6_mois"] == 2  # the club typed twice, and the museum
    assert math.isnan(t.loc["A", "score_12_mois"])  # 31/01/2025 is past 31/12/2024
    assert t.loc["B", "score_entree"] == 1 and math.isnan(t.loc["B", "score_6_mois"])
    s = r.scores.set_index(["time", "score"])["locataires"]
    assert s[("entree", 1)] == 2 and s[("6_mois", 3)] == 1
    assert s.loc["12_mois"].sum() == 0
    assert r.summary["entree"]["share_affiliated"] == 1.0
    assert r.reasons["12_mois"].startswith("non calculé")
    assert r.paired["reason"].startswith("non calculé")
    assert r.indicators["affilies_12_mois"] is None
    d = r.domains.set_index(["domain", "time"])["locataires"]
    assert d[("famille", "6_mois")] == 1 and d[("famille", "entree")] == 0
    assert "90 jours" in r.definition
    assert r.to_dict()["paired"]["hl_estimate"] is None


def test_planted_change_is_recovered():
    f, truth = affiliation_log(change=1, seed=20)
    r = affiliation(f, None, 2024)
    t = r.per_tenant.set_index("participant_id")
    for pid, (k0, k6, k12) in truth.items():
        got = (t.loc[pid, "score_entree"], t.loc[pid, "score_6_mois"], t.loc[pid, "score_12_mois"])
        # the 6-month entries 100 days before 12 months... are 6 months away: no leak
        assert got == (k0, k6, k12), pid
    p = r.paired
    assert p["n"] == 60
    true_diff = np.array([k12 - k0 for k0, _, k12 in truth.values()], dtype=float)
    assert p["hl_estimate"] == pytest.approx(hodges_lehmann(true_diff)[0])
    assert p["hl_ci_low"] <= 1 <= p["hl_ci_high"]
    assert p["hl_ci_low"] > 0
    assert p["wilcoxon_p"] < 0.001
    assert r.indicators["affilies_12_mois"] > r.summary["entree"]["share_affiliated"]


def test_control_without_change_contains_zero():
    f, _ = affiliation_log(change=0, seed=7)
    p = affiliation(f, None, 2024).paired
    assert p["hl_ci_low"] <= 0 <= p["hl_ci_high"]
    assert p["wilcoxon_p"] > 0.05


def test_hodges_lehmann_matches_the_textbook_case():
    # Hollander & Wolfe's Hamilton depression scale example (n = 9): HL = −0.46 (post − pre)
    x = np.array([1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30])
    y = np.array([0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29])
    est, lo, hi = hodges_lehmann(y - x)
    assert est == pytest.approx(-0.46, abs=0.005)
    assert lo < est < hi < 0  # exact 95 % interval excludes 0, as the signed-rank test (p ≈ 0.04)
    assert wilcoxon(y - x).pvalue < 0.05
    assert math.isnan(hodges_lehmann(np.array([1.0, 2.0]))[1])  # too few for a 95 % interval


def test_thin_and_empty_never_raise():
    r = affiliation(pd.DataFrame(columns=FOLLOWUP_COLUMNS), None, 2024)
    assert r.tenants == 0
    assert r.reasons["entree"].startswith("non calculé")
    assert r.paired["reason"].startswith("non calculé")
    entry = pd.DataFrame({"participant_id": ["X"], "entry": [pd.Timestamp("2023-02-10")]})
    r2 = affiliation(pd.DataFrame(columns=FOLLOWUP_COLUMNS), entry, 2024)
    # an enrolled tenant without any follow-up entry scores 0 (observed), never missing
    assert r2.per_tenant["score_entree"].tolist() == [0]


def test_times_after_the_housing_exit_are_censored_not_zero():
    """A tenant who left housing is not scored after the exit (the log stops: a spurious 0)."""
    rows = []
    for pid in ("A", "B"):
        rows += [
            ("2023-01-10", pid, "sport", "", True, True),
            ("2023-07-10", pid, "sport", "", True, True),
            ("2023-07-12", pid, "culture", "", True, True),
        ]
    rows += [("2024-01-10", "A", "sport", "", True, True)]  # B left in October 2023: nothing
    f = followups_frame(rows)
    f["person_key"] = f["participant_id"].map({"A": "rk_a", "B": "rk_b"})
    contacts = pd.DataFrame(
        {
            "record_key": ["rk_a", "rk_b", "rk_b"],
            "partner_id": ["housing_first"] * 3,
            "date_start": pd.to_datetime(["2022-12-01", "2021-01-01", "2022-11-01"]),
            # B's earlier stay ended before the follow-up: the covering stay is the second one
            "date_end": pd.to_datetime([None, "2021-06-30", "2023-10-15"]),
        }
    )
    ex = housing_exits(f, contacts).set_index("participant_id")["exit"]
    assert pd.isna(ex["A"]) and ex["B"] == pd.Timestamp("2023-10-15")
    naive = affiliation(f, None, 2024).per_tenant.set_index("participant_id")
    assert naive.loc["B", "score_12_mois"] == 0  # what an analysis without the exit reads
    r = affiliation(f, None, 2024, exits=ex.reset_index())
    t = r.per_tenant.set_index("participant_id")
    assert t.loc["B", "score_6_mois"] == 2 and math.isnan(t.loc["B", "score_12_mois"])
    assert t.loc["A", "score_12_mois"] == 1
    assert r.summary["12_mois"]["n"] == 1 and r.summary["12_mois"]["censored_exit"] == 1
    assert r.summary["6_mois"]["censored_exit"] == 0


def test_mean_change_and_its_interval():
    f, _ = affiliation_log(change=1, seed=3)
    p = affiliation(f, None, 2024).paired
    assert p["mean_ci_low"] < p["mean_change"] < p["mean_ci_high"]
    assert abs(p["mean_change"] - 1) < 0.3
