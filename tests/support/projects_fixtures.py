"""Tiny hand-made project tables (the five ``project_*`` tables) with planted answers, for the
tests of ``observatoire.projects`` until the synthetic sample has its projects."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from observatoire.core.storage import write_parquet
from observatoire.projects.records import TABLES, ProjectRecords
from observatoire.projects.settings import ProjectsSettings, projects_from_mapping

__all__ = [
    "PROJECT",
    "activities",
    "attendance",
    "budget",
    "planted_records",
    "proposals",
    "settings",
    "write_field_tables",
]

PROJECT = "affiliation_hf"


def _frame(table: str, rows: list[dict], project: str = PROJECT) -> pd.DataFrame:
    frame = pd.DataFrame(rows).reindex(columns=TABLES[table])
    for column in ("date", "outcome_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    frame.insert(0, "partner_id", project)
    frame["submission_id"] = [f"s{i}" for i in range(len(frame))]
    frame["form_version"] = ""
    frame["year"] = frame["date"].dt.year if len(frame) else pd.Series(dtype="int64")
    frame["source_file"] = f"{project}/{table}.xlsx"
    frame["source_row"] = range(1, len(frame) + 1)
    return frame


def activities(rows: list[tuple[str, str]], project: str = PROJECT) -> pd.DataFrame:
    """``(date, activity)`` pairs → sessions with the ingest's default ``activity_id``."""
    return _frame(
        "project_activities",
        [{"date": d, "activity": a, "title": a, "activity_id": f"{d}|{a}|1"} for d, a in rows],
        project,
    )


def attendance(rows: list[tuple[str, str, str, str]], project: str = PROJECT) -> pd.DataFrame:
    """``(date, activity, participant, role)`` → attendance rows of the session of that day."""
    return _frame(
        "project_attendance",
        [
            {
                "activity_id": f"{d}|{a}|1",
                "date": d,
                "activity": a,
                "participant_id": p,
                "role": r,
                "person_key": "",
                "tok_surname": "",
                "tok_first_name": "",
                "tok_birth_date": "",
            }
            for d, a, p, r in rows
        ],
        project,
    )


def proposals(rows: list[tuple[str, str, str, str | None]], project: str = PROJECT) -> pd.DataFrame:
    """``(council date, theme, outcome, outcome date)`` → proposals."""
    return _frame(
        "project_proposals",
        [
            {"date": d, "proposal_id": f"P{i}", "theme": t, "outcome": o, "outcome_date": od}
            for i, (d, t, o, od) in enumerate(rows)
        ],
        project,
    )


def budget(rows: list[tuple[str, str, str, float, float, float]], project: str = PROJECT):
    """``(date, line, funder, planned, committed, spent)`` → budget rows."""
    keys = ["date", "line", "funder", "planned_eur", "committed_eur", "spent_eur"]
    return _frame("project_budget", [dict(zip(keys, r, strict=True)) for r in rows], project)


def planted_records() -> ProjectRecords:
    """A year 2024 of the affiliation project: a monthly sport session (Jan–Dec) and a council
    from March (10 sessions); tenants L1…L4 come every month, L5 only in January,
    L6 from October; a worker comes to everything (not a participant). Proposals: 3 made in
    2024, 2 realised (one in June, one in November). The budget is planned 12 000 on
    « personnel » and 2 000 on « activites »; see the budget tests for the ledger."""
    days = [f"2024-{m:02d}-05" for m in range(1, 13)]
    councils = [f"2024-{m:02d}-20" for m in range(3, 13)]
    acts = activities([(d, "sport") for d in days] + [(d, "conseil") for d in councils])
    rows = []
    for d in days:
        month = int(d[5:7])
        tenants = ["L1", "L2", "L3", "L4"] + (["L5"] if month == 1 else [])
        tenants += ["L6"] if month >= 10 else []
        rows += [(d, "sport", t, "locataire") for t in tenants] + [
            (d, "sport", "W1", "travailleur")
        ]
    for d in councils:
        rows += [(d, "conseil", t, "locataire") for t in ("L1", "L2", "L3")]
    props = proposals(
        [
            ("2024-03-20", "activite", "realisee", "2024-06-10"),
            ("2024-04-20", "cadre_de_vie", "realisee", "2024-11-02"),
            ("2024-05-20", "reglement", "refusee", None),
            ("2023-12-20", "activite", "realisee", "2024-01-15"),  # made in 2023: not counted
        ]
    )
    empty = _frame("project_followups", [])
    ledger = budget(
        [
            ("2024-01-01", "personnel", "Région", 12000, 0, 0),
            ("2024-01-01", "activites", "Ville", 2000, 0, 0),
        ]
    )
    return ProjectRecords(PROJECT, acts, attendance(rows), empty, props, ledger)


def settings(objectives: list[dict] | None = None) -> ProjectsSettings:
    """The affiliation project's settings with the given 2024 objectives."""
    return projects_from_mapping(
        {
            "projets": {
                PROJECT: {
                    "label": "Affiliation sociale",
                    "type": "affiliation",
                    "partenaire_logement": "housing_first",
                    "conseil": {"activite": "conseil", "debut": "2024-03"},
                    "activites": {"conseil": "Conseil", "sport": "Sport", "culture": "Culture"},
                    "objectifs": {2024: objectives or []},
                    "budget": {"seuil_derive": 0.1, "mois_rythme": 3},
                }
            }
        }
    )


def write_field_tables(records: ProjectRecords, folder: Path) -> None:
    """The records as ``data_clean/field/<table>.parquet`` files (as ingest writes them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in (
        ("project_activities", records.activities),
        ("project_attendance", records.attendance),
        ("project_followups", records.followups),
        ("project_proposals", records.proposals),
        ("project_budget", records.budget),
    ):
        write_parquet(frame.astype({"source_file": "str"}), folder / f"{table}.parquet")
