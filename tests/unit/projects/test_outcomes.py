"""Housing outcomes of participants vs other tenants: a hand-made case computed by hand, and a
planted null effect where only the immortal-time guard keeps the comparison honest."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from observatoire.core.stats import newcombe_diff
from observatoire.projects.outcomes import housing_outcomes
from tests.support.projects_planted import PROJECT_START, contacts_frame, null_tenants

S = PROJECT_START


@pytest.fixture
def hand_made():
    hf = "housing_first"
    rows = [
        ("P1", hf, "2022-01-01", None, None),
        ("P2", hf, "2022-02-01", "2023-06-01", "exclusion"),
        ("P2", "urgence_sociale", "2023-07-01", None, None),
        ("P3", hf, "2022-03-01", "2023-05-01", "relogement"),
        ("P4", hf, "2022-04-01", None, None),
        ("P4", "abri_nuit", "2022-12-01", None, None),  # before the index: not a return
        ("P5", hf, "2022-05-01", None, None),
        ("P5", "abri_nuit", "2023-03-01", None, None),
        ("P6", hf, "2022-06-01", "2023-08-01", "deces"),  # competing event: left out
        ("N1", hf, "2021-01-01", None, None),
        ("N2", hf, "2021-02-01", "2023-03-01", "depart_volontaire"),
        ("N3", hf, "2021-03-01", "2023-10-01", "exclusion"),
        ("N3", "abri_nuit", "2023-11-01", None, None),
        ("N4", hf, "2021-04-01", "2024-05-01", "exclusion"),  # after 12 months: retained
        ("N5", hf, "2021-05-01", None, None),
        ("N5", "urgence_sociale", "2024-03-01", None, None),  # after 12 months
        ("N6", hf, "2021-06-01", "2022-12-01", "exclusion"),  # gone before the project
        ("N7", hf, "2024-06-01", None, None),  # 12 months pass the end of observation
        ("X", "accueil_jour", "2024-12-31", None, None),
    ]
    contacts = contacts_frame(rows)
    link = pd.DataFrame(
        {
            "participant_id": [f"p{i}" for i in range(1, 7)] + ["u", "x"],
            "person_id": [f"P{i}" for i in range(1, 7)] + ["", "X"],
            "how": ["cle_partenaire"] * 6 + ["aucun", "nom_naissance"],
        }
    )
    # everyone's first participation on the project's first day (then the matched start of the
    # others is the project's start too: the case is computed by hand)
    parts = pd.DataFrame(
        {
            "participant_id": [f"p{i}" for i in range(1, 7)] + ["p1", "u", "x"],
            "date": [S] * 6 + [pd.Timestamp("2023-09-01"), S, S],
        }
    )
    return contacts, link, parts


def test_hand_made_case(hand_made):
    contacts, link, parts = hand_made
    r = housing_outcomes(contacts, link, parts, 2024)
    g = r.groups.set_index("group")
    assert g.loc["participants", ["tenants", "n_retention", "retained_12m"]].tolist() == [6, 5, 4]
    assert g.loc["participants", ["n_returns", "returns"]].tolist() == [5, 2]
    # N6 left before its start, N7 is censored (counted as a tenant, in no outcome)
    assert g.loc["non_participants", ["tenants", "n_retention", "retained_12m"]].tolist() == [
        6,
        5,
        3,
    ]
    assert g.loc["non_participants", ["n_returns", "returns"]].tolist() == [5, 1]
    d = r.difference["retention"]
    assert d["d"] == pytest.approx(0.8 - 0.6)
    assert (d["ci_low"], d["ci_high"]) == pytest.approx(newcombe_diff(3, 5, 4, 5)[1:])
    assert r.difference["returns"]["d"] == pytest.approx(0.4 - 0.2)
    assert g.loc["participants", "ci_low"] < 0.8 < g.loc["participants", "ci_high"]
    assert r.linkage["unlinked"] == 1 and r.linkage["linked_not_tenant"] == 1
    assert r.linkage["excluded_not_housed_at_index"] == 1
    assert r.observation_end == "2024-12-31"
    t = r.tenure_summary
    assert t["participants"]["median"] < t["non_participants"]["median"]
    assert r.tenure.groupby("group")["tenants"].sum().to_dict() == {
        "non_participants": 6,
        "participants": 6,
    }
    assert any("non randomisée" in c for c in r.caveats)
    assert any("Temps immortel" in c for c in r.caveats)
    js = r.to_dict()
    assert js["groups"][0]["group"] == "participants"


def test_thin_groups_say_non_calcule(hand_made):
    contacts, link, parts = hand_made
    few = parts[parts["participant_id"].isin(["p1", "p2"])]
    r = housing_outcomes(contacts, link, few, 2024)
    assert math.isnan(r.difference["retention"]["d"])
    assert r.reasons["retention"].startswith("non calculé")
    r2 = housing_outcomes(contacts, link.iloc[:0], parts, 2024)
    assert r2.reasons["issues_logement"].startswith("non calculé")
    r3 = housing_outcomes(contacts[contacts["partner_id"] != "housing_first"], link, parts, 2024)
    assert r3.reasons["issues_logement"].startswith("non calculé")
    assert r3.groups.empty


def test_immortal_time_guard_on_a_planted_null():
    contacts, link, parts = null_tenants(seed=20)
    r = housing_outcomes(contacts, link, parts, 2024)
    d = r.difference["retention"]
    assert d["ci_low"] < 0 < d["ci_high"], d
    assert abs(d["d"]) < 0.10
    ret = r.difference["returns"]
    assert ret["ci_low"] < 0 < ret["ci_high"]
    # the naive comparison (window from the project's start) credits the participants with the
    # time they had to stay housed to join: a spurious advantage
    naive = r.naive["retention"]
    assert naive["ci_low"] > 0 and naive["d"] > 0.15
    # reproducible: the matched starts are seeded
    again = housing_outcomes(contacts, link, parts, 2024)
    assert again.difference == r.difference
