"""Two aggregate returns written like real software writes them, onboarded by mapping files
alone (``tests/fixtures/foreign/<name>/params/partners/``), and their figures recomputed
independently with plain pandas from the raw file.

- ``occupation_quotidienne``: a Belgian night shelter's daily occupancy export (two sites,
  Windows-1252, a title block, decimal commas, a « Total » line, one impossible night);
- ``liste_nominative_mensuelle``: a By-Name List monthly report by population group (Built for
  Zero style: overlapping groups, UTF-8 with BOM, US month-end dates).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from observatoire.disclosure.aggregates import aggregate_key, aggregate_tables
from observatoire.indicators.aggregates import annual_aggregates
from observatoire.intake.ingest import ingest_network
from observatoire.intake.mapping import load_partners
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.intake.validate import validate_tables

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "tests" / "fixtures" / "foreign"
END = pd.Timestamp("2024-12-31")


def _onboard(name: str):
    """ingest → validate → the year's figures, as the stages do, from the fixture's mapping."""
    base = FOREIGN / name
    partners = load_partners(base / "params" / "partners", ROOT / "params" / "codes")
    res = ingest_network(base / "raw", partners, Pseudonymiser(b"k" * 32), progress=lambda _: None)
    checked = validate_tables(
        res.contacts.assign(person_id=None).iloc[:0],
        res.refusals,
        END,
        None,
        aggregates=res.aggregates,
        tolerance=0.10,
    )["aggregates"]
    bad = checked.set_aside.set_index(["source_file", "source_row"]).index
    clean = res.aggregates[~res.aggregates.set_index(["source_file", "source_row"]).index.isin(bad)]
    return res, checked, clean, annual_aggregates(clean, partners, 2024)


def test_daily_occupancy_export_onboarded_by_mapping_alone():
    res, checked, clean, figures = _onboard("occupation_quotidienne")
    raw_path = FOREIGN / "occupation_quotidienne" / "raw" / "la_traverse" / "occupation_2024.csv"
    # Independent computation: pandas on the raw file, the rules written again by hand.
    raw = pd.read_csv(raw_path, sep=";", encoding="cp1252", skiprows=3, decimal=",", thousands=".")
    raw = raw[raw["Date"] != "Total"]
    offered = raw["Lits disponibles"] + raw["Lits d'hiver"]
    raw = raw[raw["Lits occupés"] <= 1.10 * offered]
    offered = raw["Lits disponibles"] + raw["Lits d'hiver"]
    fig = figures["la_traverse"]
    assert fig["occupancy"]["rate"] == pytest.approx(raw["Lits occupés"].sum() / offered.sum())
    assert fig["whole"]["refusals"] == raw["Refus"].sum()
    assert fig["whole"]["winter_extra_beds"] == raw["Lits d'hiver"].sum()
    for site, rows in raw.groupby("Structure"):
        rate = rows["Lits occupés"].sum() / (rows["Lits disponibles"] + rows["Lits d'hiver"]).sum()
        assert fig["programmes"][site]["occupancy"]["rate"] == pytest.approx(rate)
    # Every row accounted: 732 nights × sites + the total line; one night set aside.
    acc = res.files[0]
    assert (acc.rows_read, acc.rows_quarantined, acc.reasons) == (733, 1, {"ligne_total": 1})
    assert checked.set_aside["reason"].tolist() == ["occupation_excessive"]
    assert int(checked.set_aside["line"].iloc[0]) == 4 + 2 * (31 + 29 + 31 + 30 + 31 + 11) + 1
    assert fig["count_only"] and fig["coverage"]["periods"] == 366
    # Published as counts of things (no threshold), under their own keys.
    tables, _ = aggregate_tables({"year": 2024, "aggregates": figures})
    assert [t.sensitive for t in tables] == [False]
    assert aggregate_key(2024, "la_traverse", "beds_occupied") in set(tables[0].keys.stack())


def test_by_name_list_monthly_report_onboarded_by_mapping_alone():
    res, checked, clean, figures = _onboard("liste_nominative_mensuelle")
    raw_path = (
        FOREIGN
        / "liste_nominative_mensuelle"
        / "raw"
        / "liste_nominative"
        / "bnl_monthly_report.csv"
    )
    raw = pd.read_csv(raw_path, encoding="utf-8-sig")
    raw["month"] = pd.to_datetime(raw["Reporting Month"], format="%m/%d/%Y")
    y2024 = raw[raw["month"].dt.year == 2024]
    everyone = y2024[y2024["Population"].isin(["All Singles", "Families"])]
    december = everyone[everyone["month"] == "2024-12-31"]
    fig = figures["liste_nominative"]
    assert fig["whole"]["actively_homeless"] == december["Actively Homeless"].sum()
    assert fig["whole"]["newly_identified"] == everyone["Newly Identified"].sum()
    assert fig["whole"]["moved_to_housing"] == everyone["Moved to Housing"].sum()
    youth = y2024[(y2024["Population"] == "Youth (18-24)") & (y2024["month"] == "2024-12-31")]
    assert (
        fig["groups"]["jeunes_18_24"]["measures"]["actively_homeless"]
        == (youth["Actively Homeless"].iloc[0])
    )
    assert fig["groups"]["jeunes_18_24"]["role"] == "sous_groupe"
    # The sub-groups are not in the whole: adding them would count youth twice.
    all_rows = y2024[y2024["month"] == "2024-12-31"]["Actively Homeless"].sum()
    assert fig["whole"]["actively_homeless"] < all_rows
    assert checked.set_aside.empty and res.files[0].rows_read == 96
    # Persons: a sensitive table; everyone = the sum of the partition, an identity the audit knows.
    tables, constraints = aggregate_tables({"year": 2024, "aggregates": figures})
    persons = [t for t in tables if t.sensitive]
    assert len(persons) == 1 and list(persons[0].values.columns) == [
        "ensemble",
        "familles",
        "isoles",
        "chronique",
        "jeunes_18_24",
    ]
    ah = aggregate_key(2024, "liste_nominative", "actively_homeless")
    assert any(c.total == ah and len(c.parts) == 2 for c in constraints)
