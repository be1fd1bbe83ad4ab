"""The publication of a year without person-level data: the aggregate tables alone."""

from __future__ import annotations

from observatoire.disclosure.publication import build_tables, has_person_data, headline_keys


def test_a_counts_only_year_builds_no_person_table_and_keeps_no_headline() -> None:
    ind = {"year": 2024, "years": [], "aggregates": {}}
    assert not has_person_data(ind)
    tables = build_tables(ind, 5)
    assert tables.tables == [] and not tables.persons
    assert headline_keys(tables) == set()
    assert has_person_data({"year": 2024, "years": [2023, 2024]})
