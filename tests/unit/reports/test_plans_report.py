"""The plans' documents: names, person counts from the ledger only, what a plan without data
says, and the templates render to Markdown without an undefined name."""

from __future__ import annotations

import pandas as pd
import pytest

from observatoire.disclosure.ledger import LedgerError, PublishedCell
from observatoire.disclosure.plans import person_key
from observatoire.plans.settings import load_plans
from observatoire.reports.common import report_template
from observatoire.reports.plans.report import (
    bilan_context,
    bilan_stem,
    preparation_context,
    preparation_stem,
)

PLANS = load_plans(__import__("pathlib").Path("params/plans.yaml"))
FRONT = {
    "year": 2024, "organisation": "Relais", "colour_primary": "#000000",
    "colour_secondary": "#111111", "date": "2025-03-31", "version": "test", "logo": "",
}  # fmt: skip


class FakeTexts:
    """The ledger's texts: one small count masked."""

    def __init__(self, cells: dict[str, str]) -> None:
        self.year, self.k = 2024, 5
        self.cells = {k: PublishedCell(v, None) for k, v in cells.items()}
        self.names = {"abri_grand_froid": "Abri Plan Grand Froid « La Bouée »"}

    def person(self, plan: str, plan_year: int, measure: str) -> str:
        key = person_key(self.year, plan, plan_year, measure)
        if key not in self.cells:
            raise LedgerError(key)
        return self.cells[key].text


def test_document_names():
    assert bilan_stem(PLANS.plans["grand_froid"], 2024) == "plan-grand-froid-2023-2024"
    assert bilan_stem(PLANS.plans["canicule"], 2024) == "plan-canicule-2024"
    assert preparation_stem("2025-2026") == "preparation-hiver-2025-2026"


def test_plan_without_data_says_what_it_could_not_compute(tmp_path):
    plan = PLANS.plans["canicule"]
    entry = {"network": None, "earlier": [], "partners": {},
             "effect_network": {"computed": False, "reason": "aucune température"}}  # fmt: skip
    ctx = bilan_context(plan, entry, FakeTexts({}), tmp_path, tmp_path)
    assert ctx["summary"] is None and ctx["comparison"] is None
    assert any("Aucune donnée nominative" in n for n in ctx["notes"])
    assert ctx["effect_not_computed"] == ["Abris du réseau : aucune température"]
    text = report_template("plan-bilan.qmd.j2").render(**FRONT, **ctx, stage_notes=[])
    assert "Ce que ce bilan n'a pas pu calculer" in text and "aucune température" in text
    bilans = {"year": 2024, "preparation": {"computed": False, "reason": "trop peu de mois"}}
    prep = preparation_context(bilans, tmp_path, tmp_path, 0.1)
    assert prep["winter"] == "2025-2026"
    text = report_template("preparation-hiver.qmd.j2").render(**FRONT, **prep, report_year=2024)
    assert "trop peu de mois" in text


def test_persons_printed_as_the_ledger_says(tmp_path):
    plan = PLANS.plans["canicule"]
    row = {"plan": "canicule", "year": 2024, "days": 92, "days_with_data": 92,
           "phase_days": {"veille": 88, "canicule": 4}, "offered": 3680.0, "used": 3000.0,
           "refused": 3.0, "refusal_nights": 1, "demand": 3003.0, "occupancy": 0.815,
           "base_beds": 40.0, "absorbed": 0.0, "mean_temperature": 21.4,
           "persons": 40, "new": 2, "known": 38, "young": 12}  # fmt: skip
    days = pd.date_range("2024-06-01", "2024-08-31")
    pd.DataFrame({"date": days, "phase": "veille", "tmin": 12.0, "tmax": 22.0, "used": 33.0,
                  "refused": 0.0, "beds": 40.0, "demand": 33.0}).to_csv(
        tmp_path / "nuits_canicule.csv", index=False)  # fmt: skip
    texts = (("personnes", "40"), ("nouvelles", "< 5"), ("connues", "s"), ("jeunes", "12"))
    cells = {person_key(2024, "canicule", 2024, m): t for m, t in texts}
    entry = {"network": row, "earlier": [], "partners": {}, "effect_network": {}}
    ctx = bilan_context(plan, entry, FakeTexts(cells), tmp_path, tmp_path / "fig")
    assert "< 5" in ctx["summary"] and "| s |" in ctx["summary"]
    assert "| 2 |" not in ctx["summary"] and "38" not in ctx["summary"]
    assert (tmp_path / "fig" / "canicule-nuits-reseau.csv").exists()
    with pytest.raises(LedgerError):
        bilan_context(plan, entry, FakeTexts({}), tmp_path, tmp_path / "fig")
