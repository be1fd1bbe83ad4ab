"""The annual report's indicator families on small hand-computed cases, and their invariants
(partitions, sums) on the real default sample when it is there."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from observatoire.indicators import counts as ind
from observatoire.indicators import durations, exits, housing, pathways
from tests.support.frames import contacts_frame
from tests.support.settings import project_settings

WINTER = ("11-01", "03-31")
ROOT = Path(__file__).resolve().parents[3]
_contacts = contacts_frame


def _wilson(x: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _refusals(rows: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner_id": "p",
            "dispositif": "hebergement_urgence",
            "date": pd.to_datetime([d for d, _ in rows]),
            "refusals": [n for _, n in rows],
        }
    )


# --- occupancy and refusals ---------------------------------------------------------------------


def test_refusal_nights_are_distinct_nights():
    refusals = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-01-06", "2024-01-07"]),
            "partner_id": ["abri_a", "abri_b", "abri_a", "abri_a"],
            "refusals": [2, 1, 0, 3],
        }
    )
    assert ind.refusal_nights(refusals, 2024) == 2  # the 5th (two shelters) and the 7th
    assert ind.refusal_nights(refusals, 2023) == 0


def test_monthly_occupancy_puts_each_night_and_refusal_in_its_month():
    c = _contacts(
        [{"person_id": "a", "date_start": "2023-01-30", "date_end": "2023-02-02", "nights": 3}]
    )
    r = _refusals([("2023-01-15", 2), ("2023-02-01", 0), ("2023-02-03", 3)])
    cap = {"beds": 2, "winter_extra_beds": 1}
    m = ind.monthly_occupancy(c, r, cap, 2023, WINTER).set_index("month")
    assert m.loc[1, "nights"] == 2 and m.loc[2, "nights"] == 1 and m.loc[3, "nights"] == 0
    assert m.loc[1, "capacity_nights"] == 3 * 31  # winter: 2 beds + 1 winter bed
    assert m.loc[4, "capacity_nights"] == 2 * 30  # April: permanent beds only
    assert m.loc[1, "occupancy"] == pytest.approx(2 / 93)
    assert (m.loc[1, "refusals"], m.loc[1, "refusal_nights"]) == (2, 1)
    assert (m.loc[2, "refusals"], m.loc[2, "refusal_nights"]) == (3, 1)
    assert m["capacity_nights"].sum() == ind.capacity_nights(cap, 2023, WINTER)
    assert m["nights"].sum() == ind.nights(c, 2023)


def test_a_winter_spans_two_years_and_cut_winters_are_flagged():
    c = _contacts(
        [
            {"person_id": "a", "date_start": "2023-12-30", "date_end": "2024-01-02", "nights": 3},
            {"person_id": "b", "date_start": "2023-10-31", "date_end": "2023-11-01", "nights": 1},
            {"person_id": "b", "date_start": "2024-04-01", "date_end": "2024-04-02", "nights": 1},
        ]
    )
    r = _refusals([("2023-11-01", 1), ("2024-03-31", 4), ("2024-04-01", 5)])
    cap = {"beds": 2, "winter_extra_beds": 1}
    w = ind.winters(c, r, cap, WINTER, 2023, 2024).set_index("winter")
    assert list(w.index) == ["2022-2023", "2023-2024", "2024-2025"]
    full = w.loc["2023-2024"]
    assert bool(full["complete"]) and full["days"] == 152  # 2024 is a leap year
    assert full["nights"] == 3  # 30 Dec, 31 Dec, 1 Jan; the October night is not winter
    assert full["capacity_nights"] == 3 * 152
    assert (full["refusals"], full["refusal_nights"]) == (5, 2)
    first = w.loc["2022-2023"]
    assert not first["complete"] and first["days_observed"] == 90  # Jan–Mar 2023 observed
    assert first["capacity_nights"] == 3 * 90
    assert w.loc["2024-2025", "days_observed"] == 61


# --- profile ------------------------------------------------------------------------------------


def _profile_frame() -> pd.DataFrame:
    return _contacts(
        [
            {"person_id": "a", "date_start": "2024-01-02", "nationality_group": "BE"},
            {"person_id": "a", "date_start": "2024-02-02", "nationality_group": "BE"},
            {"person_id": "a", "date_start": "2024-03-02", "nationality_group": "UE"},
            {"person_id": "b", "date_start": "2024-01-05", "nationality_group": "INCONNU"},
            {"person_id": "b", "date_start": "2024-02-05", "nationality_group": "HORS_UE"},
            {
                "person_id": "c",
                "date_start": "2024-01-07",
                "nationality_group": "INCONNU",
                "sex": "INCONNU",
                "age_at_contact": None,
            },
            {"person_id": "d", "date_start": "2024-04-01", "sex": "X", "age_at_contact": 19},
            {"person_id": "d", "date_start": "2024-05-01", "sex": "INCONNU", "age_at_contact": 19},
            {"person_id": "e", "date_start": "2023-04-01", "nationality_group": "UE"},
        ]
    )


def test_nationality_is_the_most_frequent_known_group_of_each_person():
    got = ind.nationality_groups(_profile_frame(), 2024)
    assert got == {"BE": 2, "UE": 0, "HORS_UE": 1, "INCONNU": 1}  # a, d BE; b HORS_UE; c ?


def test_unknown_shares_count_persons_unknown_in_every_contact():
    u = ind.unknown_shares(_profile_frame(), 2024)
    assert u["persons"] == 4
    assert u["sex"] == {"unknown": 1, "share": 0.25}  # c; d is X, a known sex
    assert u["age"] == {"unknown": 1, "share": 0.25}
    assert u["nationality"] == {"unknown": 1, "share": 0.25}


def test_the_complete_age_sex_table_partitions_the_persons():
    t = ind.age_sex_full(_profile_frame(), 2024).set_index(["age_band", "sex"])["persons"]
    assert t.sum() == ind.distinct_persons(_profile_frame(), 2024) == 4
    assert t[("26-34", "M")] == 2  # a, b
    assert t[("inconnu", "inconnu/X")] == 1  # c: no age, no sex
    assert t[("18-21", "inconnu/X")] == 1  # d: X
    assert len(t) == 9 * 3  # every band + inconnu, × M, F, inconnu/X


# --- flows --------------------------------------------------------------------------------------


def _flows_frame() -> pd.DataFrame:
    return _contacts(
        [
            {"person_id": "z", "date_start": "2022-01-01"},  # sets the start of the data
            {"person_id": "a", "date_start": "2023-12-01", "dispositif": "accueil_jour"},
            {"person_id": "a", "date_start": "2024-02-01"},
            {"person_id": "b", "date_start": "2023-03-01"},
            {"person_id": "b", "date_start": "2024-05-01"},
            {"person_id": "c", "date_start": "2024-06-01", "dispositif": "accueil_jour"},
            {"person_id": "d", "date_start": "2022-01-01"},
            {"person_id": "d", "date_start": "2024-07-01", "dispositif": "accueil_jour"},
        ]
    )


def test_network_flows_add_up_to_the_active_persons():
    f = pathways.network_flows(_flows_frame(), 2024, 730, 90)
    # a: seen 31 days before → continuing; b: 306 days → returning; c: never → new;
    # d: exactly 730 days before, not more → returning
    assert f == {"active": 4, "new": 1, "continuing": 1, "returning": 2, "calculable": True}
    assert f["new"] + f["continuing"] + f["returning"] == ind.distinct_persons(_flows_frame(), 2024)


def test_dispositif_flows_are_relative_to_the_network():
    by = pathways.flows_by_dispositif(_flows_frame(), 2024, 730, 90)
    # a is new to the shelter but was at the day centre a month before: continuing
    assert by["hebergement_urgence"] == {
        "active": 2,
        "new": 0,
        "continuing": 1,
        "returning": 1,
        "calculable": True,
    }
    assert by["accueil_jour"]["new"] == 1 and by["accueil_jour"]["returning"] == 1


def test_flows_are_not_calculable_without_the_full_look_back():
    f = pathways.network_flows(_flows_frame(), 2023, 730, 90)
    assert f["calculable"] is False and f["new"] is None and f["active"] == 2


def test_yearly_flows_give_every_year_and_none_before_the_look_back():
    got = pathways.yearly_network_flows(_flows_frame(), [2022, 2023, 2024], 730, 90)
    assert [r["year"] for r in got] == [2022, 2023, 2024]
    assert [r["new"] for r in got] == [None, None, 1]
    assert got[2]["returning"] == 2


# --- durations and long-term stayers ------------------------------------------------------------


def test_time_in_service_counts_nights_in_the_year_or_contact_days():
    c = _contacts(
        [
            # across New Year: 30, 31 Dec in 2023, 1, 2 Jan in 2024
            {"person_id": "a", "date_start": "2023-12-30", "date_end": "2024-01-03", "nights": 4},
            {"person_id": "b", "date_start": "2024-03-01", "date_end": "2024-03-05", "nights": 4},
            {"person_id": "c", "date_start": "2024-06-01", "date_end": "2024-06-11", "nights": 10},
            {"person_id": "v", "date_start": "2024-01-05", "dispositif": "accueil_jour"},
            {"person_id": "v", "date_start": "2024-01-05", "dispositif": "accueil_jour"},
            {"person_id": "v", "date_start": "2024-03-05", "dispositif": "accueil_jour"},
            {"person_id": "m", "date_start": "2024-12-20", "dispositif": "maison_accueil"},
            {"person_id": "h", "date_start": "2023-06-01", "dispositif": "housing_first"},
        ]
    )
    assert durations.time_in_service(c, 2024, "hebergement_urgence").to_dict() == {
        "a": 2,
        "b": 4,
        "c": 10,
    }
    assert durations.time_in_service(c, 2023, "hebergement_urgence").to_dict() == {"a": 2}
    assert durations.time_in_service(c, 2024, "accueil_jour").to_dict() == {"v": 2}
    # a stay with no exit is still running: counted to 31 December, not cut to one night
    assert durations.time_in_service(c, 2024, "maison_accueil").to_dict() == {"m": 12}
    assert durations.time_in_service(c, 2024, "housing_first").to_dict() == {"h": 366}
    s = durations.time_in_services(c, 2024)["hebergement_urgence"]
    assert s == {"unit": "nuitées", "n": 3, "mean": 16 / 3, "median": 4.0, "p25": 3.0, "p75": 7.0}


def test_stay_lengths_take_stays_ended_in_the_year_and_count_running_ones():
    c = _contacts(
        [
            {"person_id": "a", "date_start": "2023-12-01", "date_end": "2024-01-10"},
            {"person_id": "b", "date_start": "2024-02-01", "date_end": "2024-02-21"},
            {"person_id": "c", "date_start": "2024-12-01", "date_end": "2025-01-05"},
            {"person_id": "d", "date_start": "2024-11-01"},
        ],
    ).assign(dispositif="maison_accueil")
    got = durations.stay_lengths(c, 2024, "maison_accueil")
    assert (got["n"], got["mean"], got["ongoing"]) == (2, 30.0, 2)  # 40 and 20 days; c, d


def test_long_term_stayers_count_nights_homeless_not_visits_on_a_planted_population():
    """Planted truth: 30 day-centre regulars (400 visit days, no night), 20 shelter users
    with exactly 200 nights and 10 maison d'accueil residents with 300 nights, everyone seen
    in December 2024; only the nights make a long-term stayer."""
    rows = []
    for i in range(30):
        for day in pd.date_range("2023-06-01", periods=400, freq="D"):
            rows.append(
                {"person_id": f"v{i}", "date_start": str(day.date()), "dispositif": "accueil_jour"}
            )
        rows.append(
            {"person_id": f"v{i}", "date_start": "2024-12-20", "dispositif": "accueil_jour"}
        )
    for i in range(20):
        rows.append({"person_id": f"s{i}", "date_start": "2023-03-01", "nights": 200})
        rows.append(
            {"person_id": f"s{i}", "date_start": "2024-12-20", "dispositif": "accueil_jour"}
        )
    for i in range(10):
        rows.append(
            {
                "person_id": f"m{i}",
                "date_start": "2024-03-06",
                "date_end": "2024-12-31",
                "dispositif": "maison_accueil",
            }
        )
    c = _contacts(rows)  # fmt: skip
    nights = durations.long_term_stayers(c, 2024, (180, 270, 365), 3, 30)
    assert nights["active_end"] == 60
    assert nights["persons"] == {"180": 30, "270": 10, "365": 0}
    presence = durations.long_term_stayers(c, 2024, (180, 270, 365), 3, 30, count="presence")
    assert presence["persons"] == {"180": 60, "270": 40, "365": 30}
    with pytest.raises(ValueError):
        durations.long_term_stayers(c, 2024, count="jours")


def test_long_term_stayers_need_the_days_and_a_presence_at_the_end_of_the_year():
    c = _contacts(
        [
            # a: 200 nights in 2022 and a contact mid-December 2024: ≥ 180 only
            {"person_id": "a", "date_start": "2022-01-01", "nights": 200},
            {"person_id": "a", "date_start": "2024-12-15", "dispositif": "accueil_jour"},
            # b: 400 days but gone since 5 Feb 2024: not active at the end of the year
            {
                "person_id": "b",
                "date_start": "2023-01-01",
                "date_end": "2024-02-05",
                "dispositif": "maison_accueil",
            },
            # c: 364 nights + a contact on 2 December (the first day of the last 30): 365
            {"person_id": "c", "date_start": "2022-03-01", "nights": 364},
            {"person_id": "c", "date_start": "2024-12-02", "dispositif": "urgence_sociale"},
            # e: last seen on 1 December, one day too early
            {"person_id": "e", "date_start": "2022-03-01", "nights": 364},
            {"person_id": "e", "date_start": "2024-12-01", "dispositif": "urgence_sociale"},
            # h: housed by Housing First for three years: not a long-term stayer
            {"person_id": "h", "date_start": "2021-06-01", "dispositif": "housing_first"},
        ]
    )
    got = durations.long_term_stayers(c, 2024, (180, 270, 365), 3, 30, count="presence")
    assert got["persons"] == {"180": 2, "270": 1, "365": 1}
    assert got["active_end"] == 2
    # nights homeless only: c has 364 nights, its contact day of December is no night
    nights = durations.long_term_stayers(c, 2024, (180, 270, 365), 3, 30)
    assert nights["count"] == "nuits" and nights["persons"] == {"180": 2, "270": 1, "365": 0}
    assert nights["active_end"] == 2  # the denominator is the same: present at the end
    assert got["window_start"] == "2022-01-01" and got["complete"] is True
    assert durations.long_term_stayers(c, 2023)["complete"] is False


@pytest.mark.parametrize(("n", "k"), [(1, 1), (10, 1), (11, 2), (19, 2)])
def test_the_top_tenth_is_the_ceiling_of_a_tenth_of_persons(n, k):
    rows = [
        {"person_id": f"p{i:02d}", "date_start": "2024-03-01", "nights": i} for i in range(1, n + 1)
    ]
    got = durations.top_share_nights(_contacts(rows), 2024)
    total = n * (n + 1) // 2
    top = sum(range(n - k + 1, n + 1))
    assert (got["persons"], got["top_persons"], got["nights"]) == (n, k, total)
    assert got["share"] == pytest.approx(top / total)


# --- multi-service use --------------------------------------------------------------------------


def _pathways_frame() -> pd.DataFrame:
    rows = [
        ("a", "hebergement_urgence"),
        ("a", "accueil_jour"),
        ("a", "accueil_jour"),
        ("b", "accueil_jour"),
        ("b", "hebergement_urgence"),
        ("c", "accueil_jour"),
        ("d", "urgence_sociale"),
        ("d", "hebergement_urgence"),
        ("d", "accueil_jour"),
        ("d", "maison_accueil"),
        ("e", "travail_rue"),
        ("f", "maison_accueil"),
        ("f", "accueil_jour"),
        ("f", "housing_first"),
    ]
    frame = _contacts(
        [{"person_id": p, "date_start": "2024-05-01", "dispositif": d} for p, d in rows]
    )
    old = _contacts([{"person_id": "g", "date_start": "2023-05-01", "dispositif": "accueil_jour"}])
    return pd.concat([frame, old], ignore_index=True)


def test_number_of_dispositifs_partitions_the_persons():
    got = pathways.n_dispositifs(_pathways_frame(), 2024)
    # f's maison d'accueil and Housing First count as one dispositif (as in the report's
    # combinations): f has 2, not 3
    assert got == {"1": 2, "2": 3, "3": 0, "4+": 1}
    assert sum(got.values()) == ind.distinct_persons(_pathways_frame(), 2024)


def test_combinations_are_sets_in_the_report_order():
    t = pathways.combinations(_pathways_frame(), 2024)
    assert t["persons"].sum() == 6
    top = t.iloc[0]
    assert top["combination"] == ("hebergement_urgence", "accueil_jour")  # a and b, any order
    assert top["persons"] == 2 and top["label"] == "Hébergement d'urgence + Accueil de jour"
    assert ("travail_rue",) in set(t["combination"])


def test_published_combinations_merge_maison_accueil_and_housing_first():
    assert pathways.published_combination(("maison_accueil", "accueil_jour", "housing_first")) == (
        "accueil_jour",
        pathways.LONG_STAY,
    )
    assert pathways.published_combination(("housing_first",)) == (pathways.LONG_STAY,)
    combo = ("urgence_sociale", "hebergement_urgence")
    assert pathways.published_combination(combo) == combo
    assert (
        pathways.combination_label(("accueil_jour", pathways.LONG_STAY))
        == "Accueil de jour + Maison d'accueil ou Housing First"
    )


def test_grouping_small_combinations_keeps_the_partition():
    t = pathways.combinations(_pathways_frame(), 2024)
    g = pathways.group_small_combinations(t, 2)
    assert g["persons"].sum() == t["persons"].sum() == 6
    assert list(g["label"]) == ["Hébergement d'urgence + Accueil de jour", "autres combinaisons"]
    assert g.iloc[-1]["persons"] == 4 and g.iloc[-1]["combination"] == ()
    assert len(pathways.group_small_combinations(t, 1)) == len(t)  # nothing small: no « autres »


# --- exits, Housing First, returns --------------------------------------------------------------


def test_exit_reasons_count_stays_ending_in_the_year_with_the_exported_share():
    ma = "maison_accueil"
    c = _contacts(
        [
            {"person_id": "a", "date_start": "2023-11-01", "date_end": "2024-01-05",
             "dispositif": ma, "exit_reason": "relogement"},
            {"person_id": "b", "date_start": "2024-02-01", "date_end": "2024-03-01",
             "dispositif": ma, "exit_reason": "exclusion"},
            {"person_id": "c", "date_start": "2024-02-01", "date_end": "2024-04-01",
             "dispositif": ma, "exit_reason": "inconnu"},
            {"person_id": "d", "date_start": "2024-02-01", "date_end": "2024-05-01",
             "dispositif": ma},
            {"person_id": "e", "date_start": "2024-12-01", "date_end": "2025-01-05",
             "dispositif": ma, "exit_reason": "relogement"},
            {"person_id": "f", "date_start": "2024-03-01", "date_end": "2024-03-02"},
        ]
    )  # fmt: skip
    got = exits.exit_reasons(c, 2024)
    assert list(got) == [ma]  # the shelter exports no reason: left out
    assert (got[ma]["exits"], got[ma]["with_reason"]) == (4, 3)
    assert got[ma]["exported_share"] == 0.75
    # « inconnu » is exported but is no reason: 2 of 4 exits have a known reason
    assert got[ma]["known"] == 2 and got[ma]["known_share"] == 0.5
    assert got[ma]["by_reason"]["relogement"] == 1 and got[ma]["by_reason"]["deces"] == 0
    assert got[ma]["by_reason"]["inconnu"] == 1 and got[ma]["by_reason"]["exclusion"] == 1


def _hf(person: str, start: str, end: str | None = None, reason: str | None = None) -> dict:
    return {
        "person_id": person,
        "dispositif": "housing_first",
        "date_start": start,
        "date_end": end,
        "exit_reason": reason,
    }


def _hf_frame() -> pd.DataFrame:
    return _contacts(
        [
            _hf("a", "2023-12-31"),  # exactly 12 months before 31/12/2024: in, housed
            _hf("b", "2024-01-01"),  # 12 months not yet observed: out
            _hf("c", "2022-05-01", "2022-12-01", "relogement"),  # moved on: housed (not strict)
            _hf("d", "2022-03-01", "2022-09-01", "exclusion"),
            _hf("e", "2022-01-15", "2023-01-15", "depart_volontaire"),  # left on the 12-month day
            _hf("f", "2021-02-01", "2021-06-01", "deces"),
        ]
    )


def test_housing_first_retention_at_12_months():
    got = housing.housing_first_retention(_hf_frame(), 2024, 12)
    assert (got["cohort"], got["housed"], got["housed_strict"], got["deceased"]) == (5, 3, 2, 1)
    assert got["followed"] == 4  # f died before the anniversary: reported apart, not a failure
    assert got["share"] == pytest.approx(0.75) and got["share_strict"] == pytest.approx(0.5)
    low, upp = _wilson(3, 4)
    assert got["lower"] == pytest.approx(low) and got["upper"] == pytest.approx(upp)
    assert str(got["entry_first"].date()) == "2021-02-01"  # the cohort's entries, described
    assert str(got["entry_last"].date()) == "2023-12-31"


def test_housing_first_status_is_read_on_each_person_s_anniversary_not_on_31_december():
    """Planted: 10 tenants entered 1 March 2023 left on 1 June 2024 (after their 12-month
    anniversary, before 31/12/2024): housed at 12 months although gone « à cette date »."""
    rows = [_hf(f"p{i}", "2023-03-01", "2024-06-01", "depart_volontaire") for i in range(10)]
    rows += [_hf(f"q{i}", "2023-03-01", "2023-09-01", "depart_volontaire") for i in range(4)]
    rows += [_hf(f"d{i}", "2023-03-01", "2023-05-01", "deces") for i in range(2)]
    got = housing.housing_first_retention(_contacts(rows), 2024, 12)
    assert (got["cohort"], got["deceased"], got["followed"], got["housed"]) == (16, 2, 14, 10)
    assert got["share"] == pytest.approx(10 / 14)


def test_housing_first_retention_at_24_months_needs_24_months_of_follow_up():
    got = housing.housing_first_retention(_hf_frame(), 2024, 24)
    assert (got["cohort"], got["housed"], got["housed_strict"]) == (4, 1, 0)  # c, d, e, f
    assert (got["deceased"], got["followed"]) == (1, 3)
    empty = housing.housing_first_retention(_hf_frame(), 2021, 24)
    assert empty["cohort"] == 0 and empty["share"] is None and empty["lower"] is None


def _returns_frame() -> pd.DataFrame:
    ma = {"dispositif": "maison_accueil", "exit_reason": "relogement"}
    return _contacts(
        [
            {"person_id": "a", "date_start": "2022-10-01", "date_end": "2023-01-01", **ma},
            {"person_id": "a", "date_start": "2023-01-15", "nights": 1},  # shelter day 14: back
            {"person_id": "b", "date_start": "2022-10-01", "date_end": "2023-01-01", **ma},
            {"person_id": "b", "date_start": "2023-01-01", "nights": 1},  # exit day: no return
            {"person_id": "c", "date_start": "2022-10-01", "date_end": "2023-01-01", **ma},
            {"person_id": "c", "date_start": "2023-01-21", "dispositif": "accueil_jour"},
            {"person_id": "d", "date_start": "2022-10-01", "date_end": "2023-01-01", **ma},
            {"person_id": "d", "date_start": "2023-07-02", "nights": 1},  # 6 months + 1 day
            {"person_id": "e", "date_start": "2022-10-01", "date_end": "2023-06-01", **ma},
            # Housing First within 14 days: a move between housing, no return; after: a return
            {"person_id": "g", "date_start": "2022-10-01", "date_end": "2023-03-01", **ma},
            {"person_id": "g", "date_start": "2023-03-10", "dispositif": "housing_first"},
            {"person_id": "h", "date_start": "2022-10-01", "date_end": "2023-03-01", **ma},
            {"person_id": "h", "date_start": "2023-03-16", "dispositif": "housing_first"},
            # an exit of 2022 is not in the 2023 cohort
            {"person_id": "z", "date_start": "2022-01-01", "date_end": "2022-12-31", **ma},
        ]
    )


def test_returns_after_housing_apply_the_grace_to_housing_re_entries_only():
    got = housing.returns_after_housing(_returns_frame(), 2024, (6, 12), 14)
    six = got["6"]
    assert six["cohort_year"] == 2023 and six["exits"] == 7  # a b c d e g h; not z (2022)
    assert six["shelter"] == 1  # a (day 14 counts: the grace is for housing), not b (exit day)
    assert six["any_contact"] == 3  # a, c at the day centre, h in Housing First on day 15
    assert six["share"] == pytest.approx(1 / 7)


def test_returns_are_one_cohort_over_nested_windows():
    got = housing.returns_after_housing(_returns_frame(), 2024, (6, 12), 14)
    assert got["6"]["exits"] == got["12"]["exits"] == 7  # the same persons
    assert (got["12"]["shelter"], got["12"]["any_contact"]) == (2, 4)  # + d after 6 months
    # the cohort of a 12-month window in 2024 is 2023's exits; of a 24-month window, 2022's
    assert housing.returns_after_housing(_returns_frame(), 2024, (6, 24))["24"]["exits"] == 1


def test_returns_match_a_planted_truth_and_never_decrease_with_the_window():
    """Planted: 300 exits to housing in 2022, each with a known first shelter return (or none)
    at a random delay; every window's count is the planted count, cumulative."""
    import numpy as np

    rng = np.random.default_rng(7)
    ma = {"dispositif": "maison_accueil", "exit_reason": "relogement"}
    rows, delays = [], []
    for i in range(300):
        exit_day = pd.Timestamp("2022-01-01") + pd.Timedelta(days=int(rng.integers(0, 365)))
        rows.append(
            {
                "person_id": f"p{i}",
                "date_start": "2021-06-01",
                "date_end": str(exit_day.date()),
                **ma,
            }
        )
        delay = int(rng.integers(1, 900)) if rng.random() < 0.6 else None
        delays.append((exit_day, delay))
        if delay is not None:
            rows.append(
                {
                    "person_id": f"p{i}",
                    "nights": 1,
                    "date_start": str((exit_day + pd.Timedelta(days=delay)).date()),
                }
            )
    got = housing.returns_after_housing(_contacts(rows), 2024, (6, 12, 24), 14)  # fmt: skip
    for m in (6, 12, 24):
        truth = sum(
            d is not None and e + pd.Timedelta(days=d) <= e + pd.DateOffset(months=m)
            for e, d in delays
        )
        assert got[str(m)]["exits"] == 300 and got[str(m)]["shelter"] == truth
    assert got["6"]["shelter"] <= got["12"]["shelter"] <= got["24"]["shelter"]


# --- interventions ------------------------------------------------------------------------------


def test_interventions_and_monthly_contacts():
    c = _contacts(
        [
            {"person_id": "a", "date_start": "2024-01-03", "dispositif": "urgence_sociale"},
            {"person_id": "a", "date_start": "2024-01-04", "dispositif": "urgence_sociale"},
            {"person_id": "b", "date_start": "2024-03-04", "dispositif": "accueil_jour"},
            {"person_id": "b", "date_start": "2023-03-04", "dispositif": "urgence_sociale"},
        ]
    )
    assert ind.interventions(c, 2024) == 2
    m = ind.monthly_contacts(c, 2024).set_index(["month", "dispositif"])["contacts"]
    assert m[(1, "urgence_sociale")] == 2 and m[(3, "accueil_jour")] == 1
    assert m[(2, "urgence_sociale")] == 0 and len(m) == 12 * 2


# --- the annual dictionary and the glossary -----------------------------------------------------


def test_annual_indicators_on_a_tiny_network_are_json_even_with_an_empty_previous_year(partners):
    from observatoire.indicators.annual import annual_indicators

    contacts = pd.concat([_pathways_frame(), _hf_frame(), _returns_frame()], ignore_index=True)
    contacts = contacts[contacts["year"] >= 2023]  # nothing before: 2022 is empty
    report = project_settings(report__year=2023).report
    refusals = _refusals([("2023-01-15", 2)])
    f = json.loads(
        json.dumps(annual_indicators(contacts, refusals, partners, report), allow_nan=False)
    )
    assert f["flows"]["network"]["calculable"] is False  # the data start in 2023
    assert f["nationality_prev"] == {"BE": 0, "UE": 0, "HORS_UE": 0, "INCONNU": 0}
    assert sum(r["persons"] for r in f["age_sex_full"]) == f["network"]["persons"]
    assert sum(f["pathways"]["n_dispositifs"].values()) == f["network"]["persons"]
    assert f["occupancy_monthly"][0]["refusals"] == 2
    assert f["long_term"]["complete"] is False


def test_the_glossary_defines_the_report_terms():
    import yaml

    path = ROOT / "src/observatoire/assets/glossaire.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert all(set(e) == {"terme", "definition"} and e["definition"].strip() for e in entries)
    terms = {e["terme"] for e in entries}
    assert len(terms) == len(entries) >= 25
    for needed in [
        "Personne distincte",
        "Nuitée offerte",
        "Refus faute de place",
        "Personne de longue durée",
        "Maintien en logement",
        "Retour après relogement",
        "Secret secondaire",
        "Intervalle de prévision",
        "Quarantaine",
    ]:
        assert needed in terms


# --- the real default sample --------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_figures():
    path = ROOT / "data_clean/contacts.parquet"
    if not path.exists() or not (ROOT / "data_clean/refusals.parquet").exists():
        pytest.skip("pas d'échantillon nettoyé dans data_clean/")
    from observatoire.config.settings import load_settings
    from observatoire.indicators.annual import annual_indicators
    from observatoire.intake.mapping import load_partners

    settings = load_settings(ROOT / "params/pipeline.yaml")
    partners = load_partners(ROOT / "params/partners", ROOT / "params/codes")
    contacts = pd.read_parquet(path)
    refusals = pd.read_parquet(ROOT / "data_clean/refusals.parquet")
    return annual_indicators(contacts, refusals, partners, settings.report)


def test_real_sample_figures_are_json_and_keep_their_invariants(real_figures):
    f = json.loads(json.dumps(real_figures, allow_nan=False))
    for suffix in ("", "_prev"):
        persons = f["network"]["persons" + suffix]
        assert sum(r["persons"] for r in f["age_sex_full" + suffix]) == persons
        assert sum(f["nationality" + suffix].values()) == persons
        assert f["unknown_shares" + suffix]["persons"] == persons
        path = f["pathways" + suffix]
        assert sum(path["n_dispositifs"].values()) == persons
        assert sum(r["persons"] for r in path["combinations"]) == persons
        assert sum(r["persons"] for r in path["combinations_grouped"]) == persons
        flows = f["flows" + suffix]
        net = flows["network"]
        assert net["active"] == persons
        assert net["new"] + net["continuing"] + net["returning"] == persons
        for d, row in flows["by_dispositif"].items():
            assert row["active"] == f["dispositifs"][d]["persons" + suffix]
            assert row["new"] + row["continuing"] + row["returning"] == row["active"]
        months = f["occupancy_monthly" + suffix]
        assert sum(m["nights"] for m in months) == f["shelter"]["nights" + suffix]
        assert sum(m["refusals"] for m in months) == f["shelter"]["refusals" + suffix]
        top = f["long_term" + suffix]["top10_nights"]
        assert top["nights"] == f["shelter"]["nights" + suffix]
    assert (
        sum(m["capacity_nights"] for m in f["occupancy_monthly"]) == f["shelter"]["capacity_nights"]
    )
    assert [w["complete"] for w in f["winters"]][1:-1] == [True] * (len(f["winters"]) - 2)
    lt = f["long_term"]["persons"]
    assert lt["180"] >= lt["270"] >= lt["365"]
    hf = f["housing_first"]
    assert hf["12"]["housed_strict"] <= hf["12"]["housed"] <= hf["12"]["cohort"]
    ret = f["returns"]
    assert all(ret[m]["shelter"] <= ret[m]["any_contact"] <= ret[m]["exits"] for m in ret)
