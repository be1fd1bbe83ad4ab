"""Shared pieces of the field-records generators: output files, ids and dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from observatoire.sample.fieldwork.kobo import KoboForm, Submission, kobo_workbook, submission_meta

__all__ = ["FIELD_YEARS", "FieldFile", "at", "kobo_file", "new_submission", "number_submissions"]

FIELD_YEARS = (2023, 2024)
"""The years of field records in the sample (the forms changed version between them)."""


@dataclass(frozen=True)
class FieldFile:
    """One written file of the field part: path under the sample folder, bytes, data rows."""

    relative_path: str
    data: bytes
    export: str  # partner/export, as the mapping names it
    year: int
    rows: int


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute)


def number_submissions(subs: list[Submission], first_id: int, rng: np.random.Generator) -> None:
    """Kobo's ``_id``: increasing with the submission time (other projects' forms in between)."""
    subs.sort(key=lambda s: (s.meta["_submission_time"], s.meta["_uuid"]))
    current = first_id
    for sub in subs:
        current += 1 + int(rng.integers(0, 400))
        sub.meta["_id"] = current


def kobo_file(
    relative_path: str, export: str, year: int, form: KoboForm, subs: list[Submission]
) -> FieldFile:
    stamp = dt.datetime(year + 1, 1, 15, 9, 0, 0)
    return FieldFile(relative_path, kobo_workbook(form, subs, stamp), export, year, len(subs))


def new_submission(
    rng: np.random.Generator,
    answers: dict[str, object],
    filled: dt.datetime,
    minutes: float,
    account: str,
) -> Submission:
    head, meta = submission_meta(rng, filled, minutes, account)
    return Submission({**head, **answers}, meta)
