"""Budget: the projection rule recomputed by hand on a planted ledger, the drift flags, and the
rule against the naive linear projection on a closed year."""

from __future__ import annotations

import pytest

from observatoire.projects.budget import backtest_projection, budget_execution, closing_month
from observatoire.projects.settings import BudgetParams
from tests.support.projects_fixtures import budget

PARAMS = BudgetParams(seuil_derive=0.10, seuil_sous_execution=0.10, mois_rythme=3)

LEDGER_2024 = [
    ("2024-01-01", "personnel", "Région", 12000, 0, 0),
    ("2024-01-01", "activites", "Ville", 2000, 0, 0),
    ("2024-01-01", "equipement", "Ville", 3000, 0, 0),
    *[(f"2024-{m:02d}-28", "personnel", "Région", 0, 0, 1000) for m in range(1, 7)],
    ("2024-02-10", "activites", "Ville", 0, 0, 300),
    ("2024-05-10", "activites", "Ville", 0, 0, 500),
    ("2024-06-10", "activites", "Ville", 0, 0, 300),
    ("2024-06-15", "activites", "Ville", 0, 400, 0),  # engaged, not yet paid
    ("2024-01-20", "equipement", "Ville", 0, 0, 2500),  # one purchase in January
    ("2024-03-03", "transport", "Ville", 0, 0, 50),  # nothing planned on this line
]
LEDGER_2023 = [
    ("2023-01-01", "personnel", "Région", 12000, 0, 0),
    ("2023-01-01", "equipement", "Région", 2400, 0, 0),
    ("2023-01-15", "equipement", "Région", 0, 0, 2400),
    *[(f"2023-{m:02d}-28", "personnel", "Région", 0, 0, 1000) for m in range(1, 13)],
]


@pytest.fixture(scope="module")
def result():
    return budget_execution(budget(LEDGER_2023 + LEDGER_2024), 2024, PARAMS)


def _line(result, line: str):
    rows = result.lines[(result.lines["level"] == "ligne") & (result.lines["line"] == line)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_the_projection_rule_on_the_hand_made_ledger(result):
    assert result.closing_month == 6
    act = _line(result, "activites")
    # spent 1 100, committed-not-spent 400; April–June engagements 1 200 → 400 a month × 6
    assert (act["spent"], act["committed"], act["engaged"]) == (1100, 400, 1500)
    assert act["run_rate"] == pytest.approx(400)
    assert act["projected"] == pytest.approx(1500 + 400 * 6)
    assert act["projected_naive"] == pytest.approx(1100 * 12 / 6)
    assert act["execution"] == pytest.approx(1100 / 2000)
    staff = _line(result, "personnel")
    assert staff["projected"] == pytest.approx(12000) and not staff["drift"]
    total = result.lines[result.lines["level"] == "total"].iloc[0]
    assert total["planned"] == 17000
    assert total["projected"] == pytest.approx(10050 + (3000 + 1200) / 3 * 6)
    assert total["projected_naive"] == pytest.approx(9650 * 2)


def test_drift_is_flagged_both_ways_and_off_budget(result):
    # the activities accelerate (× 1.95): the naive projection (× 1.10) would not flag it
    assert _line(result, "activites")["drift_kind"] == "depassement"
    assert _line(result, "activites")["projected_naive_ratio"] == pytest.approx(1.1)
    # one purchase in January: the naive rule doubles it (× 1.67), the run-rate does not
    eq = _line(result, "equipement")
    assert eq["drift_kind"] == "sous_execution" and eq["projected"] == pytest.approx(2500)
    assert eq["projected_naive_ratio"] == pytest.approx(5000 / 3000)
    assert _line(result, "transport")["drift_kind"] == "hors_budget"
    assert [d["line"] for d in result.summary()["drifting_lines"]] == [
        "activites",
        "equipement",
        "transport",
    ]
    # a wider threshold keeps the acceleration flagged but not the purchase (−16.7 %)
    wide = BudgetParams(seuil_derive=0.2, seuil_sous_execution=0.2)
    wide_result = budget_execution(budget(LEDGER_2024), 2024, wide)
    assert (
        _line(wide_result, "activites")["drift"] and not _line(wide_result, "equipement")["drift"]
    )
    # by default an under-execution is not flagged (lines commonly close at 85–95 %)
    default = budget_execution(budget(LEDGER_2024), 2024, BudgetParams())
    assert _line(default, "equipement")["drift_kind"] == ""
    assert _line(default, "activites")["drift_kind"] == "depassement"


def test_a_line_spending_steadily_above_plan_is_flagged_from_the_first_months():
    """The sample's planted drift: a line spending at 1.25 × its plan at a steady pace all
    year, the others at 0.82–0.98: only it is flagged, already in March, ratio ≈ 1.25."""
    rows = [
        ("2024-01-01", "transport", "Ville", 2400, 0, 0),
        ("2024-01-01", "personnel", "Région", 12000, 0, 0),
    ]
    for m in range(1, 13):
        rows += [
            (f"2024-{m:02d}-12", "transport", "Ville", 0, 0, 250),
            (f"2024-{m:02d}-25", "personnel", "Région", 0, 0, 850),
        ]
    ledger = budget(rows)
    for month in (3, 6, 12):
        result = budget_execution(ledger, 2024, BudgetParams(), as_of_month=month)
        assert _line(result, "transport")["projected_ratio"] == pytest.approx(1.25)
        assert [d["line"] for d in result.summary()["drifting_lines"]] == ["transport"]


def test_levels_per_funder_and_monthly_cumulative(result):
    lines = result.lines
    pairs = lines[lines["level"] == "ligne_financeur"]
    assert set(zip(pairs["line"], pairs["funder"], strict=True)) >= {("personnel", "Région")}
    ville = lines[(lines["level"] == "financeur") & (lines["funder"] == "Ville")].iloc[0]
    assert ville["spent"] == 1100 + 2500 + 50
    months = result.months[result.months["line"] == "total"]
    assert months["month"].tolist() == [f"2024-{m:02d}" for m in range(1, 7)]
    assert months["spent_cum"].tolist() == [3500, 4800, 5850, 6850, 8350, 9650]
    assert result.execution_by_month()[5] == pytest.approx(9650 / 17000)
    assert result.execution_by_month()[6:] == [None] * 6
    assert closing_month(budget(LEDGER_2024), 2023) == 0


def test_backtest_on_the_closed_year_favours_the_rule():
    table = backtest_projection(budget(LEDGER_2023), 2023, PARAMS)
    assert len(table) == 11 and (table["final"] == 14400).all()
    june = table[table["month_index"] == 6].iloc[0]
    assert june["projected"] == pytest.approx(14400) and june["projected_naive"] == 16800
    assert table["relative_error"].mean() < table["relative_error_naive"].mean()
    summary = budget_execution(budget(LEDGER_2023 + LEDGER_2024), 2024, PARAMS).summary()
    assert summary["backtest"]["year"] == 2023


def test_no_budget_says_why():
    empty = budget_execution(budget([]), 2024, PARAMS)
    assert empty.notes and "Aucune ligne de budget" in empty.notes[0]
    assert empty.execution_by_month() == [None] * 12
