"""KoboToolbox-style XLSX exports of the synthetic field forms.

Kobo's « XLS » export with « XML values and headers », « include groups in headers » and the
group separator ``/`` writes one sheet named after the form: ``start``, ``end``, ``today``,
``deviceid``, then each question under its group path (``incident/date``), a select_multiple
answer as one column of space-separated XML values followed by one 0/1 column per option
(``incident/types/verbale``), then the submission metadata (``_id``, ``_uuid``,
``_submission_time``, ``_validation_status``, ``_notes``, ``_status``, ``_submitted_by``,
``__version__``, ``_tags``, ``_index``). A repeat group is a further sheet named after it, its
rows pointing at their parent by ``_parent_index`` and ``_submission__uuid``. Dates are written
``2024-03-15``, times ``22:40:00.000+01:00``, datetimes ``2024-03-15T22:40:00.000+01:00``
(Brussels time, summer time included); an empty answer is an empty cell.

The workbook is byte-reproducible: zip entries and document properties carry a fixed stamp.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from openpyxl import Workbook

from observatoire.core.forms import FORMS
from observatoire.core.storage import pin_zip_times

__all__ = [
    "METADATA",
    "REPEAT_METADATA",
    "KoboForm",
    "Question",
    "Submission",
    "brussels_offset",
    "kobo_date",
    "kobo_datetime",
    "kobo_form",
    "kobo_time",
    "kobo_workbook",
    "submission_meta",
]

METADATA = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
)
REPEAT_METADATA = (
    "_index",
    "_parent_table_name",
    "_parent_index",
    "_submission__id",
    "_submission__uuid",
    "_submission__submission_time",
    "_submission__validation_status",
    "_submission__notes",
    "_submission__status",
    "_submission__submitted_by",
    "_submission___version__",
    "_submission__tags",
)


@dataclass(frozen=True)
class Question:
    """One exported question: its group path, its kind and (select) its XML values in order."""

    path: str
    kind: str  # date, time, integer, decimal, text, select_one, select_multiple, calculate
    choices: tuple[str, ...] = ()

    def headers(self) -> list[str]:
        if self.kind == "select_multiple":
            return [self.path, *(f"{self.path}/{c}" for c in self.choices)]
        return [self.path]

    def cells(self, value: object) -> list[object]:
        if self.kind == "select_multiple":
            chosen = list(value or [])
            unknown = set(chosen) - set(self.choices)
            if unknown:
                raise ValueError(f"{self.path}: valeurs hors du formulaire {sorted(unknown)}")
            ordered = [c for c in self.choices if c in chosen]
            return [" ".join(ordered) or None, *(int(c in chosen) for c in self.choices)]
        if self.kind == "select_one" and value not in (None, "") and value not in self.choices:
            raise ValueError(f"{self.path}: valeur hors du formulaire {value!r}")
        return [None if value == "" else value]


@dataclass(frozen=True)
class KoboForm:
    """A deployed version of a form: its sheet name, version id and exported questions."""

    name: str
    version: str
    questions: tuple[Question, ...]
    repeat: str = ""
    repeat_questions: tuple[Question, ...] = ()


@dataclass
class Submission:
    """One submission: the answers by path, the metadata, and its repeat rows (if any)."""

    answers: dict[str, object]
    meta: dict[str, object]
    repeats: list[dict[str, object]] = field(default_factory=list)


def kobo_form(form_id: str, version: str) -> KoboForm:
    """The exported questions of the committed form ``form_id`` (``core.forms.FORMS``): its
    group paths, kinds and choice names, so the sample's exports follow the shipped forms."""
    form = FORMS[form_id]
    main: list[Question] = []
    repeat: list[Question] = []
    repeat_name, stack, in_repeat = "", [], False
    for q in form.survey:
        words = q.type.split()
        head = words[0]
        if head in ("begin_group", "begin_repeat"):
            stack.append(q.name)
            if head == "begin_repeat":
                repeat_name, in_repeat = q.name, True
        elif head in ("end_group", "end_repeat"):
            stack.pop()
            in_repeat = in_repeat and head != "end_repeat"
        elif head not in ("note", "start", "end", "today", "deviceid"):
            choices = tuple(form.choices[words[1]]) if head.startswith("select") else ()
            target = repeat if in_repeat else main
            target.append(Question("/".join([*stack, q.name]), head, choices))
    return KoboForm(form_id, version, tuple(main), repeat_name, tuple(repeat))


def brussels_offset(moment: dt.datetime) -> str:
    """``+01:00`` or ``+02:00``: Belgian summer time runs from the last Sunday of March to the
    last Sunday of October (the hour of the switch is irrelevant at the scale of a form)."""

    def last_sunday(month: int) -> dt.date:
        last = dt.date(moment.year, month, 31)
        return last - dt.timedelta(days=(last.weekday() + 1) % 7)

    summer = last_sunday(3) <= moment.date() < last_sunday(10)
    return "+02:00" if summer else "+01:00"


def kobo_date(day: dt.date) -> str:
    return day.strftime("%Y-%m-%d")


def kobo_time(moment: dt.datetime) -> str:
    return f"{moment:%H:%M:%S}.000{brussels_offset(moment)}"


def kobo_datetime(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}{brussels_offset(moment)}"


def submission_meta(
    rng: np.random.Generator,
    filled: dt.datetime,
    minutes: float,
    account: str,
    *,
    web_share: float = 0.15,
) -> tuple[dict[str, object], dict[str, object]]:
    """``start``/``end``/``today``/``deviceid`` and the server metadata of one submission
    filled at ``filled`` (local time) in ``minutes``; phones send when back on a network."""
    start = filled.replace(microsecond=int(rng.integers(0, 1000)) * 1000)
    end = start + dt.timedelta(seconds=float(minutes) * 60 + int(rng.integers(0, 60)))
    sent = end + dt.timedelta(minutes=float(rng.exponential(90.0)))
    utc = sent - dt.timedelta(hours=2 if brussels_offset(sent) == "+02:00" else 1)
    web = rng.random() < web_share
    token = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789"), 16))
    head = {
        "start": kobo_datetime(start),
        "end": kobo_datetime(end),
        "today": kobo_date(start.date()),
        "deviceid": f"ee.kobotoolbox.org:{token}" if web else f"collect:{token.upper()}",
    }
    meta = {
        "_uuid": str(uuid.UUID(bytes=rng.bytes(16), version=4)),
        "_submission_time": f"{utc:%Y-%m-%dT%H:%M:%S}",
        "_validation_status": "validation_status_approved" if rng.random() < 0.3 else None,
        "_notes": None,
        "_status": "submitted_via_web",
        "_submitted_by": account,
        "_tags": None,
    }
    return head, meta


def _sheet_rows(
    questions: Sequence[Question], answers: Sequence[dict[str, object]]
) -> tuple[list[str], list[list[object]]]:
    headers = [h for q in questions for h in q.headers()]
    rows = [[c for q in questions for c in q.cells(a.get(q.path))] for a in answers]
    return headers, rows


def kobo_workbook(form: KoboForm, submissions: Sequence[Submission], stamp: dt.datetime) -> bytes:
    """The export workbook of ``submissions`` (in order; ``_index`` counts from 1)."""
    wb = Workbook()
    ws = wb.active
    ws.title = form.name
    head = ("start", "end", "today", "deviceid")
    q_headers, q_rows = _sheet_rows(form.questions, [s.answers for s in submissions])
    ws.append([*head, *q_headers, *METADATA])
    for index, (sub, cells) in enumerate(zip(submissions, q_rows, strict=True), start=1):
        meta = {**sub.meta, "__version__": form.version, "_index": index}
        ws.append([*(sub.answers.get(h) for h in head), *cells, *(meta.get(m) for m in METADATA)])
    if form.repeat:
        rs = wb.create_sheet(form.repeat)
        r_headers, _ = _sheet_rows(form.repeat_questions, [])
        rs.append([*r_headers, *REPEAT_METADATA])
        k = 0
        for parent, sub in enumerate(submissions, start=1):
            _, cells = _sheet_rows(form.repeat_questions, sub.repeats)
            for row in cells:
                k += 1
                meta = sub.meta
                rs.append(
                    [
                        *row,
                        k,
                        form.name,
                        parent,
                        meta["_id"],
                        meta["_uuid"],
                        meta["_submission_time"],
                        meta.get("_validation_status"),
                        None,
                        meta["_status"],
                        meta["_submitted_by"],
                        form.version,
                        None,
                    ]
                )
    wb.properties.creator = "KoboToolbox"
    wb.properties.lastModifiedBy = "KoboToolbox"
    wb.properties.created = stamp
    buffer = io.BytesIO()
    wb.save(buffer)
    return pin_zip_times(buffer.getvalue(), stamp)
