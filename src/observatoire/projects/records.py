"""A project's records read from ``data_clean/field/`` (the five project tables of ingest).

The tables are those of :data:`observatoire.core.schema.FIELD_TABLES` (``project_activities``,
``project_attendance``, ``project_followups``, ``project_proposals``, ``project_budget``), all
projects together; a project's rows are those whose ``partner_id`` is its id. A table not yet
written (ingest not run, or no project has that sheet) reads as an empty frame with its
columns, and a French note says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["TABLES", "ProjectRecords", "load_project_records"]

_COMMON = ["partner_id", "submission_id", "form_version", "year", "source_file", "source_row"]
TABLES: dict[str, list[str]] = {
    "project_activities": [
        "date",
        "activity",
        "title",
        "place",
        "partner",
        "duration_hours",
        "activity_id",
        "participants_count",
    ],
    "project_attendance": [
        "activity_id",
        "date",
        "activity",
        "participant_id",
        "role",
        "person_key",
        "tok_surname",
        "tok_first_name",
        "tok_birth_date",
    ],
    "project_followups": [
        "date",
        "participant_id",
        "person_key",
        "team",
        "contact_kind",
        "domain",
        "place",
        "goal_set",
        "goal_reached",
        "note",
    ],
    "project_proposals": ["date", "proposal_id", "theme", "outcome", "outcome_date", "text"],
    "project_budget": ["date", "line", "funder", "planned_eur", "committed_eur", "spent_eur"],
}
"""The canonical columns each table is read with (the contract of the issue's coordination)."""

_DATES = {"date", "outcome_date"}


@dataclass
class ProjectRecords:
    """One project's rows of the five tables (every year present), and the notes of reading."""

    project: str
    activities: pd.DataFrame
    attendance: pd.DataFrame
    followups: pd.DataFrame
    proposals: pd.DataFrame
    budget: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in [*_COMMON, *columns]})


def _read(folder: Path, table: str, project: str, notes: list[str]) -> pd.DataFrame:
    path = Path(folder) / f"{table}.parquet"
    columns = TABLES[table]
    if not path.exists():
        notes.append(f"Table {path} absente : lancez « observatoire ingest ».")
        frame = _empty(columns)
    else:
        frame = pd.read_parquet(path)
        frame = frame[frame["partner_id"] == project] if "partner_id" in frame else frame.iloc[:0]
        frame = frame.reindex(columns=[*_COMMON, *columns])
    frame = frame.copy()
    for column in _DATES & set(frame.columns):
        frame[column] = pd.to_datetime(frame[column])
    return frame.reset_index(drop=True)


def load_project_records(folder: Path, project: str) -> ProjectRecords:
    """The rows of ``project`` in the five project tables of ``folder`` (``data_clean/field``)."""
    notes: list[str] = []
    frames = [
        _read(folder, table, project, notes)
        for table in (
            "project_activities",
            "project_attendance",
            "project_followups",
            "project_proposals",
            "project_budget",
        )
    ]
    return ProjectRecords(project, *frames, notes=notes)
