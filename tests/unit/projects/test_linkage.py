"""Linking participants to the observatory's persons: by the partner's key, by names and birth
date (exact tokens), ambiguity left unlinked, and the match rate."""

from __future__ import annotations

import pandas as pd

from observatoire.projects.linkage import link_participants, linkage_summary
from tests.support.projects_fixtures import attendance

CONTACTS = pd.DataFrame(
    {
        "record_key": ["rk_hf1", "rk_hf2", "rk_ad1", "rk_ad2", "rk_ab1", "rk_x1", "rk_x2"],
        "person_id": ["P1", "P2", "P3", "P3", "P4", "P5", "P6"],
        "partner_id": ["housing_first"] * 2 + ["accueil_jour"] * 2 + ["abri_nuit"] * 3,
    }
)
TOKENS = pd.DataFrame(
    {
        "record_key": ["rk_hf1", "rk_ad1", "rk_ad2", "rk_ab1", "rk_x1", "rk_x2"],
        "tok_surname": ["s1", "s3", "s3b", "s4", "s5", "s5"],
        "tok_first_name": ["f1", "f3", "f3", "f4", "f5", "f5"],
        "tok_birth_date": ["b1", "b3", "b3", None, "b5", "b5"],
    }
)


def _with(frame: pd.DataFrame, column: str, values: list[str]) -> pd.DataFrame:
    frame[column] = values
    return frame


def _attendance(project: str, rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    """(participant, person_key, surname, first name, birth date tokens)."""
    frame = attendance([("2024-03-01", "sport", p, "joueur") for p, *_ in rows], project)
    for i, column in enumerate(["person_key", "tok_surname", "tok_first_name", "tok_birth_date"]):
        frame = _with(frame, column, [r[i + 1] for r in rows])
    return frame


def test_each_way_of_linking_and_the_match_rate():
    hf = _attendance("affiliation_hf", [("T1", "rk_hf1", "", "", ""), ("T2", "rk_zz", "", "", "")])
    foot = _attendance(
        "sport_foot",
        [
            ("J1", "", "s3", "f3", "b3"),  # a record of P3 (her other record spells s3b)
            ("J2", "", "s4", "f4", "b4"),  # the export has no birth date: no exact match
            ("J3", "", "s5", "f5", "b5"),  # two persons share the tokens: ambiguous
            ("J4", "", "s9", "f9", "b9"),  # not in the network
            ("J1", "", "", "", ""),  # another session of J1, without identity
        ],
    )
    followups = pd.DataFrame(
        {
            "partner_id": ["affiliation_hf"] * 2,
            "participant_id": ["T3", "T1"],
            "person_key": ["rk_hf2", ""],
        }
    )
    links = link_participants(pd.concat([hf, foot]), followups, CONTACTS, TOKENS)
    got = links.set_index("participant_id")
    assert len(links) == 7
    assert got.loc["T1", ["person_id", "how"]].tolist() == ["P1", "cle_partenaire"]
    assert got.loc["T3", ["person_id", "how"]].tolist() == ["P2", "cle_partenaire"]
    assert got.loc["T2", "how"] == "aucun" and pd.isna(got.loc["T2", "person_id"])
    assert got.loc["J1", ["person_id", "how"]].tolist() == ["P3", "nom_naissance"]
    assert got.loc["J2", "how"] == "aucun"
    assert got.loc["J3", "how"] == "aucun" and got.loc["J3", "candidates"] == 2
    assert got.loc["J4", "how"] == "aucun" and got.loc["J4", "candidates"] == 0

    summary = linkage_summary(links).set_index(["project", "how"])
    assert summary.loc[("affiliation_hf", "cle_partenaire"), "participants"] == 2
    assert summary.loc[("affiliation_hf", "cle_partenaire"), "share"] == 2 / 3
    assert summary.loc[("sport_foot", "nom_naissance"), "share"] == 1 / 4
    assert summary.loc[("sport_foot", "aucun"), "participants"] == 3
    assert summary.loc[("sport_foot", "ambigu"), "participants"] == 1


def test_the_partner_key_wins_over_names():
    rows = [("T1", "rk_hf1", "s3", "f3", "b3")]
    links = link_participants(_attendance("affiliation_hf", rows), None, CONTACTS, TOKENS)
    assert links.iloc[0][["person_id", "how"]].tolist() == ["P1", "cle_partenaire"]


def test_nothing_to_link():
    links = link_participants(attendance([]), None, CONTACTS, TOKENS)
    assert links.empty and linkage_summary(links).empty


def test_second_tier_swapped_day_and_month_stays_precise():
    """Day and month swapped: linked when the swapped date leads to one person only, never when
    an exact candidate exists, never to two persons."""
    tokens = TOKENS.assign(tok_birth_date_swapped=["b1s", "b3s", "b3s", None, "b5s", "b5s"])
    foot = _attendance(
        "sport_foot",
        [
            ("J1", "", "s3", "f3", "b3s"),  # P3's date typed day/month swapped
            ("J2", "", "s5", "f5", "b5s"),  # swapped tokens of two persons: ambiguous
            ("J3", "", "s3", "f3", "b3"),  # exact: the first tier
            ("J4", "", "s1", "f9", "b1s"),  # another first name: no link
        ],
    )
    links = link_participants(foot, None, CONTACTS, tokens).set_index("participant_id")
    assert links.loc["J1", ["person_id", "how"]].tolist() == ["P3", "nom_naissance_inversee"]
    assert links.loc["J2", "how"] == "aucun" and links.loc["J2", "candidates"] == 2
    assert links.loc["J3", ["person_id", "how"]].tolist() == ["P3", "nom_naissance"]
    assert links.loc["J4", "how"] == "aucun"
    # without the swapped column (an older token file) the tier is silent
    plain = link_participants(foot, None, CONTACTS, TOKENS).set_index("participant_id")
    assert plain.loc["J1", "how"] == "aucun"
    summary = linkage_summary(links.reset_index()).set_index("how")["participants"]
    assert summary["nom_naissance_inversee"] == 1
