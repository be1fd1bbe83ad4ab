"""Hand-checkable unit tests of the youth study's building blocks.

Flows (new / continuing / returning, re-entries), the entry cohort, services fled and stay
exits, service paths, and the report's pure disclosure and formatting helpers. Every frame is
built by hand, a few rows each, so that every expected number can be checked on paper.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from observatoire.core.formatting import french_points as pp
from observatoire.indicators.flows import (
    CONTINUING,
    NEW,
    RETURNING,
    flow_status,
    flows_by_year,
    re_entries,
)
from observatoire.reports.youth.report import comparison_rows, count, masked
from observatoire.youth.cohort import ADULTS, YOUTH, StudyParams, build_cohort
from observatoire.youth.compare import compare_proportions
from observatoire.youth.services import (
    EARLY_EXIT_DAYS,
    service_paths,
    services_fled,
    stay_exits,
)
from tests.support.settings import project_settings

TS = pd.Timestamp
DAY = pd.Timedelta(days=1)
MINUS = "\u2212"  # typographic minus
NBSP = "\u00a0"
NNBSP = "\u202f"

COLUMNS = [
    "person_id",
    "partner_id",
    "dispositif",
    "date_start",
    "date_end",
    "nights",
    "year",
    "sex",
    "age_at_contact",
    "age_estimated",
    "nationality_group",
    "exit_reason",
    "activity",
    "orientation",
    "zone",
    "duration_hours",
    "source_file",
    "source_row",
    "record_key",
]


def contacts(*rows: dict[str, Any]) -> pd.DataFrame:
    """Canonical contacts frame from partial rows; every missing column gets a default.

    Defaults: a point contact (no ``date_end``) at the day centre on 1 June 2021 by an adult of
    30 with an exact age, sex/nationality unknown, no exit reason; ``year`` from ``date_start``,
    ``source_row`` the row's position, ``record_key`` from file and row.
    """
    filled = []
    for i, row in enumerate(rows):
        r: dict[str, Any] = {
            "person_id": "P1",
            "partner_id": "partenaire_test",
            "dispositif": "accueil_jour",
            "date_start": "2021-06-01",
            "date_end": None,
            "nights": np.nan,
            "sex": "INCONNU",
            "age_at_contact": 30.0,
            "age_estimated": False,
            "nationality_group": "INCONNU",
            "exit_reason": np.nan,
            "activity": np.nan,
            "orientation": np.nan,
            "zone": np.nan,
            "duration_hours": np.nan,
            "source_file": "test.csv",
            "source_row": i,
        }
        r.update(row)
        filled.append(r)
    frame = pd.DataFrame(filled)
    frame["person_id"] = frame["person_id"].astype(str)
    frame["date_start"] = pd.to_datetime(frame["date_start"])
    frame["date_end"] = pd.to_datetime(frame["date_end"])
    frame["year"] = frame["date_start"].dt.year.astype("int64")
    frame["age_at_contact"] = frame["age_at_contact"].astype(float)
    frame["age_estimated"] = frame["age_estimated"].astype(bool)
    frame["source_row"] = frame["source_row"].astype("int64")
    frame["record_key"] = frame["source_file"] + ":" + frame["source_row"].astype(str)
    return frame[COLUMNS]


def with_group(frame: pd.DataFrame, groups: dict[str, str]) -> pd.DataFrame:
    """A follow-up frame as services.* expect it: contacts plus the person's ``group``."""
    return frame.assign(group=frame["person_id"].map(groups))


def study_params(k: int = 5, **youth: Any) -> StudyParams:
    """The study's parameters from the project's settings, report year 2024, disclosure
    threshold ``k`` and this ``youth:`` section (every other key at its default)."""
    settings = project_settings(report__year=2024, report__disclosure_threshold=k, youth=youth)
    return StudyParams.from_settings(settings)


# --------------------------------------------------------------------------------------------
# flows.flow_status / flows_by_year / re_entries
# --------------------------------------------------------------------------------------------

JAN1 = TS("2024-01-01")


def flow_contacts(data_start: pd.Timestamp = JAN1 - 731 * DAY) -> pd.DataFrame:
    """Year 2024. 1 January 2024 − 730 days = 1 January 2022 (2022 and 2023 have 365 days)."""
    return contacts(
        # exactly 90 days before 1 January (3 October 2023): continuing
        {"person_id": "C90", "date_start": JAN1 - 90 * DAY},
        {"person_id": "C90", "date_start": "2024-02-01"},
        # 91 days before: returning
        {"person_id": "R91", "date_start": JAN1 - 91 * DAY},
        {"person_id": "R91", "date_start": "2024-03-01"},
        # exactly 730 days before: still returning (new needs more than 730)
        {"person_id": "R730", "date_start": JAN1 - 730 * DAY},
        {"person_id": "R730", "date_start": "2024-04-01"},
        # 731 days before (data_start by default): new
        {"person_id": "N731", "date_start": data_start},
        {"person_id": "N731", "date_start": "2024-05-01"},
        # never seen before 2024: new; first_in_year is the earliest 2024 day, normalised
        {"person_id": "N0", "date_start": "2024-06-10 15:30"},
        {"person_id": "N0", "date_start": "2024-06-09 09:00"},
        # last contact on 31 December 2023 (1 day before): continuing
        {"person_id": "C1", "date_start": "2023-12-31"},
        {"person_id": "C1", "date_start": "2024-01-01"},
        # active in 2023 and 2025 only: not active in 2024
        {"person_id": "OUT", "date_start": "2023-06-01"},
        {"person_id": "OUT", "date_start": "2025-01-01"},
    )


def test_boundary_dates_are_what_the_comments_say() -> None:
    expected = ["2023-10-03", "2023-10-02", "2022-01-01", "2021-12-31"]
    assert [JAN1 - d * DAY for d in (90, 91, 730, 731)] == [TS(e) for e in expected]


def test_flow_status_windows_and_boundaries() -> None:
    out = flow_status(flow_contacts(), 2024).set_index("person_id")
    assert list(out.columns) == ["status", "first_in_year"]
    assert out["status"].to_dict() == {
        "C1": CONTINUING,
        "C90": CONTINUING,
        "N0": NEW,
        "N731": NEW,
        "R730": RETURNING,
        "R91": RETURNING,
    }
    assert out.loc["N0", "first_in_year"] == TS("2024-06-09")
    assert out.loc["C1", "first_in_year"] == TS("2024-01-01")


def test_flow_status_custom_windows() -> None:
    out = flow_status(flow_contacts(), 2024, new_lookback_days=90, continuing_days=0)
    status = out.set_index("person_id")["status"]
    # gap 90 is not > 90 and not <= 0: returning; gap 91 > 90: new; gap 1 > 0: returning
    assert status["C90"] == RETURNING
    assert status["R91"] == NEW
    assert status["C1"] == RETURNING


def test_flow_status_exactly_730_days_of_data_is_enough() -> None:
    frame = flow_contacts(data_start=JAN1 - 730 * DAY)
    status = flow_status(frame, 2024).set_index("person_id")["status"]
    assert status.notna().all()
    assert status["N731"] == RETURNING  # its early contact is now 730 days before


def test_flow_status_none_when_data_does_not_reach_back_730_days() -> None:
    # Coverage is counted in whole months (core.coverage): data starting in February 2022
    # leave January 2022, inside the look-back, uncovered.
    frame = flow_contacts()
    frame = frame[frame["date_start"] >= TS("2022-02-01")]
    out = flow_status(frame, 2024)
    assert len(out) == 6  # still every active person
    assert out["status"].isna().all()


def test_flows_by_year_counts_filter_and_calculable() -> None:
    frame = flow_contacts()
    table = flows_by_year(frame, [2023, 2024])
    assert list(table["year"]) == [2023, 2024]
    y2023, y2024 = table.iloc[0], table.iloc[1]
    # 2023: the data start 366 days before 1 January 2023, less than 730: not calculable
    assert not y2023["calculable"]
    assert y2023["active"] == 4  # C90, R91, C1, OUT
    assert math.isnan(y2023["new"]) and math.isnan(y2023["continuing"])
    assert math.isnan(y2023["returning"])
    assert y2024["calculable"]
    assert (y2024["active"], y2024["new"], y2024["continuing"], y2024["returning"]) == (
        6,
        2,
        2,
        2,
    )
    only = flows_by_year(frame, [2024], persons=pd.Index(["C90", "N0", "R91", "OUT"])).iloc[0]
    assert only["calculable"]
    assert (only["active"], only["new"], only["continuing"], only["returning"]) == (3, 1, 1, 1)


def test_re_entries_gap_strictly_above_inactive_days() -> None:
    d0 = TS("2022-01-10")
    frame = contacts(
        {"person_id": "P", "date_start": d0},
        {"person_id": "P", "date_start": d0 + 90 * DAY},  # gap 90: no re-entry
        {"person_id": "P", "date_start": d0 + 181 * DAY},  # gap 91: re-entry
        {"person_id": "P", "date_start": d0 + 181 * DAY + pd.Timedelta(hours=5)},  # same day
        {"person_id": "P", "date_start": d0 + 400 * DAY},  # gap 219: re-entry
        {"person_id": "Q", "date_start": d0},
        {"person_id": "R", "date_start": d0 + 10 * DAY},
        {"person_id": "R", "date_start": d0},  # input order does not matter: gap 10
    )
    out = re_entries(frame).set_index("person_id")["re_entries"]
    assert out.to_dict() == {"P": 2, "Q": 0, "R": 0}
    assert re_entries(frame, inactive_days=89).set_index("person_id")["re_entries"]["P"] == 3


def test_re_entries_contact_during_a_long_stay_is_not_a_return() -> None:
    frame = contacts(
        {
            "person_id": "HF",
            "dispositif": "housing_first",
            "date_start": "2021-01-01",
            "date_end": "2021-12-31",
        },
        {"person_id": "HF", "dispositif": "accueil_jour", "date_start": "2021-06-01"},
    )
    assert re_entries(frame).set_index("person_id")["re_entries"]["HF"] == 0


# --------------------------------------------------------------------------------------------
# youth.cohort.StudyParams
# --------------------------------------------------------------------------------------------


def test_study_params_window_2024_24_months_2_entry_years() -> None:
    study = study_params(follow_up_months=24, entry_years=2)
    assert study.year == 2024
    assert study.window_start == TS("2021-01-01")
    assert study.window_end == TS("2022-12-31")
    assert study.data_end == TS("2024-12-31")
    assert (study.youth_low, study.youth_high, study.adults_from) == (18, 25, 26)
    assert study.disclosure_threshold == 5


def test_study_params_other_window_and_typology_keys() -> None:
    study = study_params(
        k=10,
        follow_up_months=36,
        entry_years=1,
        typology={"distance": "hamming", "method": "average", "k_min": 2, "k_max": 4},
        bands={"18–20 ans": [18, 20], "21–24 ans": [21, 24]},
        adults_from=25,
    )
    # follow-up of 36 months ending 31/12/2024 starts 1/1/2022: window is 2021
    assert (study.window_start, study.window_end) == (TS("2021-01-01"), TS("2021-12-31"))
    assert study.distance == "hamming"
    assert study.cluster_method == "average"
    assert study.k_values == (2, 3, 4)
    assert study.bands == {"18–20 ans": (18, 20), "21–24 ans": (21, 24)}
    assert study.disclosure_threshold == 10


def test_study_params_empty_youth_section_takes_defaults() -> None:
    study = study_params()  # an empty « youth: {} » section
    assert (study.follow_up_months, study.entry_years, study.distance) == (24, 2, "om")


def test_study_params_bad_distance_french_error() -> None:
    with pytest.raises(ValueError, match="youth.typology.distance.*attendu « om »"):
        study_params(typology={"distance": "euclidienne"})


@pytest.mark.parametrize(
    "bands",
    [
        {"18–22 ans": [18, 22], "22–25 ans": [22, 25]},  # overlap on 22
        {"18–21 ans": [18, 21], "23–25 ans": [23, 25]},  # hole at 22
    ],
)
def test_study_params_bands_must_follow_each_other(bands: dict) -> None:
    with pytest.raises(ValueError, match="se suivre sans trou ni recouvrement"):
        study_params(bands=bands)


def test_study_params_adults_must_follow_last_band() -> None:
    with pytest.raises(ValueError, match="youth.adults_from.*attendu 26"):
        study_params(adults_from=27)


def test_study_params_follow_up_must_be_whole_years() -> None:
    with pytest.raises(ValueError, match="youth.follow_up_months"):
        study_params(follow_up_months=18)


def test_study_params_unknown_keys_french_error() -> None:
    with pytest.raises(ValueError, match="(?s)inconnue « youth.folow_up ».*« youth.zz_cle »"):
        study_params(folow_up=24, zz_cle=1)


def test_study_params_unknown_typology_key_french_error() -> None:
    with pytest.raises(ValueError, match="inconnue « youth.typology.distanse »"):
        study_params(typology={"distanse": "hamming"})


def test_study_params_year_in_youth_section_french_error() -> None:
    with pytest.raises(ValueError):
        study_params(year=2023)


# --------------------------------------------------------------------------------------------
# youth.cohort.build_cohort
# --------------------------------------------------------------------------------------------


@pytest.fixture
def study() -> StudyParams:
    return study_params()  # window 2021-01-01 .. 2022-12-31


def cohort_contacts() -> pd.DataFrame:
    return contacts(
        # data reach back to 2019: the 12-month look-back before the window is complete
        {"person_id": "OLD", "date_start": "2019-11-01", "age_at_contact": 40.0},
        {"person_id": "OLD", "date_start": "2021-03-01", "age_at_contact": 41.0},
        # age at first contact, floor: 25.9 is youth, 26.0 adult
        {"person_id": "Y259", "date_start": "2021-06-01", "age_at_contact": 25.9},
        {"person_id": "Y259", "date_start": "2022-02-01", "age_at_contact": 26.6},
        {"person_id": "A260", "date_start": "2021-06-02", "age_at_contact": 26.0},
        {"person_id": "Y18", "date_start": "2021-06-03", "age_at_contact": 18.0},
        {"person_id": "Y2199", "date_start": "2021-06-04", "age_at_contact": 21.99},
        {"person_id": "Y22", "date_start": "2021-06-05", "age_at_contact": 22.0},
        # minors and unknown ages are out
        {"person_id": "M179", "date_start": "2021-06-06", "age_at_contact": 17.9},
        {"person_id": "NOAGE", "date_start": "2021-06-07", "age_at_contact": np.nan},
        # first contact just outside the window: out, even with later contacts inside
        {"person_id": "EARLY", "date_start": "2020-12-31", "age_at_contact": 20.0},
        {"person_id": "EARLY", "date_start": "2021-02-01", "age_at_contact": 20.0},
        {"person_id": "LATE", "date_start": "2023-01-01", "age_at_contact": 20.0},
        # window edges are in
        {"person_id": "EDGE1", "date_start": "2021-01-01", "age_at_contact": 30.0},
        {"person_id": "EDGE2", "date_start": "2022-12-31", "age_at_contact": 19.0},
        # street work only; age estimated at the first contact, not at the second
        {
            "person_id": "STREET",
            "dispositif": "travail_rue",
            "date_start": "2021-07-01",
            "age_at_contact": 20.0,
            "age_estimated": True,
            "sex": "F",
        },
        {
            "person_id": "STREET",
            "dispositif": "travail_rue",
            "date_start": "2021-08-01",
            "age_at_contact": 20.5,
            "age_estimated": False,
            "sex": "F",
        },
        # street work first, then a named service: not street only; exact age at first contact
        {
            "person_id": "MIXED",
            "dispositif": "travail_rue",
            "date_start": "2021-07-02",
            "age_at_contact": 23.0,
            "age_estimated": False,
            "sex": "M",
            "nationality_group": "BE",
        },
        {
            "person_id": "MIXED",
            "dispositif": "hebergement_urgence",
            "date_start": "2021-07-03",
            "age_at_contact": 23.0,
            "age_estimated": True,
            "sex": "M",
            "nationality_group": "UE",
        },
        {
            "person_id": "MIXED",
            "dispositif": "accueil_jour",
            "date_start": "2021-07-04",
            "age_at_contact": 23.0,
            "sex": "F",
            "nationality_group": "UE",
        },
        {"person_id": "MIXED", "date_start": "2021-07-05", "sex": "INCONNU"},
        {"person_id": "MIXED", "date_start": "2021-07-06", "sex": "INCONNU"},
        # same first day in two files: the first file in source order gives the first contact
        {
            "person_id": "TIE",
            "dispositif": "urgence_sociale",
            "date_start": "2021-09-01",
            "source_file": "b.csv",
            "source_row": 1,
            "age_at_contact": 24.0,
        },
        {
            "person_id": "TIE",
            "dispositif": "accueil_jour",
            "date_start": "2021-09-01",
            "source_file": "a.csv",
            "source_row": 9,
            "age_at_contact": 24.0,
        },
    )


def test_build_cohort_membership_groups_and_bands(study: StudyParams) -> None:
    cohort = build_cohort(cohort_contacts(), study)
    assert set(cohort.index) == {
        "Y259",
        "A260",
        "Y18",
        "Y2199",
        "Y22",
        "EDGE1",
        "EDGE2",
        "STREET",
        "MIXED",
        "TIE",
    }
    assert cohort["group"].to_dict() == {
        "EDGE1": ADULTS,
        "Y259": YOUTH,
        "A260": ADULTS,
        "Y18": YOUTH,
        "Y2199": YOUTH,
        "Y22": YOUTH,
        "STREET": YOUTH,
        "MIXED": YOUTH,
        "TIE": YOUTH,
        "EDGE2": YOUTH,
    }
    assert cohort["band"].to_dict() == {
        "EDGE1": "26 ans et plus",
        "Y259": "22–25 ans",
        "A260": "26 ans et plus",
        "Y18": "18–21 ans",
        "Y2199": "18–21 ans",
        "Y22": "22–25 ans",
        "STREET": "18–21 ans",
        "MIXED": "22–25 ans",
        "TIE": "22–25 ans",
        "EDGE2": "18–21 ans",
    }
    # age kept as the age at first contact, not floored; sorted by first contact
    assert cohort.loc["Y259", "age_first"] == 25.9
    assert list(cohort.index[:2]) == ["EDGE1", "Y259"]
    assert cohort["first_contact"].is_monotonic_increasing
    assert not cohort.attrs.get("lookback_incomplete", False)


def test_build_cohort_street_only_age_estimated_and_modal_codes(study: StudyParams) -> None:
    cohort = build_cohort(cohort_contacts(), study)
    assert cohort.loc["STREET", "street_only"]
    assert not cohort.loc["MIXED", "street_only"]
    assert cohort["street_only"].sum() == 1
    assert cohort.loc["STREET", "age_estimated"]  # True at the first contact only
    assert not cohort.loc["MIXED", "age_estimated"]  # False at the first, True later
    assert cohort["age_estimated"].sum() == 1
    assert cohort.loc["MIXED", "first_dispositif"] == "travail_rue"
    assert cohort.loc["TIE", "first_dispositif"] == "accueil_jour"  # a.csv before b.csv
    # sex: M ×2, F ×1, INCONNU ×2 → M; nationality: BE ×1, UE ×2 → UE; nothing known → INCONNU
    assert cohort.loc["MIXED", "sex"] == "M"
    assert cohort.loc["MIXED", "nationality_group"] == "UE"
    assert cohort.loc["STREET", "sex"] == "F"
    assert cohort.loc["Y18", "sex"] == "INCONNU"


def test_build_cohort_flags_incomplete_lookback(study: StudyParams) -> None:
    frame = cohort_contacts()
    frame = frame[frame["person_id"] != "OLD"]  # data now start on 31/12/2020
    cohort = build_cohort(frame, study)
    assert cohort.attrs.get("lookback_incomplete") is True


# --------------------------------------------------------------------------------------------
# youth.services
# --------------------------------------------------------------------------------------------


def test_services_fled_single_contact_and_no_return(study: StudyParams) -> None:
    d0 = TS("2021-03-01")
    fu = with_group(
        contacts(
            # youth at the day centre: Y1 once (and once at the shelter, not a return there)
            {"person_id": "Y1", "date_start": d0},
            {"person_id": "Y1", "dispositif": "hebergement_urgence", "date_start": d0 + 5 * DAY},
            # Y2 back exactly 90 days later: a return within 90 days
            {"person_id": "Y2", "date_start": d0 + 90 * DAY},
            {"person_id": "Y2", "date_start": d0},
            # Y3 back 91 days later, then often: no return within 90 days
            {"person_id": "Y3", "date_start": d0 + 91 * DAY},
            {"person_id": "Y3", "date_start": d0 + 120 * DAY},
            {"person_id": "Y3", "date_start": d0},
            # adults: A1 back after 10 days; A2 once
            {"person_id": "A1", "date_start": d0},
            {"person_id": "A1", "date_start": d0 + 10 * DAY},
            {"person_id": "A1", "date_start": d0 + 200 * DAY},
            {"person_id": "A2", "date_start": d0},
        ),
        {"Y1": YOUTH, "Y2": YOUTH, "Y3": YOUTH, "A1": ADULTS, "A2": ADULTS},
    )
    out = services_fled(fu, study)
    # DISPOSITIFS order: hébergement d'urgence before accueil de jour
    assert list(zip(out["dispositif"], out["measure"], strict=True)) == [
        ("hebergement_urgence", "single"),
        ("hebergement_urgence", "no_return"),
        ("accueil_jour", "single"),
        ("accueil_jour", "no_return"),
    ]
    got = out.set_index(["dispositif", "measure"])[["x_youth", "n_youth", "x_adults", "n_adults"]]
    assert got.loc[("accueil_jour", "single")].tolist() == [1, 3, 1, 2]
    assert got.loc[("accueil_jour", "no_return")].tolist() == [2, 3, 1, 2]
    assert got.loc[("hebergement_urgence", "single")].tolist() == [1, 1, 0, 0]
    assert got.loc[("hebergement_urgence", "no_return")].tolist() == [1, 1, 0, 0]
    row = out.set_index(["dispositif", "measure"]).loc[("accueil_jour", "no_return")]
    assert row["p1"] == pytest.approx(2 / 3)
    assert row["p2"] == pytest.approx(1 / 2)
    assert row["diff"] == pytest.approx(2 / 3 - 1 / 2)
    assert row["indicator"] == "Accueil de jour : pas de retour dans les 90 jours"
    assert math.isnan(
        out.set_index(["dispositif", "measure"]).loc[("hebergement_urgence", "single"), "p2"]
    )


def test_services_fled_long_stay_is_not_a_no_return(study: StudyParams) -> None:
    fu = with_group(
        contacts(
            {
                "person_id": "Y1",
                "dispositif": "maison_accueil",
                "date_start": "2021-03-01",
                "date_end": "2021-09-17",
                "exit_reason": "relogement",
            },
            {"person_id": "A1", "dispositif": "maison_accueil", "date_start": "2021-03-01"},
        ),
        {"Y1": YOUTH, "A1": ADULTS},
    )
    out = services_fled(fu, study).set_index(["dispositif", "measure"])
    assert out.loc[("maison_accueil", "no_return"), "x_youth"] == 0


def test_stay_exits_early_exit_rule() -> None:
    assert EARLY_EXIT_DAYS == 30
    d0 = TS("2021-03-01")

    def stay(pid: str, disp: str, days: int | None, reason: Any) -> dict[str, Any]:
        end = None if days is None else d0 + days * DAY
        return {
            "person_id": pid,
            "dispositif": disp,
            "date_start": d0,
            "date_end": end,
            "exit_reason": reason,
        }

    fu = with_group(
        contacts(
            stay("Y1", "maison_accueil", 30, "depart_volontaire"),  # fled, early (30 ≤ 30)
            stay("Y2", "maison_accueil", 31, "exclusion"),  # fled, excluded, not early
            stay("Y3", "maison_accueil", 5, "relogement"),  # not fled, so not early
            stay("Y4", "maison_accueil", 10, np.nan),  # no exit reason: left out
            stay("Y5", "maison_accueil", None, np.nan),  # still running: left out
            stay("Y6", "hebergement_urgence", 2, "exclusion"),  # not a stay dispositif
            stay("A1", "maison_accueil", 0, "exclusion"),  # fled, excluded, early
            stay("A2", "maison_accueil", 100, "orientation"),
            stay("A3", "housing_first", 20, "depart_volontaire"),  # early
        ),
        {p: YOUTH for p in ("Y1", "Y2", "Y3", "Y4", "Y5", "Y6")}
        | {p: ADULTS for p in ("A1", "A2", "A3")},
    )
    out = stay_exits(fu)
    assert list(zip(out["dispositif"], out["measure"], strict=True)) == [
        ("maison_accueil", "excluded"),
        ("maison_accueil", "fled"),
        ("maison_accueil", "early"),
        ("housing_first", "excluded"),
        ("housing_first", "fled"),
        ("housing_first", "early"),
    ]
    got = out.set_index(["dispositif", "measure"])[["x_youth", "n_youth", "x_adults", "n_adults"]]
    assert got.loc[("maison_accueil", "excluded")].tolist() == [1, 3, 1, 2]
    assert got.loc[("maison_accueil", "fled")].tolist() == [2, 3, 1, 2]
    assert got.loc[("maison_accueil", "early")].tolist() == [1, 3, 1, 2]
    assert got.loc[("housing_first", "early")].tolist() == [0, 0, 1, 1]
    early = out.set_index(["dispositif", "measure"]).loc[("maison_accueil", "early"), "indicator"]
    assert early == "Maison d'accueil : départs ou exclusions dans les 30 premiers jours"


def test_service_paths_first_then_next_different() -> None:
    d0 = TS("2021-03-01")
    fu = with_group(
        contacts(
            # Y1: day centre, day centre, shelter, street work → « Accueil de jour → Hébergement »
            {"person_id": "Y1", "date_start": d0},
            {"person_id": "Y1", "date_start": d0 + DAY},
            {"person_id": "Y1", "dispositif": "hebergement_urgence", "date_start": d0 + 2 * DAY},
            {"person_id": "Y1", "dispositif": "travail_rue", "date_start": d0 + 3 * DAY},
            # Y2: day centre only (twice)
            {"person_id": "Y2", "date_start": d0},
            {"person_id": "Y2", "date_start": d0 + 40 * DAY},
            # Y3: shelter after the day centre (rows given out of order)
            {"person_id": "Y3", "dispositif": "hebergement_urgence", "date_start": d0 + 5 * DAY},
            {"person_id": "Y3", "date_start": d0},
            # an adult: not in the youth paths
            {"person_id": "A1", "dispositif": "travail_rue", "date_start": d0},
        ),
        {"Y1": YOUTH, "Y2": YOUTH, "Y3": YOUTH, "A1": ADULTS},
    )
    cohort = pd.DataFrame(
        {"group": [YOUTH, YOUTH, YOUTH, ADULTS]}, index=pd.Index(["Y1", "Y2", "Y3", "A1"])
    )
    youth = service_paths(fu, cohort, YOUTH)
    assert youth["path"].tolist() == [
        "Accueil de jour → Hébergement d'urgence",
        "Accueil de jour seulement",
    ]
    assert youth["persons"].tolist() == [2, 1]
    assert youth["share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    adults = service_paths(fu, cohort, ADULTS)
    assert adults[["path", "persons", "share"]].values.tolist() == [
        ["Travail de rue seulement", 1, 1.0]
    ]


def test_service_paths_first_service_matches_cohort_first_dispositif(
    study: StudyParams,
) -> None:
    frame = contacts(
        {
            "person_id": "T",
            "dispositif": "accueil_jour",
            "date_start": "2021-09-01",
            "source_file": "a.csv",
            "source_row": 10,
            "age_at_contact": 20.0,
        },
        {
            "person_id": "T",
            "dispositif": "travail_rue",
            "date_start": "2021-09-01",
            "source_file": "b.csv",
            "source_row": 2,
            "age_at_contact": 20.0,
        },
    )
    cohort = build_cohort(frame, study)
    assert cohort.loc["T", "first_dispositif"] == "accueil_jour"
    paths = service_paths(with_group(frame, {"T": YOUTH}), cohort, YOUTH)
    assert paths["path"].tolist() == ["Accueil de jour → Travail de rue"]


# --------------------------------------------------------------------------------------------
# youth.report: pure helpers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "n", "hidden"),
    [
        (0, 10, False),  # 0 is not a small count
        (10, 10, False),  # complement 0 neither
        (1, 10, True),
        (4, 10, True),
        (5, 10, False),
        (6, 10, True),  # complement 4
        (9, 10, True),  # complement 1
        (0, 4, True),  # base below k
        (4, 4, True),
        (0, 0, True),
        (5, 5, False),  # base = k, complement 0
        (5.0, 10.0, False),  # floats as read from a CSV
        (None, 10, True),
        (5, None, True),
        (np.nan, 10, True),
        (5, np.nan, True),
    ],
)
def test_masked(x: Any, n: Any, hidden: bool) -> None:
    assert masked(x, n, 5) is hidden


def test_masked_other_threshold() -> None:
    assert masked(9, 20, 10)
    assert not masked(10, 20, 10)
    assert masked(11, 20, 10)  # complement 9


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0, "0"),
        (1, "< 5"),
        (4, "< 5"),
        (4.0, "< 5"),
        (5, "5"),
        (1234, f"1{NNBSP}234"),
        (None, "–"),
        (np.nan, "–"),
    ],
)
def test_count(x: Any, text: str) -> None:
    assert count(x, 5) == text


def test_count_other_threshold() -> None:
    assert count(9, 10) == "< 10"
    assert count(10, 10) == "10"


@pytest.mark.parametrize(
    ("x", "decimals", "text"),
    [
        (0.103, 1, f"+10,3{NNBSP}pts"),
        (-0.05, 1, f"{MINUS}5,0{NNBSP}pts"),
        (0.0, 1, f"0,0{NNBSP}pt"),
        (0.015, 1, f"+1,5{NNBSP}pt"),
        (0.1, 0, f"+10{NNBSP}pts"),
        (-0.25, 2, f"{MINUS}25,00{NNBSP}pts"),
        (None, 1, "–"),
        (np.nan, 1, "–"),
    ],
)
def test_pp(x: Any, decimals: int, text: str) -> None:
    assert pp(x, decimals) == text


def test_pp_value_rounding_to_zero_is_unsigned() -> None:
    assert pp(-0.0004) == f"0,0{NNBSP}pt"
    assert pp(0.0004) == f"0,0{NNBSP}pt"


def comparison_table() -> pd.DataFrame:
    rows = []
    for label, x_y, n_y, x_a, n_a, unstable in (
        ("ok", 10, 40, 20, 50, False),
        ("petit numérateur jeunes", 3, 40, 20, 50, True),
        ("petit numérateur adultes", 10, 40, 4, 50, False),
        ("petit complément adultes", 10, 40, 48, 50, False),
        ("instable", 10, 20, 20, 50, True),
        ("zéro", 0, 40, 20, 50, False),
    ):
        stats = compare_proportions(x_y, n_y, x_a, n_a)
        rows.append(
            {
                "indicator": label,
                "x_youth": x_y,
                "n_youth": n_y,
                "x_adults": x_a,
                "n_adults": n_a,
                "unstable": unstable,
            }
            | stats
        )
    return pd.DataFrame(rows)


def test_comparison_rows_masking_and_flags() -> None:
    table = comparison_table()
    rows = {r["indicator"]: r for r in comparison_rows(table, 5)}
    ok = rows["ok"]
    assert ok["youth"] == f"25,0{NNBSP}% (40)"  # 10 / 40, base 40
    assert ok["adults"] == f"40,0{NNBSP}% (50)"  # 20 / 50
    assert ok["diff"] == f"{MINUS}15,0{NNBSP}pts"
    assert ok["ci"].count("pts") == 2 and " ; " in ok["ci"]
    assert ok["p"] not in ("", "–")
    assert ok["flag"] == "" and ok["ref"] == ""
    small = ("petit numérateur jeunes", "petit numérateur adultes", "petit complément adultes")
    for label in small:
        r = rows[label]
        assert (r["youth"], r["adults"], r["diff"], r["ci"], r["p"]) == (
            "masqué",
            "masqué",
            "–",
            "–",
            "–",
        ), label
        assert r["flag"] == "", label  # a masked row is not flagged, even if unstable
    assert rows["instable"]["flag"] == "instable"
    assert rows["instable"]["youth"] == f"50,0{NNBSP}% (20)"
    assert rows["zéro"]["youth"] == f"0,0{NNBSP}% (40)"  # 0 is not masked
    assert rows["zéro"]["flag"] == ""


def test_comparison_rows_reference_column() -> None:
    table = comparison_table().head(2)
    table["ref_youth"] = [0.389, np.nan]
    table["ref_adults"] = [0.294, np.nan]
    rows = comparison_rows(table, 5)
    assert rows[0]["ref"] == f"38,9{NNBSP}% / 29,4{NNBSP}%"
    assert rows[1]["ref"] == ""
