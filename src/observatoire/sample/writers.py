"""Byte-reproducible writing of CSV and XLSX exports, and staged output folders.

Same parameters must give the same bytes (the pipeline hashes raw files, and DVC caches them).
CSV is deterministic as long as we write strings; XLSX is a zip whose entries carry the time
they were written and whose docProps/core.xml carries creation and modification times: both
are pinned to a date derived from the data year.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from observatoire.core.storage import TEMP_PREFIX, pin_zip_times, temp_dir
from observatoire.sample.exports import CsvFormat, ExportFile, XlsxFormat

__all__ = ["export_stamp", "staged_directory", "write_csv", "write_export", "write_xlsx"]


def export_stamp(year: int) -> dt.datetime:
    """The fixed time stamped into a year's workbook: its extraction, 15 January of year + 1."""
    return dt.datetime(year + 1, 1, 15, 9, 0, 0)


def write_csv(table: pd.DataFrame, path: Path, fmt: CsvFormat) -> None:
    """Write text columns with the partner's encoding, delimiter and line endings.

    Encoding errors are not replaced: a name Windows-1252 cannot store must fail loudly here.
    """
    table.to_csv(
        path,
        sep=fmt.delimiter,
        index=False,
        encoding=fmt.encoding,
        lineterminator=fmt.line_terminator,
    )


def write_xlsx(table: pd.DataFrame, path: Path, fmt: XlsxFormat, year: int) -> None:
    """Write a workbook with a title block, the header on ``fmt.header_row`` and date cells."""
    wb = Workbook()
    ws = wb.active
    ws.title = fmt.sheet
    bold = Font(bold=True)
    for row, text in enumerate(fmt.title, start=1):
        if text:
            ws.cell(row=row, column=1, value=text).font = bold
    if fmt.title and fmt.title[0]:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(table.columns))
    for col, label in enumerate(table.columns, start=1):
        ws.cell(row=fmt.header_row, column=col, value=label).font = bold
        ws.column_dimensions[get_column_letter(col)].width = max(12, len(label) + 4)
    for r, values in enumerate(table.itertuples(index=False), start=fmt.header_row + 1):
        for col, value in enumerate(values, start=1):
            if value is None or value == "":
                continue
            cell = ws.cell(row=r, column=col, value=value)
            if isinstance(value, dt.date):
                cell.number_format = "DD/MM/YYYY"
    stamp = export_stamp(year)
    wb.properties.creator = "Export logiciel partenaire"
    wb.properties.lastModifiedBy = "Export logiciel partenaire"
    wb.properties.created = stamp
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(pin_zip_times(buffer.getvalue(), stamp))


def write_export(file: ExportFile, root: Path) -> Path:
    """Write one export under ``root`` at its relative path."""
    path = root / file.relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(file.fmt, XlsxFormat):
        write_xlsx(file.table, path, file.fmt, file.year)
    else:
        write_csv(file.table, path, file.fmt)
    return path


@contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """Yield a fresh sibling folder; on success it replaces ``final``, on error it is removed.

    A crash therefore never leaves a half-written sample in place looking complete. Leftovers
    of an earlier crash are cleared first.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f"{TEMP_PREFIX}*-{final.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = temp_dir(final.parent, final.name)
    # mkdtemp creates an owner-only folder; recreate it with the usual permissions (umask).
    staging.rmdir()
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
