"""Ingest: read every partner export through its mapping, pseudonymise, set bad rows aside.

This is the only step that sees identities in clear. What leaves it: canonical contact rows
(with a keyed ``record_key`` instead of the partner's client id, and age instead of birth date),
keyed linkage tokens, refusals, per-file row accounting, and the quarantine of raw rows (which
stays beside the raw data, out of git and out of ``outputs/``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from observatoire.config.settings import ReadLimits
from observatoire.core.coverage import (
    DECLARED,
    PROPOSED,
    STRAY_GAP_MONTHS,
    Coverage,
    PartnerCoverage,
    month_text,
    outside_periods,
    periods_text,
    periods_yaml,
    propose_periods,
)
from observatoire.core.dispositifs import NIGHT_STAYS, OPEN_ENDED
from observatoire.core.errors import ExportRejected, ObservatoireError
from observatoire.core.free_text import KeyedNames, deidentify_each
from observatoire.core.schema import (
    AGGREGATE_COLUMNS,
    AGGREGATE_MEASURES,
    CONTACT_COLUMNS,
    CONTACT_FIELDS,
    FIELD_TABLES,
    PROJECT_CHILD_TABLES,
    PROJECT_TABLES,
    QUARANTINE_REASONS,
    TABLE_FIELDS,
    WEATHER_ALERTS,
    WEATHER_COLUMNS,
)
from observatoire.core.storage import sha256_file
from observatoire.intake.discovery import find_raw_files, resend_number, resend_order
from observatoire.intake.field import (
    FIELD_READ_KINDS,
    assemble_field_tables,
    dates_outside_sheet_month,
    field_rows,
    flag_project_rows,
    read_field_column,
)
from observatoire.intake.identity import (
    name_date_tokens,
    normalise_initials,
    normalise_name,
    phonetic_fr,
    spelling_neighbourhood,
    swap_day_month,
)
from observatoire.intake.mapping import (
    WHOLE_GROUP,
    ExportSpec,
    PartnerMapping,
    normalise_label,
)
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.intake.rawscan import reconcile
from observatoire.intake.readers import (
    GRID_COLUMNS,
    absence_note,
    forget_workbooks,
    is_blank,
    map_unique,
    parse_dates,
    parse_decimals,
    parse_integers,
    read_export,
    workbook_sheets,
)
from observatoire.intake.relational import JoinedFile, JoinedTables, column_format, relate

__all__ = [
    "COUNT_WORDS",
    "FREE_TEXT_COLUMNS",
    "MAX_PROBLEMS_LISTED",
    "aggregate_rows",
    "deidentify_free_text",
    "run_names",
    "looks_aggregate",
    "FileResult",
    "IngestResult",
    "Problem",
    "duplicate_file_result",
    "export_year",
    "outside_coverage",
    "partner_coverage",
    "trim_empty_edges",
    "resend_reason",
    "ingest_network",
    "network_ids",
    "normalise_person_id",
    "pseudonymise_contacts",
    "read_partner_file",
    "read_shared_file",
    "weather_table",
    "WEATHER_RANGE",
]

MAX_PROBLEMS_LISTED = 200


@dataclass
class Problem:
    """One reason a row was set aside, located for the partner (line and column)."""

    line: int
    source_row: int
    column: str
    reason: str


@dataclass
class FileResult:
    """What reading one file produced, and its accounting: read = accepted + quarantined."""

    partner_id: str
    export: str
    table: str
    source_file: str
    sha256: str
    rows_read: int = 0
    accepted: pd.DataFrame | None = None
    quarantined: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    duplicate_of: str | None = None
    filtered: pd.DataFrame | None = None
    """Rows out of the export's scope (``where:``): ``source_row``, ``line``, ``condition``."""
    declares_filter: bool = False
    exports: dict[str, dict[str, int]] | None = None
    """For a file several exports read: each export's rows accepted, set aside, filtered."""
    rows_in_several_exports: int = 0
    """Rows kept by more than one export of the file (overlapping filters): counted once, in
    the first export that keeps them."""
    rows_counted: int | None = None
    """Records counted in the raw file by the independent scan (:mod:`.rawscan`), reconciled
    with ``rows_read`` = accepted + set aside (+ filtered)."""
    notes: list[str] = field(default_factory=list)
    """French remarks on the file itself (a workbook holding macros…)."""
    grid_person_rows: int | None = None
    """For a grid of marks: the persons' rows of the sheet (``rows_counted`` counts them too);
    its rows read are its cells read (presences and unknown marks)."""
    grid_absent_marks: int | None = None
    """For a grid of marks: its declared absence marks (neither rows nor set aside)."""

    @property
    def rows_accepted(self) -> int:
        return 0 if self.accepted is None else len(self.accepted)

    @property
    def rows_filtered(self) -> int:
        return 0 if self.filtered is None else len(self.filtered)

    @property
    def rows_quarantined(self) -> int:
        return 0 if self.quarantined is None else len(self.quarantined)

    @property
    def reasons(self) -> dict[str, int]:
        if self.quarantined is None or self.quarantined.empty:
            return {}
        return dict(sorted(Counter(self.quarantined["reason"]).items()))

    def accounting(self) -> dict[str, object]:
        return {
            "partner_id": self.partner_id,
            "export": self.export,
            "table": self.table,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "reasons": self.reasons,
            "extra_columns": self.extra_columns,
            "missing_optional_columns": self.missing_optional,
            "duplicate_of": self.duplicate_of,
            **({"rows_counted": self.rows_counted} if self.rows_counted is not None else {}),
            **(
                {"grid_person_rows": self.grid_person_rows}
                if self.grid_person_rows is not None
                else {}
            ),
            **(
                {"grid_absent_marks": self.grid_absent_marks}
                if self.grid_absent_marks is not None
                else {}
            ),
            **self._relational_accounting(),
        }

    def _relational_accounting(self) -> dict[str, object]:
        """Keys only a filtered or shared file has (read = accepted + quarantined + filtered),
        so that the accounting of a plain export keeps its former shape."""
        extra: dict[str, object] = {}
        if self.declares_filter or self.exports is not None or self.rows_filtered:
            extra["rows_filtered"] = self.rows_filtered
        if self.exports is not None:
            extra["exports"] = self.exports
            extra["rows_in_several_exports"] = self.rows_in_several_exports
        return extra


def export_year(spec: ExportSpec, path: Path) -> int | None:
    """The year an export covers, read from its file name with the mapping's pattern."""
    if not spec.period_from_filename:
        return None
    match = re.search(spec.period_from_filename, path.name)
    return int(match.group("year")) if match else None


def _resolve_columns(
    spec: ExportSpec, header: list[str], partner: PartnerMapping, name: str
) -> tuple[dict[str, str], list[str], list[str]]:
    """Map canonical fields to the file's actual labels (aliases included)."""
    _refuse_duplicate_labels(spec, header, partner, name)
    by_norm = {normalise_label(h): h for h in header if h}
    found: dict[str, str] = {}
    missing_required, missing_optional = [], []
    for fname, col in spec.columns.items():
        label = next(
            (by_norm[normalise_label(x)] for x in col.labels() if normalise_label(x) in by_norm),
            None,
        )
        if label is None:
            (missing_required if col.required else missing_optional).append(col.column)
        else:
            found[fname] = label
    if missing_required:
        # No expected label at all: the "header" is probably a data row (header line missing or
        # `header_row` wrong), so its cells may be names or birth dates: never echo them.
        present = (
            f"Colonnes présentes : {', '.join(h for h in header if h)}."
            if found
            else f"Aucune colonne attendue n'est reconnue à la ligne {spec.format.header_row} : "
            "la ligne des titres de colonnes manque peut-être (son contenu n'est pas affiché, "
            "il peut contenir des données personnelles)."
        )
        raise ExportRejected(
            partner.partner_id,
            name,
            "colonne(s) obligatoire(s) absente(s) : "
            + ", ".join(f"« {c} »" for c in missing_required)
            + f". {present}",
            "demandez au partenaire un export avec ces colonnes, ou, si elles ont été "
            f"renommées, ajoutez le nouveau nom dans `aliases:` de params/partners/"
            f"{partner.partner_id}.yaml.",
        )
    used = set(found.values())
    extra = [h for h in header if h and h not in used]
    return found, extra, missing_optional


def _refuse_duplicate_labels(
    spec: ExportSpec, header: list[str], partner: PartnerMapping, name: str
) -> None:
    """A label the mapping reads that names two columns: which one holds the data is unknown,
    so the file is refused (never the first silently read). A repeated label the mapping does
    not read is harmless (reported with the extra columns)."""
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        if h:
            positions.setdefault(normalise_label(h), []).append(i)
    for col in spec.columns.values():
        for label in col.labels():
            where = positions.get(normalise_label(label), [])
            if len(where) > 1:
                cols = " et ".join(f"{i + 1}" for i in where)
                raise ExportRejected(
                    partner.partner_id,
                    name,
                    f"la colonne « {header[where[0]]} » figure {len(where)} fois dans l'en-tête "
                    f"(colonnes {cols}) : impossible de savoir laquelle lire.",
                    "demandez au partenaire de renommer ou de retirer la colonne en double et "
                    "de renvoyer le fichier.",
                )


def _as_periods(periods: tuple[tuple[str, str], ...]) -> list[tuple[pd.Period, pd.Period]]:
    return [(pd.Period(a, freq="M"), pd.Period(b, freq="M")) for a, b in periods]


def outside_coverage(
    frame: pd.DataFrame, table: str, dispositif: str, periods: tuple[tuple[str, str], ...]
) -> pd.Series:
    """Parsed rows of ``table`` whose date lies outside ``periods`` (« aaaa-mm » pairs): a
    contact dated outside, a stay wholly before or after (see
    :func:`observatoire.core.coverage.outside_periods`), a refusal night outside."""
    if table == "contacts":
        if "date_start" not in frame:
            return pd.Series(False, index=frame.index)
        end = frame.get("date_end")
        return outside_periods(
            frame["date_start"], end, _as_periods(periods), dispositif in OPEN_ENDED
        )
    if "date" not in frame:
        return pd.Series(False, index=frame.index)
    return outside_periods(frame["date"], None, _as_periods(periods))


def read_partner_file(
    path: Path,
    rel_name: str,
    partner: PartnerMapping,
    spec: ExportSpec,
    tables: JoinedTables | None = None,
    coverage: tuple[tuple[str, str], ...] | None = None,
    coverage_reason: str = "hors_couverture_declaree",
    limits: ReadLimits | None = None,
    parents: set[str] | None = None,
) -> tuple[FileResult, pd.DataFrame]:
    """Read and check one export. Returns the accounting and the parsed canonical frame.

    The canonical frame still holds identity values in clear: only :func:`pseudonymise_contacts`
    may turn it into something that leaves ingest. Rows set aside are in ``result.quarantined``
    (raw cells, reason, line, column). Raises :class:`ExportRejected` if the file is unreadable.
    ``coverage``: the months the export covers (declared, or proposed by the stray-row rule);
    rows outside are set aside with ``coverage_reason``. ``parents``: for a repeat sheet of a
    form (``street_groups``), the submissions kept from the main sheets; a row whose
    ``submission_id`` is not among them is set aside (``jointure_sans_correspondance``).
    """
    result = FileResult(partner.partner_id, spec.name, spec.table, rel_name, sha256_file(path))
    raw = read_export(path, spec.format, partner.partner_id, rel_name, limits)
    result.notes = list(raw.notes)
    rows, header = raw.rows, raw.header
    main_columns = [c for c in rows.columns if c not in ("source_row", "line")]
    relation = None
    if spec.joins or spec.where:
        # A relational export: its tables joined, its filters applied (intake.relational).
        if tables is None:
            tables = JoinedTables(path.parent, partner.partner_id)
        relation = relate(rows, header, spec, tables, partner.partner_id, rel_name)
        rows, header = relation.rows, relation.header
        result.filtered = relation.filtered
        result.declares_filter = bool(spec.where)
    if spec.table == "contacts":
        _refuse_aggregate_file(raw.header, raw.rows, spec, partner, rel_name)
    found, result.extra_columns, result.missing_optional = _resolve_columns(
        spec, header, partner, rel_name
    )
    if relation is not None:
        result.extra_columns = [c for c in result.extra_columns if c in raw.header]
    if raw.grid_lines is not None:  # a grid's own columns (the mark, the session) are no extra
        result.extra_columns = [c for c in result.extra_columns if c not in GRID_COLUMNS]
    result.rows_read = len(raw.rows)
    fmt = spec.format
    fields = TABLE_FIELDS[spec.table]
    out = pd.DataFrame(index=rows.index)
    reason = pd.Series(pd.NA, index=rows.index, dtype=object)
    reason_col = pd.Series(pd.NA, index=rows.index, dtype=object)

    def flag(mask: pd.Series, code: str, column: str | pd.Series) -> None:
        new = mask & reason.isna()
        reason[new] = code
        reason_col[new] = column[new] if isinstance(column, pd.Series) else column

    # Total rows and exact duplicates are recognised on the raw cells, before any parsing.
    cells = rows[main_columns]
    as_text = cells.apply(
        lambda col: map_unique(col, lambda v: "" if is_blank(v) else str(v).strip())
    )
    first_cells = pd.Series("", index=rows.index, dtype=object)
    for col in reversed(as_text.columns):
        first_cells = as_text[col].where(as_text[col] != "", first_cells)
    _flag_reader_issues(raw, rows, found, flag)
    flag(
        map_unique(
            first_cells, lambda v: normalise_label(v or "").startswith(("total", "sous-total"))
        ).astype(bool),
        "ligne_total",
        cells.columns[0],
    )
    flag(as_text.duplicated(keep="first"), "ligne_dupliquee", "(ligne entière)")
    if relation is not None:  # a row the joins could not complete, located on its key
        new = relation.reason.notna() & reason.isna()
        reason[new] = relation.reason[new]
        reason_col[new] = relation.reason_column[new]

    for fname, col in spec.columns.items():
        label = found.get(fname)
        if label is None:
            out[fname] = pd.Series(pd.NA, index=rows.index, dtype=object)
            continue
        values = rows[label]
        if relation is not None:
            fmt = column_format(spec, label)
        kind = col.kind
        if spec.table in FIELD_TABLES and kind in FIELD_READ_KINDS:
            parsed, problems = read_field_column(values, col, label, fmt.date_format)
            for mask, code, column in problems:
                flag(mask, code, column)
        elif kind == "date":
            parsed, bad = parse_dates(values, fmt.date_format)
            flag(bad, "date_illisible", label)
        elif kind == "integer":
            parsed, bad = parse_integers(values, fmt.decimal, fmt.thousands)
            flag(bad, "nombre_illisible", label)
        elif kind == "decimal":
            parsed, bad = parse_decimals(values, fmt.decimal, fmt.thousands)
            flag(bad, "nombre_illisible", label)
        elif kind == "code":
            codes = col.codes
            parsed = map_unique(
                values,
                lambda v, codes=codes: (
                    None if is_blank(v) else codes.get(normalise_label(v), "__inconnu__")
                ),
            )
            flag(parsed == "__inconnu__", "code_inconnu", label)
            parsed = parsed.where(parsed != "__inconnu__")
        else:
            parsed = map_unique(values, lambda v: None if is_blank(v) else str(v).strip())
        if col.required and kind != "date":
            code = "identite_manquante" if fields[fname].identity else "date_manquante"
            if spec.table in FIELD_TABLES and not fields[fname].identity:
                code = "reponse_manquante"
            missing = (
                parsed.isna() | (parsed.astype(str) == "") if kind == "codes" else parsed.isna()
            )
            flag(missing, code, label)
        elif col.required:
            flag(parsed.isna(), "date_manquante", label)
        out[fname] = parsed

    if spec.table == "contacts":
        has_id = pd.Series(False, index=rows.index)
        for idf in ("local_id", "initials"):
            if idf in out:
                has_id |= out[idf].notna()
        flag(~has_id, "identite_manquante", found.get("local_id", found.get("initials", "?")))

    if spec.table == "aggregates":
        _flag_aggregate_cells(out, spec, found, flag)
    if spec.table == "weather":
        _flag_weather_cells(out, found, flag)
    if spec.table in PROJECT_TABLES:
        flag_project_rows(spec.table, out, rows, found, flag)
    if spec.format.sheets is not None and "date" in out:  # one sheet per month
        warning = dates_outside_sheet_month(str(spec.format.sheet), out["date"][reason.isna()])
        if warning:
            result.notes.append(warning)
    key = PROJECT_CHILD_TABLES.get(spec.table, (None, "submission_id"))[1]
    if parents is not None and key in out:
        flag(
            out[key].notna() & ~out[key].isin(parents),
            "jointure_sans_correspondance",
            found.get(key, key),
        )

    # Dates must fall in the period the export covers.
    year = export_year(spec, path)
    date_field = "date_start" if spec.table == "contacts" else "date"
    if year is not None and date_field in out:
        d = pd.to_datetime(out[date_field])
        flag(
            d.notna() & (d.dt.year != year), "date_hors_periode", found.get(date_field, date_field)
        )

    if coverage is not None:
        flag(
            outside_coverage(out, spec.table, spec.dispositif, coverage),
            coverage_reason,
            found.get(date_field, date_field),
        )

    if spec.table == "contacts" and "date_end" in out and "date_start" in out:
        ds, de = pd.to_datetime(out["date_start"]), pd.to_datetime(out["date_end"])
        flag(
            de.notna() & ds.notna() & (de < ds),
            "dates_incoherentes",
            found.get("date_end", "date_end"),
        )

    out["source_file"] = rel_name
    out["source_row"] = rows["source_row"].astype("int64")
    if raw.grid_lines is not None:
        out["@cell"] = rows["@cell"]
    if spec.table == "aggregates":
        out["line"] = rows["line"].astype("int64")
    bad = reason.notna()
    q = rows.loc[bad, [*main_columns, "source_row", "line"]].copy()
    q.insert(0, "column", reason_col[bad])
    q.insert(0, "reason", reason[bad])
    q.insert(0, "line", q.pop("line"))
    q.insert(0, "source_row", q.pop("source_row"))
    q.insert(0, "source_file", rel_name)
    q.insert(0, "partner_id", partner.partner_id)
    result.quarantined = q.reset_index(drop=True)
    result.accepted = out[~bad].reset_index(drop=True)
    result.problems = [
        Problem(int(r.line), int(r.source_row), str(r.column), str(r.reason))
        for r in q.head(MAX_PROBLEMS_LISTED).itertuples()
    ]
    assert set(result.reasons) <= set(QUARANTINE_REASONS)
    if raw.counted_lines is not None and raw.grid_lines is not None:
        # a grid: the persons' rows counted in the sheet are the rows read; each of its cells
        # read (a presence or an unknown mark) is kept or set aside
        result.rows_counted = len(raw.counted_lines)
        lines = raw.grid_lines
        result.grid_person_rows = len(lines)
        result.grid_absent_marks = raw.absent_marks
        reconcile(raw.counted_lines, lines, len(lines), 0, partner.partner_id, rel_name)
        assert result.rows_read == result.rows_accepted + result.rows_quarantined, rel_name
    elif raw.counted_lines is not None:
        result.rows_counted = len(raw.counted_lines)
        reconcile(
            raw.counted_lines,
            [int(n) for n in raw.rows["line"]],
            result.rows_accepted + result.rows_filtered,
            result.rows_quarantined,
            partner.partner_id,
            rel_name,
        )
    return result, result.accepted


WEATHER_RANGE = (-40.0, 50.0)
"""Temperatures (°C) a Belgian station can read: the records are −30.1 °C (Rochefort, 1940)
and 41.8 °C (Begijnendijk, 2019); a value outside is a unit or typing error."""


def _flag_weather_cells(out: pd.DataFrame, found: dict[str, str], flag) -> None:
    """Weather rows: temperatures within :data:`WEATHER_RANGE`, the minimum not above the
    maximum, an alert among :data:`WEATHER_ALERTS`, an alert period in date order."""
    low, high = WEATHER_RANGE
    for name in ("tmin", "tmax"):
        if name in out:
            values = pd.to_numeric(out[name], errors="coerce")
            flag(values.notna() & ~values.between(low, high), "valeur_hors_plage", found[name])
    if "tmin" in out and "tmax" in out:
        tmin = pd.to_numeric(out["tmin"], errors="coerce")
        tmax = pd.to_numeric(out["tmax"], errors="coerce")
        # Named by both columns: the check says « temp_min > temp_max », not a bad minimum.
        both = f"{found.get('tmin', 'tmin')} > {found.get('tmax', 'tmax')}"
        flag(tmin > tmax, "valeur_hors_plage", both)
    if "alert" in out:
        alert = out["alert"].map(lambda v: None if v is None or v != v else normalise_label(v))
        flag(alert.notna() & ~alert.isin(list(WEATHER_ALERTS)), "code_inconnu", found["alert"])
        out["alert"] = alert
    if "date_end" in out and "date" in out:
        start, end = pd.to_datetime(out["date"]), pd.to_datetime(out["date_end"])
        flag(end.notna() & start.notna() & (end < start), "dates_incoherentes", found["date_end"])


def weather_table(frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, list[str]]:
    """The clean weather table from the rows of every weather export, and French warnings.

    Readings (rows with a temperature) give one row per day and station; a day read twice for
    a station keeps the last file's reading (a re-sent month) and is said. Alerts (rows with an
    ``alert``; a period when ``date_end`` is given, each day of it) mark their days; an alert
    without station applies to every station. Days missing between a station's first and last
    reading are said (the phase calendar treats them as days without reading)."""
    warnings: list[str] = []
    if not frames:
        return pd.DataFrame(columns=WEATHER_COLUMNS), warnings
    rows = pd.concat(frames, ignore_index=True)
    for name in ("date_end", "station", "tmin", "tmax", "alert"):
        if name not in rows:
            rows[name] = pd.NA
    rows["date"] = pd.to_datetime(rows["date"]).dt.normalize()
    rows["station"] = rows["station"].map(
        lambda v: "" if v is None or v != v else str(v).strip().removesuffix(".0")
    )
    tmin = pd.to_numeric(rows["tmin"], errors="coerce")
    tmax = pd.to_numeric(rows["tmax"], errors="coerce")
    readings = rows[tmin.notna() | tmax.notna()].assign(
        tmin=tmin.astype("float64"), tmax=tmax.astype("float64")
    )
    twice = readings.duplicated(["date", "station"], keep="last")
    if twice.any():
        warnings.append(
            f"Attention : météo : {int(twice.sum())} jour(s) relevé(s) deux fois pour la même "
            "station (un mois renvoyé ?) : le relevé du dernier fichier lu est gardé."
        )
    table = readings[~twice][["date", "station", "tmin", "tmax"]].copy()
    table["alert"] = ""
    alerts = rows[rows["alert"].notna() & (rows["alert"].astype(str) != "")]
    for alert in alerts.itertuples():
        last = alert.date_end if pd.notna(alert.date_end) else alert.date
        days = pd.date_range(alert.date, pd.Timestamp(last).normalize(), freq="D")
        stations = [alert.station] if alert.station else sorted(table["station"].unique())
        for station in stations or [""]:
            keys = pd.MultiIndex.from_product([days, [station]], names=["date", "station"])
            missing = keys.difference(pd.MultiIndex.from_frame(table[["date", "station"]]))
            if len(missing):
                extra = missing.to_frame(index=False).assign(tmin=np.nan, tmax=np.nan, alert="")
                table = pd.concat([table, extra], ignore_index=True)
            hit = table["date"].isin(days) & (table["station"] == station)
            table.loc[hit, "alert"] = str(alert.alert)
    table = table.sort_values(["station", "date"], ignore_index=True)
    read_days = table[table["tmin"].notna() | table["tmax"].notna()]
    for station, days in read_days.groupby("station")["date"]:
        span = pd.date_range(days.min(), days.max(), freq="D")
        gaps = span.difference(pd.DatetimeIndex(days))
        if len(gaps):
            shown = ", ".join(d.strftime("%d/%m/%Y") for d in gaps[:5])
            more = f" et {len(gaps) - 5} autres" if len(gaps) > 5 else ""
            warnings.append(
                f"Attention : météo : station {station or '(sans code)'} : {len(gaps)} jour(s) "
                f"sans relevé entre le {days.min():%d/%m/%Y} et le {days.max():%d/%m/%Y} "
                f"({shown}{more}) ; ces jours ne déclenchent aucune phase des plans."
            )
    table["date"] = table["date"].astype("datetime64[s]")
    return table[WEATHER_COLUMNS], warnings


def _flag_reader_issues(raw, rows: pd.DataFrame, found: dict[str, str], flag) -> None:
    """Rows the reader found broken (unclosed quote, NUL byte, formula without a value), before
    any other rule: their cells cannot be trusted. A formula without a value only matters in a
    column the mapping reads."""
    if not raw.issues:
        return
    used = set(found.values())
    by_reason: dict[tuple[str, str], set[int]] = {}
    for source_row, reason, label in raw.issues:
        if reason == "formule_sans_valeur" and label not in used:
            continue
        by_reason.setdefault((reason, label), set()).add(int(source_row))
    for (reason, label), source_rows in by_reason.items():
        flag(rows["source_row"].isin(source_rows), reason, label)


def read_shared_file(
    path: Path,
    rel_name: str,
    partner: PartnerMapping,
    specs: list[ExportSpec],
    tables: JoinedTables | None = None,
    coverage_of: Callable[[ExportSpec], tuple[tuple[str, str], ...] | None] | None = None,
    coverage_reason: str = "hors_couverture_declaree",
    limits: ReadLimits | None = None,
    parents: set[str] | None = None,
) -> tuple[FileResult, list[tuple[ExportSpec, pd.DataFrame]]]:
    """One file several exports read (one export per dispositif, by complementary filters).

    Each row has one fate in the file's accounting, never counted twice: kept if some export
    keeps it (in the first that does: a row two exports keep is counted in
    ``rows_in_several_exports``), else set aside if some export sets it aside (the first reason),
    else filtered out by all. So read = accepted + quarantined + filtered, per file.
    ``coverage_of`` gives each export's covered months (see :func:`read_partner_file`).
    """

    def read(spec: ExportSpec) -> tuple[FileResult, pd.DataFrame]:
        months = coverage_of(spec) if coverage_of else None
        return read_partner_file(
            path, rel_name, partner, spec, tables, months, coverage_reason, limits, parents
        )

    if len(specs) == 1:
        result, frame = read(specs[0])
        return result, [(specs[0], frame)]
    parts = [read(spec) for spec in specs]
    first = parts[0][0]
    combined = FileResult(
        partner.partner_id,
        " + ".join(s.name for s in specs),
        first.table,
        rel_name,
        first.sha256,
        rows_read=first.rows_read,
        # A column is « extra » only if no export of the file uses it.
        extra_columns=[
            c for c in first.extra_columns if all(c in r.extra_columns for r, _ in parts)
        ],
        missing_optional=first.missing_optional,
        declares_filter=any(s.where for s in specs),
        rows_counted=first.rows_counted,
        grid_person_rows=first.grid_person_rows,
        grid_absent_marks=first.grid_absent_marks,
        notes=first.notes,
    )
    kept_rows: set[int] = set()
    frames: list[tuple[ExportSpec, pd.DataFrame]] = []
    combined.exports = {}
    for spec, (res, frame) in zip(specs, parts, strict=True):
        again = frame["source_row"].isin(kept_rows) if len(frame) else pd.Series(dtype=bool)
        combined.rows_in_several_exports += int(again.sum())
        frame = frame[~again].reset_index(drop=True) if len(frame) else frame
        kept_rows.update(int(r) for r in frame.get("source_row", []))
        frames.append((spec, frame))
        combined.exports[spec.name] = {
            "rows_accepted": len(frame),
            "rows_quarantined": res.rows_quarantined,
            "rows_filtered": res.rows_filtered,
        }
    quarantined = pd.concat([res.quarantined for res, _ in parts], ignore_index=True)
    quarantined = quarantined[~quarantined["source_row"].isin(kept_rows)]
    quarantined = quarantined.drop_duplicates("source_row", keep="first")
    combined.quarantined = quarantined.sort_values("source_row").reset_index(drop=True)
    set_aside = kept_rows | set(int(r) for r in combined.quarantined["source_row"])
    filtered = first.filtered if first.filtered is not None else pd.DataFrame()
    if len(filtered):
        filtered = filtered[~filtered["source_row"].isin(set_aside)].reset_index(drop=True)
        scopes = " ; ".join(
            f"{s.name} : " + " et ".join(w.describe() for w in s.where) for s in specs if s.where
        )
        filtered["condition"] = f"de chacun des exports ({scopes})"
    combined.filtered = filtered
    combined.accepted = pd.concat([f for _, f in frames], ignore_index=True)
    combined.problems = [
        Problem(int(r.line), int(r.source_row), str(r.column), str(r.reason))
        for r in combined.quarantined.head(MAX_PROBLEMS_LISTED).itertuples()
    ]
    assert combined.rows_read == (
        combined.rows_accepted + combined.rows_quarantined + combined.rows_filtered
    ), rel_name
    return combined, frames


COUNT_WORDS = (
    "nombre",
    "nb",
    "total",
    "lits",
    "places",
    "repas",
    "douches",
    "lessives",
    "passages",
    "occupes",
    "occupation",
    "count",
    "number",
    "beds",
    "meals",
    "showers",
    "newly identified",
    "actively homeless",
    "moved to housing",
    "returned from",
)
"""Words of a column label that says it holds a count (normalised: no accents, lower case)."""


def _whole_numbers(values: pd.Series) -> bool:
    """Whether the non-blank cells are (nearly all) whole numbers ≥ 0: a count column."""
    cells = [str(v).strip().replace("\u00a0", "").replace(" ", "") for v in values]
    cells = [c for c in cells if c and c.lower() != "nan"]
    if not cells:
        return False
    whole = sum(c.removesuffix(".0").isdigit() for c in cells)
    return whole >= 0.95 * len(cells)


def looks_aggregate(
    header: list[str], rows: pd.DataFrame, spec: ExportSpec
) -> tuple[list[str], list[str]] | None:
    """Whether a file sent to a person-level mapping holds counts rather than persons.

    It does when no identity column of the mapping has a single value in the file (absent or
    empty) and some column holds counts: a label that says so (« Lits occupés », « Nb
    repas »…, :data:`COUNT_WORDS`) or, outside the mapped fields, whole numbers ≥ 0 on every
    row. Returns the identity labels looked for and the count columns found, or None."""
    if rows.empty or any(re.fullmatch(r"[\d\s./:,-]+", str(h)) for h in header if h):
        return None  # numbers or dates as labels: no header line (a data row), not counts
    by_norm = {normalise_label(h): h for h in header if h}
    identity_labels: list[str] = []
    mapped: set[str] = set()
    for col in spec.columns.values():
        label = next(
            (by_norm[normalise_label(x)] for x in col.labels() if normalise_label(x) in by_norm),
            None,
        )
        if label is not None:
            mapped.add(label)
        if col.identity:
            identity_labels.append(col.column)
            if label is not None and not rows[label].map(is_blank).all():
                return None
    counts = []
    for h in header:
        if not h or h in ("source_row", "line"):
            continue
        words = normalise_label(h).replace("'", " ").replace("-", " ").split()
        named = any(w in words or (" " in w and w in normalise_label(h)) for w in COUNT_WORDS)
        if named or (h not in mapped and _whole_numbers(rows[h])):
            counts.append(h)
    return (identity_labels, counts) if counts else None


def _refuse_aggregate_file(
    header: list[str], rows: pd.DataFrame, spec: ExportSpec, partner: PartnerMapping, name: str
) -> None:
    """Stop a person-level read of a file of counts (never let programme-days pass as persons)."""
    found = looks_aggregate(header, rows, spec)
    if found is None:
        return
    identity, counts = found
    looked = ", ".join(f"« {c} »" for c in identity) or "aucune colonne d'identité déclarée"
    raise ExportRejected(
        partner.partner_id,
        name,
        "ce fichier ressemble à un envoi de comptages agrégés, pas à des données par personne : "
        f"aucune valeur d'identité ({looked}) et des colonnes de comptage ("
        + ", ".join(f"« {c} »" for c in counts[:6])
        + f"). La correspondance lit l'export « {spec.name} » comme table: {spec.table}, "
        "où chaque ligne compterait pour une personne.",
        f"déclarez cet export avec `table: aggregates` dans params/partners/"
        f"{partner.partner_id}.yaml (période, mesures et groupes : docs/donnees-agregees.md), "
        "ou demandez au partenaire l'export par personne attendu.",
    )


def _flag_aggregate_cells(out: pd.DataFrame, spec: ExportSpec, found: dict, flag) -> None:
    """Aggregate rows need a date, a known measure (long files) and a declared group."""
    flag(out["date"].isna(), "date_manquante", found.get("date", "date"))
    if "measure" in out:
        measure = out["measure"]
        flag(
            measure.isna() | ~measure.isin(list(AGGREGATE_MEASURES)),
            "code_inconnu",
            found.get("measure", "measure"),
        )
        flag(out["value"].isna(), "nombre_illisible", found.get("value", "value"))
    agg = spec.aggregates
    group = out["group"] if "group" in out else pd.Series(WHOLE_GROUP, index=out.index)
    role = map_unique(group.fillna(""), lambda g: agg.role(str(g)) if agg else None)
    flag(role.isna(), "code_inconnu", found.get("group", "group"))


def aggregate_rows(frame: pd.DataFrame, partner: PartnerMapping, spec: ExportSpec) -> pd.DataFrame:
    """Accepted rows of an aggregate export as the canonical long table (``AGGREGATE_COLUMNS``):
    one row per period × programme × group × measure, whether the file is long (``measure`` and
    ``value`` columns) or wide (one column per measure); a blank cell is a measure not reported,
    not a zero."""
    agg = spec.aggregates
    assert agg is not None, "an aggregates export has its aggregates block (schema)"
    f = frame
    group = (
        f["group"].astype(object).where(f["group"].notna(), "")
        if "group" in f
        else pd.Series(WHOLE_GROUP, index=f.index, dtype=object)
    )
    base = pd.DataFrame(
        {
            "partner_id": partner.partner_id,
            "dispositif": spec.dispositif or partner.dispositif,
            "programme": (
                f["programme"].astype(object).where(f["programme"].notna(), "")
                if "programme" in f
                else ""
            ),
            "period": agg.period,
            "date": pd.to_datetime(f["date"]),
            "group": group.astype(str),
            "source_file": f["source_file"],
            "source_row": f["source_row"].astype("int64"),
            "line": f["line"].astype("int64"),
        },
        index=f.index,
    )
    if agg.period == "mois":
        base["date"] = base["date"].dt.to_period("M").dt.to_timestamp()
    base["group_role"] = base["group"].map(agg.role)
    if "measure" in f:
        long = base.assign(measure=f["measure"].astype(str), value=f["value"].astype("float64"))
    else:
        measures = [m for m in AGGREGATE_MEASURES if m in f]
        parts = [
            base.assign(measure=m, value=pd.to_numeric(f[m], errors="coerce").astype("float64"))
            for m in measures
        ]
        long = pd.concat(parts) if parts else base.assign(measure="", value=np.nan).iloc[:0]
    long = long[long["value"].notna()]
    long["date"] = long["date"].astype("datetime64[s]")
    return long[AGGREGATE_COLUMNS].sort_values(["source_row", "measure"]).reset_index(drop=True)


def duplicate_file_result(
    path: Path,
    rel_name: str,
    partner: PartnerMapping,
    spec: ExportSpec,
    kept: str,
    reason: str = "fichier_en_double",
    limits: ReadLimits | None = None,
) -> FileResult:
    """A file that must not be counted (an identical copy, or a period already covered by a
    later sending): every row is set aside with ``reason``, and the kept file is named."""
    result = FileResult(partner.partner_id, spec.name, spec.table, rel_name, sha256_file(path))
    raw = read_export(path, spec.format, partner.partner_id, rel_name, limits)
    rows = raw.rows
    result.rows_read = len(rows)
    if raw.counted_lines is not None:
        result.rows_counted = len(raw.counted_lines)
        lines = [int(n) for n in rows["line"]]
        reconcile(raw.counted_lines, lines, 0, len(rows), partner.partner_id, rel_name)
    q = rows.copy()
    q.insert(0, "column", "(fichier entier)")
    q.insert(0, "reason", reason)
    q.insert(0, "line", q.pop("line"))
    q.insert(0, "source_row", q.pop("source_row"))
    q.insert(0, "source_file", rel_name)
    q.insert(0, "partner_id", partner.partner_id)
    result.quarantined = q.reset_index(drop=True)
    result.accepted = pd.DataFrame()
    result.duplicate_of = kept
    return result


def _age_years(birth: pd.Series, at: pd.Series) -> pd.Series:
    b, a = pd.to_datetime(birth), pd.to_datetime(at)
    before_birthday = (a.dt.month < b.dt.month) | (
        (a.dt.month == b.dt.month) & (a.dt.day < b.dt.day)
    )
    return (a.dt.year - b.dt.year - before_birthday.astype(int)).astype("Int64")


def one_night_per_row(frame: pd.DataFrame) -> pd.DataFrame:
    """A night-by-night export's rows as stays of one night: the evening of the row's date to
    the next morning (``night_by_night: true``), so that presence and nights count each row
    once, as a stay export's would."""
    start = pd.to_datetime(frame["date_start"])
    return frame.assign(date_end=start + pd.Timedelta(days=1), nights=1)


def pseudonymise_contacts(
    frame: pd.DataFrame,
    partner: PartnerMapping,
    pseudo: Pseudonymiser,
    dispositif: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split parsed contact rows into a clean contact table and keyed linkage tokens.

    Identity values are replaced by keyed tokens here and dropped: the full birth date becomes
    the age at contact (and the birth year in the tokens), the partner's client id becomes a
    ``record_key``. Street-work rows have only initials and an estimated age.
    """
    f = frame
    pid = partner.partner_id
    dispositif = dispositif or partner.dispositif  # the export's own, when it declares one
    date_start = pd.to_datetime(f["date_start"])
    birth = (
        pd.to_datetime(f["birth_date"]) if "birth_date" in f else pd.Series(pd.NaT, index=f.index)
    )
    est_age = (
        f["estimated_age"].astype("Int64")
        if "estimated_age" in f
        else pd.Series(pd.NA, index=f.index, dtype="Int64")
    )
    age = _age_years(birth, date_start)
    age_estimated = age.isna() & est_age.notna()
    age = age.fillna(est_age)
    sex = f["sex"].fillna("INCONNU") if "sex" in f else pd.Series("INCONNU", index=f.index)
    initials = (
        map_unique(f["initials"], normalise_initials)
        if "initials" in f
        else pd.Series("", index=f.index)
    )
    est_birth_year = (date_start.dt.year - est_age).astype("Int64")

    if "local_id" in f and f["local_id"].notna().any():
        local = (
            f["local_id"]
            .astype(object)
            .pipe(map_unique, lambda v: None if is_blank(v) else f"{pid}:{str(v).strip().upper()}")
        )
    else:
        local = pd.Series(None, index=f.index, dtype=object)
    # Street work has no client id: a record is initials + sex + estimated birth year.
    no_local = local.isna()
    local[no_local] = (
        f"{pid}:ini:"
        + initials[no_local]
        + ":"
        + sex[no_local].astype(str)
        + ":"
        + est_birth_year[no_local].astype(str)
    )
    record_key = pseudo.tokens("record", local)

    nights = (
        f["nights"].astype("Int64")
        if "nights" in f
        else pd.Series(pd.NA, index=f.index, dtype="Int64")
    )
    date_end = (
        pd.to_datetime(f["date_end"]) if "date_end" in f else pd.Series(pd.NaT, index=f.index)
    )
    if dispositif in NIGHT_STAYS:
        from_dates = (date_end - date_start).dt.days.astype("Int64")
        nights = nights.fillna(from_dates)

    def col(name: str) -> pd.Series:
        return f[name] if name in f else pd.Series(None, index=f.index, dtype=object)

    contacts = pd.DataFrame(
        {
            "record_key": record_key,
            "partner_id": pid,
            "dispositif": dispositif,
            "date_start": date_start.astype("datetime64[s]"),
            "date_end": date_end.astype("datetime64[s]"),
            "nights": nights,
            "year": date_start.dt.year.astype("int64"),
            "sex": sex.astype(str),
            "age_at_contact": age,
            "age_estimated": age_estimated.astype(bool),
            "nationality_group": (
                col("nationality").fillna("INCONNU")
                if "nationality" in f
                else pd.Series("INCONNU", index=f.index)
            ).astype(str),
            "exit_reason": col("exit_reason"),
            "activity": col("activity"),
            "orientation": col("orientation"),
            "zone": col("zone"),
            "duration_hours": (
                f["duration_hours"] if "duration_hours" in f else pd.Series(np.nan, index=f.index)
            ).astype("float64"),
            "source_file": f["source_file"],
            "source_row": f["source_row"].astype("int64"),
        }
    )

    surname = map_unique(col("surname"), normalise_name)
    first = map_unique(col("first_name"), normalise_name)
    named = name_date_tokens(col("surname"), col("first_name"), birth, pseudo)
    swapped_iso = swap_day_month(birth).dt.strftime("%Y-%m-%d")
    empty = lambda s: s.where(s.astype(str) != "")  # noqa: E731
    tokens = pd.DataFrame(
        {
            "source_file": f["source_file"],
            "source_row": f["source_row"].astype("int64"),
            "record_key": record_key,
            "partner_id": pid,
            "dispositif": dispositif,
            "sex": sex.astype(str),
            "birth_year": birth.dt.year.astype("Int64"),
            "est_birth_year": est_birth_year.where(birth.isna()),
            "tok_surname": named["tok_surname"],
            "tok_first_name": named["tok_first_name"],
            "tok_surname_phon": pseudo.tokens(
                "surname_phon", empty(map_unique(surname, phonetic_fr))
            ),
            "tok_first_name_phon": pseudo.tokens(
                "first_name_phon", empty(map_unique(first, phonetic_fr))
            ),
            "tok_birth_date": named["tok_birth_date"],
            "tok_birth_date_swapped": pseudo.tokens("birth_date", swapped_iso),
            "tok_initials": pseudo.tokens("initials", empty(initials)),
            # Linkage features (see observatoire.linkage): keyed tokens of each name's spelling
            # neighbourhood (one letter off, parts of compound names) and of the initials a
            # street worker would write for a named person.
            "tok_surname_variants": _neighbourhood_tokens(
                col("surname"), "surname_variant", pseudo
            ),
            "tok_first_name_variants": _neighbourhood_tokens(
                col("first_name"), "first_name_variant", pseudo
            ),
            "tok_name_initials": pseudo.tokens("initials", empty(_initials(first, surname))),
            "tok_network_id": pseudo.tokens("network_id", network_ids(f, partner)),
        }
    )
    return contacts, tokens


def normalise_person_id(value: object) -> str | None:
    """A partner's person id as compared across the network: upper case, no spaces (« ab 12 »
    and « AB12 » are one id); None when blank."""
    if is_blank(value):
        return None
    return "".join(str(value).split()).upper() or None


def network_ids(frame: pd.DataFrame, partner: PartnerMapping) -> pd.Series:
    """Per row, the normalised person id when the mapping declares it network-wide
    (``local_id`` with ``scope: network``), else None; only its keyed token leaves ingest.

    The id is hashed without the partner's prefix, so that the same person id written by
    several partners' copies of one software gives one token (``record_key`` keeps the prefix:
    a record is still one partner's file)."""
    if "local_id" not in frame or not any(
        spec.columns.get("local_id") is not None and spec.columns["local_id"].scope == "network"
        for spec in partner.exports
        if spec.table == "contacts"
    ):
        return pd.Series(None, index=frame.index, dtype=object)
    return map_unique(frame["local_id"].astype(object), normalise_person_id)


def _initials(first: pd.Series, surname: pd.Series) -> pd.Series:
    """:func:`~observatoire.intake.identity.initials_of` of names already normalised
    (:func:`~observatoire.intake.identity.normalise_name`): the first letter of each, empty if
    either is missing."""
    return pd.Series(
        [f[:1] + s[:1] if f and s else "" for f, s in zip(first, surname, strict=True)],
        index=first.index,
        dtype=object,
    )


def _neighbourhood_tokens(names: pd.Series, purpose: str, pseudo: Pseudonymiser) -> pd.Series:
    """Per row, the keyed tokens of the name's spelling neighbourhood (None if no name); each
    string keyed once (« DUPONT » and « DUPOND » share « DUPON »)."""
    keyed: dict[str, str] = {}

    def token(x: str) -> str:
        if x not in keyed:
            keyed[x] = pseudo.token(purpose, x)
        return keyed[x]

    return map_unique(names, lambda v: [token(x) for x in spelling_neighbourhood(v)] or None)


@dataclass
class IngestResult:
    contacts: pd.DataFrame
    tokens: pd.DataFrame
    refusals: pd.DataFrame
    files: list[FileResult]
    joined: list[JoinedFile] = field(default_factory=list)
    """Files of joined tables (relational exports), with their used and unused rows."""
    coverage: Coverage = field(default_factory=Coverage)
    warnings: list[str] = field(default_factory=list)
    """French warnings for the analyst (« couverture non déclarée »…), printed by the stage."""
    aggregates: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=AGGREGATE_COLUMNS)
    )
    free_text: dict[str, dict[str, int]] = field(default_factory=dict)
    """Identities replaced by placeholders in the kept free text, by column and kind."""
    weather: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WEATHER_COLUMNS))
    """Daily weather by station (``table: weather`` exports), see :func:`weather_table`."""
    names: KeyedNames | None = None
    """Keyed lists of the names seen in this run's exports (hashes only): what the free text
    of the field records is also de-identified with (:func:`deidentify_free_text`)."""
    field_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The field tables (forms, allowance sheet), every one present, see
    :func:`observatoire.intake.field.assemble_field_tables`."""


def _superseded_by(spec: ExportSpec, paths: list[Path], raw_dir: Path) -> dict[Path, str]:
    """Files of an export whose period is covered again by a later sending of the same export.

    A partner that corrects its export re-sends the same period; counting both would double the
    figures. Within one export, files covering the same year (read from the file name) are a
    re-send: the last one in re-send order is kept, the others are set aside. The order is the
    names' (a correction is named so that it sorts after the original, e.g. ``…_2024_v2.csv`` or
    ``…_2024_corrige.csv``), with a browser's second download « …_2024 (1).csv » right after the
    original (:func:`observatoire.intake.discovery.resend_order`). The file's date is not used:
    copying or checking out a folder changes it. Byte-identical copies are caught earlier by
    content hash.
    """
    by_year: dict[int, list[Path]] = {}
    for path in paths:
        year = export_year(spec, path)
        if year is not None:
            by_year.setdefault(year, []).append(path)
    superseded: dict[Path, str] = {}
    for same_period in by_year.values():
        if len(same_period) > 1:
            ordered = sorted(same_period, key=lambda p: resend_order(p.name))
            hashes = {sha256_file(p) for p in ordered}
            if len(hashes) == 1:
                continue  # identical copies: the content-hash rule says which one was kept
            kept = ordered[-1].relative_to(raw_dir).as_posix()
            for older in ordered[:-1]:
                superseded[older] = kept
    return superseded


def resend_reason(kept: str) -> str:
    """Why ``kept`` replaces another sending of its period (French, for the ingest log)."""
    n = resend_number(PurePosixPath(kept).name)
    if n:
        return f"« ({n}) » : le {n + 1}e téléchargement du même fichier, le dernier envoi"
    return "nommé après lui (ordre des noms : _v2, _corrige…), tenu pour le dernier envoi"


@dataclass
class _PartnerPlan:
    """What is read of one partner's exports, decided before any is read: the files (and
    sheets) of each export, by path in the mapping's order, and the files a later sending
    replaces."""

    plan: dict[tuple[Path, str | None], list[ExportSpec]]
    superseded: dict[Path, str]

    def entries(self, raw_dir: Path) -> list[tuple[Path, str | None, list[ExportSpec], str]]:
        """Each file (or sheet) in reading order, with its exports and its name in the
        accounting. A repeat sheet is read after every main sheet: its rows need their parent
        kept."""
        order = sorted(self.plan, key=lambda k: self.plan[k][0].table in PROJECT_CHILD_TABLES)
        first_sheet = {p: s for p, s in reversed(order)}
        out = []
        for path, sheet in order:
            specs = self.plan[(path, sheet)]
            rel = path.relative_to(raw_dir).as_posix()
            if sheet is not None and (first_sheet[path] != sheet or specs[0].format.sheets):
                rel = f"{rel}#{sheet}"  # another sheet of the same workbook: its own accounting
            out.append((path, sheet, specs, rel))
        return out

    def claim_copies(self, raw_dir: Path, seen_hashes: dict[str, str]) -> None:
        """Add to ``seen_hashes`` the files (by content) this partner reads, as
        :func:`_ingest_partner` does: a later identical copy, of any partner, is not read."""
        for path, sheet, _specs, rel in self.entries(raw_dir):
            if path not in self.superseded:
                seen_hashes.setdefault(sha256_file(path) + (f"#{sheet}" if sheet else ""), rel)


def _plan_partner(raw_dir: Path, partner: PartnerMapping) -> _PartnerPlan:
    """The files of each export of ``partner`` (a missing export is refused here)."""
    # A file several exports read (one per dispositif, by their filters) is read once in
    # the accounting: its exports are gathered by path, in the mapping's order. A form's
    # workbook is read once per sheet (the main sheet, each repeat's sheet).
    plan: dict[tuple[Path, str | None], list[ExportSpec]] = {}
    superseded: dict[Path, str] = {}
    for spec in partner.exports:
        paths = find_raw_files(raw_dir, spec.files, partner.partner_id, f"l'export « {spec.name} »")
        if not paths:
            raise ExportRejected(
                partner.partner_id,
                f"{raw_dir}/{spec.files}",
                f"aucun fichier « {spec.name} » trouvé.",
                "déposez l'export du partenaire dans ce dossier (voir README), ou retirez "
                "cet export de sa correspondance s'il n'existe plus.",
            )
        for path, kept in _superseded_by(spec, paths, raw_dir).items():
            superseded.setdefault(path, kept)
        for path in paths:
            if spec.format.sheets is not None:  # one sheet per month…: each on its own
                rel = path.relative_to(raw_dir).as_posix()
                for name in workbook_sheets(path, spec.format, partner.partner_id, rel):
                    one = replace(spec, format=replace(spec.format, sheet=name))
                    plan.setdefault((path, name), []).append(one)
                continue
            sheet = spec.format.sheet if spec.table in FIELD_TABLES else None
            plan.setdefault((path, sheet), []).append(spec)
    return _PartnerPlan(plan, superseded)


@dataclass
class _PartnerRead:
    """What one partner's exports gave (:func:`_ingest_partner`), gathered in partner order."""

    files: list[FileResult] = field(default_factory=list)
    contacts: list[pd.DataFrame] = field(default_factory=list)
    tokens: list[pd.DataFrame] = field(default_factory=list)
    refusals: list[pd.DataFrame] = field(default_factory=list)
    aggregates: list[pd.DataFrame] = field(default_factory=list)
    weather: list[pd.DataFrame] = field(default_factory=list)
    field_frames: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    joined: list[JoinedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    coverage: dict[str, PartnerCoverage | None] = field(default_factory=dict)


def ingest_network(
    raw_dir: Path,
    partners: dict[str, PartnerMapping],
    pseudo: Pseudonymiser,
    progress=print,
    limits: ReadLimits | None = None,
    workers: int = 1,
) -> IngestResult:
    """Read every export of every partner; rejected files stop the run (nothing is written).

    ``limits`` (``ingest.limits``) are checked on each file before it is read.

    The partners' exports are read, checked and pseudonymised on ``workers`` processes
    (:func:`observatoire.core.workers.run_groups`), partner by partner: nothing of one partner
    depends on another's but the identical copies of a file, which are known before any file
    is read (:meth:`_PartnerPlan.claim_copies`). The results, the printed lines and the first
    error are gathered in the partners' order, as in one process (``workers`` = 1), so every
    output is the same. With more than one worker, ``progress`` must be ``print`` (a worker's
    lines are printed by this process, in order).
    """
    from functools import partial

    from observatoire.core.workers import run_groups

    if workers > 1 and progress is not print:
        raise ValueError("ingest_network: progress must be print with several workers")
    tasks = {}
    seen_hashes: dict[str, str] = {}
    for partner in partners.values():
        try:
            plan = _plan_partner(raw_dir, partner)
        except ObservatoireError:  # raised when its turn comes, after the partners before it
            tasks[partner.partner_id] = partial(_plan_partner, raw_dir, partner)
            break
        tasks[partner.partner_id] = partial(
            _ingest_partner, raw_dir, partner, plan, pseudo, dict(seen_hashes), limits, progress
        )
        plan.claim_copies(raw_dir, seen_hashes)
    # Presidio and spaCy's model (some five seconds) load here while the workers read, when a
    # field export may hold free text (the field notes' de-identification after the reading).
    warm_up = _load_nlp if workers > 1 and _field_free_text(partners) else None
    parts: list[_PartnerRead] = list(run_groups(tasks, workers, meanwhile=warm_up).values())
    forget_workbooks()  # every export is read: the workbooks kept loaded go
    contacts = [c for part in parts for c in part.contacts]
    tokens = [t for part in parts for t in part.tokens]
    refusals = [r for part in parts for r in part.refusals]
    files = [f for part in parts for f in part.files]
    joined = [j for part in parts for j in part.joined]
    warnings = [w for part in parts for w in part.warnings]
    aggregates = [a for part in parts for a in part.aggregates]
    weather = [w for part in parts for w in part.weather]
    coverage = {pid: cov for part in parts for pid, cov in part.coverage.items()}
    field_frames: dict[str, list[pd.DataFrame]] = {}
    for part in parts:
        for table, frames in part.field_frames.items():
            field_frames.setdefault(table, []).extend(frames)
    del parts  # each table's parts go once it is assembled (the peak of memory at 10x is here)
    order = ["source_file", "source_row"]
    if not contacts:  # a network of count-only partners: no person at all
        contacts = [pd.DataFrame(columns=[c for c in CONTACT_COLUMNS if c != "person_id"])]
        tokens = [pd.DataFrame(columns=order + ["record_key", "partner_id", "dispositif"])]
    all_contacts = pd.concat(contacts, ignore_index=True).sort_values(order, ignore_index=True)
    contacts.clear()
    free_text = deidentify_free_text(all_contacts)  # labels: the rules alone (outputs unchanged)
    all_tokens = pd.concat(tokens, ignore_index=True).sort_values(order, ignore_index=True)
    tokens.clear()
    names = run_names(all_tokens, pseudo)
    all_refusals = (
        pd.concat(refusals, ignore_index=True).sort_values(order, ignore_index=True)
        if refusals
        else pd.DataFrame(
            columns=["partner_id", "dispositif", "date", "refusals", "source_file", "source_row"]
        )
    )
    all_aggregates = (
        pd.concat(aggregates, ignore_index=True).sort_values(order, ignore_index=True)
        if aggregates
        else pd.DataFrame(columns=AGGREGATE_COLUMNS)
    )
    all_weather, weather_warnings = weather_table(weather)
    # the field records' notes and testimonies: rules, the run's keyed names and the NLP layer
    field_tables, field_free_text = assemble_field_tables(field_frames, names)
    free_text.update(field_free_text)
    return IngestResult(
        all_contacts,
        all_tokens,
        all_refusals,
        files,
        joined,
        Coverage(coverage),
        warnings + weather_warnings,
        all_aggregates,
        free_text,
        all_weather,
        names,
        field_tables,
    )


def _field_free_text(partners: dict[str, PartnerMapping]) -> bool:
    """Whether an export maps a free-text column of a field table (notes, testimonies)."""
    return any(
        spec.table in FIELD_TABLES
        and any(
            f.kind == "free_text" and name in spec.columns
            for name, f in FIELD_TABLES[spec.table].items()
        )
        for partner in partners.values()
        for spec in partner.exports
    )


def _load_nlp() -> None:
    """Build the NLP engine ahead (kept by :func:`~observatoire.core.free_text_nlp.engine`).
    A failure (the model missing…) is left to the de-identification, which builds it again and
    raises it in its turn, after the lines of the reading, as in one process."""
    from observatoire.core.free_text_nlp import engine

    try:
        engine()
    except Exception:  # noqa: BLE001 - raised again, in order, by the de-identification
        return


def _ingest_partner(
    raw_dir: Path,
    partner: PartnerMapping,
    planned: _PartnerPlan,
    pseudo: Pseudonymiser,
    seen_hashes: dict[str, str],
    limits: ReadLimits | None,
    progress,
) -> _PartnerRead:
    """Read, check and pseudonymise one partner's exports (``seen_hashes``: the files, by
    content, the partners before it read; a copy of one is not read again)."""
    out = _PartnerRead()
    files, warnings = out.files, out.warnings
    superseded = planned.superseded
    read: list[tuple[int, Path, str, list[ExportSpec], FileResult, list]] = []
    parents: dict[str, set[str]] = {}
    tables = JoinedTables(raw_dir, partner.partner_id)
    absences: dict[str, dict[str, int]] = {}  # file → sheet → declared absence marks
    for path, sheet, specs, rel in planned.entries(raw_dir):
        spec = specs[0]
        if path in superseded:
            kept = superseded[path]
            res = duplicate_file_result(
                path, rel, partner, spec, kept, reason="periode_deja_couverte", limits=limits
            )
            files.append(res)
            progress(
                f"  {rel} : même période que {kept}, qui le remplace ({resend_reason(kept)}) ; "
                f"{res.rows_read} lignes de {rel} mises de côté (periode_deja_couverte)"
            )
            continue
        digest = sha256_file(path) + (f"#{sheet}" if sheet else "")
        if digest in seen_hashes:
            res = duplicate_file_result(
                path, rel, partner, spec, seen_hashes[digest], limits=limits
            )
            files.append(res)
            progress(
                f"  {rel} : copie identique de {res.duplicate_of}, ignorée "
                f"({res.rows_read} lignes mises de côté)"
            )
            continue
        seen_hashes[digest] = rel
        res, outputs = read_shared_file(
            path,
            rel,
            partner,
            specs,
            tables,
            partner.export_coverage,
            limits=limits,
            parents=parents.setdefault(spec.table, set())
            if spec.table in PROJECT_CHILD_TABLES
            else None,
        )
        for child, (parent, key) in PROJECT_CHILD_TABLES.items():
            if spec.table == parent:
                for _, frame in outputs:
                    found = (str(v) for v in frame.get(key, []) if v == v and v is not None)
                    parents.setdefault(child, set()).update(found)
        absent = res.grid_absent_marks
        if absent:  # one line per file below, not one per sheet (counts: rows.json)
            absences.setdefault(rel.split("#")[0], {})[sheet or ""] = absent
        for note in res.notes:
            if not (absent and note == absence_note(absent)):
                warnings.append(f"Attention : {rel} ({partner.partner_id}) : {note}")
        read.append((len(files), path, rel, specs, res, outputs))
        files.append(res)  # its place in the accounting; replaced if read again
    for rel, by_sheet in absences.items():
        sheets = ", ".join(f"{s} ({n})" for s, n in by_sheet.items() if s)
        warnings.append(
            f"Attention : {rel} ({partner.partner_id}) : "
            + absence_note(sum(by_sheet.values())).removesuffix(".")
            + (f" ; feuilles : {sheets}" if sheets else "")
            + "."
        )
    cov, warning = (
        partner_coverage(
            partner,
            [(spec, res, frame) for *_, res, outputs in read for spec, frame in outputs],
        )
        if not partner.field_only
        else (None, None)
    )
    if partner.service:  # the weather and field records: no coverage of their own
        out.coverage[partner.partner_id] = cov
        if warning:
            warnings.append(warning)
    for place, path, rel, specs, res, outputs in read:
        if cov is not None and cov.status == PROPOSED and cov.stray_rows:
            stray = any(
                outside_coverage(frame, spec.table, spec.dispositif, _months(cov)).any()
                for spec, frame in outputs
            )
            if stray:  # read again, the stray rows set aside with their lines
                res, outputs = read_shared_file(
                    path,
                    rel,
                    partner,
                    specs,
                    tables,
                    coverage_of=lambda _spec, cov=cov: _months(cov),
                    coverage_reason="ligne_isolee",
                    limits=limits,
                )
                files[place] = res
        filtered = f", {res.rows_filtered} hors champ (filtres)" if res.rows_filtered else ""
        progress(
            f"  {rel} : {res.rows_read} lignes lues, {res.rows_accepted} acceptées, "
            f"{res.rows_quarantined} mises de côté{filtered}"
        )
        if res.rows_in_several_exports:
            progress(
                f"  Attention : {res.rows_in_several_exports} lignes de {rel} sont retenues "
                "par plusieurs exports (filtres where qui se chevauchent) ; chacune n'est "
                "comptée que dans le premier export qui la retient."
            )
        for spec, frame in outputs:
            if spec.table == "contacts" and spec.night_by_night:
                frame = one_night_per_row(frame)
            if spec.table == "contacts":
                c, t = pseudonymise_contacts(frame, partner, pseudo, spec.dispositif)
                out.contacts.append(c)
                out.tokens.append(t)
            elif spec.table == "aggregates":
                out.aggregates.append(aggregate_rows(frame, partner, spec))
            elif spec.table == "weather":
                out.weather.append(frame)
            elif spec.table in FIELD_TABLES:
                year = export_year(spec, path)
                rows = field_rows(frame, partner, spec.table, year, pseudo, spec)
                out.field_frames.setdefault(spec.table, []).append(rows)
            else:
                out.refusals.append(
                    pd.DataFrame(
                        {
                            "partner_id": partner.partner_id,
                            "dispositif": spec.dispositif or partner.dispositif,
                            "date": pd.to_datetime(frame["date"]).astype("datetime64[s]"),
                            "refusals": frame["refusals"].astype("int64"),
                            "source_file": frame["source_file"],
                            "source_row": frame["source_row"].astype("int64"),
                        }
                    )
                )
    out.joined.extend(tables.accounting())
    for res in files:  # the rows are in the tables now: only their number is kept
        if res.accepted is not None:
            res.accepted = res.accepted.iloc[:, :0]
    return out


FREE_TEXT_COLUMNS = tuple(
    f.name
    for f in CONTACT_FIELDS.values()
    if f.kind == "text" and not f.identity and f.name != "time"
)
"""Contact columns kept as the partner typed them (reason, orientation, zone): de-identified."""


def run_names(tokens: pd.DataFrame, pseudo: Pseudonymiser) -> KeyedNames:
    """The keyed lists of the names seen in this run's exports (their hashes only), for the
    de-identification of free text (:class:`observatoire.core.free_text.KeyedNames`)."""
    return KeyedNames.from_tokens(tokens, pseudo.token)


def deidentify_free_text(
    frame: pd.DataFrame,
    columns: Iterable[str] = FREE_TEXT_COLUMNS,
    *,
    names: KeyedNames | None = None,
    nlp: bool = False,
) -> dict[str, dict[str, int]]:
    """Replace, in place, every identity written in the kept free text by a placeholder.

    A worker may type a third person's name, birth date or phone number in a reason field; no
    mapping declares it, so it is recognised by its form (:mod:`observatoire.core.free_text`)
    and never reaches ``data_clean/``. Returns the number of spans replaced, by column and kind.

    The contacts' columns (reasons, orientations, zones: short labels from the partners' pick
    lists) are read by the rules alone, as before; the notes and testimonies of the field
    records (kind ``free_text``) also by the keyed lists of the run's names (``names``) and the
    NLP layer (``nlp``). The keyed lists are not applied to the labels: a label may be a name
    of the lists (« Santé » is one in the sample), and a label needs no name detection.
    """
    found: dict[str, dict[str, int]] = {}
    for column in columns:
        if column not in frame:
            continue
        values = frame[column]
        distinct = list(pd.unique(values.dropna().astype(str)))
        each = deidentify_each(distinct, names=names, nlp=nlp)
        changed = {v: c for v, c in zip(distinct, each, strict=True) if c[1]}
        if not changed:
            continue
        counts: Counter[str] = Counter()
        occurrences = values[values.isin(changed.keys())].astype(str).value_counts()
        for value, n in occurrences.items():
            for kind, k in changed[value][1].items():
                counts[kind] += k * int(n)
        replaced = {v: c[0] for v, c in changed.items()}
        frame[column] = values.map(lambda v, r=replaced: r.get(v, v) if isinstance(v, str) else v)
        found[column] = dict(sorted(counts.items()))
    return found


def _months(cov: PartnerCoverage) -> tuple[tuple[str, str], ...]:
    return tuple((month_text(a), month_text(b)) for a, b in cov.periods)


def partner_coverage(
    partner: PartnerMapping, read: list[tuple[ExportSpec, FileResult, pd.DataFrame]]
) -> tuple[PartnerCoverage, str | None]:
    """The partner's row of the coverage table, and the warning when it is not declared.

    Declared: the months every contacts export covers (its own ``coverage`` or the partner's).
    Not declared (for some contacts export): the periods proposed from the dates of the rows
    read (:func:`observatoire.core.coverage.propose_periods`), with a French warning naming the
    partner, the period proposed and the block to paste; stray rows are counted, and the caller
    sets them aside (``ligne_isolee``)."""
    specs = [spec for spec, _, _ in read if spec.table == "contacts"] or [s for s, _, _ in read]
    declared = [partner.export_coverage(spec) for spec in specs]
    pid = partner.partner_id
    if specs and all(d is not None for d in declared):
        months = None
        for periods in declared:
            these = {m for a, b in _as_periods(periods) for m in pd.period_range(a, b, freq="M")}
            months = these if months is None else months & these
        # A seasonal partner: its months off season are covered by design (closed), the same
        # for every export the coverage is taken from.
        seasons = [partner.export_season(spec) for spec in specs]
        off = set.intersection(*[{pd.Period(m, freq="M") for m in o} for _, o in seasons])
        season = tuple(dict.fromkeys(w for windows, _ in seasons for w in windows))
        dates = _dates(read, specs)
        kept, trimmed = trim_empty_edges(sorted(months or ()), dates, off_season=off)
        absent = sorted(set(trimmed) | _empty_year_months(read, specs, kept))
        runs = "+".join(partner.dispositifs)
        cov = PartnerCoverage(
            pid,
            runs,
            DECLARED,
            _runs(kept),
            absent=_runs(absent),
            season=season if off else (),
            off_season=_runs(sorted(off & (months or set()))),
        )
        if not absent:
            return cov, None
        where = partner.source or f"params/partners/{pid}.yaml"
        return cov, (
            f"Attention : couverture déclarée pour le partenaire « {pid} » ({where}) sans "
            f"aucune ligne pendant {periods_text(_runs(absent))} : données absentes (un export "
            "vide, ou des mois jamais envoyés). Ces mois ne sont pas tenus pour couverts, ni "
            "comptés comme zéro : le rapport dit « non reçu » et ne calcule aucune variation "
            "avec eux. Demandez les exports manquants, ou corrigez la couverture."
        )
    dates = _dates(read, specs)
    proposal = propose_periods(dates)
    runs = "+".join(partner.dispositifs)
    covered = [m for a, b in proposal.periods for m in pd.period_range(a, b, freq="M")]
    absent = sorted(_empty_year_months(read, specs, covered))
    cov = PartnerCoverage(
        pid, runs, PROPOSED, proposal.periods, proposal.stray_rows, absent=_runs(absent)
    )
    stray = (
        f" ; {proposal.stray_rows} ligne(s) isolée(s) ("
        + ", ".join(sorted({str(m.year) for m in proposal.stray_months}))
        + ") mises de côté (ligne_isolee)"
        if proposal.stray_rows
        else ""
    )
    where = partner.source or f"params/partners/{pid}.yaml"
    empty = (
        f" ; aucune ligne pour {periods_text(_runs(absent))} alors qu'un export de cette année "
        "a été reçu : données absentes (« non reçu » dans le rapport, pas zéro)"
        if absent
        else ""
    )
    warning = (
        f"Attention : couverture non déclarée pour le partenaire « {pid} » ({where}) : période "
        f"proposée d'après les données : {periods_text(proposal.periods)}{stray}{empty}. "
        "Vérifiez-la avec le partenaire puis déclarez-la dans sa correspondance :\n"
        + periods_yaml(proposal.periods, "    ")
    )
    return cov, warning


def _empty_year_months(
    read: list[tuple[ExportSpec, FileResult, pd.DataFrame]],
    specs: list[ExportSpec],
    covered: list[pd.Period],
) -> set[pd.Period]:
    """The months of every year for which an export was received (its year read from the file
    name) although no covered month of that year holds a row: an export sent empty (header
    only) says « données absentes » for its year, not « zéro »."""
    seen = {m.year for m in covered}
    received = {
        year
        for spec, res, _ in read
        if spec in specs and (year := export_year(spec, Path(res.source_file))) is not None
    }
    return {pd.Period(year=y, month=m, freq="M") for y in received - seen for m in range(1, 13)}


def _dates(read: list[tuple[ExportSpec, FileResult, pd.DataFrame]], specs: list[ExportSpec]):
    """The dates of the rows read from ``specs`` (start of contacts, night of refusals)."""
    frames = [
        frame["date_start" if spec.table == "contacts" else "date"]
        for spec, _, frame in read
        if spec in specs and len(frame)
    ]
    return pd.concat(frames) if frames else pd.Series(dtype="datetime64[ns]")


def trim_empty_edges(
    months: list[pd.Period],
    dates: pd.Series,
    gap_months: int = STRAY_GAP_MONTHS,
    off_season: set[pd.Period] | frozenset[pd.Period] = frozenset(),
) -> tuple[list[pd.Period], list[pd.Period]]:
    """Declared ``months`` without the leading and trailing stretches of more than
    ``gap_months`` months holding no row at all (a declaration cannot make data appear: a
    network whose sample starts in 2023 under a mapping declaring 2020 is not covered in
    2020–2022). Shorter empty edges are quiet months and stay covered. A seasonal partner's
    ``off_season`` months are not counted in a stretch (a summer without rows is no silence for
    a winter shelter), but go with it when it is trimmed. Returns (kept, trimmed)."""
    if not months:
        return [], []
    seen = pd.to_datetime(dates).dropna().dt.to_period("M")
    if seen.empty:
        return [], list(months)
    first, last = seen.min(), seen.max()
    lead = [m for m in months if m < first]
    trail = [m for m in months if m > last]

    def silent(stretch: list[pd.Period]) -> bool:
        return len([m for m in stretch if m not in off_season]) > gap_months

    trimmed = (lead if silent(lead) else []) + (trail if silent(trail) else [])
    return [m for m in months if m not in set(trimmed)], trimmed


def _runs(months: list[pd.Period]) -> tuple[tuple[pd.Period, pd.Period], ...]:
    """Sorted months → their runs of consecutive months (first, last)."""
    runs: list[list[pd.Period]] = []
    for m in months:
        if runs and (m - runs[-1][1]).n == 1:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    return tuple((a, b) for a, b in runs)
