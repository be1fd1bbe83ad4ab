"""Reading partner files exactly as their software wrote them.

Nothing is guessed: the encoding, delimiter and header line come from the partner's mapping.
A file that cannot be decoded in its declared encoding is rejected with the line of the first
bad byte; it is never silently "repaired" with replacement characters.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.errors import ExportRejected
from observatoire.mapping import FileFormat

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


def _decode(data: bytes, encoding: str, partner_id: str, name: str) -> str:
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
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
    try:
        for row in reader:
            line = reader.line_num
            if header is None:
                if line < fmt.header_row:
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
    """Read an Excel export with a title block above the header; cells keep their native type."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt or non-xlsx file
        raise ExportRejected(
            partner_id,
            name,
            f"classeur Excel illisible ({type(exc).__name__}).",
            "ouvrez-le dans Excel ou LibreOffice et réenregistrez-le au format .xlsx.",
        ) from None
    try:
        if fmt.sheet:
            if fmt.sheet not in wb.sheetnames:
                raise ExportRejected(
                    partner_id,
                    name,
                    f"la feuille « {fmt.sheet} » est absente (feuilles : "
                    f"{', '.join(wb.sheetnames)}).",
                    "renommez la feuille ou corrigez `sheet:` dans la correspondance.",
                )
            ws = wb[fmt.sheet]
        else:
            ws = wb.worksheets[0]
        header: list[str] | None = None
        records: list[list[object]] = []
        lines: list[int] = []
        source_rows: list[int] = []
        for line, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if line < fmt.header_row:
                continue
            if line == fmt.header_row:
                header = ["" if v is None else str(v).strip() for v in row]
                continue
            if not any(v is not None and str(v).strip() != "" for v in row):
                continue
            records.append(list(row))
            lines.append(line)
            source_rows.append(line - fmt.header_row)
    finally:
        wb.close()
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
    return read_csv_export(path, fmt, partner_id, name)


def _unique(labels: list[str]) -> list[str]:
    """Make header labels unique (a blank or repeated label gets a suffix)."""
    seen: dict[str, int] = {}
    out = []
    for i, label in enumerate(labels):
        label = label or f"(colonne {i + 1} sans titre)"
        n = seen.get(label, 0)
        seen[label] = n + 1
        out.append(label if n == 0 else f"{label} ({n + 1})")
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
    bad = parsed.isna() & ~blank
    return parsed, bad


def parse_integers(
    values: pd.Series, decimal: str, thousands: str | None
) -> tuple[pd.Series, pd.Series]:
    """Parse whole numbers; a fractional value is an error, not a rounding."""
    parsed, bad = parse_decimals(values, decimal, thousands)
    fractional = parsed.notna() & (parsed != parsed.round())
    bad = bad | fractional
    return parsed.where(~fractional).astype("Int64"), bad
