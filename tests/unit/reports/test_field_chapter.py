"""The annual report's « Relevés de terrain » chapter prints what the ledger decided and says
« plus » / « moins » only when the instrument's own test established it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd

from observatoire.core.schema import STREET_PROBLEMS
from observatoire.disclosure.barometre import count_key
from observatoire.disclosure.diagnostic import diagnosis_key
from observatoire.disclosure.ledger import PublishedCell
from observatoire.disclosure.relais import relais_key
from observatoire.reports.annual.chapters import field

Y = 2024


def _cells(values: dict[str, float | None]) -> dict[str, PublishedCell]:
    return {
        k: PublishedCell(str(int(v)), float(v)) if v is not None else PublishedCell("< 5", None)
        for k, v in values.items()
    }


def _data(cells):
    return SimpleNamespace(year=Y, k=5, published=cells)


def test_nothing_transmitted_means_no_section(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert field.context(_data({})) == {
        "field_records": {"barometer": None, "diagnosis": None, "relays": None}
    }


def test_masked_cells_are_printed_as_decided_and_changes_not_computed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cells = _cells(
        {
            count_key(Y, "services", "total", "2024"): 120,
            count_key(Y, "services", "total", "2023"): 100,
            count_key(Y, "types", "sexuelle", "2024"): 6,
            count_key(Y, "types", "sexuelle", "2023"): None,
            relais_key(Y, Y, "total", None, "prestations"): 50,
            relais_key(Y, Y - 1, "total", None, "prestations"): None,
        }
    )
    ctx = field.context(_data(cells))["field_records"]
    b = ctx["barometer"]
    assert b["total"] == {"cur": "120", "prev": "100", "change": "+20,0\u202f%"}
    sexual = next(r for r in b["types"] if r["label"] == "violence sexuelle")
    assert sexual["prev"] == "< 5" and sexual["change"] == "non calculée"
    assert b["trend"] is None  # no model result on disk: nothing printed
    assert ctx["relays"]["services"]["change"] == "non calculée"
    assert ctx["diagnosis"] is None


def test_plus_and_moins_only_when_established(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "outputs/field/diagnostic" / str(Y)
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "zone": ["ensemble"] * 3 + ["Gare"],
            "family": ["problemes"] * 4,
            "code": ["deal", "hygiene", "violence", "deal"],
            "verdict": ["plus", "stable", "moins", "plus"],
        }
    ).to_csv(folder / "codes_evolution.csv", index=False)
    model = {
        "zones": {
            "Gare": {"computed": True, "rr": 1.8, "ci95": [1.3, 2.5]},
            "Parc": {"computed": True, "rr": 1.1, "ci95": [0.8, 1.5]},
        }
    }
    (folder / "diagnostic.json").write_text(json.dumps({"young_model": model}))
    cells = _cells(
        {
            diagnosis_key(Y, "ensemble", Y, "personnes"): 300,
            diagnosis_key(Y, "ensemble", Y - 1, "personnes"): 250,
        }
    )
    d = field.context(_data(cells))["field_records"]["diagnosis"]
    assert d["changes"] == {
        "plus": [STREET_PROBLEMS["deal"]],
        "moins": [STREET_PROBLEMS["violence"]],
    }
    assert [z["zone"] for z in d["young_zones"]] == ["Gare"]  # Parc's interval holds 1
