"""Per-partner data-quality sheets (« fiches qualité des données »), HTML and PDF.

Each year the analyst sends every partner its own feedback on the exports it delivered: which
files arrived, which months they cover, which rows were set aside and why (with what to fix),
how complete each field of its mapping is, and how many rows and persons that gave, all beside
the previous year. One function per block returns a DataFrame or a dict, so that each block is
testable on small hand-built frames; :func:`build_quality_sheets` fills the Quarto template
``assets/reports/qualite-partenaire.qmd.j2`` once per partner and renders it.

What a sheet never shows: identity values. Identity fields are measured on the keyed tokens of
``data_clean/staging/identity_tokens.parquet`` (a missing value has no token), quarantined rows
are cited by file, line, column and reason only, and the partner's distinct persons are those
the annual report publishes (its ledger, ``outputs/tables/<year>/cases_publiees.csv``: « < k » and
« s » included), so the sheets run after the ``publication`` stage.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.config.paths import Paths
from observatoire.config.settings import ReportSettings, Settings
from observatoire.core.dispositifs import DISPOSITIFS, MAX_STAY_NIGHTS
from observatoire.core.formatting import (
    MOIS_ABREGES,
    french_number,
    french_percent,
    french_points,
)
from observatoire.core.person_level import has_persons
from observatoire.core.schema import (
    EXIT_REASONS,
    NATIONALITY_GROUPS,
    QUARANTINE_REASONS,
    SEX_CODES,
    TABLE_FIELDS,
)
from observatoire.core.spreadsheet import restore_cell
from observatoire.disclosure.ledger import PublishedCell, published_texts, read_ledger, read_state
from observatoire.disclosure.publication import key as count_key
from observatoire.intake.check import condense_lines, fix_sentence
from observatoire.intake.ingest import export_year
from observatoire.intake.mapping import ExportSpec, PartnerMapping, load_partners

__all__ = [
    "CONTACT_TEXT_FIELDS",
    "DEFAULT_FIELDS",
    "IDENTITY_TOKENS",
    "LOW_COMPLETENESS",
    "LOW_MONTH_RATIO",
    "MAX_EXAMPLE_LINES",
    "MIN_DROP_POINTS",
    "MIN_MONTHLY_ROWS_FOR_GAP",
    "MONTHS",
    "NOT_KEPT",
    "ONGOING_FIELDS",
    "STEM",
    "UNKNOWN_CODES",
    "VALIDATION_FIELDS",
    "NetworkData",
    "QualityPaths",
    "attention_points",
    "build_quality_sheets",
    "export_of",
    "field_completeness",
    "file_year",
    "files_received",
    "fr_change",
    "fr_share",
    "md",
    "months_chart",
    "months_delivered",
    "persons_and_rows",
    "quarantine_counts",
    "quarantine_examples",
    "reason_advice",
    "reasons_table",
    "sheet_context",
    "yaml_string",
]

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STEM = "qualite-partenaire"
MONTHS = MOIS_ABREGES  # abbreviated month names of every table and chart
UNKNOWN_CODES = frozenset({"INCONNU", "inconnu"})
"""Canonical codes meaning « not known »: a field coded so counts as not filled."""

MIN_MONTHLY_ROWS_FOR_GAP = 20
"""A month without rows is flagged as missing only for a service that usually sends at least
this many rows a month (as in the annual report): a few tenancies a year leave empty months."""
LOW_MONTH_RATIO = 0.5
"""A month is « en forte baisse » below this share of the same month of the previous year."""
MIN_DROP_POINTS = 1.0
"""A completeness drop is a point of attention from this many percentage points."""
LOW_COMPLETENESS = 0.9
"""A field filled for fewer than this share of the rows of the year is a point of attention."""
ONGOING_FIELDS = frozenset({"date_end", "nights"})
"""Fields legitimately empty for a stay still running when the file was exported."""
MAX_EXAMPLE_LINES = 10
"""Line numbers cited per reason (then « et N autres »)."""

IDENTITY_TOKENS = {
    "surname": "tok_surname",
    "first_name": "tok_first_name",
    "birth_date": "tok_birth_date",
    "initials": "tok_initials",
}
"""Identity field → the staging token column that is null exactly when the field was empty."""
NOT_KEPT = frozenset({"time", "fee_eur"})
"""Fields read at ingest but not kept in the clean tables: their completeness is not measured."""
CONTACT_TEXT_FIELDS = ("activity", "orientation", "zone")

VALIDATION_FIELDS: dict[str, tuple[str, ...]] = {
    "identite_manquante": ("local_id", "initials"),
    "date_manquante": ("date_start", "date"),
    "date_hors_periode": ("date_start", "date"),
    "dates_incoherentes": ("date_end",),
    "nuitees_incoherentes": ("nights",),
    "ligne_dupliquee": (),
}
"""Which mapped field a validation reason points at (range and code checks are found from the
row's values, see :func:`_validation_field`)."""
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "date_manquante": ("date_start", "date"),
    "date_hors_periode": ("date_start", "date"),
    "identite_manquante": ("local_id", "initials"),
    "dates_incoherentes": ("date_start", "date_end"),
    "nuitees_incoherentes": ("nights", "date_start", "date_end"),
}
"""Columns named in the advice of a reason when no quarantined row says which."""


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityPaths:
    """Where the sheets read and write; built from the settings, relative to a project root."""

    contacts: Path
    refusals: Path
    staging: Path
    quarantine: Path
    rows: Path
    inputs: Path
    partners_dir: Path
    codes_dir: Path
    out: Path
    tables: Path
    disclosure: Path

    @classmethod
    def from_settings(cls, settings: Settings, root: Path = Path(".")) -> QualityPaths:
        year = settings.report.year
        paths = Paths(root)
        return cls(
            contacts=paths.contacts,
            refusals=paths.refusals,
            staging=paths.staging,
            quarantine=root / settings.ingest.quarantine_dir,
            rows=paths.metrics / "rows.json",
            inputs=paths.metrics / "inputs.json",
            partners_dir=root / settings.inputs.partners_dir,
            codes_dir=root / settings.inputs.codes_dir,
            out=paths.confined(paths.quality(year)),
            tables=paths.tables(year),
            disclosure=paths.disclosure(year),
        )


def export_of(mapping: PartnerMapping, source_file: str) -> ExportSpec | None:
    """The export of ``mapping`` a file belongs to, by its glob (as ingest found it)."""
    for spec in mapping.exports:
        if fnmatchcase(source_file, spec.files):
            return spec
    return None


def file_year(mapping: PartnerMapping, source_file: str) -> int | None:
    """The year a received file covers, read from its name with the mapping's pattern."""
    spec = export_of(mapping, source_file)
    return None if spec is None else export_year(spec, Path(source_file))


# --- formatting ---------------------------------------------------------------------------------


def fr_share(x: float | None) -> str:
    """A share (0.955) as « 95,5 % »; « – » when there is nothing to measure."""
    return "–" if x is None or x != x else french_percent(100 * x, 1)


def fr_change(current: float, previous: float) -> str:
    """Relative change « +6,1 % »; « – » without a previous value."""
    if not previous or current != current or previous != previous:
        return "–"
    return french_percent(100 * (current / previous - 1), 1, signed=True)


_MARKDOWN_SPECIAL = "\\`*_[]<>|@#$~^"


def md(text: str) -> str:
    """A generated or partner-supplied text safe inside Quarto markdown (a « | » would split a
    table cell, « @ » start a cross-reference, « * » emphasis), with French no-break spaces
    inside guillemets and before « : » and « ; » so that a line never starts with them."""
    escaped = "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in str(text))
    for plain, tied in (("« ", "«\u00a0"), (" »", "\u00a0»"), (" :", "\u00a0:"), (" ;", "\u00a0;")):
        escaped = escaped.replace(plain, tied)
    return escaped


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (quotes and backslashes escaped), for the front matter."""
    return json.dumps(str(text), ensure_ascii=False)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- block: files received ----------------------------------------------------------------------


def files_received(
    mapping: PartnerMapping, rows: dict[str, Any], inputs: dict[str, Any], year: int
) -> pd.DataFrame:
    """Files of the partner covering ``year``: name, export, short sha256, rows read/kept/set aside.

    ``rows`` is ``outputs/metrics/rows.json``, ``inputs`` is ``outputs/metrics/inputs.json``.
    """
    out = []
    for source_file, acc in sorted(rows["files"].items()):
        if acc["partner_id"] != mapping.partner_id or file_year(mapping, source_file) != year:
            continue
        # A file several exports read (one per dispositif) names them all.
        names = [s.name for s in mapping.exports if fnmatchcase(source_file, s.files)]
        out.append(
            {
                "file": source_file,
                "name": PurePosixPath(source_file).name,
                "export": " + ".join(names),
                "sha256": inputs.get(source_file, {}).get("sha256", "")[:12],
                "rows_read": int(acc["rows_read"]),
                "rows_clean": int(acc["rows_clean"]),
                "rows_quarantined": int(acc["rows_quarantined"]),
                "rows_filtered": int(acc.get("rows_filtered", 0)),
            }
        )
    columns = [
        "file",
        "name",
        "export",
        "sha256",
        "rows_read",
        "rows_clean",
        "rows_quarantined",
        "rows_filtered",
    ]
    return pd.DataFrame(out, columns=columns)


# --- block: months delivered --------------------------------------------------------------------


def months_delivered(dates: pd.Series, year: int, flag_gaps: bool = True) -> pd.DataFrame:
    """Rows per month of ``year`` and ``year − 1`` from the rows' dates, with gaps flagged.

    ``missing``: no row in a month of ``year`` although the service usually sends at least
    :data:`MIN_MONTHLY_ROWS_FOR_GAP` rows a month (mean of the previous year, or of the months
    delivered this year). ``low``: fewer than half the rows of the same month a year before
    (when that month had at least :data:`MIN_MONTHLY_ROWS_FOR_GAP`). ``flag_gaps=False`` for
    files that only list some days (refusals are written only for nights with a refusal).
    """
    d = pd.to_datetime(dates).dropna()
    frame = pd.DataFrame(index=pd.RangeIndex(1, 13, name="month"))
    for col, y in (("rows_prev", year - 1), ("rows", year)):
        frame[col] = d[d.dt.year == y].dt.month.value_counts().reindex(frame.index, fill_value=0)
    delivered = frame.loc[frame["rows"] > 0, "rows"]
    usual = max(frame["rows_prev"].mean(), float(delivered.mean()) if len(delivered) else 0.0)
    frame["missing"] = flag_gaps & (frame["rows"] == 0) & (usual >= MIN_MONTHLY_ROWS_FOR_GAP)
    frame["low"] = (
        flag_gaps
        & ~frame["missing"]
        & (frame["rows_prev"] >= MIN_MONTHLY_ROWS_FOR_GAP)
        & (frame["rows"] < LOW_MONTH_RATIO * frame["rows_prev"])
    )
    return frame.astype({"rows_prev": "int64", "rows": "int64"})


def months_chart(months: pd.DataFrame, year: int, dispositif: str) -> Figure:
    """Grouped bars of rows per month, previous year in grey, missing months written out."""
    import matplotlib.pyplot as plt
    import numpy as np

    from observatoire.reports import charts

    charts.apply_house_style()
    fig, ax = plt.subplots(figsize=(charts.FIG_WIDTH_IN, 5.2 / 2.54), layout="constrained")
    x = np.arange(12)
    width = 0.4
    colour = charts.DISPOSITIF_COLOURS.get(dispositif, charts.PALETTE[0])
    ax.bar(x - width / 2, months["rows_prev"], width, color="#BDBDBD", label=str(year - 1))
    ax.bar(x + width / 2, months["rows"], width, color=colour, label=str(year))
    top = max(int(months[["rows_prev", "rows"]].to_numpy().max()), 1)
    for i in np.flatnonzero(months["missing"].to_numpy()):
        ax.text(
            x[i] + width / 2,
            top * 0.04,
            "aucune ligne",
            rotation=90,
            ha="center",
            va="bottom",
            fontsize=7,
            color="#B3261E",
        )
    ax.set_xticks(x, MONTHS)
    ax.set_ylabel("Lignes par mois")
    ax.yaxis.set_major_formatter(charts.FrenchFormatter(0))
    ax.set_ylim(0, top * 1.08)
    ax.grid(axis="x", visible=False)
    ax.legend(ncols=2, loc="lower right", bbox_to_anchor=(1, 1), borderaxespad=0.2)
    return fig


# --- block: rows set aside ----------------------------------------------------------------------


def reason_advice(
    reason: str, spec: ExportSpec, columns: list[str] | None = None, year: int | None = None
) -> str:
    """What the partner should do about one reason, in its own column names (French).

    The sentence is the one ``observatoire check`` prints, so a partner reads the same advice
    the day it sends a file and in its yearly sheet. Without columns from quarantined rows, the
    columns the reason concerns are taken from the mapping.
    """
    if not columns:
        fields = DEFAULT_FIELDS.get(reason, ())
        if reason == "date_illisible":
            fields = tuple(f for f, c in spec.columns.items() if c.kind == "date")
        elif reason == "nombre_illisible":
            fields = tuple(f for f, c in spec.columns.items() if c.kind in ("integer", "decimal"))
        elif reason in ("code_inconnu", "valeur_hors_plage"):
            kinds = ("code",) if reason == "code_inconnu" else ("integer", "decimal")
            fields = tuple(f for f, c in spec.columns.items() if c.kind in kinds)
        columns = [spec.columns[f].column for f in fields if f in spec.columns]
    return _capitalise(fix_sentence(reason, spec, list(columns), year))


def quarantine_counts(rows: dict[str, Any], mapping: PartnerMapping, year: int) -> pd.DataFrame:
    """Rows set aside per export and reason, ``year − 1`` and ``year`` (from ``rows.json``).

    Only reasons that occurred in either year are listed, in the order of the closed list.
    """
    counts: dict[tuple[str, str], list[int]] = {}
    specs = {s.name: s for s in mapping.exports}
    for source_file, acc in rows["files"].items():
        if acc["partner_id"] != mapping.partner_id:
            continue
        y = file_year(mapping, source_file)
        spec = export_of(mapping, source_file)
        if spec is None or y not in (year - 1, year):
            continue
        for reason, n in acc["reasons"].items():
            cell = counts.setdefault((spec.name, reason), [0, 0])
            cell[int(y == year)] += int(n)
    order = list(QUARANTINE_REASONS)
    out = [
        {
            "export": export,
            "reason": reason,
            "label": QUARANTINE_REASONS.get(reason, reason),
            "n_prev": n_prev,
            "n": n,
            "spec": specs[export],
        }
        for (export, reason), (n_prev, n) in sorted(
            counts.items(),
            key=lambda kv: (kv[0][0], order.index(kv[0][1]) if kv[0][1] in order else 99),
        )
    ]
    return pd.DataFrame(out, columns=["export", "reason", "label", "n_prev", "n", "spec"])


def _read_quarantine(path: Path, columns: list[str]) -> pd.DataFrame:
    """Only the named columns of a quarantine file (its raw cells are never loaded into a sheet)."""
    header = pd.read_csv(path, nrows=0).columns
    use = [c for c in columns if c in header]
    frame = pd.read_csv(path, usecols=use, dtype=str, keep_default_na=False)
    return frame.map(restore_cell)  # the quarantine's cells were neutralised for spreadsheets


def _validation_field(row: pd.Series, spec: ExportSpec) -> str | None:
    """The mapped field a validation failure concerns, from the reason and the row's values."""
    reason = str(row.get("reason", ""))
    if reason == "valeur_hors_plage":
        max_nights = MAX_STAY_NIGHTS.get(str(row.get("dispositif", "")), math.inf)
        checks = (
            ("refusals", 1, 500),
            ("nights", 0, max_nights),
            ("duration_hours", 0, 24),
            ("age_at_contact", 0, 105),
        )
        for col, low, high in checks:
            value = pd.to_numeric(row.get(col, ""), errors="coerce")
            if value == value and not low <= value <= high:
                if col == "age_at_contact":
                    return (
                        "estimated_age"
                        if str(row.get("age_estimated")) == "True"
                        else ("birth_date")
                    )
                return col
        return None
    if reason == "code_inconnu":
        for col, field in (
            ("sex", "sex"),
            ("nationality_group", "nationality"),
            ("exit_reason", "exit_reason"),
        ):
            value = str(row.get(col, ""))
            if value and value not in ("nan", "None", "<NA>") and field in spec.columns:
                allowed = {
                    "sex": SEX_CODES,
                    "nationality": NATIONALITY_GROUPS,
                    "exit_reason": EXIT_REASONS,
                }[field]
                if value not in allowed:
                    return field
        return None
    return next((f for f in VALIDATION_FIELDS.get(reason, ()) if f in spec.columns), None)


def _column_labels(field: str | None, spec: ExportSpec) -> tuple[str, ...]:
    """The partner's column label(s) for a field; stays without a nights column → the dates."""
    if field is None:
        return ()
    if field in spec.columns:
        return (spec.columns[field].column,)
    if field == "nights":
        return tuple(
            spec.columns[f].column for f in ("date_start", "date_end") if f in spec.columns
        )
    return ()


def _where(labels: tuple[str, ...], scope: str = "ligne entière") -> str:
    """« colonne « X » », « colonnes « A » et « B » », or the scope without a column."""
    if not labels:
        return scope
    quoted = [f"« {label} »" for label in labels]
    if len(quoted) == 1:
        return f"colonne {quoted[0]}"
    return f"colonnes {', '.join(quoted[:-1])} et {quoted[-1]}"


def quarantine_examples(
    quarantine_dir: Path,
    mapping: PartnerMapping,
    years: tuple[int, ...],
    read: Callable[[Path, list[str]], pd.DataFrame] = _read_quarantine,
) -> pd.DataFrame:
    """Where the rows set aside are: reason, file, column(s) and line numbers (never a value).

    Ingest quarantine files (``<dir>/ingest/*.csv``) name the line and column; validation ones
    (``<dir>/validation/{contacts,refusals}.csv``) give the data row, whose line in the file is
    the row number plus the header line (exact for spreadsheets and for CSV files without line
    breaks inside cells). Only the location columns of these files are read. Returns one row per
    (export, reason, file, columns): ``where`` (French), ``labels`` (the partner's column
    labels, joined by U+001F), ``lines`` (sorted) and ``n``. ``read`` reads the named columns
    of a quarantine file (:meth:`NetworkData.read_quarantine` reads each file once for all the
    partners' sheets).
    """
    meta = ["partner_id", "source_file", "source_row", "line", "reason", "column"]
    located: list[dict[str, Any]] = []

    def add(
        spec: ExportSpec, reason: str, file: str, labels: tuple[str, ...], scope: str, line: int
    ) -> None:
        located.append(
            {
                "export": spec.name,
                "reason": reason,
                "file": file,
                "where": _where(labels, scope),
                "labels": "\x1f".join(labels),
                "line": line,
            }
        )

    for path in sorted((quarantine_dir / "ingest").glob("*.csv")):
        q = read(path, meta)
        q = q[q["partner_id"] == mapping.partner_id]
        for r in q.itertuples(index=False):
            spec = export_of(mapping, r.source_file)
            if spec is None or export_year(spec, Path(r.source_file)) not in years:
                continue
            whole = r.column.startswith("(") and r.column.endswith(")")
            labels = () if whole else (r.column,)
            add(spec, r.reason, r.source_file, labels, r.column.strip("()"), int(r.line))
    values = [
        "reason",
        "dispositif",
        "age_estimated",
        "age_at_contact",
        "nights",
        "duration_hours",
        "refusals",
        "sex",
        "nationality_group",
        "exit_reason",
    ]
    for path in sorted((quarantine_dir / "validation").glob("*.csv")):
        q = read(path, ["partner_id", "source_file", "source_row", *values])
        q = q[q["partner_id"] == mapping.partner_id]
        for _, r in q.iterrows():
            spec = export_of(mapping, r["source_file"])
            if spec is None or export_year(spec, Path(r["source_file"])) not in years:
                continue
            labels = _column_labels(_validation_field(r, spec), spec)
            line = int(r["source_row"]) + spec.format.header_row
            add(spec, r["reason"], r["source_file"], labels, "ligne entière", line)
    columns = ["export", "reason", "file", "where", "labels", "lines", "n"]
    if not located:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(located)
    out = (
        frame.groupby(["export", "reason", "file", "where", "labels"], sort=True)["line"]
        .apply(lambda s: sorted(set(s)))
        .rename("lines")
        .reset_index()
    )
    out["n"] = out["lines"].map(len)
    return out[columns]


def reasons_table(
    counts: pd.DataFrame, examples: pd.DataFrame, year: int, max_lines: int = MAX_EXAMPLE_LINES
) -> list[dict[str, Any]]:
    """One entry per (export, reason): counts, advice, and where the rows are, file by file
    (« fichier.csv, colonne « Date » : lignes 12, 40–45 et 3 autres »), citing about
    ``max_lines`` line numbers per reason; the newest files come first."""
    out = []
    for r in counts.itertuples(index=False):
        ex = examples[(examples["export"] == r.export) & (examples["reason"] == r.reason)]
        labels = sorted(
            {label for joined in ex["labels"] for label in joined.split("\x1f") if label}
        )
        places, budget = [], max_lines
        for e in ex.sort_values(["file", "where"], ascending=[False, True]).itertuples():
            name = PurePosixPath(e.file).name
            if budget <= 0:
                places.append(f"{name}, {e.where} : {e.n} ligne{'s' if e.n > 1 else ''}")
                continue
            places.append(f"{name}, {e.where} : {condense_lines(e.lines, max_items=budget)}")
            budget -= min(len(e.lines), budget)
        out.append(
            {
                "export": r.export,
                "reason": r.reason,
                "label": _capitalise(r.label),
                "n_prev": french_number(int(r.n_prev)),
                "n": french_number(int(r.n)),
                "n_value": int(r.n),
                "advice": reason_advice(r.reason, r.spec, labels, year),
                "places": places,
            }
        )
    return out


# --- block: completeness ------------------------------------------------------------------------


def _not_blank(s: pd.Series) -> pd.Series:
    return s.notna() & (s.astype(str).str.strip() != "")


def _field_measure(
    field: str, spec: ExportSpec, frame: pd.DataFrame
) -> tuple[pd.Series | None, pd.Series, str]:
    """(filled, base, note) for one field on the clean rows of one export; filled is None when
    the field cannot be measured after ingest."""
    col = spec.columns[field]
    everyone = pd.Series(True, index=frame.index)
    notes = []
    if col.required:
        notes.append("obligatoire")
    if field in NOT_KEPT:
        return None, everyone, "non conservé : non mesuré"
    if field in IDENTITY_TOKENS:
        filled = frame[IDENTITY_TOKENS[field]].notna()
        notes.append("jeton pseudonymisé")
    elif field == "local_id":
        filled = frame["record_key"].notna()
    elif field in ("date", "refusals"):
        filled = frame[field].notna()
    elif field == "sex":
        filled = _not_blank(frame["sex"]) & ~frame["sex"].isin(UNKNOWN_CODES)
        notes.append("« inconnu » = vide")
    elif field == "nationality":
        group = frame["nationality_group"]
        filled = _not_blank(group) & ~group.isin(UNKNOWN_CODES)
        notes.append("« inconnu » = vide")
    elif field == "exit_reason":
        base = frame["date_end"].notna()
        value = frame["exit_reason"]
        filled = _not_blank(value) & ~value.isin(UNKNOWN_CODES)
        return filled, base, "séjours terminés ; « inconnu » = vide"
    elif field == "estimated_age":
        base = frame["tok_birth_date"].isna() if "birth_date" in spec.columns else everyone
        note = "lignes sans date de naissance" if "birth_date" in spec.columns else ""
        return frame["age_estimated"].astype(bool), base, note
    elif field == "date_end":
        filled = frame["date_end"].notna()
        notes.append("vide si toujours en cours")
    elif field == "nights":
        filled = frame["nights"].notna()
        notes.append("calculées des dates si absentes")
    elif field in CONTACT_TEXT_FIELDS:
        filled = _not_blank(frame[field])
    elif field in frame:
        filled = frame[field].notna()
    else:
        return None, everyone, "non mesuré"
    return filled, everyone, " ; ".join(notes)


def field_completeness(
    mapping: PartnerMapping,
    contacts: pd.DataFrame,
    tokens: pd.DataFrame,
    refusals: pd.DataFrame,
    year: int,
) -> pd.DataFrame:
    """Share of clean rows with each mapped field filled, ``year − 1`` and ``year``.

    ``contacts``: the partner's clean contacts (``data_clean/contacts.parquet`` columns, with
    ``year``); ``tokens``: its staging identity tokens (joined on source file and row, so only
    clean rows count); ``refusals``: its clean refusals. A code mapped to « inconnu » is not
    filled. One row per (export, field): label, partner column, shares, change, note.
    """
    contacts = contacts.merge(
        tokens.drop(columns=["partner_id"], errors="ignore"),
        on=["source_file", "source_row"],
        how="left",
    )
    for token in IDENTITY_TOKENS.values():
        if token not in contacts:
            contacts[token] = pd.NA
    refusals = refusals.assign(year=pd.to_datetime(refusals["date"]).dt.year)
    out = []
    for spec in mapping.exports:
        if spec.table not in ("contacts", "refusals"):
            # An aggregate return has no clean row per contact: its own checks (validate
            # stage, docs/donnees-agregees.md), not this table's completeness.
            continue
        frame = contacts if spec.table == "contacts" else refusals
        frame = frame[frame["source_file"].map(lambda f, s=spec: fnmatchcase(f, s.files))]
        for field, col in spec.columns.items():
            filled, base, note = _field_measure(field, spec, frame)
            shares = {}
            for key, y in (("share_prev", year - 1), ("share", year)):
                rows = (frame["year"] == y) & base
                shares[key] = (
                    float(filled[rows].mean()) if filled is not None and rows.any() else None
                )
                shares[key.replace("share", "base")] = int(rows.sum())
            prev, cur = shares["share_prev"], shares["share"]
            out.append(
                {
                    "export": spec.name,
                    "field": field,
                    "label": _capitalise(TABLE_FIELDS[spec.table][field].label),
                    "column": col.column,
                    "identity": col.identity,
                    **shares,
                    "change": None if prev is None or cur is None else cur - prev,
                    "note": note,
                }
            )
    columns = [
        "export",
        "field",
        "label",
        "column",
        "identity",
        "share_prev",
        "base_prev",
        "share",
        "base",
        "change",
        "note",
    ]
    return pd.DataFrame(out, columns=columns)


# --- block: persons and rows --------------------------------------------------------------------


def persons_and_rows(
    files: dict[int, pd.DataFrame],
    year: int,
    persons: dict[int, PublishedCell | None],
) -> list[dict[str, str]]:
    """Rows read, kept and set aside, and distinct persons, ``year − 1`` and ``year``.

    ``files`` maps each year to its :func:`files_received` table. ``persons`` are the partner's
    distinct persons of each year as the annual report publishes them (its ledger: « < k » or
    « s » where it masks them), so a sheet never prints a count the report hides; their change
    only when both years are printed.
    """
    prev, cur = files.get(year - 1), files.get(year)

    def total(frame: pd.DataFrame | None, col: str) -> int | None:
        return None if frame is None or frame.empty else int(frame[col].sum())

    out = []
    for label, col in (
        ("Lignes lues", "rows_read"),
        ("Lignes retenues", "rows_clean"),
        ("Lignes écartées", "rows_quarantined"),
    ):
        a, b = total(prev, col), total(cur, col)
        out.append(
            {
                "label": label,
                "prev": french_number(a),
                "cur": french_number(b),
                "change": fr_change(b, a) if a is not None and b is not None else "–",
            }
        )
    a, b = persons.get(year - 1), persons.get(year)
    out.append(
        {
            "label": "Personnes distinctes",
            "prev": a.text if a else "–",
            "cur": b.text if b else "–",
            "change": (
                fr_change(b.value, a.value)
                if a and b and a.value is not None and b.value is not None
                else "–"
            ),
        }
    )
    return out


# --- block: points of attention -----------------------------------------------------------------


def attention_points(
    year: int,
    months: pd.DataFrame,
    reasons: list[dict[str, Any]],
    completeness: pd.DataFrame,
    files: pd.DataFrame,
    files_prev: pd.DataFrame,
) -> list[str]:
    """« Points d'attention »: facts only, each with its figures (no judgement on the cause)."""
    out: list[str] = []
    if files.empty:
        return [f"Aucun fichier reçu pour {year}."]
    missing = [MONTHS[m - 1] for m in months.index[months["missing"]]]
    if not missing and (months["rows"] > 0).all():
        out.append(
            f"Les 12 mois de {year} sont transmis : {french_number(int(months['rows'].sum()))} "
            f"lignes retenues ({fr_change(months['rows'].sum(), months['rows_prev'].sum())} "
            f"par rapport à {year - 1})."
        )
    if missing:
        out.append(
            f"{len(missing)} mois sans aucune ligne en {year} : {', '.join(missing)} "
            f"({french_number(int(months['rows'].sum()))} lignes sur l'année)."
        )
    low = months[months["low"]]
    if len(low):
        items = ", ".join(
            f"{MONTHS[m - 1]} ({french_number(r.rows)} contre {french_number(r.rows_prev)})"
            for m, r in low.iterrows()
        )
        out.append(f"Mois en forte baisse par rapport à {year - 1} (moins de la moitié) : {items}.")
    read, set_aside = int(files["rows_read"].sum()), int(files["rows_quarantined"].sum())
    this_year = [r for r in reasons if r["n_value"] > 0]
    if set_aside and this_year:
        top = max(this_year, key=lambda r: r["n_value"])
        out.append(
            f"{french_number(set_aside)} lignes écartées en {year} sur "
            f"{french_number(read)} lues ({fr_share(set_aside / read)}) ; motif principal : "
            f"« {top['label'].lower()} » ({top['n']} lignes)."
        )
    else:
        before = int(files_prev["rows_quarantined"].sum()) if not files_prev.empty else 0
        out.append(f"Aucune ligne écartée en {year} ({french_number(before)} en {year - 1}).")
    drops = completeness.dropna(subset=["change"])
    drops = drops[drops["change"] <= -MIN_DROP_POINTS / 100].sort_values("change").head(3)
    for r in drops.itertuples():
        note = f" ; {r.note.split(' ; ')[0]}" if r.field in ("date_end", "exit_reason") else ""
        out.append(
            f"Complétude en baisse pour « {r.column} » : "
            f"{fr_share(r.share)} en {year} contre {fr_share(r.share_prev)} en {year - 1} "
            f"({french_points(r.change)}{note})."
        )
    weak = completeness[
        (completeness["share"] < LOW_COMPLETENESS)
        & ~completeness.index.isin(drops.index)
        & ~completeness["field"].isin(ONGOING_FIELDS)
    ]
    for r in weak.sort_values("share").head(2).itertuples():
        out.append(
            f"« {r.column} » n'est renseigné que pour {fr_share(r.share)} "
            f"des lignes retenues en {year}."
        )
    return out


# --- the sheet ----------------------------------------------------------------------------------


@dataclass
class NetworkData:
    """Everything the sheets read, loaded once for all partners (two years only)."""

    contacts: pd.DataFrame
    tokens: pd.DataFrame
    refusals: pd.DataFrame
    rows: dict[str, Any]
    inputs: dict[str, Any]
    published: dict[str, PublishedCell]
    """This year's and last year's ledgers (stage ``publication``): what the reports print."""
    quarantine: dict[tuple[Path, tuple[str, ...]], pd.DataFrame] = dataclasses.field(
        default_factory=dict
    )
    """Quarantine files already read (all partners' rows), by path and columns."""

    def read_quarantine(self, path: Path, columns: list[str]) -> pd.DataFrame:
        """:func:`_read_quarantine`, each file read once for all the partners' sheets (nine
        partners used to read the same two dozen files nine times)."""
        key = (path, tuple(columns))
        if key not in self.quarantine:
            self.quarantine[key] = _read_quarantine(path, columns)
        return self.quarantine[key]

    @classmethod
    def load(cls, paths: QualityPaths, year: int, k: int) -> NetworkData:
        columns = [
            "person_id",
            "record_key",
            "partner_id",
            "date_start",
            "date_end",
            "nights",
            "year",
            "sex",
            "age_estimated",
            "nationality_group",
            "exit_reason",
            "activity",
            "orientation",
            "zone",
            "duration_hours",
            "source_file",
            "source_row",
        ]
        contacts = pd.read_parquet(
            paths.contacts, columns=columns, filters=[("year", "in", [year - 1, year])]
        )
        token_columns = ["source_file", "source_row", *IDENTITY_TOKENS.values()]
        if has_persons(contacts):
            tokens = pd.read_parquet(
                paths.staging / "identity_tokens.parquet", columns=token_columns
            )
            tokens = tokens[tokens["source_file"].isin(set(contacts["source_file"]))]
        else:
            # Counts only: ingest's token table has no token column, and nothing to read.
            tokens = pd.DataFrame(columns=token_columns)
        refusals = (
            pd.read_parquet(paths.refusals)
            if paths.refusals.exists()
            else pd.DataFrame(columns=["partner_id", "date", "refusals", "source_file"])
        )
        refusals = refusals[pd.to_datetime(refusals["date"]).dt.year.isin([year - 1, year])]
        return cls(
            contacts=contacts,
            tokens=tokens,
            refusals=refusals,
            rows=json.loads(paths.rows.read_text(encoding="utf-8")),
            inputs=json.loads(paths.inputs.read_text(encoding="utf-8")),
            published=published_cells_of_year(paths, k),
        )


def published_cells_of_year(paths: QualityPaths, k: int) -> dict[str, PublishedCell]:
    """The year's ledger and last year's (as the audit held it), key → printed cell."""
    cells = {}
    previous = read_state(paths.disclosure).previous
    if previous is not None:
        cells.update(published_texts(previous, k))
    cells.update(published_texts(read_ledger(paths.tables), k))
    return cells


def _months_rows(label: str, months: pd.DataFrame, col: str, bold_missing: bool) -> dict:
    cells = []
    for _, r in months.iterrows():
        text = french_number(int(r[col]))
        cells.append(f"**{text}**" if bold_missing and (r["missing"] or r["low"]) else text)
    return {"label": label, "cells": cells, "total": french_number(int(months[col].sum()))}


def sheet_context(
    mapping: PartnerMapping, data: NetworkData, report: ReportSettings, quarantine_dir: Path
) -> dict[str, Any]:
    """Everything the template prints for one partner, formatted and disclosure-controlled."""
    year, k = report.year, report.disclosure_threshold
    pid = mapping.partner_id
    contacts = data.contacts[data.contacts["partner_id"] == pid]
    refusals = data.refusals[data.refusals["partner_id"] == pid]
    files = {y: files_received(mapping, data.rows, data.inputs, y) for y in (year - 1, year)}
    months = months_delivered(contacts["date_start"], year)
    month_rows = [
        _months_rows(str(year - 1), months, "rows_prev", False),
        _months_rows(str(year), months, "rows", True),
    ]
    has_refusals = any(s.table == "refusals" for s in mapping.exports)
    if has_refusals:
        ref_months = months_delivered(refusals["date"], year, flag_gaps=False)
        month_rows += [
            _months_rows(f"Refus {year - 1}", ref_months, "rows_prev", False),
            _months_rows(f"Refus {year}", ref_months, "rows", False),
        ]
    counts = quarantine_counts(data.rows, mapping, year)
    examples = quarantine_examples(quarantine_dir, mapping, (year - 1, year), data.read_quarantine)
    reasons = reasons_table(counts, examples, year)
    completeness = field_completeness(
        mapping,
        contacts,
        data.tokens[data.tokens["source_file"].isin(set(contacts["source_file"]))],
        refusals,
        year,
    )
    several = len(mapping.exports) > 1
    contact_exports = [s.name for s in mapping.exports if s.table == "contacts"]
    return {
        "year": year,
        "k": k,
        "date": f"{year + 1}-03-31",  # fixed: the PDF's metadata date, never the clock
        "organisation": md(report.organisation),
        "organisation_yaml": yaml_string(md(report.organisation)),
        "colour_primary": report.colour_primary,
        "colour_secondary": report.colour_secondary,
        "logo": "",
        "partner": {
            "id": pid,
            "name": md(mapping.name),
            "name_yaml": yaml_string(md(mapping.name)),
            "footer_yaml": yaml_string(f"Fiche destinée à : {md(mapping.name)}"),
            "dispositif": md(", ".join(DISPOSITIFS.get(d, d) for d in mapping.dispositifs)),
            "row_unit": md(mapping.row_unit),
            "exports": [md(s.name) for s in mapping.exports],
        },
        "several_exports": several,
        "files": [
            {
                "name": f.name,
                "export": md(f.export),
                "sha256": f.sha256,
                "read": french_number(f.rows_read),
                "clean": french_number(f.rows_clean),
                "quarantined": french_number(f.rows_quarantined),
                "filtered": french_number(f.rows_filtered),
            }
            for f in files[year].itertuples()
        ],
        "has_filtered": bool(files[year]["rows_filtered"].sum()),
        "files_prev_n": len(files[year - 1]),
        "month_rows": month_rows,
        "months_missing": [MONTHS[m - 1] for m in months.index[months["missing"]]],
        "months_low": [MONTHS[m - 1] for m in months.index[months["low"]]],
        "has_refusals": has_refusals,
        "min_monthly_rows": MIN_MONTHLY_ROWS_FOR_GAP,
        "reasons": [
            {
                **r,
                "export": md(r["export"]),
                "advice": md(r["advice"]),
                "places": [md(x) for x in r["places"]],
            }
            for r in reasons
        ],
        "max_lines": MAX_EXAMPLE_LINES,
        "completeness": [
            {
                "label": md(r.label),
                "column": md(r.column),
                "export": md(r.export),
                "prev": fr_share(r.share_prev),
                "cur": fr_share(r.share),
                "change": french_points(r.change),
                "note": r.note,
            }
            for r in completeness.itertuples()
        ],
        "contact_exports": [md(e) for e in contact_exports],
        "persons": persons_and_rows(
            {y: f[f["export"].isin(contact_exports)] for y, f in files.items()},
            year,
            {y: data.published.get(count_key(y, f"partenaire={pid}")) for y in (year - 1, year)},
        ),
        "attention": [
            md(a)
            for a in attention_points(
                year, months, reasons, completeness, files[year], files[year - 1]
            )
        ],
        "_months": months,
        "_files": files[year],
    }


def _write_index(out: Path, year: int, organisation: str, entries: list[dict[str, Any]]) -> None:
    """``index.html``: one line per sheet with links to its HTML and PDF (no data values)."""
    items = "\n".join(
        f"    <tr><td>{html.escape(e['name'])}</td><td>{html.escape(e['dispositif'])}</td>"
        f'<td class="n">{html.escape(e["rows"])}</td>'
        f'<td class="n">{html.escape(e["set_aside"])}</td>'
        f'<td><a href="{e["id"]}.html">HTML</a> · <a href="{e["id"]}.pdf">PDF</a></td></tr>'
        for e in entries
    )
    text = f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>Fiches qualité des données {year} — {html.escape(organisation)}</title>
<style>
body {{ font-family: Georgia, serif; max-width: 52rem; margin: 2rem auto; color: #1f2328; }}
h1 {{ font-size: 1.5rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ padding: .35rem .6rem; border-bottom: 1px solid #d5dae0; text-align: left; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style>
</head>
<body>
<h1>Fiches qualité des données {year}</h1>
<p>{html.escape(organisation)} — une fiche par service partenaire, à lui transmettre :
fichiers reçus, mois couverts, lignes écartées et quoi corriger, complétude des champs.</p>
<table>
  <thead><tr><th>Partenaire</th><th>Dispositif</th><th class="n">Lignes lues {year}</th>
  <th class="n">Écartées</th><th>Fiche</th></tr></thead>
  <tbody>
{items}
  </tbody>
</table>
</body>
</html>
"""
    (out / "index.html").write_text(text, encoding="utf-8")


def build_quality_sheets(
    settings: Settings, params_path: Path, *, root: Path = Path(".")
) -> dict[str, dict[str, Path]]:
    """Render one sheet per partner into ``outputs/quality/<year>/<partner_id>.{html,pdf}``
    with an ``index.html``; the folder is replaced whole, only when every sheet rendered.

    ``root`` is the project folder the paths of ``settings`` are relative to (tests use a copy).
    Returns, per partner id, the paths of its HTML and PDF.
    """
    from observatoire.core.storage import atomic_dir, temp_dir
    from observatoire.guard.leaks import check_before_publishing
    from observatoire.reports import charts
    from observatoire.reports.common import report_template, stage_logo
    from observatoire.reports.render import render_documents

    paths = QualityPaths.from_settings(settings, root)
    report = settings.report
    year = report.year
    partners = load_partners(paths.partners_dir, paths.codes_dir)
    data = NetworkData.load(paths, year, report.disclosure_threshold)
    template = report_template(f"{STEM}.qmd.j2")
    written: dict[str, dict[str, Path]] = {}
    entries = []
    sources: dict[str, Path] = {}
    work = temp_dir(paths.out.parent, "sources")
    try:
        with atomic_dir(paths.out) as out:
            for pid, mapping in partners.items():
                src_dir = work / Paths.safe_name(pid)  # names the sheet's files
                src_dir.mkdir()
                ctx = sheet_context(mapping, data, report, paths.quarantine)
                if report.logo is not None:
                    ctx["logo"] = stage_logo(root / report.logo, src_dir / "fig")
                charts.save_figure(
                    months_chart(ctx["_months"], year, mapping.dispositif), src_dir / "mois.png"
                )
                ctx["figure_months"] = "mois.png"
                source = src_dir / f"{pid}.qmd"
                source.write_text(template.render(**ctx), encoding="utf-8")
                sources[pid] = source
                f = ctx["_files"]
                entries.append(
                    {
                        "id": pid,
                        "name": mapping.name,
                        "dispositif": ctx["partner"]["dispositif"],
                        "rows": french_number(int(f["rows_read"].sum())) if len(f) else "–",
                        "set_aside": french_number(int(f["rows_quarantined"].sum()))
                        if len(f)
                        else "–",
                    }
                )
            # the sheets rendered two at a time (pandoc and Typst work outside Python's lock)
            results = render_documents([(source, out) for source in sources.values()])
            for pid, result in zip(sources, results, strict=True):
                written[pid] = {fmt: paths.out / p.name for fmt, p in result.outputs.items()}
            _write_index(out, year, report.organisation, entries)
            members = sorted(p.name for p in out.iterdir())
            check_before_publishing(settings, out, members, paths.out, "quality", root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"Fiches qualité {year} : {len(written)} partenaires, {paths.out}/index.html "
        f"(paramètres : {params_path})"
    )
    return written
