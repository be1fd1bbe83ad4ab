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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.core.errors import ExportRejected
from observatoire.intake.mapping import FileFormat

__all__ = [
    "ENCODING_NAMES",
    "EXCEL_EPOCH",
    "RESERVED_COLUMNS",
    "SINGLE_BYTE_CODECS",
    "RawTable",
    "is_blank",
    "map_unique",
    "parse_dates",
    "parse_decimals",
    "parse_integers",
    "read_csv_export",
    "read_export",
    "read_ods_export",
    "read_xlsx_export",
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
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
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


def read_csv_export(path: Path, fmt: FileFormat, partner_id: str, name: str) -> RawTable:
    """Read a delimited text export, keeping every cell as text."""
    text = _decode(path.read_bytes(), fmt.encoding, partner_id, name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter)
    header: list[str] | None = None
    records: list[list[str]] = []
    lines: list[int] = []
    source_rows: list[int] = []
    data_index = 0
    end = 0
    try:
        for row in reader:
            # A quoted field may span lines: the record is located at its first line.
            line, end = end + 1, reader.line_num
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
    except csv.Error as exc:
        raise ExportRejected(
            partner_id,
            name,
            f"structure CSV illisible à la ligne {reader.line_num} ({exc}).",
            "vérifiez les guillemets et le séparateur déclaré dans le fichier de correspondance.",
        ) from None
    if header is None or not any(header):
        raise ExportRejected(
            partner_id,
            name,
            f"aucune ligne d'en-tête trouvée (attendue à la ligne {fmt.header_row}).",
            "vérifiez que le fichier n'est pas vide et que `header_row` est correct.",
        )
    if len(header) == 1 and fmt.delimiter not in text.splitlines()[fmt.header_row - 1]:
        raise ExportRejected(
            partner_id,
            name,
            f"l'en-tête ne contient pas le séparateur déclaré ({fmt.delimiter!r}).",
            "demandez le format habituel au partenaire ou corrigez `delimiter:` dans sa "
            "correspondance.",
        )
    width = len(header)
    padded = [(r + [""] * width)[:width] for r in records]
    frame = pd.DataFrame(padded, columns=_unique(header), dtype=object)
    frame["source_row"] = source_rows
    frame["line"] = lines
    return RawTable(header=header, rows=frame)


def read_xlsx_export(path: Path, fmt: FileFormat, partner_id: str, name: str) -> RawTable:
    """Read an Excel export with a title block above the header; cells keep their native type.

    The workbook is opened in full (not read-only) mode because only that mode exposes merged
    cells, needed for two-level headers; partner workbooks are small enough for it.
    """
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, data_only=True)
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
        # A label merged down from a row above the header row (two-level header) names its column.
        merged = {
            rng.min_col - 1: ws.cell(rng.min_row, rng.min_col).value
            for rng in ws.merged_cells.ranges
            if rng.min_row < fmt.header_row <= rng.max_row
        }
        return _sheet_table(ws.iter_rows(values_only=True), fmt, partner_id, name, merged)
    except ExportRejected:
        raise
    except Exception as exc:  # e.g. the declared sheet is a chart sheet, or a damaged sheet
        raise ExportRejected(
            partner_id,
            name,
            f"feuille de calcul illisible ({type(exc).__name__}).",
            "ouvrez le classeur dans Excel ou LibreOffice et réenregistrez-le.",
        ) from None
    finally:
        wb.close()


def read_ods_export(path: Path, fmt: FileFormat, partner_id: str, name: str) -> RawTable:
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
    return _sheet_table(cells, fmt, partner_id, name)


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
) -> RawTable:
    """Header and data rows of a spreadsheet; blank rows are skipped but keep their number.

    ``merged_labels`` (column index → label) fills header cells left blank by a vertical merge.
    """
    header: list[str] | None = None
    records: list[list[object]] = []
    lines: list[int] = []
    source_rows: list[int] = []
    for line, row in enumerate(sheet_rows, start=1):
        if line < fmt.header_row:
            continue
        if line == fmt.header_row:
            header = ["" if is_blank(v) else str(v).strip() for v in row]
            for col, label in (merged_labels or {}).items():
                if col < len(header) and not header[col] and not is_blank(label):
                    header[col] = str(label).strip()
            continue
        if all(is_blank(v) for v in row):
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
    padded = [(list(r) + [None] * width)[:width] for r in records]
    frame = pd.DataFrame(padded, columns=_unique(header), dtype=object)
    frame["source_row"] = source_rows
    frame["line"] = lines
    return RawTable(header=header, rows=frame)


def read_export(path: Path, fmt: FileFormat, partner_id: str, name: str) -> RawTable:
    """Read one export in its declared format."""
    if not path.exists():
        raise ExportRejected(
            partner_id, name, "fichier introuvable.", "vérifiez le chemin et le nom du fichier."
        )
    if fmt.type == "xlsx":
        return read_xlsx_export(path, fmt, partner_id, name)
    if fmt.type == "ods":
        return read_ods_export(path, fmt, partner_id, name)
    return read_csv_export(path, fmt, partner_id, name)


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
