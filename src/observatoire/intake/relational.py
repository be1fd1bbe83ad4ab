"""Relational exports: further tables joined to an export's rows, and row filters.

Case-management software exports several tables linked by keys (persons, enrolments, exits,
programmes, night-by-night services). A mapping reads one of them as the export's file (the
« many » side: enrolments, services) and joins the others to each of its rows by declared keys
(``join:``); ``where:`` then keeps the rows of the export's scope (a programme type, a period).

The join's row accounting is exact:

- a row of the export's file finds at most one row of each joined table; none (for a required
  join) sets it aside as ``jointure_sans_correspondance``, several as ``jointure_ambigue``;
- a row outside the filters is *filtered*: out of scope, neither kept nor an error, so that
  rows read = clean + quarantined + filtered;
- a row of a joined table that no row in scope used is counted as unused, per file.

A filter whose column belongs to a joined table the row could not be joined to cannot be decided:
the row is not filtered by it, and the join's reason sets it aside (unless another filter that
can be decided puts it out of scope).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from observatoire.core.errors import ExportRejected
from observatoire.core.storage import sha256_file
from observatoire.intake.discovery import find_raw_files
from observatoire.intake.mapping import ExportSpec, FileFormat, JoinSpec, WhereSpec, normalise_label
from observatoire.intake.readers import is_blank, map_unique, parse_dates, read_export

__all__ = [
    "JoinedFile",
    "JoinedTable",
    "JoinedTables",
    "Relation",
    "cell_text",
    "column_format",
    "relate",
]

READER_COLUMNS = ("source_row", "line")


def cell_text(value: object) -> str:
    """A cell as the text a key or a code is compared on: stripped, a whole number written
    without its ``.0`` (a spreadsheet reads ``12`` as ``12.0``), a date in ISO form."""
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return str(value).strip()


def column_format(spec: ExportSpec, label: str) -> FileFormat:
    """The format a column is written in: its joined table's (``table.Colonne``) or the
    export's."""
    prefix, dot, _ = label.partition(".")
    if dot:
        for join in spec.joins:
            if join.name == prefix:
                return join.format
    return spec.format


@dataclass
class JoinedFile:
    """Accounting of one file of a joined table: rows read, rows some export in scope used."""

    partner_id: str
    source_file: str
    sha256: str
    rows_read: int
    exports: list[str] = field(default_factory=list)
    rows_used: int = 0

    def accounting(self) -> dict[str, object]:
        return {
            "partner_id": self.partner_id,
            "exports": self.exports,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_unused": self.rows_read - self.rows_used,
        }


@dataclass
class JoinedTable:
    """The rows of a joined table's files, read once, with which rows were used."""

    files: list[JoinedFile]
    rows: pd.DataFrame
    """Cells, plus ``file`` (index in ``files``), ``source_row`` and ``line``."""
    header: list[str]
    used: np.ndarray
    _groups: dict[tuple[str, ...], dict[str, np.ndarray]] = field(default_factory=dict)

    def label(self, column: str) -> str | None:
        """The table's own label for ``column`` (case, accents and spaces ignored)."""
        wanted = normalise_label(column)
        return next((h for h in self.header if normalise_label(h) == wanted), None)

    def groups(self, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
        """Key text → positions of the rows holding it (blank keys never match)."""
        if columns not in self._groups:
            key = _key_text(self.rows, list(columns))
            positions = pd.Series(np.arange(len(key)), index=key.to_numpy())
            positions = positions[positions.index != ""]
            self._groups[columns] = {
                str(k): v.to_numpy() for k, v in positions.groupby(level=0, sort=False)
            }
        return self._groups[columns]

    def mark_used(self, positions: np.ndarray) -> None:
        self.used[positions] = True

    def settle(self) -> None:
        """Carry the used rows into each file's accounting."""
        per_file = pd.Series(self.used).groupby(self.rows["file"].to_numpy()).sum()
        for i, f in enumerate(self.files):
            f.rows_used = int(per_file.get(i, 0))


class JoinedTables:
    """The joined tables of one partner, each read once however many exports join it.

    ``search_dirs`` are tried in order for a join's files (``check`` looks first beside the file
    being checked); the last one is the raw-data folder the mapping's patterns are relative to.
    """

    def __init__(self, raw_dir: Path, partner_id: str, search_dirs: tuple[Path, ...] = ()):
        self.raw_dir = Path(raw_dir)
        self.partner_id = partner_id
        self.search_dirs = tuple(Path(d) for d in search_dirs)
        self._tables: dict[tuple[str, FileFormat], JoinedTable] = {}

    def _paths(self, join: JoinSpec) -> list[tuple[Path, str]]:
        """The joined table's files (:func:`~observatoire.intake.discovery.find_raw_files`:
        confined to their folder, links refused)."""
        pattern = PurePosixPath(join.files).name
        what = f"la table jointe « {join.name} »"
        for folder in self.search_dirs:
            found = find_raw_files(folder, pattern, self.partner_id, what)
            if found:
                return [(p, p.name) for p in found]
        found = find_raw_files(self.raw_dir, join.files, self.partner_id, what)
        return [(p, p.relative_to(self.raw_dir).as_posix()) for p in found]

    def table(self, join: JoinSpec, export: str) -> JoinedTable:
        key = (join.files, join.format)
        if key not in self._tables:
            self._tables[key] = self._read(join, export)
        table = self._tables[key]
        for f in table.files:
            if export not in f.exports:
                f.exports.append(export)
        return table

    def _read(self, join: JoinSpec, export: str) -> JoinedTable:
        paths = self._paths(join)
        if not paths:
            raise ExportRejected(
                self.partner_id,
                f"{self.raw_dir}/{join.files}",
                f"aucun fichier de la table jointe « {join.name} » (export « {export} ») trouvé.",
                "déposez ce fichier de l'export du logiciel à côté des autres (voir "
                "docs/exports-relationnels.md), ou corrigez `files:` de cette jointure.",
            )
        files, frames, header = [], [], None
        for i, (path, rel) in enumerate(paths):
            raw = read_export(path, join.format, self.partner_id, rel)
            if header is None:
                header = [c for c in raw.rows.columns if c not in READER_COLUMNS]
            frame = raw.rows.copy()
            frame["file"] = i
            frames.append(frame)
            files.append(JoinedFile(self.partner_id, rel, sha256_file(path), len(frame)))
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        table = JoinedTable(files, rows, header or [], np.zeros(len(rows), dtype=bool))
        wanted = [c for _, c in join.on] + list(join.columns)
        missing = [c for c in wanted if table.label(c) is None]
        if missing:
            raise ExportRejected(
                self.partner_id,
                files[0].source_file,
                f"colonne(s) absente(s) de la table jointe « {join.name} » : "
                + ", ".join(f"« {c} »" for c in missing)
                + f". Colonnes présentes : {', '.join(table.header)}.",
                "demandez au partenaire l'export complet de cette table, ou corrigez `keys:` / "
                "`columns:` de la jointure.",
            )
        return table

    def accounting(self) -> list[JoinedFile]:
        out = []
        for table in self._tables.values():
            table.settle()
            out.extend(table.files)
        return out


def _key_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The key of each row as one text; blank when any of its parts is blank."""
    parts = [map_unique(frame[c], cell_text).astype(str) for c in columns]
    key = parts[0]
    blank = parts[0] == ""
    for part in parts[1:]:
        key = key + "\x1f" + part
        blank |= part == ""
    return key.where(~blank, "")


@dataclass
class Relation:
    """An export's rows once joined and filtered."""

    rows: pd.DataFrame
    """Rows in scope: the file's cells, the joined tables' (``table.Colonne``), reader columns."""
    header: list[str]
    """The labels a mapping may name: the file's header, then the joined columns."""
    main_columns: list[str]
    """The file's own columns (what a quarantine file shows and duplicates are judged on)."""
    reason: pd.Series
    """Per row in scope, the join's reason to set it aside (NA when joined)."""
    reason_column: pd.Series
    filtered: pd.DataFrame
    """Rows out of scope: ``source_row``, ``line``, ``condition`` (the first filter missed)."""


def _resolve(columns: list[str], label: str) -> str | None:
    wanted = normalise_label(label)
    return next((c for c in columns if normalise_label(c) == wanted), None)


def _require(columns: list[str], label: str, what: str, partner_id: str, name: str) -> str:
    found = _resolve(columns, label)
    if found is None:
        shown = [c for c in columns if c not in READER_COLUMNS]
        raise ExportRejected(
            partner_id,
            name,
            f"la colonne « {label} » ({what}) est absente. Colonnes disponibles : "
            f"{', '.join(shown)}.",
            "demandez au partenaire l'export avec cette colonne, ou corrigez le nom de colonne "
            "dans sa correspondance (une colonne d'une table jointe s'écrit « table.Colonne »).",
        )
    return found


def _condition_holds(
    cond: WhereSpec, values: pd.Series, fmt: FileFormat
) -> tuple[pd.Series, pd.Series]:
    """(holds, decided) per row: an empty or unreadable date is not decided by a period."""
    if cond.values is not None:
        wanted = {normalise_label(v) for v in cond.values}
        inside = map_unique(values, lambda v: normalise_label(cell_text(v)) in wanted).astype(bool)
        blank = map_unique(values, is_blank).astype(bool)
        holds = inside if cond.keep else ~inside
        if not cond.keep:
            holds = holds | blank
        return holds, pd.Series(True, index=values.index)
    dates, _ = parse_dates(values, fmt.date_format)
    decided = dates.notna()
    holds = pd.Series(True, index=values.index)
    if cond.date_from is not None:
        holds &= ~decided | (dates >= pd.Timestamp(cond.date_from))
    if cond.date_to is not None:
        holds &= ~decided | (dates <= pd.Timestamp(cond.date_to))
    return holds, decided


def relate(
    rows: pd.DataFrame,
    header: list[str],
    spec: ExportSpec,
    tables: JoinedTables,
    partner_id: str,
    name: str,
) -> Relation:
    """Join the export's tables to its file's rows, then apply its filters (module docstring)."""
    main_columns = [c for c in rows.columns if c not in READER_COLUMNS]
    wide = rows.copy()
    labels = list(header)
    reason = pd.Series(pd.NA, index=rows.index, dtype=object)
    reason_column = pd.Series(pd.NA, index=rows.index, dtype=object)
    unavailable: dict[str, pd.Series] = {}
    matched: list[tuple[JoinedTable, pd.Series, dict[str, np.ndarray]]] = []
    for join in spec.joins:
        table = tables.table(join, spec.name)
        left = [
            _require(list(wide.columns), c, f"clé de la jointure « {join.name} »", partner_id, name)
            for c, _ in join.on
        ]
        right = tuple(str(table.label(c)) for _, c in join.on)
        key = _key_text(wide, left)
        for col in left:  # a key read from a table this row could not be joined to
            prefix = col.partition(".")[0]
            if prefix in unavailable:
                key = key.where(~unavailable[prefix], "")
        groups = table.groups(right)
        count = key.map(lambda k, g=groups: len(g.get(k, ()))).astype("int64")
        first = key.map(lambda k, g=groups: int(g[k][0]) if k in g else -1).astype("int64")
        ok = count == 1
        ambiguous = count > 1
        brought = [table.label(c) for c in join.columns] if join.columns else table.header
        positions = first.where(ok, -1).to_numpy()
        for col in brought:
            source = table.rows[col].to_numpy(dtype=object)
            values = np.where(positions >= 0, source[np.maximum(positions, 0)], None)
            wide[join.qualified(str(col))] = pd.Series(values, index=wide.index, dtype=object)
            labels.append(join.qualified(str(col)))
        where_key = ", ".join(left)
        new = ambiguous & reason.isna()
        reason[new], reason_column[new] = "jointure_ambigue", where_key
        if join.required:
            new = (count == 0) & reason.isna()
            reason[new], reason_column[new] = "jointure_sans_correspondance", where_key
            unavailable[join.name] = ~ok
        else:
            unavailable[join.name] = ambiguous
        matched.append((table, key, groups))

    kept = pd.Series(True, index=rows.index)
    condition = pd.Series(pd.NA, index=rows.index, dtype=object)
    for cond in spec.where:
        col = _require(list(wide.columns), cond.column, "filtre where", partner_id, name)
        holds, decided = _condition_holds(cond, wide[col], column_format(spec, col))
        prefix = col.partition(".")[0] if col not in main_columns else ""
        if prefix in unavailable:
            decided &= ~unavailable[prefix]
        out = decided & ~holds & kept
        condition[out] = cond.describe()
        kept &= ~out

    for table, key, groups in matched:
        in_scope = key[kept]
        in_scope = in_scope[in_scope != ""]
        hits = [groups[k] for k in pd.unique(in_scope) if k in groups]
        if hits:
            table.mark_used(np.concatenate(hits))

    filtered = pd.DataFrame(
        {
            "source_row": rows.loc[~kept, "source_row"].astype("int64"),
            "line": rows.loc[~kept, "line"].astype("int64"),
            "condition": condition[~kept].astype(str),
        }
    ).reset_index(drop=True)
    return Relation(
        rows=wide[kept],
        header=labels,
        main_columns=main_columns,
        reason=reason[kept],
        reason_column=reason_column[kept],
        filtered=filtered,
    )
