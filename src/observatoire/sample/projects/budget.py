"""A project's budget workbook (``budget_<Y>.xlsx``): the planned lines (« Budget prévu »:
Ligne | Financeur | Montant prévu) and the expense ledger (« Dépenses »: Date | Ligne |
Financeur | Libellé | Montant | Statut, « payé » or « engagé »)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from observatoire.sample.projects.sheets import Group, TableSheet, team_workbook

__all__ = ["BudgetLine", "budget_file"]

BudgetLine = tuple[str, str, str, float, tuple[str, ...]]
"""(line code, typed line label, funder, planned €, expense labels)."""

GUIDE = (
    "Mode d'emploi – budget",
    "Feuille « Budget prévu » : une ligne par poste et financeur, montant de l'année.",
    "Feuille « Dépenses » : une ligne par dépense ; Statut « payé » (facture payée) ou « engagé » "
    "(commande faite, pas encore payée).",
)


def budget_file(
    project: str,
    year: int,
    lines: list[BudgetLine],
    ratios: dict[str, float],
    rng: np.random.Generator,
    author: str,
) -> tuple[bytes, int, dict]:
    """The workbook, its data rows and the truth per line (planned, spent, committed)."""
    planned_rows: list[list[object] | None] = []
    ledger: list[list[object]] = []
    truth = {}
    for code, label, funder, planned, items in lines:
        planned_rows.append([label, funder, planned])
        target = round(planned * ratios[code], 2)
        monthly = code == "personnel"
        entries = 12 if monthly else int(rng.integers(10, 25))
        if monthly:
            days = [dt.date(year, m, 25) for m in range(1, 13)]
            shares = np.full(12, 1 / 12)
        else:
            doy = np.sort(rng.integers(0, 365, size=entries))
            days = [dt.date(year, 1, 1) + dt.timedelta(days=int(d)) for d in doy]
            shares = rng.dirichlet(np.full(entries, 4.0))
        amounts = np.round(shares * target, 2)
        amounts[-1] = round(target - float(amounts[:-1].sum()), 2)
        committed = 0.0
        for k, (day, amount) in enumerate(zip(days, amounts, strict=True)):
            status = "payé"
            if day.month == 12 and k == len(days) - 1 and not monthly and ratios[code] < 1.05:
                status = "engagé"
                committed += float(amount)
            ledger.append([day, label, funder, str(rng.choice(items)), float(amount), status])
        spent = round(target - committed, 2)
        truth[code] = {
            "label": label,
            "funder": funder,
            "planned_eur": planned,
            "spent_eur": spent,
            "committed_eur": round(committed, 2),
            "ratio_spent_plus_committed": round(target / planned, 4),
        }
    ledger.sort(key=lambda r: (r[0], r[1]))
    sheets = [
        TableSheet(
            "Budget prévu",
            (f"Budget prévu {year}", ""),
            (Group("", ("Ligne", "Financeur", "Montant prévu")),),
            planned_rows,
            widths={1: 24, 2: 34, 3: 16},
        ),
        TableSheet(
            "Dépenses",
            (f"Dépenses {year}", "Une ligne par facture ou commande."),
            (Group("", ("Date", "Ligne", "Financeur", "Libellé", "Montant", "Statut")),),
            list(ledger),
            widths={2: 24, 3: 34, 4: 34},
        ),
    ]
    stamp = dt.datetime(year + 1, 1, 20, 14, 0, 0)
    data = team_workbook(GUIDE, sheets, author, stamp)
    return data, len(planned_rows) + len(ledger), {"project": project, "lines": truth}
