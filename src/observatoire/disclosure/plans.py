"""The seasonal plans' counts of persons as an audited publication.

Why: the bilans of the Plan Grand Froid and of the Plan Canicule print, for the report year's
plan and every earlier plan of the data, the persons sheltered during the plan's window, the
*new* ones, the *known* ones and the *young* ones (18–25). A small count there (three young
people in a summer) points at persons, and « new = persons − known » lets a reader recompute a
masked cell from two printed ones. So each count is a :class:`CountTable` cell with a quantity
key ``plans|<report year>|<plan>|<plan year>|<measure>`` (``measure``: ``personnes``,
``nouvelles``, ``connues``, ``jeunes``), the identity ``personnes = nouvelles + connues`` is
declared to the protection, and the ``publication`` stage protects and audits them with
everything else the year publishes. The reports print the ledger's text (« < k », « s » or the
number), never a raw count.

Not persons, printed as they are (they count nights, beds, refusals or visits, not people) but
written beside the persons as CSV (:func:`write_plan_tables`): nights offered and used,
refusals and nights with a refusal, phase days, what the extra beds absorbed, street-work rounds
and distributions, the count-only partners' returns, the beds needed and their back-test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.suppression import (
    DEFAULT_BUDGET,
    Budget,
    Constraint,
    CountTable,
    Publication,
    protect,
)

__all__ = [
    "MEASURES",
    "PLANS_FOLDER",
    "PREFIX",
    "build_plan_tables",
    "person_key",
    "publish_plans",
    "read_bilans",
    "table_name",
    "write_plan_tables",
]

PREFIX = "plans"
PLANS_FOLDER = "plans-saisonniers"
"""Subfolder of ``outputs/tables/<year>/`` holding the plans' tables."""
MEASURES = {
    "persons": ("personnes", "Personnes hébergées"),
    "new": ("nouvelles", "Nouvelles"),
    "known": ("connues", "Déjà connues"),
    "young": ("jeunes", "Jeunes (18–25 ans)"),
}
"""Field of ``bilans.json`` → (key part, column title)."""
NIGHT_COLUMNS = {
    "year": "annee",
    "days": "jours",
    "days_with_data": "jours_avec_donnees",
    "offered": "nuits_offertes",
    "used": "nuits_occupees",
    "occupancy": "taux_occupation",
    "refused": "refus",
    "refusal_nights": "nuits_avec_refus",
    "demand": "demande",
    "base_beds": "lits_de_base",
    "absorbed": "nuits_absorbees_par_les_lits_du_plan",
    "mean_temperature": "temperature_moyenne",
}
"""Non-person totals of a plan's window written beside the persons (French column names)."""


def person_key(year: int, plan: str, plan_year: int, measure: str) -> str:
    """``plans|2024|grand_froid|2024|nouvelles``: new persons of the winter 2023-2024 as the
    report 2024 publishes them."""
    return f"{PREFIX}|{year}|{plan}|{plan_year}|{measure}"


def table_name(plan: str) -> str:
    return f"personnes_{plan}"


def read_bilans(plans_dir: Path) -> dict[str, Any] | None:
    """``bilans.json`` of the ``plans`` stage, or None when the stage has not run."""
    path = Path(plans_dir) / "bilans.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _rows(entry: dict[str, Any]) -> list[dict[str, Any]]:
    rows = list(entry.get("earlier") or [])
    if entry.get("network"):
        rows.append(entry["network"])
    return [r for r in rows if r.get("days_with_data")]


def build_plan_tables(
    bilans: dict[str, Any], year: int
) -> tuple[list[CountTable], list[Constraint]]:
    """One table per plan: one row per plan year of the data (« 2023-2024 »), the persons,
    new, known and young; and the identities persons = new + known."""
    tables, constraints = [], []
    for pid, entry in bilans.get("plans", {}).items():
        rows = _rows(entry)
        if not rows:
            continue
        index = [_plan_year_label(entry, r["year"]) for r in rows]
        values = pd.DataFrame(
            {title: [float(r[f]) for r in rows] for f, (_, title) in MEASURES.items()},
            index=pd.Index(index, name="Plan"),
        )
        keys = pd.DataFrame(
            {
                title: [person_key(year, pid, int(r["year"]), part) for r in rows]
                for f, (part, title) in MEASURES.items()
            },
            index=values.index,
        )
        tables.append(
            CountTable(
                name=table_name(pid),
                title=f"Personnes hébergées pendant le {entry['name']}",
                values=values,
                keys=keys,
            )
        )
        for r in rows:
            y = int(r["year"])
            constraints.append(
                Constraint(
                    person_key(year, pid, y, "personnes"),
                    (person_key(year, pid, y, "nouvelles"), person_key(year, pid, y, "connues")),
                )
            )
    return tables, constraints


def _plan_year_label(entry: dict[str, Any], plan_year: int) -> str:
    return f"{plan_year - 1}-{plan_year}" if entry.get("season") == "hiver" else str(plan_year)


def publish_plans(
    plans_dir: Path, year: int, k: int, budget: Budget = DEFAULT_BUDGET
) -> Publication | None:
    """Protect the plans' person counts (primary and audited secondary suppression), or None
    when the ``plans`` stage wrote nothing for the year or no plan had person-level data."""
    bilans = read_bilans(plans_dir)
    if bilans is None:
        return None
    tables, constraints = build_plan_tables(bilans, year)
    if not tables:
        return None
    return protect(tables, k, constraints, budget=budget)


def write_plan_tables(pub: Publication | None, plans_dir: Path, folder: Path) -> list[Path]:
    """The persons as published (« < k » for a small count) and, beside them, each plan's
    non-person totals year by year (``nuits_<plan>.csv``) and the preparation note's beds
    (``besoins_lits.csv``, ``backtest_lits.csv``)."""
    folder = Path(folder)
    written: list[Path] = []
    for table in pub.tables if pub is not None else []:
        frame = pub.text(table).reset_index(names="Plan")
        written.append(folder / f"{table.name}.csv")
        write_safe_csv(frame, written[-1], quote_all=False)
    bilans = read_bilans(plans_dir) or {}
    for pid, entry in bilans.get("plans", {}).items():
        rows = _rows(entry)
        if not rows:
            continue
        frame = pd.DataFrame([{v: r.get(k) for k, v in NIGHT_COLUMNS.items()} for r in rows])
        frame.insert(0, "plan", [_plan_year_label(entry, int(y)) for y in frame["annee"]])
        for phase, _ in (rows[-1].get("phase_days") or {}).items():
            frame[f"jours_{phase}"] = [r.get("phase_days", {}).get(phase) for r in rows]
        written.append(folder / f"nuits_{pid}.csv")
        write_safe_csv(frame.drop(columns="annee"), written[-1], quote_all=False)
    for name in ("besoins_lits.csv", "backtest_lits.csv"):
        src = Path(plans_dir) / name
        if src.exists():
            written.append(folder / name)
            write_safe_csv(pd.read_csv(src), written[-1], quote_all=False)
    return written
