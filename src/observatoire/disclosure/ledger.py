"""One ledger for the year: what the ``publication`` stage decided, read back by every report.

The ``publication`` stage protects every report's tables of the year at once and writes them to
``outputs/tables/<year>/`` with the ledger ``cases_publiees.csv`` (key, status, published value,
tables; never a hidden value). It also writes, for the reports' annexes, the audit of the whole
publication and last year's ledger as the audit held it (``outputs/disclosure/<year>/``,
internal). Report stages never protect anything themselves: they rebuild their tables from
their inputs and take each cell's status from the ledger (:func:`restore`), so a report can
only print what the stage published, and a stale ledger stops the report in French.

Tables of the annual report keep their names and paths; the tables of another report live in a
subfolder named after it (``jeunes-en-errance/``) and the ledger's ``tables`` column names them
with that prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.errors import ObservatoireError, PublicationRefused
from observatoire.core.formatting import french_number
from observatoire.core.storage import write_csv
from observatoire.disclosure.archive import LEDGER
from observatoire.disclosure.suppression import (
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    SECONDARY_LABEL,
    Publication,
)

__all__ = [
    "AUDIT_FILE",
    "LEDGER",
    "PREVIOUS_FILE",
    "STATE_FILE",
    "YOUTH_FOLDER",
    "LedgerError",
    "PublicationState",
    "PublishedCell",
    "ledger_of",
    "published_texts",
    "read_ledger",
    "read_state",
    "write_state",
]

YOUTH_FOLDER = "jeunes-en-errance"
"""Subfolder of ``outputs/tables/<year>/`` holding the youth report's tables."""
AUDIT_FILE = "audit.csv"
PREVIOUS_FILE = "publication_precedente.csv"
STATE_FILE = "etat.json"


class LedgerError(ObservatoireError):
    """The year's publication is missing or no longer matches the reports' inputs."""


def ledger_of(parts: dict[str, Publication]) -> pd.DataFrame:
    """The year's one ledger from each report's publication (``{"": annual, "jeunes-en-errance":
    youth}``): one row per printed key, table names prefixed by their report's folder."""
    frames = []
    for folder, pub in parts.items():
        frame = pub.ledger()
        if folder:
            frame["tables"] = [
                ", ".join(f"{folder}/{t}" for t in names.split(", ") if t)
                for names in frame["tables"]
            ]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    # a key two reports print (the annual report's 18–25 year olds in the youth report) is one
    # number with one status: one row, both reports' tables
    shared = out.groupby("key", sort=True).agg(
        status=("status", "unique"),
        value=("value", lambda v: v.dropna().unique()),
        tables=("tables", lambda t: ", ".join(x for x in t if x)),
    )
    clash = [k for k, r in shared.iterrows() if len(r["status"]) > 1 or len(r["value"]) > 1]
    if clash:
        raise PublicationRefused(
            f"Clés publiées différemment par deux rapports : {', '.join(clash[:5])}."
        )
    return pd.DataFrame(
        {
            "key": shared.index,
            "status": [s[0] for s in shared["status"]],
            "value": pd.array(
                [float(v[0]) if len(v) else None for v in shared["value"]], dtype="Float64"
            ),
            "tables": shared["tables"].to_numpy(),
        }
    )


def read_ledger(tables_dir: Path) -> pd.DataFrame:
    """The ledger written by the ``publication`` stage, or a French error saying what to run."""
    path = tables_dir / LEDGER
    if not path.exists():
        raise LedgerError(
            f"Registre de publication introuvable : {path}. À faire : lancez « dvc repro » (ou "
            "« observatoire publication ») : les rapports impriment ce que l'étape publication "
            "a décidé."
        )
    return pd.read_csv(path, dtype={"key": str, "status": str, "tables": str})


@dataclass(frozen=True)
class PublishedCell:
    """One cell of a ledger as a reader sees it: its text and, when printed, its value."""

    text: str
    value: float | None


def published_texts(ledger: pd.DataFrame, k: int) -> dict[str, PublishedCell]:
    """Every key of a ledger with the text the reports print for it (« < k », « s » or the
    French number), for outputs that print a cell of another report's tables."""
    labels = {PRIMARY: f"< {k}", SECONDARY: SECONDARY_LABEL}
    out = {}
    for row in ledger.itertuples(index=False):
        if row.status == PUBLISHED:
            out[str(row.key)] = PublishedCell(french_number(float(row.value)), float(row.value))
        else:
            out[str(row.key)] = PublishedCell(labels.get(str(row.status), SECONDARY_LABEL), None)
    return out


class LedgerCells:
    """The year's published cells looked up by key, for a report that prints another stage's
    counts: a key the ledger lacks means the ledger is older than the report's inputs, and stops
    the report with a French message naming the stage to rerun (never a KeyError)."""

    def __init__(self, cells: dict[str, PublishedCell], year: int, k: int, stage: str) -> None:
        self.cells, self.year, self.k, self.stage = cells, year, k, stage

    @classmethod
    def of_year(cls, tables_dir: Path, year: int, k: int, stage: str) -> LedgerCells:
        """The ledger of ``tables_dir`` (the ``publication`` stage's tables of ``year``)."""
        return cls(published_texts(read_ledger(tables_dir), k), year, k, stage)

    def cell(self, key: str) -> PublishedCell:
        if key not in self.cells:
            raise LedgerError(
                f"Case « {key} » absente du registre de publication {self.year}. À faire : "
                f"relancez « observatoire publication » après « observatoire {self.stage} »."
            )
        return self.cells[key]

    def has_key(self, key: str) -> bool:
        return key in self.cells


@dataclass(frozen=True)
class PublicationState:
    """What the reports' annexes print about the year's protection (internal files)."""

    audit: pd.DataFrame
    """:func:`~observatoire.disclosure.suppression.audit` of everything published this year,
    against last year's publication."""
    previous: pd.DataFrame | None
    """Last year's ledger as the audit held it (released archive or rebuilt)."""
    previous_released: str | None
    """The archive last year's statuses were read from; None when they were rebuilt."""
    search: dict[str, Any]
    """How each report's secondary pattern was chosen (cells; never persons masked)."""


def write_state(folder: Path, state: PublicationState) -> None:
    write_csv(state.audit, folder / AUDIT_FILE)
    if state.previous is not None:
        write_csv(state.previous, folder / PREVIOUS_FILE)
    (folder / STATE_FILE).write_text(
        json.dumps(
            {"publication_precedente_archivee": state.previous_released, "recherche": state.search},
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )


def read_state(folder: Path) -> PublicationState:
    if not (folder / STATE_FILE).exists():
        raise LedgerError(
            f"Audit de publication introuvable : {folder}. À faire : lancez « dvc repro »."
        )
    meta = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    audit = pd.read_csv(folder / AUDIT_FILE, dtype={"key": str, "status": str})
    prev_path = folder / PREVIOUS_FILE
    previous = (
        pd.read_csv(prev_path, dtype={"key": str, "status": str, "tables": str})
        if prev_path.exists()
        else None
    )
    return PublicationState(
        audit=audit,
        previous=previous,
        previous_released=meta.get("publication_precedente_archivee"),
        search=meta.get("recherche", {}),
    )
