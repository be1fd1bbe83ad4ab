"""Partner mapping files: how one partner's exports map onto the canonical data model.

A mapping (``params/partners/<partner_id>.yaml``) declares the partner's service type, the
files it sends, their format (encoding, delimiter, decimal mark, date format, header line, sheet)
and, for each canonical field, the partner's column label with its aliases, its code list and
whether it is an identity. Onboarding a partner means writing one such file.

The file is checked against the schema of the mapping language
(:mod:`observatoire.intake.mapping_schema`: unknown keys, wrong types and bad values refused in
French) and turned into the frozen records below, which the stages read.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from observatoire.core import yamltext
from observatoire.core.coverage import month_text, season_months
from observatoire.core.errors import MappingError
from observatoire.core.schema import FIELD_TABLES, PROJECT_TABLES, TABLE_FIELDS
from observatoire.intake.mapping_schema import (
    FILE_TYPES,
    REFERENCE_HINT,
    ColumnSchema,
    CoveragePeriodSchema,
    ExportSchema,
    JoinSchema,
    WhereSchema,
    bound_date,
    read_code_list,
    validate_mapping,
)

__all__ = [
    "FILE_TYPES",
    "WHOLE_GROUP",
    "AggregateSpec",
    "ColumnSpec",
    "ExportSpec",
    "FileFormat",
    "GridSpec",
    "JoinSpec",
    "PartnerMapping",
    "WhereSpec",
    "load_mapping",
    "load_partners",
    "misnamed_file",
    "normalise_label",
]


def normalise_label(text: str) -> str:
    """Case-, accent- and space-insensitive form of a column label or a code label."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().replace("\u00a0", " ").split())


@dataclass(frozen=True)
class GridSpec:
    """A grid of attendance marks: one row per person, one column per session."""

    row_columns: tuple[str, ...]
    mark: tuple[str, ...]
    absent: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def is_mark(self, value: object) -> bool:
        return _mark_key(value) in {_mark_key(m) for m in self.mark}

    def is_absent(self, value: object) -> bool:
        return _mark_key(value) in {_mark_key(m) for m in self.absent}


def _mark_key(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalise_label(value)


@dataclass(frozen=True)
class FileFormat:
    """How a partner's software writes a file."""

    type: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    date_format: str = "%Y-%m-%d"
    header_row: int = 1
    sheet: str | None = None
    sheets: str | None = None
    """Several sheets read as one export: « * » or a regular expression on their names."""
    skip_sheets: tuple[str, ...] = ()
    header_rows: int = 1
    """Lines of the header from ``header_row`` (2: a merged top row above the labels)."""
    grid: GridSpec | None = None

    @property
    def data_row(self) -> int:
        """The last line of the header: the data rows come after it."""
        return self.header_row + self.header_rows - 1

    @classmethod
    def from_schema(cls, raw: dict) -> FileFormat:
        """From the mapping schema's ``format`` block (``model_dump()``)."""
        raw = dict(raw)
        grid = raw.pop("grid", None)
        raw["skip_sheets"] = tuple(raw.get("skip_sheets") or ())
        spec = None
        if grid is not None:
            spec = GridSpec(
                row_columns=tuple(grid["row_columns"]),
                mark=tuple(str(m) for m in grid["mark"]),
                absent=tuple(str(m) for m in grid.get("absent") or ()),
                ignore=tuple(grid.get("ignore") or ()),
            )
        return cls(**raw, grid=spec)

    def selects(self, sheet: str) -> bool:
        """Whether a multi-sheet export reads ``sheet`` (``sheets`` minus ``skip_sheets``)."""
        if self.sheets is None:
            return False
        if normalise_label(sheet) in {normalise_label(s) for s in self.skip_sheets}:
            return False
        return self.sheets == "*" or re.search(self.sheets, sheet) is not None

    def describe(self) -> str:
        """Short French description, for `observatoire partners`."""
        if self.type in ("xlsx", "ods"):
            kind, dates = (
                ("Excel (.xlsx)", "Excel")
                if self.type == "xlsx"
                else ("OpenDocument (.ods)", "du tableur")
            )
            sheet = f", feuille « {self.sheet} »" if self.sheet else ""
            if self.sheets is not None:
                sheet = (
                    ", toutes les feuilles"
                    if self.sheets == "*"
                    else f", feuilles « {self.sheets} » (expression régulière)"
                )
                if self.skip_sheets:
                    sheet += " sauf " + ", ".join(f"« {x} »" for x in self.skip_sheets)
            if self.grid is not None:
                sheet += ", grille de présences (une présence par cellule marquée)"
            if self.date_format == "%Y-%m-%d":  # a form's export: ISO dates as text or cells
                dates = "aaaa-mm-jj (ISO, ou cellules de date)"
            header = (
                f"en-tête lignes {self.header_row} et {self.data_row} (cellules fusionnées)"
                if self.header_rows > 1
                else f"en-tête ligne {self.header_row}"
            )
            return f"{kind}{sheet}, {header}, dates {dates}"
        delim = {",": "virgule", ";": "point-virgule", "\t": "tabulation"}.get(
            self.delimiter, repr(self.delimiter)
        )
        dates = self.date_format
        for code, word in (
            ("%d", "jj"),
            ("%m", "mm"),
            ("%Y", "aaaa"),
            ("%y", "aa"),
            ("%H", "hh"),
            ("%M", "mi"),
            ("%S", "ss"),
        ):
            dates = dates.replace(code, word)
        return (
            f"CSV {self.encoding}, séparateur {delim}, décimale « {self.decimal} », dates {dates}"
        )


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical field fed by one partner column."""

    field: str
    column: str
    aliases: tuple[str, ...] = ()
    kind: str = "text"
    codes: dict[str, str] | None = None
    code_list: str | None = None
    identity: bool = False
    required: bool = False
    scope: str = "local"
    """For ``local_id``: ``network`` when the partner's software shares the person id across
    the network (records sharing it are one person), ``local`` otherwise."""
    multiple: str | None = None
    """For a field of several codes (``codes`` kind): the separator of the codes in a cell."""
    canonical_codes: tuple[str, ...] = ()
    """For a code field of the field tables: its closed list of canonical codes (a value that
    is already one of them is read as itself when no ``codes:`` entry names it)."""
    person_partner: str | None = None
    """For a project's ``participant_id``: the partner whose person id the code is (its keyed
    ``person_key`` meets that partner's ``record_key``)."""

    def labels(self) -> list[str]:
        return [self.column, *self.aliases]


WHOLE_GROUP = "ensemble"
"""The group of an aggregate row when the file has no group column: everyone (a total)."""


@dataclass(frozen=True)
class AggregateSpec:
    """How an aggregate return counts: the period of a row and the role of each group."""

    period: str  # jour | mois
    total: str | None = None
    partition: tuple[str, ...] = ()
    subgroups: tuple[str, ...] = ()

    @property
    def grouped(self) -> bool:
        return bool(self.total or self.partition or self.subgroups)

    def role(self, group: str) -> str | None:
        """``total``, ``partie`` or ``sous_groupe`` (None for a group the mapping does not
        declare); without groups, the one group is the whole."""
        if not self.grouped:
            return "total" if group == WHOLE_GROUP else None
        if group == self.total:
            return "total"
        if group in self.partition:
            return "partie"
        if group in self.subgroups:
            return "sous_groupe"
        return None


@dataclass(frozen=True)
class JoinSpec:
    """A further table joined to each row of an export's file (a relational export).

    Its columns are named ``<name>.<column>`` in the export (columns, filters, later keys)."""

    name: str
    files: str
    format: FileFormat
    on: tuple[tuple[str, str], ...]
    """(column of the rows joined so far, column of this table) pairs: the key."""
    required: bool = True
    columns: tuple[str, ...] = ()
    """The columns the export uses (empty: all of them)."""

    def qualified(self, column: str) -> str:
        return f"{self.name}.{column}"


@dataclass(frozen=True)
class WhereSpec:
    """A row filter: keep rows whose raw ``column`` is in ``values`` (``keep=True``), or not in
    them (``keep=False``), or whose date lies in [``date_from``, ``date_to``]."""

    column: str
    values: tuple[str, ...] | None = None
    keep: bool = True
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def describe(self) -> str:
        """The condition in French, for the accounting and `check`."""
        if self.values is not None:
            verb = "dans" if self.keep else "hors de"
            return f"« {self.column} » {verb} [{', '.join(self.values)}]"
        parts = []
        if self.date_from is not None:
            parts.append(f"à partir du {self.date_from.isoformat()}")
        if self.date_to is not None:
            parts.append(f"jusqu'au {self.date_to.isoformat()}")
        return f"« {self.column} » {' et '.join(parts)}"


@dataclass(frozen=True)
class ExportSpec:
    """One kind of file a partner sends (e.g. stays, refusals)."""

    name: str
    table: str
    files: str
    format: FileFormat
    columns: dict[str, ColumnSpec]
    period_from_filename: str | None = None
    coverage: tuple[tuple[str, str], ...] | None = None
    """Months this export covers (``first``, ``last``, « aaaa-mm »), if declared for it."""
    season: tuple[tuple[str, str], ...] = ()
    """The season (« MM-JJ » windows) declared with its coverage: empty, all year."""
    off_season: tuple[str, ...] = ()
    """The months (« aaaa-mm ») of its coverage outside its season: closed by design."""
    dispositif: str = ""
    """The dispositif of its rows: its own, or the partner's."""
    joins: tuple[JoinSpec, ...] = ()
    where: tuple[WhereSpec, ...] = ()
    aggregates: AggregateSpec | None = None
    night_by_night: bool = False
    """Each row is one night spent (a night-by-night export): one night, to the next day."""
    form: str | None = None
    """The XLSForm of this export (its own ``form``, else the partner's), if declared."""


@dataclass(frozen=True)
class PartnerMapping:
    """Everything the pipeline knows about one partner."""

    partner_id: str
    name: str
    dispositif: str
    """The partner's dispositif; for a partner whose exports feed several, its first one
    (counts by dispositif come from the rows' ``dispositif`` column, never from here)."""
    row_unit: str
    exports: tuple[ExportSpec, ...]
    capacity: dict[str, int] = field(default_factory=dict)
    source: Path | None = None
    form: str | None = None
    """The XLSForm its exports come from (``params/formulaires/<form>.xlsx``), if declared."""
    coverage: tuple[tuple[str, str], ...] | None = None
    """Months the partner's exports cover (``first``, ``last``, « aaaa-mm »), if declared."""
    season: tuple[tuple[str, str], ...] = ()
    """A seasonal partner's windows of the year (« MM-JJ »), declared with its coverage."""
    off_season: tuple[str, ...] = ()
    """The months (« aaaa-mm ») of its coverage outside its season: closed by design."""

    def export_coverage(self, spec: ExportSpec) -> tuple[tuple[str, str], ...] | None:
        """The coverage that applies to ``spec``: its own, else the partner's, else None."""
        return spec.coverage if spec.coverage is not None else self.coverage

    def export_season(self, spec: ExportSpec) -> tuple[tuple[tuple[str, str], ...], set[str]]:
        """The season and off-season months that go with :meth:`export_coverage`."""
        if spec.coverage is not None:
            return spec.season, set(spec.off_season)
        return self.season, set(self.off_season)

    @property
    def dispositifs(self) -> tuple[str, ...]:
        """Every dispositif the partner's exports feed, in the order of its exports."""
        found = tuple(dict.fromkeys(e.dispositif or self.dispositif for e in self.exports))
        return found or (self.dispositif,)

    def runs(self, dispositif: str) -> bool:
        """Whether some export of the partner feeds ``dispositif``."""
        return dispositif in self.dispositifs

    @property
    def weather_only(self) -> bool:
        """A source of weather (``table: weather`` only), not a service of the network: read by
        ingest, left out of the partners the reports, quality sheets and coverage speak of."""
        return all(e.table == "weather" for e in self.exports)

    @property
    def field_only(self) -> bool:
        """A source of field records (forms filled on phones, the relays' allowance sheet), not
        a service's contacts: read by ingest into ``data_clean/field/``, listed apart."""
        return all(e.table in FIELD_TABLES for e in self.exports)

    @property
    def project_only(self) -> bool:
        """A project's records (its activities, attendance, follow-ups, council, budget: the
        team's spreadsheets and the form presence_activite): a source of field records whose
        partner_id is the project's id, listed apart from the forms."""
        return all(e.table in PROJECT_TABLES for e in self.exports)

    @property
    def service(self) -> bool:
        """A service of the network (its contacts, refusals, aggregates): neither a weather
        source nor a source of field records."""
        return not (self.weather_only or self.field_only)


def _column_spec(name: str, col: ColumnSchema, table: str, codes_dir: Path) -> ColumnSpec:
    canonical = TABLE_FIELDS[table][name]
    codes = code_list = None
    if isinstance(col.codes, str):
        code_list = col.codes
        codes = read_code_list(col.codes, codes_dir)
    elif isinstance(col.codes, dict):
        codes = col.codes
    if canonical.codes:
        # A field table's code: the form's choice names are its canonical codes, read as
        # written; the mapping's list adds the other values (an older form's, a label).
        codes = {c: c for c in canonical.codes} | (codes or {})
    if codes is not None:
        codes = {normalise_label(k): v for k, v in codes.items()}
    if canonical.kind in ("codes", "free_text", "hour", "boolean"):
        kind = canonical.kind  # read by the field reader (intake/field.py)
    elif codes is not None:
        kind = "code"
    else:
        kind = col.type or (canonical.kind if canonical.kind != "code" else "text")
    return ColumnSpec(
        field=name,
        column=col.column,
        aliases=tuple(col.aliases),
        kind=kind,
        codes=codes,
        code_list=code_list,
        identity=canonical.identity if col.identity is None else col.identity,
        required=col.required,
        scope=col.scope,
        multiple=col.multiple,
        canonical_codes=canonical.codes,
        person_partner=col.person_partner,
    )


def _join_spec(join: JoinSchema, export_format: FileFormat) -> JoinSpec:
    fmt = (
        FileFormat.from_schema(join.format.model_dump())
        if join.format is not None
        else export_format
    )
    return JoinSpec(
        name=join.name,
        files=join.files,
        format=fmt,
        on=tuple(join.keys.items()),
        required=join.required,
        columns=tuple(join.columns),
    )


def _where_spec(cond: WhereSchema, fmt: FileFormat) -> WhereSpec:
    if cond.in_ is not None or cond.not_in is not None:
        values = cond.in_ if cond.in_ is not None else cond.not_in
        return WhereSpec(
            column=cond.column,
            values=tuple(str(v) for v in values or ()),
            keep=cond.in_ is not None,
        )
    return WhereSpec(
        column=cond.column,
        date_from=bound_date(cond.from_, fmt.date_format),
        date_to=bound_date(cond.to, fmt.date_format),
    )


def _aggregate_spec(exp: ExportSchema) -> AggregateSpec | None:
    if exp.aggregates is None:
        return None
    groups = exp.aggregates.groups
    if groups is None:
        return AggregateSpec(period=exp.aggregates.period)
    return AggregateSpec(
        period=exp.aggregates.period,
        total=groups.total,
        partition=tuple(groups.partition),
        subgroups=tuple(groups.subgroups),
    )


def load_mapping(path: Path, codes_dir: Path) -> PartnerMapping:
    """Read and check one partner mapping file against the schema of the mapping language
    (:mod:`observatoire.intake.mapping_schema`); a problem raises :class:`MappingError`."""
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(
            f"Correspondance refusée : {path} : YAML illisible ({exc}).",
            "corrigez l'indentation ou les guillemets (enregistrez le fichier en UTF-8).",
        ) from None
    schema = validate_mapping(raw, path, codes_dir)
    exports = []
    for i, exp in enumerate(schema.exports, start=1):
        fmt = FileFormat.from_schema(exp.format.model_dump())
        columns = {
            name: _column_spec(name, col, exp.table, codes_dir) for name, col in exp.columns.items()
        }
        exports.append(
            ExportSpec(
                name=exp.name or f"export{i}",
                table=exp.table,
                files=exp.files,
                format=fmt,
                columns=columns,
                period_from_filename=exp.period_from_filename,
                coverage=_periods(exp.coverage),
                season=_season(exp.coverage),
                off_season=_off_season(exp.coverage),
                dispositif=str(exp.dispositif or schema.dispositif or ""),
                joins=tuple(_join_spec(j, fmt) for j in exp.join),
                where=tuple(_where_spec(w, fmt) for w in exp.where),
                aggregates=_aggregate_spec(exp),
                night_by_night=exp.night_by_night,
                form=exp.form or schema.form,
            )
        )
    capacity = schema.capacity.model_dump(exclude_unset=True) if schema.capacity else {}
    return PartnerMapping(
        partner_id=schema.partner_id,
        name=schema.name,
        dispositif=str(schema.dispositif or exports[0].dispositif or ""),
        row_unit=schema.row_unit,
        exports=tuple(exports),
        capacity=capacity,
        source=path,
        form=schema.form,
        coverage=_periods(schema.coverage),
        season=_season(schema.coverage),
        off_season=_off_season(schema.coverage),
    )


def _periods(periods: list[CoveragePeriodSchema] | None) -> tuple[tuple[str, str], ...] | None:
    if periods is None:
        return None
    return tuple(sorted((p.first, p.last) for p in periods))


def _season(periods: list[CoveragePeriodSchema] | None) -> tuple[tuple[str, str], ...]:
    """Every season window declared in ``periods`` (distinct, in order)."""
    windows = [(w.start, w.end) for p in periods or () for w in p.season or ()]
    return tuple(dict.fromkeys(windows))


def _off_season(periods: list[CoveragePeriodSchema] | None) -> tuple[str, ...]:
    """The months of ``periods`` outside their own season (« aaaa-mm », sorted)."""
    out = []
    for p in periods or ():
        if not p.season:
            continue
        inside = season_months((w.start, w.end) for w in p.season)
        out += [
            month_text(m)
            for m in pd.period_range(p.first, p.last, freq="M")
            if m.month not in inside
        ]
    return tuple(sorted(out))


def misnamed_file(mapping: PartnerMapping) -> MappingError | None:
    """The refusal of a mapping file not named after its partner (``<partner_id>.yaml``): the
    id names the partner's folders and files, the file name is how the analyst finds it."""
    path = mapping.source
    if path is None or path.stem == mapping.partner_id:
        return None
    return MappingError(
        f"Correspondance refusée : {path} : « partner_id » vaut « {mapping.partner_id} » mais le "
        f"fichier s'appelle « {path.name} » : le nom du fichier doit être l'identifiant du "
        "partenaire.",
        f"renommez le fichier en {path.with_name(mapping.partner_id + '.yaml')} (ou corrigez "
        "partner_id).",
    )


def load_partners(
    partners_dir: Path, codes_dir: Path, *, weather: bool = False, field: bool = False
) -> dict[str, PartnerMapping]:
    """All partner mappings of the network, by partner id (sorted, for determinism).

    Every file is checked before any is refused, so one message lists every broken mapping.
    Sources that only give the weather (:attr:`PartnerMapping.weather_only`) are services of no
    one: they are left out unless ``weather`` (ingest reads them); so are sources of field
    records (:attr:`PartnerMapping.field_only`) unless ``field``."""
    paths = sorted(partners_dir.glob("*.yaml"))
    if not paths:
        raise MappingError(
            f"Aucun fichier de correspondance dans {partners_dir}.",
            "ajoutez un fichier par partenaire (voir README, « Ajouter un partenaire », et "
            f"{REFERENCE_HINT}).",
        )
    partners: dict[str, PartnerMapping] = {}
    broken: list[MappingError] = []
    for path in paths:
        try:
            mapping = load_mapping(path, codes_dir)
        except MappingError as exc:
            broken.append(exc)
            continue
        misnamed = misnamed_file(mapping)
        if misnamed is not None:
            broken.append(misnamed)
            continue
        if mapping.partner_id in partners:
            first = partners[mapping.partner_id].source
            raise MappingError(
                f"Deux fichiers de correspondance déclarent le partenaire « {mapping.partner_id} » "
                f"({first} et {path}).",
                "donnez à chaque partenaire un partner_id différent, ou supprimez le doublon.",
            )
        partners[mapping.partner_id] = mapping
    if len(broken) == 1:
        raise broken[0]
    if broken:
        raise MappingError(
            f"{len(broken)} correspondances refusées :\n" + "\n".join(e.problem for e in broken),
            broken[0].action,
        )
    if not weather:
        partners = {k: p for k, p in partners.items() if not p.weather_only}
    if not field:
        partners = {k: p for k, p in partners.items() if not p.field_only}
    return partners
