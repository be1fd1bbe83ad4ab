"""The zone counts the maps print, read from the year's ledger (never recounted here).

The ``publication`` stage registered, per plan, the persons met in the street in each zone
(:mod:`observatoire.disclosure.maps`) and decided each cell's status. The maps take the
ledger's cells: a published number, or « < k » for a masked zone — whose value the ledger does
not hold, so no map can print it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.ledger import published_texts
from observatoire.disclosure.maps import zone_key

__all__ = ["ZoneCell", "write_zone_cells", "zone_cells"]


@dataclass(frozen=True)
class ZoneCell:
    zone: str
    key: str
    text: str  # « 241 », « < 5 », « s »
    value: float | None  # None when masked


def zone_cells(ledger: pd.DataFrame, year: int, plan: str, k: int) -> list[ZoneCell]:
    """The published cells of a plan's zones, in zone order (empty when none were published)."""
    prefix = zone_key(year, plan, "")
    cells = published_texts(ledger[ledger["key"].astype(str).str.startswith(prefix)], k)
    return [
        ZoneCell(key.removeprefix(prefix), key, cell.text, cell.value)
        for key, cell in sorted(cells.items())
    ]


def write_zone_cells(cells: list[ZoneCell], path: Path) -> Path:
    """The cells a zones map prints, as published (the value column empty when masked)."""
    frame = pd.DataFrame(
        {
            "zone": [c.zone for c in cells],
            "personnes_rencontrees": [c.text for c in cells],
            "valeur": pd.array([c.value for c in cells], dtype="Float64"),
            "cle": [c.key for c in cells],
        }
    )
    write_safe_csv(frame, path, quote_all=False)
    return path
