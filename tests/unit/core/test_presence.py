"""Persons of a year are those present in it: a stay counts in every year and month it covers,
a visit on its day; rows delivered (coverage, contacts) still count by the year they start."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from observatoire.core import presence as activity
from observatoire.indicators import counts as ind
from observatoire.indicators import pathways
from observatoire.indicators.flows import flow_status
from observatoire.models import trends
from tests.support.frames import contacts_frame as _contacts

ROOT = Path(__file__).resolve().parents[3]


def _frame() -> pd.DataFrame:
    return _contacts(
        [
            # a Housing First tenancy entered in March 2021 and still running
            {"person_id": "hf", "date_start": "2021-03-15", "dispositif": "housing_first"},
            # a shelter stay across the new year: nights 28/12 to 2/1, exit on the 3rd
            {"person_id": "nye", "date_start": "2023-12-28", "date_end": "2024-01-03"},
            # a stay whose exit is the morning of 1 January: its last night is 31 December
            {"person_id": "out", "date_start": "2023-12-30", "date_end": "2024-01-01"},
            # a maison d'accueil stay ended in 2022
            {
                "person_id": "ma",
                "date_start": "2022-02-01",
                "date_end": "2022-09-30",
                "dispositif": "maison_accueil",
            },
            # a shelter stay with no exit and no nights: one night
            {"person_id": "one", "date_start": "2024-12-31"},
            {"person_id": "day", "date_start": "2024-05-05", "dispositif": "accueil_jour"},
        ]
    )


def test_a_running_tenancy_counts_in_every_year_since_its_start():
    c = _frame()
    for year in (2021, 2022, 2023, 2024):
        assert "hf" in set(activity.in_year(c, year)["person_id"]), year
    assert "hf" not in set(activity.in_year(c, 2020)["person_id"])
    assert ind.distinct_persons(c, 2024, by="dispositif")["housing_first"] == 1


def test_a_stay_across_the_new_year_counts_in_both_years_but_is_delivered_once():
    c = _frame()
    assert {"nye", "out"} <= set(activity.in_year(c, 2023)["person_id"])
    in_2024 = set(activity.in_year(c, 2024)["person_id"])
    assert "nye" in in_2024 and "out" not in in_2024
    assert set(activity.delivered_in_year(c, 2024)["person_id"]) == {"one", "day"}
    assert ind.contacts_count(c, 2024).to_dict() == {"accueil_jour": 1, "hebergement_urgence": 1}


def test_yearly_persons_equal_the_persons_of_each_year():
    c = _frame()
    yearly = ind.yearly_distinct_persons(c).set_index("year")["persons"]
    for year in range(2021, 2025):
        assert yearly[year] == ind.distinct_persons(c, year), year
    assert yearly.to_dict() == {2021: 1, 2022: 2, 2023: 3, 2024: 4}
    by = ind.yearly_distinct_persons(c, by="dispositif")
    hf = by[by["dispositif"] == "housing_first"].set_index("year")["persons"]
    assert hf.to_dict() == {2021: 1, 2022: 1, 2023: 1, 2024: 1}


def test_monthly_persons_count_a_stay_in_every_month_it_covers():
    c = _frame()
    monthly = ind.monthly_distinct_persons(c)
    ma = monthly[monthly["dispositif"] == "maison_accueil"]
    assert list(ma["month"].dt.month) == list(range(2, 10)) and set(ma["persons"]) == {1}
    shelter = monthly[monthly["dispositif"] == "hebergement_urgence"].set_index("month")
    assert shelter.loc["2023-12-01", "persons"] == 2 and shelter.loc["2024-01-01", "persons"] == 1
    hf = monthly[monthly["dispositif"] == "housing_first"]
    assert len(hf) == 12 * 3 + 10  # March 2021 to December 2024, the end of the data
    counts = trends.monthly_dispositif_counts(c, "2024-12-31")
    hf_counts = counts[counts["dispositif"] == "housing_first"]
    assert hf_counts["persons"].eq(1).all() and hf_counts["contacts"].sum() == 1


def test_a_tenant_housed_for_years_is_continuing_and_a_new_year_stay_too():
    c = pd.concat(
        [
            _frame(),
            _contacts(
                [{"person_id": "z", "date_start": "2020-01-01", "dispositif": "accueil_jour"}]
            ),
        ],
        ignore_index=True,
    )
    status = flow_status(c, 2024).set_index("person_id")["status"]
    assert status["hf"] == "continu" and status["nye"] == "continu"
    assert status["one"] == "nouveau" and status["day"] == "nouveau"
    assert "out" not in status.index
    f = pathways.network_flows(c, 2024)
    assert f["active"] == ind.distinct_persons(c, 2024) == 4


def test_coverage_counts_rows_by_the_month_they_start():
    cov = ind.coverage(_frame(), 2024)
    assert int(cov.to_numpy().sum()) == 2  # the stay begun in 2023 is 2023's row


@pytest.mark.skipif(
    not (ROOT / "data_clean/contacts.parquet").exists(), reason="pipeline not run yet"
)
def test_on_the_sample_every_count_of_persons_agrees():
    c = pd.read_parquet(ROOT / "data_clean/contacts.parquet")
    year = int(c["year"].max())
    yearly = ind.yearly_distinct_persons(c).set_index("year")["persons"]
    by = ind.yearly_distinct_persons(c, by="dispositif")
    by = by[by["year"] == year].set_index("dispositif")["persons"]
    assert yearly[year] == ind.distinct_persons(c, year)
    assert by.to_dict() == ind.distinct_persons(c, year, by="dispositif").to_dict()
    flows = pathways.network_flows(c, year)
    assert flows["active"] == yearly[year]
    assert sum(pathways.n_dispositifs(c, year).values()) == yearly[year]
    # Housing First: the tenants of the year are more than the tenancies entered in it
    hf = c[c["dispositif"] == "housing_first"]
    assert by["housing_first"] > hf.loc[hf["year"] == year, "person_id"].nunique()


def test_spans_computed_once_are_those_of_any_selection_of_rows():
    c = _frame()
    carried = activity.with_presence(c)
    assert activity.with_presence(carried) is carried
    for rows in (c["dispositif"] != "accueil_jour", c["person_id"].isin(["hf", "nye", "day"])):
        pd.testing.assert_frame_equal(
            activity.presence_span(carried[rows]), activity.presence_span(c[rows])
        )
        stays = c[rows & (c["dispositif"] != "accueil_jour")]
        pd.testing.assert_series_equal(
            activity.stay_end(carried.loc[stays.index]), activity.stay_end(stays), check_names=False
        )
    for year in (2022, 2023, 2024):
        pd.testing.assert_frame_equal(
            activity.in_year(carried, year)[c.columns], activity.in_year(c, year)
        )
    pd.testing.assert_frame_equal(
        pathways.combinations(carried, 2024), pathways.combinations(c, 2024)
    )
    assert pathways.dispositif_sets(carried.iloc[:0], 2024).empty
