"""Partner mapping files: how one partner's exports map onto the canonical data model.

A mapping (``params/partners/<partner_id>.yaml``) declares the partner's service type, the
files it sends, their format (encoding, delimiter, decimal mark, date format, header line, sheet)
and, for each canonical field, the partner's column label with its aliases, its code list and
whether it is an identity. Onboarding a partner means writing one such file.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.errors import MappingError
from observatoire.core.schema import TABLE_FIELDS

__all__ = [
    "FILE_TYPES",
    "ColumnSpec",
    "ExportSpec",
    "FileFormat",
    "PartnerMapping",
    "load_mapping",
    "load_partners",
    "normalise_label",
]

FILE_TYPES = ("csv", "xlsx", "ods")


def normalise_label(text: str) -> str:
    """Case-, accent- and space-insensitive form of a column label or a code label."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().replace("\u00a0", " ").split())


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

    def describe(self) -> str:
        """Short French description, for `observatoire partners`."""
        if self.type in ("xlsx", "ods"):
            kind, dates = (
                ("Excel (.xlsx)", "Excel")
                if self.type == "xlsx"
                else ("OpenDocument (.ods)", "du tableur")
            )
            sheet = f", feuille « {self.sheet} »" if self.sheet else ""
            return f"{kind}{sheet}, en-tête ligne {self.header_row}, dates {dates}"
        delim = {",": "virgule", ";": "point-virgule", "\t": "tabulation"}.get(
            self.delimiter, repr(self.delimiter)
        )
        dates = self.date_format
        for code, word in (("%d", "jj"), ("%m", "mm"), ("%Y", "aaaa"), ("%y", "aa")):
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

    def labels(self) -> list[str]:
        return [self.column, *self.aliases]


@dataclass(frozen=True)
class ExportSpec:
    """One kind of file a partner sends (e.g. stays, refusals)."""

    name: str
    table: str
    files: str
    format: FileFormat
    columns: dict[str, ColumnSpec]
    period_from_filename: str | None = None


@dataclass(frozen=True)
class PartnerMapping:
    """Everything the pipeline knows about one partner."""

    partner_id: str
    name: str
    dispositif: str
    row_unit: str
    exports: tuple[ExportSpec, ...]
    capacity: dict[str, int] = field(default_factory=dict)
    source: Path | None = None


def _load_code_list(ref: str, codes_dir: Path, where: str) -> dict[str, str]:
    name = ref.lstrip("@")
    path = codes_dir / f"{name}.yaml"
    if not path.exists():
        raise MappingError(
            f"{where} : la liste de codes « {ref} » n'existe pas ({path}). "
            f"Créez ce fichier ou corrigez le nom."
        )
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {normalise_label(k if k is not None else ""): str(v) for k, v in raw.items()}


def _column_spec(name: str, raw: Any, table: str, codes_dir: Path, where: str) -> ColumnSpec:
    fields = TABLE_FIELDS[table]
    if name not in fields:
        raise MappingError(
            f"{where} : le champ « {name} » n'existe pas dans le modèle canonique "
            f"(table {table}). Champs possibles : {', '.join(fields)}."
        )
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, dict) or "column" not in raw:
        raise MappingError(f"{where} : le champ « {name} » doit indiquer `column:`.")
    canonical = fields[name]
    kind = raw.get("type", canonical.kind if canonical.kind != "code" else "text")
    codes_raw = raw.get("codes")
    codes = code_list = None
    if isinstance(codes_raw, str):
        code_list = codes_raw
        codes = _load_code_list(codes_raw, codes_dir, where)
    elif isinstance(codes_raw, dict):
        codes = {normalise_label(k): str(v) for k, v in codes_raw.items()}
    if codes is not None:
        kind = "code"
    return ColumnSpec(
        field=name,
        column=str(raw["column"]),
        aliases=tuple(str(a) for a in raw.get("aliases", [])),
        kind=kind,
        codes=codes,
        code_list=code_list,
        identity=bool(raw.get("identity", canonical.identity)),
        required=bool(raw.get("required", False)),
    )


def load_mapping(path: Path, codes_dir: Path) -> PartnerMapping:
    """Read and check one partner mapping file."""
    where = f"Fichier de correspondance {path}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{where} : YAML illisible ({exc}).") from None
    if not isinstance(raw, dict):
        raise MappingError(f"{where} : le fichier doit décrire un partenaire (clé: valeur).")
    for key in ("partner_id", "name", "dispositif", "exports"):
        if key not in raw:
            raise MappingError(f"{where} : la clé obligatoire « {key} » manque.")
    if raw["dispositif"] not in DISPOSITIFS:
        raise MappingError(
            f"{where} : dispositif « {raw['dispositif']} » inconnu. "
            f"Choisissez parmi : {', '.join(DISPOSITIFS)}."
        )
    exports = []
    for i, exp in enumerate(raw["exports"], start=1):
        ewhere = f"{where}, export n°{i}"
        table = exp.get("table", "contacts")
        if table not in TABLE_FIELDS:
            raise MappingError(
                f"{ewhere} : table « {table} » inconnue ({', '.join(TABLE_FIELDS)})."
            )
        fmt_raw = dict(exp.get("format", {}))
        if fmt_raw.get("type", "csv") not in FILE_TYPES:
            raise MappingError(
                f"{ewhere} : format « {fmt_raw.get('type')} » non pris en charge "
                f"({', '.join(FILE_TYPES)})."
            )
        fmt = FileFormat(**fmt_raw)
        columns = {
            name: _column_spec(name, spec, table, codes_dir, ewhere)
            for name, spec in (exp.get("columns") or {}).items()
        }
        exports.append(
            ExportSpec(
                name=str(exp.get("name", f"export{i}")),
                table=table,
                files=str(exp["files"]),
                format=fmt,
                columns=columns,
                period_from_filename=exp.get("period_from_filename"),
            )
        )
    return PartnerMapping(
        partner_id=str(raw["partner_id"]),
        name=str(raw["name"]),
        dispositif=str(raw["dispositif"]),
        row_unit=str(raw.get("row_unit", "contact")),
        exports=tuple(exports),
        capacity={k: int(v) for k, v in (raw.get("capacity") or {}).items()},
        source=path,
    )


def load_partners(partners_dir: Path, codes_dir: Path) -> dict[str, PartnerMapping]:
    """All partner mappings of the network, by partner id (sorted, for determinism)."""
    paths = sorted(partners_dir.glob("*.yaml"))
    if not paths:
        raise MappingError(
            f"Aucun fichier de correspondance dans {partners_dir}. "
            f"Ajoutez un fichier par partenaire (voir README, « Ajouter un partenaire »)."
        )
    partners: dict[str, PartnerMapping] = {}
    for path in paths:
        mapping = load_mapping(path, codes_dir)
        if mapping.partner_id in partners:
            raise MappingError(
                f"Deux fichiers de correspondance déclarent le partenaire « {mapping.partner_id} »."
            )
        partners[mapping.partner_id] = mapping
    return partners
