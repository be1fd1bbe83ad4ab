"""Reading partner files exactly as their software wrote them.

Nothing is guessed: the encoding, delimiter and header line come from the partner's mapping.
A file that cannot be decoded in its declared encoding is rejected with the line of the first
bad byte; it is never silently "repaired" with replacement characters.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.config.settings import ReadLimits
from observatoire.core.errors import ExportRejected
from observatoire.core.storage import sha256_file
from observatoire.intake.mapping import FileFormat
from observatoire.intake.rawscan import (
    BrokenRecord,
    SheetScan,
    check_file_size,
    column_letters,
    scan_delimited,
    scan_workbook,
    sniff_format,
)

__all__ = [
    "ENCODING_NAMES",
    "EXCEL_EPOCH",
    "RESERVED_COLUMNS",
    "SINGLE_BYTE_CODECS",
    "GRID_COLUMNS",
    "WORKBOOKS_KEPT",
    "forget_workbooks",
    "RawTable",
    "grid_table",
    "is_blank",
    "map_unique",
    "parse_dates",
    "parse_decimals",
    "parse_integers",
    "read_csv_export",
    "read_export",
    "read_ods_export",
    "read_xlsx_export",
    "workbook_sheets",
]

ENCODING_NAMES = {"utf-8": "UTF-8", "utf8": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}


@dataclass
class RawTable:
    """The data rows of one file, as text (CSV) or native cell values (XLSX).

    ``rows`` has one column per header label, plus ``source_row`` (1-based data row after the
    header, the row number the ground truth and the quarantine use) and ``line`` (the line or
    spreadsheet row number the partner sees in their own file).
    """

    header: list[str]
    rows: pd.DataFrame
    counted_lines: list[int] | None = None
    """First lines of the records the independent scan of the raw file counted
    (:mod:`observatoire.intake.rawscan`), to reconcile with the rows read."""
    issues: list[tuple[int, str, str]] = dataclass_field(default_factory=list)
    """Rows the reader already knows are broken: (source_row, reason code, column label)."""
    notes: list[str] = dataclass_field(default_factory=list)
    """French remarks about the file itself (a workbook with macros…)."""
    grid_lines: list[int] | None = None
    """For a grid of marks (``format.grid``), whose rows are its marked cells: the lines of the
    persons' rows the reader read, to reconcile with the independent scan's count."""
    absent_marks: int | None = None
    """For a grid of marks: the declared absence marks it holds (not rows; counted)."""


def absence_note(n: int) -> str:
    """The note of a grid holding ``n`` declared absence marks (French)."""
    return f"{n} marque(s) d'absence dans la grille (non comptées comme présences)."


SINGLE_BYTE_CODECS = {"cp1252", "iso8859-1", "iso8859-15"}
"""Codecs that decode any byte (almost): a UTF-8 file read with them would be silently garbled."""


def _check_text_bytes(data: bytes, encoding: str, partner_id: str, name: str) -> None:
    """Reject bytes that are not a text export in the declared encoding, with a useful reason.

    Single-byte codecs accept nearly anything, so a UTF-8 file (partner changed software) or an
    Excel « Texte Unicode » (UTF-16) file would otherwise be read as mojibake without a word.
    """
    label = ENCODING_NAMES.get(encoding.lower(), encoding)
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise ExportRejected(
            partner_id,
            name,
            "le fichier est un classeur (Excel ou OpenDocument), pas un fichier texte CSV.",
            f"demandez au partenaire l'export CSV habituel ({label}), ou corrigez `type:` dans "
            f"params/partners/{partner_id}.yaml si le partenaire envoie désormais un classeur.",
        )
    nul = data.count(b"\x00")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or nul > max(8, len(data) // 100):
        # UTF-16 puts a NUL beside every ASCII character; a stray NUL byte or two in a text
        # file is a damaged cell, set aside with its row (reason ``caractere_nul``).
        at = data.find(b"\x00")
        line = data[: max(at, 0)].count(b"\n") + 1
        raise ExportRejected(
            partner_id,
            name,
            f"le fichier n'est pas un texte en {label} : il est en UTF-16 (« Texte Unicode » "
            f"d'Excel) ou binaire (octet nul à la ligne {line}).",
            f"demandez au partenaire d'enregistrer le fichier en CSV {label}, pas en « Texte "
            "Unicode ».",
        )
    try:
        single_byte = codecs.lookup(encoding).name in SINGLE_BYTE_CODECS
    except LookupError:
        return  # reported by _decode
    if single_byte and not data.isascii():
        try:
            data.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            return
        raise ExportRejected(
            partner_id,
            name,
            f"le fichier est encodé en UTF-8 alors que la correspondance déclare {label} : "
            "les accents seraient mal lus (« Ã© » au lieu de « é »).",
            f"demandez au partenaire de réexporter le fichier en {label}, ou, s'il a changé de "
            f"logiciel, mettez `encoding: utf-8` dans params/partners/{partner_id}.yaml.",
        )


def _decode(data: bytes, encoding: str, partner_id: str, name: str) -> str:
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    _check_text_bytes(data, encoding, partner_id, name)
    try:
        return data.decode(codec, errors="strict")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        label = ENCODING_NAMES.get(encoding.lower(), encoding)
        raise ExportRejected(
            partner_id,
            name,
            f"le fichier n'est pas lisible en {label} (octet 0x{data[exc.start]:02x} "
            f"à la ligne {line}).",
            f"demandez au partenaire de réexporter le fichier en {label}, ou corrigez "
            f"l'encodage déclaré dans params/partners/{partner_id}.yaml.",
        ) from None
    except LookupError:
        raise ExportRejected(
            partner_id,
            name,
            f"encodage « {encoding} » inconnu.",
            f"corrigez `encoding:` dans params/partners/{partner_id}.yaml "
            "(utf-8, cp1252, latin-1).",
        ) from None


def _csv_codec(encoding: str) -> str:
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def _csv_records(text: str, delimiter: str, first_line: int):
    """(first line, last line, cells) of each record of ``text``, whose first line is
    ``first_line`` of the file. A quoted field may span lines: the record is located at its first
    line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    try:
        for row in reader:
            line, end = end + 1, reader.line_num
            yield first_line + line - 1, first_line + end - 1, row
    except csv.Error as exc:  # the scan refuses what the csv module cannot read: a safety net
        raise _CsvStructure(first_line + reader.line_num - 1, str(exc)) from None


class _CsvStructure(Exception):
    def __init__(self, line: int, detail: str) -> None:
        self.line, self.detail = line, detail


def read_csv_export(
    path: Path, fmt: FileFormat, partner_id: str, name: str, limits: ReadLimits | None = None
) -> RawTable:
    """Read a delimited text export, keeping every cell as text.

    The raw bytes are scanned first (:func:`observatoire.intake.rawscan.scan_delimited`): limits,
    and records whose quote never closes (or closes lines later around whole records). Such a
    record is one row set aside (``guillemet_non_ferme``), and reading starts again on the line
    after the quote, so the rows after it are read as they are, never packed into one cell.
    """
    limits = limits or ReadLimits()
    check_file_size(path, limits, partner_id, name)
    data = path.read_bytes()
    text = _decode(data, fmt.encoding, partner_id, name)  # checks the bytes and the encoding
    first = text.split("\n", fmt.header_row)[: fmt.header_row]
    scan = scan_delimited(
        data,
        fmt.delimiter,
        _csv_codec(fmt.encoding),
        fmt.header_row,
        limits,
        partner_id,
        name,
        labels=[h.strip(' "\r') for h in first[-1].split(fmt.delimiter)] if first else None,
    )
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_cell_chars + 1))
    if scan.broken:  # the text between broken records, each read on its own
        pieces: list[tuple[int, str] | BrokenRecord] = []
        pos, line = 0, 1
        for broken in scan.broken:
            pieces.append((line, _decode_part(data, pos, broken.start, fmt.encoding)))
            pieces.append(broken)
            pos, line = broken.resume, broken.quote_line + 1
        pieces.append((line, _decode_part(data, pos, len(data), fmt.encoding)))
    else:
        pieces = [(1, text)]
    del text
    header: list[str] | None = None
    header_text = first[-1] if len(first) == fmt.header_row else ""
    records: list[list[str]] = []
    lines: list[int] = []
    source_rows: list[int] = []
    issues: list[tuple[int, str, str]] = []
    data_index = 0
    try:
        for piece in pieces:
            if isinstance(piece, BrokenRecord):
                data_index += 1
                cells = _broken_cells(data, piece, fmt)
                records.append(cells)
                lines.append(piece.first_line)
                source_rows.append(data_index)
                issues.append((data_index, "guillemet_non_ferme", str(piece.field)))
                continue
            first_line, part = piece
            for line, end, row in _csv_records(part, fmt.delimiter, first_line):
                if header is None:
                    if end < fmt.header_row:
                        continue
                    header = [h.strip() for h in row]
                    continue
                data_index += 1
                if not any(cell.strip() for cell in row):
                    continue  # blank line: nothing to account for
                records.append(row)
                lines.append(line)
                source_rows.append(data_index)
    except _CsvStructure as exc:
        raise ExportRejected(
            partner_id,
            name,
            f"structure CSV illisible à la ligne {exc.line}.",
            "demandez au partenaire de réexporter le fichier depuis son logiciel ; vérifiez "
            "le séparateur déclaré dans le fichier de correspondance.",
        ) from None
    if header is None or not any(header):
        raise ExportRejected(
            partner_id,
            name,
            f"aucune ligne d'en-tête trouvée (attendue à la ligne {fmt.header_row}).",
            "vérifiez que le fichier n'est pas vide et que `header_row` est correct.",
        )
    if len(header) == 1 and fmt.delimiter not in header_text:
        raise ExportRejected(
            partner_id,
            name,
            f"l'en-tête ne contient pas le séparateur déclaré ({fmt.delimiter!r}).",
            "demandez le format habituel au partenaire ou corrigez `delimiter:` dans sa "
            "correspondance.",
        )
    width = len(header)
    labels = _unique(header)
    issues = [(row, reason, labels[min(int(col), width - 1)]) for row, reason, col in issues]
    padded = [(r + [""] * width)[:width] for r in records]
    frame = pd.DataFrame(padded, columns=labels, dtype=object)
    frame["source_row"] = source_rows
    frame["line"] = lines
    if b"\x00" in data:
        issues += _nul_cells(frame, labels)
    return RawTable(header=header, rows=frame, counted_lines=scan.record_lines, issues=issues)


def _decode_part(data: bytes, start: int, end: int, encoding: str) -> str:
    codec = _csv_codec(encoding) if start == 0 else encoding
    return data[start:end].decode(codec, errors="strict")


def _broken_cells(data: bytes, broken: BrokenRecord, fmt: FileFormat) -> list[str]:
    """The lines of a broken record, split at every delimiter (quotes ignored), for the
    quarantine the partner receives: what they see in a text editor."""
    text = _decode_part(data, broken.start, broken.resume, fmt.encoding)
    return [cell.strip() for cell in " ".join(text.splitlines()).split(fmt.delimiter)]


def _nul_cells(frame: pd.DataFrame, labels: list[str]) -> list[tuple[int, str, str]]:
    """Rows holding a NUL character (a damaged cell): set aside, located at their column."""
    out: list[tuple[int, str, str]] = []
    for label in labels:
        has = frame[label].astype(str).str.contains("\x00", regex=False)
        for row in frame.loc[has, "source_row"]:
            out.append((int(row), "caractere_nul", label))
    seen: set[int] = set()
    return [x for x in out if not (x[0] in seen or seen.add(x[0]))]


def read_xlsx_export(
    path: Path,
    fmt: FileFormat,
    partner_id: str,
    name: str,
    scan: SheetScan | None = None,
) -> RawTable:
    """Read an Excel export with a title block above the header; cells keep their native type.

    The workbook is opened in full (not read-only) mode because only that mode exposes merged
    cells, needed for two-level headers; :func:`read_export` has checked its uncompressed size
    and its sheet's extent against ``ingest.limits`` first. Macros (``.xlsm``) are never loaded
    nor run: only the cells' stored values are read.
    """
    try:
        wb = _full_workbook(path)
    except Exception as exc:  # openpyxl raises many types for a corrupt or non-xlsx file
        raise ExportRejected(
            partner_id,
            name,
            f"classeur Excel illisible ({type(exc).__name__}).",
            "ouvrez-le dans Excel ou LibreOffice et réenregistrez-le au format .xlsx.",
        ) from None
    try:
        if fmt.sheet:
            _require_sheet(fmt.sheet, wb.sheetnames, partner_id, name)
            ws = wb[fmt.sheet]
        else:
            ws = wb.worksheets[0]
        if fmt.header_rows > 1:
            return _two_row_table(ws, fmt, partner_id, name, scan)
        # A label merged down from a row above the header row (two-level header) names its column.
        merged = {
            rng.min_col - 1: ws.cell(rng.min_row, rng.min_col).value
            for rng in ws.merged_cells.ranges
            if rng.min_row < fmt.header_row <= rng.max_row
        }
        return _sheet_table(ws.iter_rows(values_only=True), fmt, partner_id, name, merged, scan)
    except ExportRejected:
        raise
    except Exception as exc:  # e.g. the declared sheet is a chart sheet, or a damaged sheet
        raise ExportRejected(
            partner_id,
            name,
            f"feuille de calcul illisible ({type(exc).__name__}).",
            "ouvrez le classeur dans Excel ou LibreOffice et réenregistrez-le.",
        ) from None


WORKBOOKS_KEPT = 2
"""Workbooks :func:`read_xlsx_export` keeps loaded (the most recently read ones)."""
_workbooks: OrderedDict[str, object] = OrderedDict()


def _full_workbook(path: Path):
    """The workbook at ``path`` loaded in full mode (cell values only), kept for the next read.

    openpyxl's full mode parses every sheet of the workbook on load, and a project workbook has
    one sheet per month, each read as its own export: loading it once per sheet cost most of
    the ingest. The last :data:`WORKBOOKS_KEPT` workbooks are kept, keyed by the SHA-256 of the
    file's bytes (a file rewritten in place is loaded again), never beyond the process, and
    dropped by :func:`forget_workbooks`. The readers only read them: iterating fills absent
    cells inside the sheet's extent with blanks, which reads the same next time.
    """
    from openpyxl import load_workbook

    key = sha256_file(path)
    wb = _workbooks.pop(key, None)
    if wb is None:
        wb = load_workbook(path, data_only=True)
    _workbooks[key] = wb
    while len(_workbooks) > WORKBOOKS_KEPT:
        _workbooks.popitem(last=False)
    return wb


def forget_workbooks() -> None:
    """Drop the workbooks kept by :func:`read_xlsx_export` (their memory)."""
    _workbooks.clear()


def _two_row_table(
    ws, fmt: FileFormat, partner_id: str, name: str, scan: SheetScan | None
) -> RawTable:
    """A sheet whose header spans ``fmt.header_rows`` lines from ``fmt.header_row``: each merged
    cell's value spread over the cells it covers, a column named « Haut / Bas » (« Haut » alone
    when the bottom is blank or the same, « Bas » alone when the top is blank); a grid of marks
    (``fmt.grid``) becomes one row per marked cell (:func:`grid_table`)."""
    top_line, bottom_line = fmt.header_row, fmt.data_row
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    width = max((len(r) for r in rows), default=0)
    head = {
        line: (list(rows[line - 1]) + [None] * width)[:width]
        if line <= len(rows)
        else [None] * width
        for line in range(top_line, bottom_line + 1)
    }
    for rng in ws.merged_cells.ranges:
        value = ws.cell(rng.min_row, rng.min_col).value
        for line in range(max(rng.min_row, top_line), min(rng.max_row, bottom_line) + 1):
            for col in range(rng.min_col, min(rng.max_col, width) + 1):
                head[line][col - 1] = value
    tops, bottoms = head[top_line], head[bottom_line]
    labels = []
    for top, bottom in zip(tops, bottoms, strict=True):
        t = "" if is_blank(top) else _header_text(top)
        b = "" if is_blank(bottom) else _header_text(bottom)
        labels.append(t if not b or b == t else (b if not t else f"{t} / {b}"))
    flat = replace(fmt, header_row=bottom_line)
    table = _sheet_table(rows, flat, partner_id, name, scan=scan, header=labels)
    if fmt.grid is None:
        return table
    return grid_table(table, tops, bottoms, fmt, partner_id, name)


def _header_text(value: object) -> str:
    """A header cell as a label: a date cell as « aaaa-mm-jj »."""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


GRID_COLUMNS = ("@top", "@bottom", "@mark", "@session", "@cell")
"""Columns a grid's cell rows add: the session's header top and bottom (native values), the
mark, the session's column number and letter."""


def grid_table(
    table: RawTable,
    tops: list[object],
    bottoms: list[object],
    fmt: FileFormat,
    partner_id: str,
    name: str,
) -> RawTable:
    """A grid of marks as one row per non-blank session cell (a presence, or an unknown mark
    set aside: ``marque_inconnue``); blank cells are nothing, declared absences are counted in
    a note. The persons' columns (``grid.row_columns``) are copied on each row; ``source_row``
    numbers the cells (1, 2… in reading order), ``line`` is the person's line."""
    from observatoire.intake.mapping import normalise_label

    grid = fmt.grid
    by_norm = {normalise_label(h): i for i, h in enumerate(table.header) if h}
    missing = [c for c in grid.row_columns if normalise_label(c) not in by_norm]
    if missing:
        # none found: the header lines are perhaps data lines (names): never echo them
        present = (
            f"Colonnes présentes : {', '.join(h for h in table.header if h)}."
            if len(missing) < len(grid.row_columns)
            else f"Aucune n'est reconnue aux lignes {fmt.header_row} et {fmt.data_row} (leur "
            "contenu n'est pas affiché : il peut contenir des données personnelles)."
        )
        raise ExportRejected(
            partner_id,
            name,
            "colonne(s) de la personne absente(s) de la grille : "
            + ", ".join(f"« {c} »" for c in missing)
            + f". {present}",
            "corrigez grid.row_columns dans la correspondance, ou demandez à l'équipe de "
            "remettre ces colonnes.",
        )
    person_cols = [by_norm[normalise_label(c)] for c in grid.row_columns]
    ignored = {normalise_label(c) for c in grid.ignore}
    labels = list(table.rows.columns[: len(table.header)])
    sessions = [
        i
        for i, h in enumerate(table.header)
        if h
        and i not in person_cols
        and normalise_label(h) not in ignored
        and not normalise_label(h).startswith("total")
    ]
    out: list[list[object]] = []
    lines: list[int] = []
    issues: list[tuple[int, str, str]] = []
    absent = 0
    person_issues: dict[int, list[tuple[str, str]]] = {}
    for source_row, reason, label in table.issues:
        person_issues.setdefault(int(source_row), []).append((reason, label))
    values = table.rows[labels].to_numpy(dtype=object)
    for k, (row_no, line) in enumerate(
        zip(table.rows["source_row"], table.rows["line"], strict=True)
    ):
        cells = values[k]
        person = [cells[i] for i in person_cols]
        for i in sessions:
            v = cells[i]
            if is_blank(v):
                continue
            if grid.is_absent(v):
                absent += 1
                continue
            session = f"{table.header[i]}"
            out.append([*person, tops[i], bottoms[i], v, i + 1, column_letters(i)])
            lines.append(int(line))
            n = len(out)
            for reason, label in person_issues.get(int(row_no), []):
                issues.append((n, reason, label))
            if not grid.is_mark(v):
                issues.append((n, "marque_inconnue", f"{session} (marque « {str(v)[:20]} »)"))
    columns = [labels[i] for i in person_cols] + list(GRID_COLUMNS)
    frame = pd.DataFrame(out, columns=columns, dtype=object)
    frame["source_row"] = range(1, len(out) + 1)
    frame["line"] = lines
    notes = list(table.notes)
    if absent:
        notes.append(absence_note(absent))
    return RawTable(
        header=columns,
        rows=frame,
        counted_lines=table.counted_lines,
        issues=issues,
        notes=notes,
        grid_lines=[int(x) for x in table.rows["line"]],
        absent_marks=absent,
    )


def workbook_sheets(path: Path, fmt: FileFormat, partner_id: str, name: str) -> list[str]:
    """The sheets of a workbook a multi-sheet export reads (``format.sheets`` minus
    ``skip_sheets``), in the workbook's order; refused when none is selected."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True)
        names = list(wb.sheetnames)
        wb.close()
    except Exception as exc:  # a damaged workbook: said in the reader's terms
        raise ExportRejected(
            partner_id,
            name,
            f"classeur Excel illisible ({type(exc).__name__}).",
            "ouvrez-le dans Excel ou LibreOffice et réenregistrez-le au format .xlsx.",
        ) from None
    chosen = [n for n in names if fmt.selects(n)]
    if not chosen:
        raise ExportRejected(
            partner_id,
            name,
            f"aucune feuille ne correspond à sheets: « {fmt.sheets} » (feuilles : "
            f"{', '.join(names)}).",
            "corrigez sheets: ou skip_sheets: dans la correspondance, ou renommez les feuilles.",
        )
    return chosen


def read_ods_export(
    path: Path,
    fmt: FileFormat,
    partner_id: str,
    name: str,
    scan: SheetScan | None = None,
) -> RawTable:
    """Read an OpenDocument spreadsheet (LibreOffice); same layout rules as an Excel export."""
    try:
        with pd.ExcelFile(path, engine="odf") as book:
            sheets = [str(s) for s in book.sheet_names]
            if fmt.sheet:
                _require_sheet(fmt.sheet, sheets, partner_id, name)
            grid = book.parse(fmt.sheet or 0, header=None, dtype=object)
    except ExportRejected:
        raise
    except Exception as exc:  # odfpy and zipfile raise many types for a corrupt file
        raise ExportRejected(
            partner_id,
            name,
            f"classeur OpenDocument illisible ({type(exc).__name__}).",
            "ouvrez-le dans LibreOffice et réenregistrez-le au format .ods.",
        ) from None
    cells = grid.astype(object).where(grid.notna(), None).values.tolist()
    return _sheet_table(cells, fmt, partner_id, name, scan=scan)


def _require_sheet(sheet: str, sheets: list[str], partner_id: str, name: str) -> None:
    if sheet not in sheets:
        raise ExportRejected(
            partner_id,
            name,
            f"la feuille « {sheet} » est absente (feuilles : {', '.join(sheets)}).",
            "renommez la feuille ou corrigez `sheet:` dans la correspondance.",
        )


def _sheet_table(
    sheet_rows: Iterable[Sequence[object]],
    fmt: FileFormat,
    partner_id: str,
    name: str,
    merged_labels: dict[int, object] | None = None,
    scan: SheetScan | None = None,
    header: list[str] | None = None,
) -> RawTable:
    """Header and data rows of a spreadsheet; blank rows are skipped but keep their number.

    ``merged_labels`` (column index → label) fills header cells left blank by a vertical merge.
    ``scan`` (the streamed read of the same sheet) gives the formula cells without a cached
    value: their row is kept even when it looks blank, and set aside (``formule_sans_valeur``).
    """
    formula_rows: dict[int, list[int]] = {}
    for r, c in scan.formula_cells if scan else ():
        formula_rows.setdefault(r, []).append(c)
    given = header
    header = None
    records: list[list[object]] = []
    lines: list[int] = []
    source_rows: list[int] = []
    for line, row in enumerate(sheet_rows, start=1):
        if line < fmt.header_row:
            continue
        if line == fmt.header_row:
            header = (
                given if given is not None else ["" if is_blank(v) else str(v).strip() for v in row]
            )
            for col, label in (merged_labels or {}).items():
                if col < len(header) and not header[col] and not is_blank(label):
                    header[col] = str(label).strip()
            continue
        if all(is_blank(v) for v in row) and line not in formula_rows:
            continue
        records.append(list(row))
        lines.append(line)
        source_rows.append(line - fmt.header_row)
    if not header or not any(header):
        raise ExportRejected(
            partner_id,
            name,
            f"aucune ligne d'en-tête à la ligne {fmt.header_row}.",
            "vérifiez `header_row:` dans la correspondance (la ligne des titres de colonnes).",
        )
    width = len(header)
    labels = _unique(header)
    padded = [(list(r) + [None] * width)[:width] for r in records]
    frame = pd.DataFrame(padded, columns=labels, dtype=object)
    frame["source_row"] = source_rows
    frame["line"] = lines
    issues = [
        (
            r - fmt.header_row,
            "formule_sans_valeur",
            labels[cols[0]] if cols[0] < width else column_letters(cols[0]),
        )
        for r, cols in sorted(formula_rows.items())
    ]
    return RawTable(
        header=header,
        rows=frame,
        counted_lines=scan.row_lines if scan is not None else None,
        issues=issues,
    )


_KIND_LABELS = {
    "xlsx": "un classeur Excel (.xlsx)",
    "xlsm": "un classeur Excel avec macros (.xlsm)",
    "ods": "un classeur OpenDocument (.ods, LibreOffice)",
    "ole": "un ancien classeur Excel 97–2003 (.xls) ou un classeur protégé par mot de passe",
    "zip": "une archive zip qui n'est pas un classeur",
    "text": "un fichier texte (CSV ?)",
    "empty": "un fichier vide (0 octet)",
}


def _workbook_kind(path: Path, fmt: FileFormat, partner_id: str, name: str) -> tuple[str, list]:
    """The file's real format, from its bytes; refuse one that is not the declared kind."""
    kind = sniff_format(path)
    expected = fmt.type
    if kind == "damaged":
        return kind, []
    if kind == expected or (kind == "xlsm" and expected == "xlsx"):
        notes = []
        if kind == "xlsm":
            notes.append(
                "le classeur contient des macros (VBA) : elles n'ont été ni chargées ni "
                "exécutées, seules les valeurs enregistrées des cellules sont lues. Demandez au "
                "partenaire un classeur .xlsx ordinaire (sans macros) pour les prochains envois "
                "et ne l'ouvrez pas en activant les macros."
            )
        return kind, notes
    if kind in ("xlsx", "xlsm", "ods") and expected in ("xlsx", "ods"):
        real = "ods" if kind == "ods" else "xlsx"
        action = (
            "demandez au partenaire de l'enregistrer au format attendu "
            f"({_KIND_LABELS[expected]}), ou, s'il envoie désormais ce format, mettez "
            f"`type: {real}` (et l'extension des fichiers dans `files:`) dans "
            f"params/partners/{partner_id}.yaml."
        )
    elif kind == "ole":
        action = (
            "ouvrez-le dans Excel ou LibreOffice (en retirant le mot de passe s'il y en a un) "
            f"et enregistrez-le au format attendu ({_KIND_LABELS[expected]})."
        )
    else:
        action = (
            f"demandez au partenaire le fichier au format attendu ({_KIND_LABELS[expected]}) ; "
            "un fichier renommé ne change pas de format."
        )
    raise ExportRejected(
        partner_id,
        name,
        f"le fichier est {_KIND_LABELS[kind]}, pas {_KIND_LABELS[expected]} comme le déclare "
        "la correspondance (reconnu d'après son contenu, pas son nom).",
        action,
    )


def read_export(
    path: Path,
    fmt: FileFormat,
    partner_id: str,
    name: str,
    limits: ReadLimits | None = None,
) -> RawTable:
    """Read one export in its declared format, after checking its sizes against ``limits``
    (``ingest.limits``) and, for a workbook, its real format."""
    if not path.exists():
        raise ExportRejected(
            partner_id, name, "fichier introuvable.", "vérifiez le chemin et le nom du fichier."
        )
    limits = limits or ReadLimits()
    if fmt.type not in ("xlsx", "ods"):
        return read_csv_export(path, fmt, partner_id, name, limits)
    check_file_size(path, limits, partner_id, name)
    _, notes = _workbook_kind(path, fmt, partner_id, name)
    try:
        scan = scan_workbook(path, fmt.type, fmt.sheet, fmt.data_row, limits, partner_id, name)
    except ExportRejected:
        raise
    except Exception:  # a damaged archive or sheet: the reader says so in its own terms
        scan = None
    reader = read_xlsx_export if fmt.type == "xlsx" else read_ods_export
    table = reader(path, fmt, partner_id, name, scan)
    table.notes.extend(notes)
    return table


RESERVED_COLUMNS = frozenset(
    {"source_row", "line", "partner_id", "source_file", "reason", "column"}
)
"""Names the reader and the quarantine add to the rows: a partner column never takes them."""


def _unique(labels: list[str]) -> list[str]:
    """Make header labels unique (a blank, repeated or reserved label gets a suffix)."""
    taken: set[str] = set(RESERVED_COLUMNS)
    out = []
    for i, label in enumerate(labels):
        base = label or f"(colonne {i + 1} sans titre)"
        unique, n = base, 1
        while unique in taken:
            n += 1
            unique = f"{base} ({n})"
        taken.add(unique)
        out.append(unique)
    return out


# --- cell parsers: each returns (values, ok_mask); empty cells are missing, not errors ---

EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def is_blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def map_unique(values: pd.Series, func: Callable[[object], object]) -> pd.Series:
    """Apply ``func`` once per distinct value: exports repeat the same names and codes a lot."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        mapped[i] = func(u)
    mapped[-1] = func(None)  # code -1: missing
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def parse_dates(values: pd.Series, date_format: str) -> tuple[pd.Series, pd.Series]:
    """Parse dates strictly with the declared format (never guessing day-first).

    ``excel`` accepts native spreadsheet dates and Excel serial numbers. Returns the parsed
    dates (``datetime64[s]``, NaT when blank or bad) and a mask of cells that were non-blank
    but could not be read.
    """
    blank = map_unique(values, is_blank).astype(bool)
    if date_format == "excel":

        def one(v: object) -> object:
            if is_blank(v):
                return pd.NaT
            if isinstance(v, dt.datetime):
                return pd.Timestamp(v.date())
            if isinstance(v, dt.date):
                return pd.Timestamp(v)
            if isinstance(v, int | float) and not isinstance(v, bool) and 1 <= v < 2958466:
                return pd.Timestamp(EXCEL_EPOCH + dt.timedelta(days=int(v)))
            text = str(v).strip()
            try:
                return pd.Timestamp(dt.datetime.strptime(text, "%Y-%m-%d"))
            except ValueError:
                return pd.NaT

        parsed = pd.to_datetime(map_unique(values, one), errors="coerce")
    else:
        text = map_unique(values, lambda v: "" if is_blank(v) else str(v).strip())
        parsed = pd.to_datetime(text.where(~blank), format=date_format, errors="coerce")
    parsed = parsed.astype("datetime64[s]")
    bad = parsed.isna() & ~blank
    return parsed, bad


def _number_text(v: object, decimal: str, thousands: str | None) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return repr(v)
    text = str(v).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if thousands:
        text = text.replace(thousands, "")
    if decimal != ".":
        text = text.replace(decimal, ".")
    return text


def parse_decimals(
    values: pd.Series, decimal: str, thousands: str | None
) -> tuple[pd.Series, pd.Series]:
    """Parse numbers with the partner's decimal mark and thousands separator."""
    blank = map_unique(values, is_blank).astype(bool)
    text = map_unique(values, lambda v: "" if is_blank(v) else _number_text(v, decimal, thousands))
    parsed = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
    parsed = parsed.where(np.isfinite(parsed))  # "inf", "1e400": not a count nor a duration
    bad = parsed.isna() & ~blank
    return parsed, bad


def parse_integers(
    values: pd.Series, decimal: str, thousands: str | None
) -> tuple[pd.Series, pd.Series]:
    """Parse whole numbers; a fractional value is an error, not a rounding."""
    parsed, bad = parse_decimals(values, decimal, thousands)
    # Beyond 2**53 a float no longer holds every whole number: no count is that large anyway.
    fractional = parsed.notna() & ((parsed != parsed.round()) | (parsed.abs() > 2**53))
    bad = bad | fractional
    return parsed.where(~fractional).astype("Int64"), bad
