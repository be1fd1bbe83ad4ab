"""Budget execution of a project: planned vs committed vs spent per line and funder, the
projected year-end, and the lines that drift.

**Records.** ``project_budget`` holds the planned sheet (one row per line and funder, dated the
year's 1 January, ``planned_eur``) and the expense ledger (one row per expense with its current
status: ``committed_eur`` when engaged and not yet paid, ``spent_eur`` when paid; never both for
one expense, so that « committed » is always *committed-not-spent*).

**Projection rule (estimand: what the line will have cost at 31 December, paid or engaged).**
At the closing month ``m`` (the last month of the year with a ledger entry, or a given one)::

    projected = spent to date + committed-not-spent + run-rate × (12 − m)
    run-rate  = engagements (spent + committed) dated in the last k months up to m, divided by k
                (k = ``budget.mois_rythme`` of params/projets.yaml, at most m)

Spent and committed to date are what the line has already cost; the run-rate carries the pace
of *new* engagements of the recent months over the months left. It is compared with the naive
linear projection ``spent to date × 12 / m``, which (a) ignores what is engaged and not yet paid,
and (b) extrapolates the whole year's average (so a line that starts late, or one-off purchases
early in the year, move it by as much as the rest). :func:`backtest_projection` measures both on
a closed year: the projection made at each month against the actual year-end cost.

**Drift.** A line whose projected year-end passes its planned amount by more than
``budget.seuil_derive`` (a share) is flagged ``depassement``; spending on a line with nothing
planned ``hors_budget``; one projected below its planned amount by more than
``budget.seuil_sous_execution``, when that threshold is set, ``sous_execution``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.projects.settings import BudgetParams

__all__ = [
    "BACKTEST_COLUMNS",
    "BUDGET_COLUMNS",
    "RULE",
    "BudgetResult",
    "backtest_projection",
    "budget_execution",
    "closing_month",
]

BUDGET_COLUMNS = ["date", "line", "funder", "planned_eur", "committed_eur", "spent_eur"]
"""The columns of ``project_budget`` this module reads."""

RULE = (
    "Projection de fin d'année = dépensé à ce jour + engagé non payé + rythme des derniers mois "
    "× mois restants (rythme = engagements, payés ou non, des k derniers mois ÷ k). Comparée à "
    "la projection linéaire naïve = dépensé à ce jour × 12 ÷ mois écoulés."
)
BACKTEST_COLUMNS = [
    "year",
    "month_index",
    "final",
    "projected",
    "projected_naive",
    "error",
    "error_naive",
    "relative_error",
    "relative_error_naive",
]
"""``budget_controle.csv``: both projections of a closed year made at months 1 … 11."""
_TOTAL = "total"
_ALL = "(tous)"


@dataclass
class BudgetResult:
    """The year's budget execution (``lines``: one row per level, line and funder)."""

    year: int
    closing_month: int
    lines: pd.DataFrame
    months: pd.DataFrame
    backtest: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BACKTEST_COLUMNS))
    notes: list[str] = field(default_factory=list)

    def execution_by_month(self) -> list[float | None]:
        """The year's cumulative spent share of the total planned, month 1 to 12 (None after
        the closing month or without a planned total)."""
        total = self.lines[self.lines["level"] == _TOTAL]
        planned = float(total["planned"].iloc[0]) if len(total) else 0.0
        out: list[float | None] = [None] * 12
        if planned <= 0:
            return out
        cum = self.months[self.months["line"] == _TOTAL].set_index("month_index")["spent_cum"]
        for month, value in cum.items():
            out[int(month) - 1] = float(value) / planned
        return out

    def summary(self) -> dict[str, Any]:
        """What ``results.json`` says of the budget: totals, rule, drifting lines."""
        total = self.lines[self.lines["level"] == _TOTAL]
        row = total.iloc[0].to_dict() if len(total) else {}
        flagged = self.lines[(self.lines["level"] == "ligne") & self.lines["drift"]]
        return {
            "closing_month": self.closing_month,
            "rule": RULE,
            "planned": row.get("planned"),
            "spent": row.get("spent"),
            "committed": row.get("committed"),
            "projected": row.get("projected"),
            "projected_naive": row.get("projected_naive"),
            "execution": row.get("execution"),
            "drifting_lines": [
                {"line": r.line, "drift_kind": r.drift_kind, "projected_ratio": r.projected_ratio}
                for r in flagged.itertuples()
            ],
            "backtest": _backtest_summary(self.backtest),
            "notes": self.notes,
        }


def _prepare(budget: pd.DataFrame, year: int) -> pd.DataFrame:
    frame = budget.reindex(columns=BUDGET_COLUMNS).copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame = frame[frame["date"].dt.year == year]
    for column in ("planned_eur", "committed_eur", "spent_eur"):
        frame[column] = pd.to_numeric(frame[column]).fillna(0.0).astype("float64")
    frame["line"] = frame["line"].fillna("autre").astype(str)
    frame["funder"] = frame["funder"].fillna("").astype(str).str.strip()
    frame["month"] = frame["date"].dt.month
    return frame


def closing_month(budget: pd.DataFrame, year: int) -> int:
    """The last month of ``year`` with a ledger entry (committed or spent); 0 without any."""
    frame = _prepare(budget, year)
    ledger = frame[(frame["committed_eur"] != 0) | (frame["spent_eur"] != 0)]
    return int(ledger["month"].max()) if len(ledger) else 0


def _project(frame: pd.DataFrame, keys: list[str], m: int, k: int) -> pd.DataFrame:
    """Planned, spent, committed, run-rate and both projections per ``keys`` at month ``m``."""
    to_date = frame[frame["month"] <= m]
    recent = to_date[to_date["month"] > m - k]

    def total(data: pd.DataFrame, column: str) -> pd.Series:
        if keys:
            return data.groupby(keys, dropna=False)[column].sum()
        return pd.Series({_TOTAL: data[column].sum()})

    out = pd.DataFrame(
        {
            "planned": total(frame, "planned_eur"),
            "committed": total(to_date, "committed_eur"),
            "spent": total(to_date, "spent_eur"),
            "recent": total(recent, "committed_eur") + total(recent, "spent_eur"),
        }
    ).fillna(0.0)
    out["engaged"] = out["spent"] + out["committed"]
    out["run_rate"] = out["recent"] / k if k else 0.0
    out["projected"] = out["engaged"] + out["run_rate"] * (12 - m)
    out["projected_naive"] = out["spent"] * 12 / m if m else np.nan
    return out.drop(columns="recent")


def _flag(out: pd.DataFrame, threshold: float, under: float | None) -> pd.DataFrame:
    planned = out["planned"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["execution"] = np.where(planned > 0, out["spent"] / planned, np.nan)
        out["projected_ratio"] = np.where(planned > 0, out["projected"] / planned, np.nan)
        out["projected_naive_ratio"] = np.where(
            planned > 0, out["projected_naive"] / planned, np.nan
        )
    kind = np.select(
        [
            (planned <= 0) & (out["projected"] > 0),
            (planned > 0) & (out["projected_ratio"] > 1 + threshold),
            (planned > 0) & (under is not None) & (out["projected_ratio"] < 1 - (under or 0)),
        ],
        ["hors_budget", "depassement", "sous_execution"],
        default="",
    )
    out["drift_kind"] = kind
    out["drift"] = kind != ""
    return out


def budget_execution(
    budget: pd.DataFrame, year: int, params: BudgetParams, *, as_of_month: int | None = None
) -> BudgetResult:
    """The budget of ``year`` at its closing month (``as_of_month`` or :func:`closing_month`):
    one row per (line, funder), per line, per funder and the total, with the projection of the
    module docstring and the drift flag; cumulative spending per month and line; and the
    backtest of both projections on ``year − 1`` when its ledger runs to December."""
    frame = _prepare(budget, year)
    m = closing_month(budget, year) if as_of_month is None else int(as_of_month)
    notes: list[str] = []
    if frame.empty:
        notes.append(f"Aucune ligne de budget pour {year} : budget non calculé.")
    elif m == 0:
        notes.append(f"Aucune dépense ni engagement en {year} : projection non calculée.")
    elif frame["planned_eur"].sum() <= 0:
        notes.append(f"Aucun montant prévu pour {year} : taux d'exécution non calculés.")
    k = min(params.mois_rythme, m)
    levels = (
        ("ligne_financeur", ["line", "funder"]),
        ("ligne", ["line"]),
        ("financeur", ["funder"]),
        (_TOTAL, []),
    )
    parts = []
    for level, keys in levels:
        out = _project(frame, keys, m, k).reset_index()
        if not keys:
            out = out.drop(columns="index")
        out.insert(0, "level", level)
        for column in ("line", "funder"):
            if column not in out:
                out[column] = _TOTAL if level == _TOTAL else _ALL
        parts.append(out)
    lines = _flag(
        pd.concat(parts, ignore_index=True), params.seuil_derive, params.seuil_sous_execution
    )
    lines = lines[
        [
            "level",
            "line",
            "funder",
            "planned",
            "committed",
            "spent",
            "engaged",
            "run_rate",
            "projected",
            "projected_naive",
            "execution",
            "projected_ratio",
            "projected_naive_ratio",
            "drift",
            "drift_kind",
        ]
    ]
    result = BudgetResult(year, m, lines, _months(frame, year, m), notes=notes)
    previous = _prepare(budget, year - 1)
    if closing_month(budget, year - 1) == 12:
        result.backtest = backtest_projection(budget, year - 1, params)
    elif not previous.empty:
        notes.append(
            f"Le registre de {year - 1} ne va pas jusqu'en décembre : pas de contrôle a "
            "posteriori des projections."
        )
    return result


def _months(frame: pd.DataFrame, year: int, m: int) -> pd.DataFrame:
    """Cumulative spent and engaged per month (1 … m) and line, and the total."""
    rows = []
    lines = sorted(frame["line"].unique())
    for month in range(1, m + 1):
        upto = frame[frame["month"] <= month]
        for line in [*lines, _TOTAL]:
            part = upto if line == _TOTAL else upto[upto["line"] == line]
            whole = frame if line == _TOTAL else frame[frame["line"] == line]
            rows.append(
                {
                    "month": f"{year}-{month:02d}",
                    "month_index": month,
                    "line": line,
                    "planned": float(whole["planned_eur"].sum()),
                    "spent_cum": float(part["spent_eur"].sum()),
                    "engaged_cum": float(part["spent_eur"].sum() + part["committed_eur"].sum()),
                }
            )
    columns = ["month", "month_index", "line", "planned", "spent_cum", "engaged_cum"]
    return pd.DataFrame(rows, columns=columns)


def backtest_projection(budget: pd.DataFrame, year: int, params: BudgetParams) -> pd.DataFrame:
    """Both projections of the year's total made at months 1 … 11 of a closed ``year``,
    against its actual year-end cost (spent + committed at December): absolute and relative
    errors. Status is read as of the ledger's end (an expense paid in May counts as « spent »
    in a projection made in March): a small optimism of both methods alike."""
    frame = _prepare(budget, year)
    final = float(frame["spent_eur"].sum() + frame["committed_eur"].sum())
    rows = []
    k_max = params.mois_rythme
    for m in range(1, 12):
        out = _project(frame, [], m, min(k_max, m)).iloc[0]
        rows.append(
            {
                "year": year,
                "month_index": m,
                "final": final,
                "projected": float(out["projected"]),
                "projected_naive": float(out["projected_naive"]),
            }
        )
    table = pd.DataFrame(rows).reindex(columns=BACKTEST_COLUMNS)
    table["error"] = table["projected"] - final
    table["error_naive"] = table["projected_naive"] - final
    if final > 0:
        table["relative_error"] = table["error"].abs() / final
        table["relative_error_naive"] = table["error_naive"].abs() / final
    return table


def _backtest_summary(table: pd.DataFrame) -> dict[str, Any] | None:
    if table.empty or table["relative_error"].isna().all():
        return None
    return {
        "year": int(table["year"].iloc[0]),
        "mean_relative_error": float(table["relative_error"].mean()),
        "mean_relative_error_naive": float(table["relative_error_naive"].mean()),
        "months": len(table),
    }
