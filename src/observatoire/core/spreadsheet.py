"""Cells safe to open in a spreadsheet: formula injection (« CSV injection ») neutralised.

Some files the pipeline writes are opened by people outside the team in Excel or LibreOffice:
the quarantine CSV files sent back to a partner (its own rows, as it typed them), the published
tables and workbook. A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read by a spreadsheet as a formula: a row set aside with ``=HYPERLINK("http://…")`` in
a name column would become a live link (or worse, a DDE command) in the partner's spreadsheet.

**The rule** (OWASP, « CSV Injection »):

- a cell whose text starts with one of these characters gets a leading apostrophe ``'``, which
  a spreadsheet shows as text and does not evaluate;
- OWASP also warns that a separator or a quote inside the cell may start a new cell when the
  file is opened with another delimiter (a Belgian Excel splits on « ; »), bringing a formula
  character to the front of that new cell: a cell holding ``,`` ``;`` ``|`` a tab or a quote
  *followed by* a formula character (spaces allowed between) gets the apostrophe too;
- every field is written between double quotes (``csv.QUOTE_ALL``, quotes inside doubled), so a
  quote-aware reader never splits it.

**Numbers stay numbers.** A cell that is only a number (``-3``, ``+12``, ``-0,5``, ``1e-3``) is
not a formula in any spreadsheet and is left as it is, so a negative age or a count stays
readable and sortable; ``-3+cmd|'/C calc'!A0`` is not a number and is neutralised.

:func:`restore_cell` is the exact inverse on the cells this module changed (the pipeline reads
its own quarantine files back for the quality sheets); a cell written by a partner that already
began with ``'`` followed by a formula character would lose that apostrophe on reading back,
which only changes what an internal sheet prints.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from observatoire.core.storage import atomic_write_bytes

__all__ = [
    "FORMULA_START",
    "neutralise_cell",
    "neutralise_frame",
    "restore_cell",
    "text_cell",
    "write_safe_csv",
]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Characters that make a spreadsheet read a cell as a formula (OWASP)."""
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_INNER = re.compile(r"[,;|\t\"'\r\n] *[=+\-@]")
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r]|.*[,;|\t\"'\r\n] *[=+\-@])", re.DOTALL)


def neutralise_cell(value: object) -> object:
    """``value`` with a leading ``'`` when a spreadsheet could read it as a formula; numbers,
    non-text values and harmless text are returned unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if _NUMBER.match(value.strip()):
        return value
    if value.startswith(FORMULA_START) or _INNER.search(value):
        return "'" + value
    return value


def restore_cell(value: object) -> object:
    """The inverse of :func:`neutralise_cell` (for the pipeline's own reading back)."""
    if isinstance(value, str) and _NEUTRALISED.match(value):
        return value[1:]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell and column label of ``frame`` neutralised (a copy)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def write_safe_csv(frame: pd.DataFrame, path: Path, quote_all: bool = True) -> None:
    """A CSV for people outside the team: cells neutralised, UTF-8, written atomically.

    ``quote_all``: every field between double quotes (the quarantine, whose cells are the
    partner's free text). The published tables (``quote_all=False``) hold numbers, « < k », « s »
    and labels of the pipeline's own: quoted only where needed, so the files stay byte-identical
    as long as no cell needs neutralising."""
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    text = neutralise_frame(frame).to_csv(index=False, lineterminator="\n", quoting=quoting)
    atomic_write_bytes(Path(path), text.encode("utf-8"))


def text_cell(cell: object) -> None:
    """An openpyxl cell holding text that starts with « = » stays text (openpyxl would store it
    as a formula): the workbook's cells are data, never evaluated."""
    if isinstance(getattr(cell, "value", None), str) and cell.value.startswith("="):
        cell.data_type = "s"
