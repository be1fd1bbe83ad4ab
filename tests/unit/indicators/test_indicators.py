"""Indicators on small hand-computed cases: what each published figure means."""

from __future__ import annotations

import pandas as pd
import pytest

from observatoire.indicators import counts as ind


def _contacts(rows: list[dict]) -> pd.DataFrame:
    base = {
        "partner_id": "p",
        "dispositif": "hebergement_urgence",
        "date_end": None,
        "nights": None,
        "age_at_contact": 30,
        "sex": "M",
        "age_estimated": False,
        "source_file": "f",
        "source_row": 0,
    }
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["date_start"] = pd.to_datetime(frame["date_start"])
    frame["date_end"] = pd.to_datetime(frame["date_end"])
    frame["year"] = frame["date_start"].dt.year
    frame["source_row"] = range(1, len(frame) + 1)
    return frame


def test_a_person_seen_by_several_services_counts_once_for_the_network():
    c = _contacts(
        [
            {"person_id": "a", "date_start": "2024-01-02"},
            {"person_id": "a", "date_start": "2024-03-02", "dispositif": "accueil_jour"},
            {"person_id": "b", "date_start": "2024-05-02", "dispositif": "accueil_jour"},
            {"person_id": "c", "date_start": "2023-05-02"},
        ]
    )
    assert ind.distinct_persons(c, 2024) == 2
    by = ind.distinct_persons(c, 2024, by="dispositif")
    assert by.to_dict() == {"accueil_jour": 2, "hebergement_urgence": 1}


def test_nights_of_a_stay_across_new_year_are_split_between_years():
    c = _contacts(
        [{"person_id": "a", "date_start": "2023-12-28", "date_end": "2024-01-03", "nights": 6}]
    )
    assert ind.nights(c, 2023) == 4
    assert ind.nights(c, 2024) == 2


def test_open_stay_counts_its_exported_nights():
    c = _contacts([{"person_id": "a", "date_start": "2024-12-30", "nights": 2}])
    assert ind.nights(c, 2024) == 2


def test_capacity_counts_winter_beds_only_in_winter():
    days_2024 = 366
    winter_days = (31 + 29 + 31) + (30 + 31)  # 1 Jan–31 Mar and 1 Nov–31 Dec 2024
    got = ind.capacity_nights({"beds": 10, "winter_extra_beds": 5}, 2024, ("11-01", "03-31"))
    assert got == 10 * days_2024 + 5 * winter_days


def test_monthly_nights_put_each_night_in_its_month():
    c = _contacts(
        [{"person_id": "a", "date_start": "2024-01-30", "date_end": "2024-02-02", "nights": 3}]
    )
    m = ind.monthly_nights(c).set_index("month")["nights"]
    assert m[pd.Timestamp("2024-01-01")] == 2 and m[pd.Timestamp("2024-02-01")] == 1


def test_age_band_is_the_age_at_first_contact_of_the_year():
    c = _contacts(
        [
            {"person_id": "a", "date_start": "2024-01-02", "age_at_contact": 25},
            {"person_id": "a", "date_start": "2024-11-02", "age_at_contact": 26},
            {"person_id": "b", "date_start": "2024-02-02", "age_at_contact": 19, "sex": "F"},
        ]
    )
    t = ind.age_sex_table(c, 2024).set_index(["age_band", "sex"])["persons"]
    assert t[("22-25", "M")] == 1 and t[("26-34", "M")] == 0 and t[("18-21", "F")] == 1
    assert ind.youth_persons(c, 2024) == 2


@pytest.mark.parametrize(
    ("day", "winter"),
    [("2024-11-01", True), ("2024-03-31", True), ("2024-04-01", False), ("2024-10-31", False)],
)
def test_winter_plan_bounds(day, winter):
    assert bool(ind.is_winter(pd.DatetimeIndex([day]), ("11-01", "03-31")).iloc[0]) is winter
