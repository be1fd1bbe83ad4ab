"""Workbooks as project teams keep them: a « Mode d'emploi » sheet, one sheet per month named
freely, a title block, a two-row header whose top cells are merged over their columns, dates as
Excel dates, and the odd empty row. Byte-reproducible like the Kobo exports."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from observatoire.core.storage import pin_zip_times

__all__ = [
    "MONTHS_FR",
    "Group",
    "TableSheet",
    "month_sheet_name",
    "team_workbook",
]

MONTHS_FR = (
    "Janvier", "Février", "Mars", "Avril", "Mai", "Juin",
    "Juillet", "Août", "Septembre", "Octobre", "Novembre", "Décembre",
)  # fmt: skip
_SHORT = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip

HEADER_ROW = 3
"""The first header row (1-based; a second one follows when a group has a top cell); rows 1–2
hold the title block."""


def month_sheet_name(year: int, month: int, style: str) -> str:
    """A month sheet's name as a team types it: « Janvier », « févr. 2024 », « 2024-03 »."""
    if style == "long":
        return MONTHS_FR[month - 1]
    if style == "short":
        return f"{_SHORT[month - 1]} {year}"
    return f"{year}-{month:02d}"


@dataclass(frozen=True)
class Group:
    """A top header cell (merged over its columns; "" = no top) and the bottom labels."""

    top: str
    columns: tuple[str, ...]


@dataclass
class TableSheet:
    """One sheet: title rows, grouped two-row header, data rows (``None`` = an empty row)."""

    name: str
    title: tuple[str, str]
    groups: Sequence[Group]
    rows: list[list[object] | None] = field(default_factory=list)
    date_format: str = "DD/MM/YYYY"
    widths: dict[int, float] = field(default_factory=dict)


def _write_table(ws: Worksheet, sheet: TableSheet) -> None:
    bold = Font(bold=True)
    ws.cell(row=1, column=1, value=sheet.title[0]).font = Font(bold=True, size=13)
    if sheet.title[1]:
        ws.cell(row=2, column=1, value=sheet.title[1]).font = Font(italic=True)
    two_rows = any(group.top for group in sheet.groups)
    label_row = HEADER_ROW + 1 if two_rows else HEADER_ROW
    col = 1
    for group in sheet.groups:
        n = len(group.columns)
        if group.top:
            top = ws.cell(row=HEADER_ROW, column=col, value=group.top)
            top.font = bold
            top.alignment = Alignment(horizontal="center")
            if n > 1:
                ws.merge_cells(
                    start_row=HEADER_ROW,
                    start_column=col,
                    end_row=HEADER_ROW,
                    end_column=col + n - 1,
                )
        for k, label in enumerate(group.columns):
            ws.cell(row=label_row, column=col + k, value=label).font = bold
        col += n
    r = label_row + 1
    for row in sheet.rows:
        if row is not None:
            for c, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, dt.date):
                    cell.number_format = sheet.date_format
        r += 1
    for c, width in sheet.widths.items():
        ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = width


def team_workbook(
    instructions: Sequence[str],
    sheets: Sequence[TableSheet | tuple[str, object]],
    author: str,
    stamp: dt.datetime,
) -> bytes:
    """The workbook: « Mode d'emploi » first, then each sheet. A sheet given as ``(name,
    writer)`` is drawn by ``writer(ws)`` (the attendance grids)."""
    wb = Workbook()
    guide = wb.active
    guide.title = "Mode d'emploi"
    guide.column_dimensions["A"].width = 110
    for k, line in enumerate(instructions, start=1):
        cell = guide.cell(row=k, column=1, value=line)
        if k == 1:
            cell.font = Font(bold=True, size=13)
    for sheet in sheets:
        if isinstance(sheet, TableSheet):
            _write_table(wb.create_sheet(sheet.name), sheet)
        else:
            name, writer = sheet
            writer(wb.create_sheet(name))  # type: ignore[operator]
    wb.properties.creator = author
    wb.properties.lastModifiedBy = author
    wb.properties.created = stamp
    buffer = io.BytesIO()
    wb.save(buffer)
    return pin_zip_times(buffer.getvalue(), stamp)
