"""Aggregate returns in the indicators: the group and time rules on planted truth, the capacity
series (a declaration gives exactly the old two-number figures; a return replaces it night by
night), and aggregate counts never mixed into the person counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.core.schema import AGGREGATE_COLUMNS
from observatoire.indicators import counts as ind
from observatoire.indicators.aggregates import (
    annual_aggregates,
    count_only_partners,
    whole_population,
    year_value,
)
from observatoire.indicators.annual import annual_indicators
from observatoire.indicators.capacity import CapacitySeries, shelter_capacity_series
from observatoire.intake.mapping import AggregateSpec, ExportSpec, FileFormat, PartnerMapping
from observatoire.models.forecast import monthly_bed_nights
from tests.support.frames import contacts_frame
from tests.support.settings import project_settings

WINTER = ("11-01", "03-31")


def _rows(records: list[tuple]) -> pd.DataFrame:
    """(partner, programme, period, date, group, role, measure, value) → the clean table."""
    frame = pd.DataFrame(
        records,
        columns=[
            "partner_id",
            "programme",
            "period",
            "date",
            "group",
            "group_role",
            "measure",
            "value",
        ],
    )
    frame["dispositif"] = "hebergement_urgence"
    frame["date"] = pd.to_datetime(frame["date"])
    frame["value"] = frame["value"].astype("float64")
    frame["source_file"] = "f.csv"
    frame["source_row"] = range(1, len(frame) + 1)
    frame["line"] = frame["source_row"] + 1
    return frame[AGGREGATE_COLUMNS]


def _partner(pid: str, tables: tuple[str, ...], capacity: dict | None = None) -> PartnerMapping:
    exports = tuple(
        ExportSpec(
            name=t,
            table=t,
            files=f"{pid}/{t}_*.csv",
            format=FileFormat(),
            columns={},
            aggregates=AggregateSpec("jour") if t == "aggregates" else None,
        )
        for t in tables
    )
    return PartnerMapping(pid, pid.title(), "hebergement_urgence", "nuit", exports, capacity or {})


def test_a_total_is_never_added_to_its_parts_and_subgroups_never_summed():
    a = _rows(
        [
            # Month 1: a declared total and its parts: the total counts, once.
            ("bnl", "", "mois", "2024-01-01", "tous", "total", "newly_identified", 12),
            ("bnl", "", "mois", "2024-01-01", "isoles", "partie", "newly_identified", 8),
            ("bnl", "", "mois", "2024-01-01", "familles", "partie", "newly_identified", 4),
            ("bnl", "", "mois", "2024-01-01", "jeunes", "sous_groupe", "newly_identified", 3),
            # Month 2: no total row: everyone is the sum of the partition, youth left out.
            ("bnl", "", "mois", "2024-02-01", "isoles", "partie", "newly_identified", 5),
            ("bnl", "", "mois", "2024-02-01", "familles", "partie", "newly_identified", 2),
            ("bnl", "", "mois", "2024-02-01", "jeunes", "sous_groupe", "newly_identified", 4),
        ]
    )
    whole = whole_population(a).set_index("date")["value"]
    assert whole[pd.Timestamp("2024-01-01")] == 12 and whole[pd.Timestamp("2024-02-01")] == 7
    assert year_value(whole_population(a), "newly_identified", 2024) == 19


def test_time_rules_flux_add_up_nights_count_per_night_stocks_take_the_last_period():
    a = _rows(
        [
            ("p", "", "mois", "2024-11-01", "ensemble", "total", "meals", 300),
            ("p", "", "mois", "2024-12-01", "ensemble", "total", "meals", 310),
            ("p", "", "mois", "2024-11-01", "ensemble", "total", "beds_available", 10),
            ("p", "", "mois", "2024-12-01", "ensemble", "total", "beds_available", 12),
            ("p", "", "mois", "2024-11-01", "ensemble", "total", "actively_homeless", 40),
            ("p", "", "mois", "2024-12-01", "ensemble", "total", "actively_homeless", 37),
        ]
    )
    assert year_value(a, "meals", 2024) == 610
    assert year_value(a, "beds_available", 2024) == 10 * 30 + 12 * 31  # bed-nights
    assert year_value(a, "actively_homeless", 2024) == 37  # at the end of December
    assert year_value(a, "meals", 2023) is None


def test_a_declared_capacity_gives_exactly_the_two_number_figures():
    declared = {"beds": 40, "winter_extra_beds": 15}
    series = CapacitySeries(WINTER, {"abri": (40, 15)})
    for year in (2023, 2024):
        days = pd.date_range(f"{year}-01-01", f"{year}-12-31")
        old = 40 * len(days) + 15 * int(ind.is_winter(days, WINTER).sum())
        assert ind.capacity_nights(series, year, WINTER) == old
        assert ind.capacity_nights(declared, year, WINTER) == old
    months = pd.date_range("2023-01-01", "2025-03-01", freq="MS")
    pd.testing.assert_series_equal(
        monthly_bed_nights(series, months, WINTER), monthly_bed_nights(declared, months, WINTER)
    )
    assert series.summary(2024) == declared


def test_a_capacity_return_replaces_the_declaration_night_by_night():
    """Planted: 40 beds declared; the return says 30 beds in August 2024 (a wing closed)."""
    august = pd.date_range("2024-08-01", "2024-08-31")
    a = _rows(
        [("abri", "", "jour", d, "ensemble", "total", "beds_available", 30) for d in august]
        + [("abri", "", "jour", d, "ensemble", "total", "winter_extra_beds", 0) for d in august]
    )
    partners = {"abri": _partner("abri", ("contacts", "aggregates"), {"beds": 40})}
    series = shelter_capacity_series(partners, a, WINTER)
    assert ind.capacity_nights(series, 2024, WINTER) == 40 * 366 - 10 * 31
    months = monthly_bed_nights(series, pd.date_range("2024-07-01", "2024-09-01", freq="MS"))
    assert months.tolist() == [40 * 31, 30 * 31, 40 * 30]
    daily = series.daily(pd.DatetimeIndex(["2024-08-15", "2024-09-15"]))
    assert daily["source"].tolist() == ["export", "déclarée"]


def test_a_return_without_declaration_carries_last_winter_into_the_forecast():
    days = pd.date_range("2023-11-01", "2024-12-31")
    winter = ind.is_winter(days, WINTER).to_numpy()
    a = _rows(
        [("abri", "", "jour", d, "ensemble", "total", "beds_available", 20) for d in days]
        + [
            ("abri", "", "jour", d, "ensemble", "total", "winter_extra_beds", 5 * int(w))
            for d, w in zip(days, winter, strict=True)
        ]
    )
    series = shelter_capacity_series(
        {"abri": _partner("abri", ("contacts", "aggregates"))}, a, WINTER
    )
    coming = pd.date_range("2025-11-01", "2026-03-31")
    assert np.all(series.per_day(coming) == 25)


def test_aggregate_counts_are_never_mixed_into_person_counts():
    contacts = contacts_frame(
        [
            {"record_key": "a", "date_start": "2024-03-01", "date_end": "2024-03-03", "nights": 2},
            {"record_key": "b", "date_start": "2024-05-01", "date_end": "2024-05-02", "nights": 1},
        ]
    )
    contacts["person_id"] = contacts["record_key"]
    contacts["partner_id"] = "abri"
    refusals = pd.DataFrame({"date": pd.to_datetime([]), "refusals": []})
    counts = _rows(
        [
            ("bnl", "", "mois", "2024-03-01", "ensemble", "total", m, 50)
            for m in ("actively_homeless", "newly_identified", "persons_served", "beds_occupied")
        ]
    )
    partners = {
        "abri": _partner("abri", ("contacts",), {"beds": 2}),
        "bnl": _partner("bnl", ("aggregates",)),
    }
    report = project_settings().report.model_copy(update={"year": 2024})
    without = annual_indicators(contacts, refusals, {"abri": partners["abri"]}, report)
    with_counts = annual_indicators(contacts, refusals, partners, report, aggregates=counts)
    assert with_counts["network"]["persons"] == without["network"]["persons"] == 2
    assert with_counts["dispositifs"] == without["dispositifs"]
    assert with_counts["shelter"] == without["shelter"]  # the count-only shelter's beds: apart
    assert set(with_counts["partners"]) == {"abri"}  # no « 0 personnes » for a count-only one
    assert count_only_partners(partners) == ["bnl"]
    agg = annual_aggregates(counts, partners, 2024)
    assert agg["bnl"]["count_only"] and agg["bnl"]["whole"]["actively_homeless"] == 50


@pytest.mark.parametrize("rate", [0.5, 0.9])
def test_occupancy_of_a_return_is_nights_occupied_over_bed_nights(rate):
    days = pd.date_range("2024-01-01", "2024-12-31")
    beds, occupied = 20, int(20 * rate)
    a = _rows(
        [("p", "A", "jour", d, "ensemble", "total", "beds_available", beds) for d in days]
        + [("p", "A", "jour", d, "ensemble", "total", "beds_occupied", occupied) for d in days]
    )
    fig = annual_aggregates(a, {"p": _partner("p", ("aggregates",))}, 2024)["p"]
    assert fig["occupancy"]["rate"] == pytest.approx(occupied / beds)
    assert fig["coverage"] == {
        "period": "jour",
        "periods": 366,
        "periods_in_year": 366,
        "first": "2024-01-01",
        "last": "2024-12-31",
    }
