"""Counting the records of a raw export without its parser, and its sizes before reading it.

The readers (:mod:`observatoire.intake.readers`) parse a file with the csv module, openpyxl or
odfpy; this module looks at the same bytes another way, so that the row accounting cannot be
made by the parser alone:

* a delimited text file is scanned byte by byte for its records, quote-aware (a quoted field
  may hold the delimiter and line breaks). A quote never closed, or closed only lines later so
  that whole records end up inside one cell, is a *broken record*: the lines from the record's
  first line to the one where the quote opens are set aside (``guillemet_non_ferme``) and the
  scan, like the reader, starts again on the next line, so the rows after it are read as they
  are and never packed into one cell;
* a workbook's zip directory gives its uncompressed size before anything is decompressed; the
  sheet read is streamed (``iterparse``, no DTD, no entity expansion) for its ``<dimension>``,
  its non-blank rows, its formula cells without a cached value, and its longest cell.

The count of records is then reconciled with the rows kept + set aside for every file
(:func:`reconcile`). The limits of ``ingest.limits`` (params) are checked here, before the file
is parsed: a file over a limit is refused in French, naming the limit, the value and what to do.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from observatoire.config.settings import ReadLimits
from observatoire.core.errors import ExportRejected

__all__ = [
    "BrokenRecord",
    "DelimitedScan",
    "SheetScan",
    "check_file_size",
    "column_letters",
    "reconcile",
    "scan_delimited",
    "scan_workbook",
    "sniff_format",
]

QUOTE = 0x22
_UTF8_BOM = b"\xef\xbb\xbf"
_MB = 1_000_000


def _mb(n: int) -> str:
    return f"{n / _MB:,.1f}".replace(",", " ").replace(".", ",") + " Mo"


def _n(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _limit_action(key: str) -> str:
    return (
        "demandez au partenaire un export limité à la période et aux colonnes convenues (un "
        "fichier par année) ; si l'export est légitime, relevez la limite "
        f"`ingest.limits.{key}` dans params/pipeline.yaml."
    )


def check_file_size(path: Path, limits: ReadLimits, partner_id: str, name: str) -> int:
    """Refuse a file larger on disk than ``max_file_mb``; returns its size in bytes."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise ExportRejected(
            partner_id,
            name,
            f"fichier trop volumineux : {_mb(size)} pour une limite de "
            f"{_mb(limits.max_file_bytes)} (ingest.limits.max_file_mb) ; il n'a pas été lu.",
            _limit_action("max_file_mb"),
        )
    return size


# --- delimited text -------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenRecord:
    """A record whose quote is never closed, or closes only after swallowing whole lines."""

    first_line: int
    """Line where the record starts (the line the partner sees)."""
    quote_line: int
    """Line where the faulty quote opens: the last line set aside."""
    field: int
    """0-based index of the field the quote opens."""
    start: int
    """Byte offset of the record; the bytes up to ``resume`` are set aside."""
    resume: int
    """Byte offset of the line after ``quote_line``, where reading starts again."""
    unclosed: bool
    """True: the quote is never closed (end of file inside it); False: it closes lines later
    with whole records inside the cell."""


@dataclass
class DelimitedScan:
    """What the independent scan of a delimited file found."""

    header_line: int | None = None
    """Last line of the header record (None: no header found)."""
    width: int = 0
    record_lines: list[int] = field(default_factory=list)
    """First line of every non-blank data record after the header (broken ones included)."""
    broken: list[BrokenRecord] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.record_lines)


def _line_breaks(chunk: bytes) -> int:
    return chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")


def _next_line_start(data: bytes, pos: int) -> int:
    """Offset of the line after the one holding ``pos`` (``len(data)`` at the last line)."""
    m = re.compile(rb"\r\n|\r|\n").search(data, pos)
    return len(data) if m is None else m.end()


@dataclass
class _Record:
    line: int
    next_pos: int
    next_line: int
    fields: int
    nonblank: bool
    multi: list[tuple[int, int, bytes]]  # (field, line where the quote opens, cell bytes)
    unclosed: tuple[int, int, int] | None  # (field, line, byte offset of the quote)
    longest: tuple[int, int, int, int]  # (bytes, field, first byte, end byte)


class _Scanner:
    def __init__(self, data: bytes, delimiter: str, encoding: str) -> None:
        self.data = data
        d = re.escape(delimiter.encode("ascii"))
        self.delim = delimiter.encode("ascii")[0]
        # possessive: inside quotes « "" » is always an escaped quote, as for the csv module
        # (backtracking would read « """ » as an empty cell and a stray quote)
        self.quoted = re.compile(rb'"((?:[^"]|"")*+)"', re.DOTALL)
        self.unquoted = re.compile(rb"[^" + d + rb"\r\n]*")
        self.encoding = encoding

    def _blank(self, cell: bytes) -> bool:
        if not cell.strip():
            return True
        if cell.isascii():
            return False
        return not cell.decode(self.encoding, errors="replace").strip()

    def record(self, pos: int, line: int) -> _Record:
        """One record from ``pos`` (start of line ``line``), as the csv module reads it
        (``strict=False``: text after a closing quote is appended, a quote inside an unquoted
        field is a character)."""
        data, n = self.data, len(self.data)
        start_line, fld, nonblank = line, 0, False
        multi: list[tuple[int, int, bytes]] = []
        longest = (0, 0, 0, 0)
        while True:
            size, begin = 0, pos
            if pos < n and data[pos] == QUOTE:
                m = self.quoted.match(data, pos)
                if m is None:
                    return _Record(
                        start_line, n, line, fld + 1, True, multi, (fld, line, pos), longest
                    )
                cell = m.group(1)
                breaks = _line_breaks(cell)
                if breaks:
                    multi.append((fld, line, cell))
                    line += breaks
                size = len(cell) - cell.count(b'""')
                nonblank = nonblank or not self._blank(cell)
                pos = m.end()
            m = self.unquoted.match(data, pos)
            cell = m.group()
            size += len(cell)
            if not nonblank and cell:
                nonblank = not self._blank(cell)
            pos = m.end()
            if size > longest[0]:
                longest = (size, fld, begin, pos)
            if pos >= n:
                return _Record(start_line, n, line + 1, fld + 1, nonblank, multi, None, longest)
            if data[pos] == self.delim:
                fld += 1
                pos += 1
                continue
            pos += 2 if data[pos : pos + 2] == b"\r\n" else 1
            return _Record(start_line, pos, line + 1, fld + 1, nonblank, multi, None, longest)


def _packs_records(cell: bytes, delim: bytes, width: int) -> bool:
    """Whether a multi-line cell holds, after its first line, a line that is a whole record."""
    if width < 3:
        return False
    lines = re.split(rb"\r\n|\r|\n", cell)[1:]
    return any(line.count(delim) >= width - 1 for line in lines)


def scan_delimited(
    data: bytes,
    delimiter: str,
    encoding: str,
    header_row: int,
    limits: ReadLimits,
    partner_id: str,
    name: str,
    labels: list[str] | None = None,
) -> DelimitedScan:
    """Scan a delimited file's bytes for its records, independently of the csv module.

    ``encoding`` only decides whether a non-ASCII cell is blank (the delimiter, quote and line
    breaks are ASCII bytes in every encoding a partner file may declare: UTF-16 is refused
    before). Refuses a record wider than ``max_columns``, a cell longer than
    ``max_cell_chars``, more than ``max_rows`` records, and a quote that opens before the
    header's end and never closes (the header would be lost).
    """
    scanner = _Scanner(data, delimiter, encoding)
    scan = DelimitedScan()
    delim = delimiter.encode("ascii")
    pos = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    line = 1
    while pos < len(data):
        rec = scanner.record(pos, line)
        header_done = scan.header_line is not None
        where = f"ligne {rec.line}"
        if rec.fields > limits.max_columns:
            raise ExportRejected(
                partner_id,
                name,
                f"{_n(rec.fields)} champs à la {where}, pour une limite de "
                f"{_n(limits.max_columns)} colonnes (ingest.limits.max_columns) ; le séparateur "
                "déclaré est peut-être le mauvais.",
                _limit_action("max_columns"),
            )
        if rec.longest[0] > limits.max_cell_chars:
            _, _, begin, end = rec.longest
            cell = data[begin:end].decode(encoding, errors="replace")
            chars = len(cell) - 2 * cell.startswith('"') - cell.count('""')
            if chars > limits.max_cell_chars:
                _refuse_long_cell(chars, rec.line, rec.longest[1], labels, limits, partner_id, name)
        broken = None
        if rec.unclosed is not None:
            fld, qline, qpos = rec.unclosed
            broken = BrokenRecord(rec.line, qline, fld, pos, _next_line_start(data, qpos), True)
        elif header_done and rec.multi:
            fld, qline, _ = rec.multi[0]
            if rec.fields != scan.width or any(
                _packs_records(cell, delim, scan.width) for _, _, cell in rec.multi
            ):
                qpos = _quote_offset(data, pos, qline - rec.line)
                broken = BrokenRecord(
                    rec.line, qline, fld, pos, _next_line_start(data, qpos), False
                )
        if broken is not None:
            if not header_done:
                raise ExportRejected(
                    partner_id,
                    name,
                    f"guillemet ouvert à la ligne {broken.quote_line} et jamais fermé, avant la "
                    f"fin de l'en-tête (attendu à la ligne {header_row}) : le reste du fichier "
                    "serait lu comme une seule cellule.",
                    "demandez au partenaire de retirer ou fermer ce guillemet et de renvoyer "
                    "le fichier.",
                )
            scan.broken.append(broken)
            scan.record_lines.append(broken.first_line)
            pos, line = broken.resume, broken.quote_line + 1
        else:
            if not header_done:
                if rec.next_line - 1 >= header_row:
                    scan.header_line, scan.width = rec.next_line - 1, rec.fields
            elif rec.nonblank:
                scan.record_lines.append(rec.line)
            pos, line = rec.next_pos, rec.next_line
        if len(scan.record_lines) > limits.max_rows:
            _refuse_rows(
                f"plus de {_n(limits.max_rows)} lignes de données", limits, partner_id, name
            )
    return scan


def _quote_offset(data: bytes, pos: int, lines_down: int) -> int:
    """Byte offset of the start of the line ``lines_down`` lines below ``pos``."""
    for _ in range(lines_down):
        pos = _next_line_start(data, pos)
    return pos


def _refuse_long_cell(
    chars: int,
    line: int,
    fld: int,
    labels: list[str] | None,
    limits: ReadLimits,
    partner_id: str,
    name: str,
) -> None:
    column = (
        f"colonne « {labels[fld]} »"
        if labels and fld < len(labels) and labels[fld]
        else f"colonne {fld + 1}"
    )
    raise ExportRejected(
        partner_id,
        name,
        f"une cellule de {_n(chars)} caractères à la ligne {line} ({column}), pour une limite "
        f"de {_n(limits.max_cell_chars)} (ingest.limits.max_cell_chars, le maximum d'une "
        "cellule Excel) : ce n'est pas une donnée saisie (texte collé en boucle, fichier "
        "binaire, export défectueux).",
        "demandez au partenaire de vider ou corriger cette cellule et de renvoyer le fichier "
        "(le fichier n'a pas été lu).",
    )


def _refuse_rows(found: str, limits: ReadLimits, partner_id: str, name: str) -> None:
    raise ExportRejected(
        partner_id,
        name,
        f"{found}, pour une limite de {_n(limits.max_rows)} lignes "
        "(ingest.limits.max_rows) ; le fichier n'a pas été lu.",
        _limit_action("max_rows"),
    )


# --- workbooks ----------------------------------------------------------------------------


def sniff_format(path: Path) -> str:
    """The real format of a file from its bytes: ``xlsx``, ``xlsm``, ``ods``, ``zip``
    (another archive), ``damaged`` (a zip that does not open), ``ole`` (Excel 97–2003 ``.xls``
    or a password-protected workbook), ``empty`` or ``text``."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    if not head:
        return "empty"
    if not head.startswith(b"PK"):
        return "text"
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "mimetype" in names:
                mime = z.read("mimetype")[:100].decode("ascii", errors="replace").strip()
                if mime.startswith("application/vnd.oasis.opendocument.spreadsheet"):
                    return "ods"
            if "xl/workbook.xml" in names or "[Content_Types].xml" in names:
                types = (
                    z.read("[Content_Types].xml")[:200_000]
                    if "[Content_Types].xml" in names
                    else b""
                )
                if "xl/vbaProject.bin" in names or b"macroEnabled" in types:
                    return "xlsm"
                return "xlsx"
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return "damaged"  # a truncated download: the reader says it is unreadable
    return "zip"


@dataclass
class SheetScan:
    """What the streamed read of one sheet found."""

    sheet: str
    dimension: str | None = None
    row_lines: list[int] = field(default_factory=list)
    """Sheet row numbers of the non-blank rows after the header (formula rows included)."""
    formula_cells: list[tuple[int, int]] = field(default_factory=list)
    """(sheet row, 0-based column) of the formula cells without a cached value."""
    header_line: int = 1


_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def column_letters(index: int) -> str:
    """0-based column → spreadsheet letters (0 → A, 26 → AA)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _iterparse(source, events=("end",)):
    from defusedxml.ElementTree import iterparse

    return iterparse(source, events=events, forbid_dtd=True)


def _check_zip_sizes(z: zipfile.ZipFile, limits: ReadLimits, partner_id: str, name: str) -> None:
    total = sum(info.file_size for info in z.infolist())
    if total > limits.max_workbook_bytes:
        biggest = max(z.infolist(), key=lambda i: i.file_size)
        raise ExportRejected(
            partner_id,
            name,
            f"classeur de {_mb(total)} une fois décompressé (dont {_mb(biggest.file_size)} "
            f"pour « {biggest.filename} »), pour une limite de "
            f"{_mb(limits.max_workbook_bytes)} (ingest.limits.max_workbook_mb) ; il n'a pas été "
            "décompressé. Un export de quelques Mo qui contient des Go de cellules est une "
            "feuille gonflée (mise en forme sur un million de lignes) ou un fichier piégé.",
            "demandez au partenaire de copier seulement les lignes et colonnes de données dans "
            "un nouveau classeur et de le renvoyer ; si l'export est légitime, relevez "
            "`ingest.limits.max_workbook_mb` dans params/pipeline.yaml.",
        )


def scan_workbook(
    path: Path,
    kind: str,
    sheet: str | None,
    header_row: int,
    limits: ReadLimits,
    partner_id: str,
    name: str,
) -> SheetScan | None:
    """Check a workbook's sizes from its zip directory, then stream the sheet read.

    ``kind`` is ``xlsx`` or ``ods``. Returns None when the sheet cannot be located (a chart
    sheet, a damaged workbook): the reader then says why in its own terms.
    """
    with zipfile.ZipFile(path) as z:
        _check_zip_sizes(z, limits, partner_id, name)
        if kind == "ods":
            return _scan_ods(z, sheet, header_row, limits, partner_id, name)
        return _scan_xlsx(z, sheet, header_row, limits, partner_id, name)


def _xlsx_sheet_member(z: zipfile.ZipFile, sheet: str | None) -> tuple[str, str] | None:
    names = set(z.namelist())
    if "xl/workbook.xml" not in names:
        return None
    sheets: list[tuple[str, str]] = []
    for _, el in _iterparse(z.open("xl/workbook.xml")):
        if _local(el.tag) == "sheet":
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
            sheets.append((el.get("name", ""), rid))
    if not sheets:
        return None
    chosen = next((s for s in sheets if s[0] == sheet), None) if sheet else sheets[0]
    if chosen is None:
        return None
    rels = "xl/_rels/workbook.xml.rels"
    if rels not in names:
        return None
    for _, el in _iterparse(z.open(rels)):
        if _local(el.tag) == "Relationship" and el.get("Id") == chosen[1]:
            target = el.get("Target", "")
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if "worksheets/" not in member or member not in names:
                return None
            return chosen[0], member
    return None


def _blank_shared_strings(
    z: zipfile.ZipFile, limits: ReadLimits, partner_id: str, name: str
) -> tuple[set[int], dict[int, int]]:
    """Indexes of the blank shared strings, and lengths of those over the cell limit."""
    blank: set[int] = set()
    long: dict[int, int] = {}
    if "xl/sharedStrings.xml" not in z.namelist():
        return blank, long
    i = 0
    for _, el in _iterparse(z.open("xl/sharedStrings.xml")):
        if _local(el.tag) != "si":
            continue
        text = "".join(
            t.text or "" for t in el.iter() if _local(t.tag) == "t" and not _in_phonetic(el, t)
        )
        if not text.strip():
            blank.add(i)
        if len(text) > limits.max_cell_chars:
            long[i] = len(text)
        el.clear()
        i += 1
    return blank, long


def _in_phonetic(si, t) -> bool:
    return any(_local(p.tag) == "rPh" and t in list(p.iter()) for p in si)


def _scan_xlsx(
    z: zipfile.ZipFile,
    sheet: str | None,
    header_row: int,
    limits: ReadLimits,
    partner_id: str,
    name: str,
) -> SheetScan | None:
    found = _xlsx_sheet_member(z, sheet)
    if found is None:
        return None
    title, member = found
    scan = SheetScan(sheet=title, header_line=header_row)
    blank_strings, long_strings = _blank_shared_strings(z, limits, partner_id, name)
    last_r = 0
    parent = None
    for event, el in _iterparse(z.open(member), events=("start", "end")):
        tag = _local(el.tag)
        if event == "start":
            if tag == "sheetData":
                parent = el
            continue
        if tag == "dimension":
            scan.dimension = el.get("ref")
            _check_dimension(scan.dimension, header_row, limits, partner_id, name)
            continue
        if tag != "row":
            continue
        r = int(el.get("r") or last_r + 1)
        last_r = r
        nonblank, formulas = False, []
        col = -1
        for c in el:
            if _local(c.tag) != "c":
                continue
            ref = c.get("r")
            m = _CELL_REF.match(ref or "")
            col = _column_index(m.group(1)) if m else col + 1
            value, has_formula = None, False
            kind = c.get("t", "n")
            for child in c:
                ctag = _local(child.tag)
                if ctag == "f":
                    has_formula = True
                elif ctag == "v":
                    value = child.text
                elif ctag == "is":
                    value = "".join(t.text or "" for t in child.iter() if _local(t.tag) == "t")
            if value is not None and kind == "s":
                try:
                    index = int(value)
                except ValueError:
                    index = -1
                if index in long_strings:
                    _refuse_long_cell(long_strings[index], r, col, None, limits, partner_id, name)
                filled = index not in blank_strings
            else:
                if value is not None and len(value) > limits.max_cell_chars:
                    _refuse_long_cell(len(value), r, col, None, limits, partner_id, name)
                filled = value is not None and bool(value.strip())
            if has_formula and (value is None or value == "") and r > header_row:
                formulas.append((r, col))
            nonblank = nonblank or filled
        if col + 1 > limits.max_columns:
            _refuse_columns(col + 1, r, limits, partner_id, name)
        if r > header_row and (nonblank or formulas):
            scan.row_lines.append(r)
            scan.formula_cells.extend(formulas)
            if len(scan.row_lines) > limits.max_rows:
                _refuse_rows(
                    f"plus de {_n(limits.max_rows)} lignes de données", limits, partner_id, name
                )
        el.clear()
        if parent is not None:
            parent.clear()
    return scan


def _check_dimension(
    ref: str | None, header_row: int, limits: ReadLimits, partner_id: str, name: str
) -> None:
    """The sheet's declared extent (``A1:XFD1048576``), checked before its rows are read."""
    if not ref:
        return
    cells = _CELL_REF.findall(ref.upper())
    if len(cells) != 2:
        return
    (c1, r1), (c2, r2) = cells
    rows = int(r2) - max(int(r1), header_row)
    cols = _column_index(c2) - _column_index(c1) + 1
    if rows > limits.max_rows:
        _refuse_rows(
            f"la feuille déclare {_n(rows)} lignes de données (étendue {ref}, lue avant les "
            "cellules)",
            limits,
            partner_id,
            name,
        )
    if cols > limits.max_columns:
        _refuse_columns(cols, None, limits, partner_id, name, ref)


def _refuse_columns(
    cols: int,
    row: int | None,
    limits: ReadLimits,
    partner_id: str,
    name: str,
    ref: str | None = None,
) -> None:
    where = f" (étendue {ref})" if ref else f" à la ligne {row}"
    raise ExportRejected(
        partner_id,
        name,
        f"{_n(cols)} colonnes{where}, pour une limite de {_n(limits.max_columns)} "
        "(ingest.limits.max_columns) ; le fichier n'a pas été lu.",
        _limit_action("max_columns"),
    )


_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_VALUE_ATTRS = tuple(
    f"{{{_ODS_OFFICE}}}{a}" for a in ("value", "date-value", "time-value", "boolean-value")
)


def _scan_ods(
    z: zipfile.ZipFile,
    sheet: str | None,
    header_row: int,
    limits: ReadLimits,
    partner_id: str,
    name: str,
) -> SheetScan | None:
    if "content.xml" not in z.namelist():
        return None
    scan: SheetScan | None = None
    depth_table = 0
    r = 0
    table_name = f"{{{_ODS_TABLE}}}name"
    repeat_rows = f"{{{_ODS_TABLE}}}number-rows-repeated"
    repeat_cols = f"{{{_ODS_TABLE}}}number-columns-repeated"
    formula_attr = f"{{{_ODS_TABLE}}}formula"
    done = False
    for event, el in _iterparse(z.open("content.xml"), events=("start", "end")):
        tag = _local(el.tag)
        if tag == "table" and el.tag.startswith(f"{{{_ODS_TABLE}}}"):
            if event == "start":
                depth_table += 1
                if depth_table == 1 and scan is None:
                    title = el.get(table_name, "")
                    if sheet is None or title == sheet:
                        scan = SheetScan(sheet=title, header_line=header_row)
            else:
                depth_table -= 1
                if depth_table == 0 and scan is not None:
                    done = True
            if done:
                break
            continue
        if event != "end" or tag != "table-row" or scan is None or depth_table != 1:
            continue
        repeat = int(el.get(repeat_rows, "1"))
        nonblank, formulas, col = False, [], 0
        for c in el:
            ctag = _local(c.tag)
            if ctag not in ("table-cell", "covered-table-cell"):
                continue
            span = int(c.get(repeat_cols, "1"))
            text = "".join(c.itertext())
            has_value = any(c.get(a) not in (None, "") for a in _VALUE_ATTRS)
            filled = has_value or bool(text.strip())
            if len(text) > limits.max_cell_chars:
                _refuse_long_cell(len(text), r + 1, col, None, limits, partner_id, name)
            if formula_attr in c.attrib and not has_value and not text.strip():
                formulas.append(col)
            if filled or formulas:
                nonblank = nonblank or filled
                if col + span > limits.max_columns:
                    _refuse_columns(col + span, r + 1, limits, partner_id, name)
            col += span
        for _ in range(repeat if (nonblank or formulas) else 0):
            r += 1
            if r > header_row:
                scan.row_lines.append(r)
                scan.formula_cells.extend((r, c) for c in formulas)
                if len(scan.row_lines) > limits.max_rows:
                    _refuse_rows(
                        f"plus de {_n(limits.max_rows)} lignes de données", limits, partner_id, name
                    )
        if not (nonblank or formulas):
            r += repeat
        el.clear()
    return scan


# --- reconciliation -------------------------------------------------------------------------


def reconcile(
    counted: list[int], read: list[int], kept: int, set_aside: int, partner_id: str, name: str
) -> None:
    """Stop when the records counted in the raw file are not the rows read, or when the rows
    read are not kept + set aside: a row would be lost (or made up) without a trace.

    ``counted``/``read``: the first lines of the records counted by the scan and of the rows the
    reader produced (the lines the partner sees)."""
    if len(counted) == len(read) == kept + set_aside and sorted(counted) == sorted(read):
        return
    missing = sorted(set(counted) - set(read))
    extra = sorted(set(read) - set(counted))
    where = []
    if missing:
        where.append("lignes comptées mais non lues : " + _lines(missing))
    if extra:
        where.append("lignes lues mais non comptées : " + _lines(extra))
    if len(read) != kept + set_aside:
        where.append(
            f"{_n(len(read))} lignes lues pour {_n(kept)} gardées + {_n(set_aside)} mises de côté"
        )
    raise ExportRejected(
        partner_id,
        name,
        "le comptage indépendant des lignes du fichier ne correspond pas à la lecture : "
        f"{_n(len(counted))} enregistrement(s) comptés dans le fichier brut, {_n(len(read))} "
        f"lus ({' ; '.join(where) or 'ordre différent'}). Aucune ligne ne doit se perdre sans "
        "trace : l'exécution s'arrête.",
        "signalez-le à l'équipe de l'observatoire avec le nom du partenaire et du fichier (sans "
        "envoyer le fichier par e-mail) ; en attendant, demandez au partenaire de réenregistrer "
        "le fichier depuis son logiciel.",
    )


def _lines(lines: list[int], shown: int = 8) -> str:
    head = ", ".join(str(n) for n in lines[:shown])
    return head + (f" et {_n(len(lines) - shown)} autres" if len(lines) > shown else "")
