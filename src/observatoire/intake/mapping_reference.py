"""The reference of the mapping language, generated from its schema.

``observatoire partners --schema`` prints it as text; ``--schema --markdown`` writes
``docs/correspondances.md``. Every key of :class:`~observatoire.intake.mapping_schema.PartnerSchema`
(its path, French type, admitted values, default, description and one example) comes from the
models themselves, so the page cannot forget a key the schema accepts (a test compares them).
"""

from __future__ import annotations

import textwrap
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.schema import FIELD_TABLES, TABLE_FIELDS
from observatoire.intake.mapping_schema import (
    CANONICAL_CODES,
    REQUIRED_FIELDS,
    PartnerSchema,
)

__all__ = ["KeyDoc", "reference_keys", "reference_markdown", "reference_text"]

WIDTH = 100
INDENT = "    "
KINDS = {
    "text": "texte",
    "code": "texte, traduit par une liste de codes",
    "date": "date",
    "integer": "nombre entier",
    "decimal": "nombre décimal",
    "codes": "plusieurs codes (choix multiple, clé multiple)",
    "free_text": "texte libre, désidentifié à la lecture",
    "hour": "heure (0 à 23)",
    "boolean": "oui/non",
}


@dataclass(frozen=True)
class KeyDoc:
    """One key of the mapping language, as the reference shows it."""

    path: str
    type: str
    allowed: str
    """Admitted values in words (empty when any value of the type is admitted)."""
    values: tuple[str, ...]
    """The closed list of admitted values, if the key has one."""
    default: str
    description: str
    example: str


def _plain(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _plain(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for a in get_args(annotation) for t in _plain(a) if t is not type(None)]
    return [annotation]


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The block a key holds and how its keys are reached (``[]`` list, ``.<champ>`` dict)."""
    for ann in _plain(annotation):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return ann, ""
        if get_origin(ann) is list:
            inner = _plain(get_args(ann)[0])[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner, "[]"
        if get_origin(ann) is dict:
            inner = _plain(get_args(ann)[1])[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner, ".<champ>"
    return None, ""


def _type_words(annotation: Any) -> str:
    words = []
    for ann in _plain(annotation):
        if get_origin(ann) is Literal:
            words.append("valeur d'une liste fermée")
        elif ann is bool:
            words.append("oui/non (true ou false)")
        elif ann is int:
            words.append("nombre entier")
        elif ann is str:
            words.append("texte")
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            words.append("bloc de clés")
        else:
            words.append(str(ann))
    return " ou ".join(dict.fromkeys(words))


def _yaml_value(value: Any) -> str:
    if value is None:
        return "aucun"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, BaseModel):
        return "les défauts des clés ci-dessous"
    if isinstance(value, list) and not value:
        return "[] (aucun)"
    if isinstance(value, str):
        return f'"{value}"' if value.strip() != value or not value.isidentifier() else value
    return str(value)


def reference_keys(model: type[BaseModel] = PartnerSchema, prefix: str = "") -> list[KeyDoc]:
    """Every key of the mapping language in file order, blocks before the keys they hold."""
    keys: list[KeyDoc] = []
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        path = f"{prefix}{field.alias or name}"
        closed = [a for a in _plain(field.annotation) if get_origin(a) is Literal]
        literal = [str(v) for a in closed for v in get_args(a)]
        if field.default is PydanticUndefined and field.default_factory is None:
            default = "obligatoire"
        else:
            default = str(extra.get("default") or _yaml_value(field.get_default()))
        keys.append(
            KeyDoc(
                path=path,
                type=str(extra.get("type") or _type_words(field.annotation)),
                allowed=str(
                    extra.get("allowed") or ", ".join(f"«\u00a0{v}\u00a0»" for v in literal)
                ),
                values=tuple(literal),
                default=default,
                description=field.description or "",
                example=str(extra.get("example", "")),
            )
        )
        inner, reach = _model_in(field.annotation)
        if inner is not None:
            keys.extend(reference_keys(inner, f"{path}{reach}."))
    return keys


# --- rendering ----------------------------------------------------------------------------------

INTRO = (
    "Un partenaire est décrit par un fichier de correspondance "
    "`params/partners/<partenaire>.yaml` : son type de service, les fichiers qu'il envoie, leur "
    "format, et pour chaque champ du modèle canonique la colonne qui le porte. Le fichier est "
    "vérifié à chaque commande (`observatoire partners`, `check`, `ingest`) : une clé inconnue, "
    "un type faux ou une valeur hors liste arrête la commande (code de sortie 2) avec un message "
    "qui nomme le fichier, la clé et les valeurs admises."
)

EXAMPLE = """\
partner_id: abri_nuit
name: "Abri de nuit « Le Phare »"
dispositif: hebergement_urgence
row_unit: séjour
capacity: {beds: 40, winter_extra_beds: 15}
exports:
  - name: sejours
    table: contacts
    files: "abri_nuit/abri_nuit_sejours_*.csv"
    period_from_filename: '(?P<year>\\d{4})'
    format: {type: csv, encoding: cp1252, delimiter: ";", decimal: ",", date_format: "%d/%m/%Y"}
    columns:
      local_id:   {column: "N° dossier", aliases: ["Num. dossier"], identity: true, required: true}
      surname:    {column: "Nom", identity: true}
      birth_date: {column: "Date de naissance", type: date, identity: true}
      sex:        {column: "Sexe", codes: "@sexe"}
      date_start: {column: "Date d'entrée", type: date, required: true}
      date_end:   "Date de sortie"
  - name: refus
    table: refusals
    files: "abri_nuit/abri_nuit_refus_*.csv"
    format: {encoding: cp1252, delimiter: ";", date_format: "%d/%m/%Y"}
    columns:
      date:     {column: "Date", type: date, required: true}
      refusals: {column: "Refus faute de place", type: integer, required: true}
"""


def _canonical_rows() -> list[tuple[str, str, str, str, str]]:
    """(table, field, label, kind, note) of every canonical field a column may feed."""
    rows = []
    for table, fields in TABLE_FIELDS.items():
        must = {f: " ou ".join(g) for g in REQUIRED_FIELDS[table] for f in g}
        for f in fields.values():
            notes = []
            if f.identity:
                notes.append("identité (pseudonymisée)")
            if f.codes:
                notes.append("codes : " + ", ".join(f.codes))
            elif f.name in CANONICAL_CODES and table not in FIELD_TABLES:
                notes.append("codes : " + ", ".join(CANONICAL_CODES[f.name]))
            if f.name in must:
                notes.append(f"à déclarer ({must[f.name]})")
            rows.append((table, f.name, f.label, KINDS[f.kind], " ; ".join(notes)))
    return rows


def _wrapped(text: str, indent: str = "", hang: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + hang)


def reference_text() -> str:
    """The reference as plain text, for the terminal."""
    out = ["Fichiers de correspondance des partenaires — référence des clés", ""]
    out += [*_wrapped(INTRO), ""]
    for k in reference_keys():
        out.append(k.path)
        out += _wrapped(k.description, INDENT)
        out.append(f"{INDENT}Type : {k.type}")
        if k.allowed:
            out += _wrapped(f"Valeurs admises : {k.allowed}", INDENT, "  ")
        out.append(f"{INDENT}Défaut : {k.default}")
        lines = k.example.splitlines()
        out.append(f"{INDENT}Exemple : {lines[0]}")
        out.extend(f"{INDENT}          {line}" for line in lines[1:])
        out.append("")
    out.append("Champs canoniques (clés de exports[].columns), par table :")
    for table, name, label, kind, note in _canonical_rows():
        line = f"{table}.{name} — {label} ({kind}){' ; ' + note if note else ''}"
        out += _wrapped(line, INDENT, "  ")
    out.append("")
    out += _wrapped(
        "Listes de codes partagées : params/codes/<liste>.yaml, une ligne « libellé: code » "
        "par valeur écrite par les partenaires (casse, accents et espaces ignorés) ; "
        'une colonne y renvoie par codes: "@<liste>". Codes canoniques admis : '
        + " ; ".join(f"{f} : {', '.join(c)}" for f, c in CANONICAL_CODES.items())
        + "."
    )
    out.append("")
    out.append("Exemple complet :")
    out.extend(f"{INDENT}{line}" for line in EXAMPLE.splitlines())
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference_markdown() -> str:
    """``docs/correspondances.md``: the same reference as a Markdown page."""
    out = [
        "# Fichiers de correspondance des partenaires",
        "",
        "<!-- Page générée par `observatoire partners --schema --markdown > "
        "docs/correspondances.md` depuis le schéma (src/observatoire/intake/mapping_schema.py) : "
        "ne la modifiez pas à la main, modifiez le schéma puis régénérez-la. -->",
        "",
        INTRO,
        "",
        "La même référence s'affiche dans le terminal avec `observatoire partners --schema`. "
        "Une réception se vérifie avec `observatoire check FICHIER --partner ID`.",
        "",
        "## Exemple complet",
        "",
        "```yaml",
        EXAMPLE.rstrip("\n"),
        "```",
        "",
        "## Clés",
        "",
        "Les chemins se lisent dans l'imbrication du fichier : `exports[]` est chaque entrée de la "
        "liste `exports`, `<champ>` un champ canonique (voir plus bas).",
        "",
    ]
    for k in reference_keys():
        out += [f"### `{k.path}`", "", k.description, ""]
        out.append(f"- **Type** : {k.type}")
        if k.values:
            out.append(f"- **Valeurs admises** : {', '.join(f'`{v}`' for v in k.values)}")
        elif k.allowed:
            out.append(f"- **Valeurs admises** : {k.allowed}")
        out += [f"- **Défaut** : {k.default}", "", "```yaml", k.example, "```", ""]
    out += [
        "## Champs canoniques",
        "",
        "Clés admises sous `exports[].columns`, selon la table de l'export.",
        "",
        "| Table | Champ | Signification | Lu comme | Remarques |",
        "|---|---|---|---|---|",
    ]
    out += [
        f"| {table} | `{name}` | {_cell(label)} | {kind} | {_cell(note)} |"
        for table, name, label, kind, note in _canonical_rows()
    ]
    out += [
        "",
        "## Dispositifs",
        "",
        "| Code | Dispositif |",
        "|---|---|",
        *(f"| `{code}` | {_cell(label)} |" for code, label in DISPOSITIFS.items()),
        "",
        "## Listes de codes",
        "",
        "Une liste partagée est un fichier `params/codes/<liste>.yaml` d'une ligne `libellé: code` "
        "par valeur que les partenaires écrivent ; la casse, les accents et les espaces du libellé "
        'sont ignorés. Une colonne y renvoie par `codes: "@<liste>"` ; une liste propre à un '
        "partenaire s'écrit en ligne (`codes: {H: M, F: F}`). Mettez entre guillemets un libellé "
        'que YAML lirait autrement (`"1"`, `"no"`, `"?"`). Codes canoniques admis :',
        "",
        *(f"- `{field}` : {', '.join(codes)}" for field, codes in CANONICAL_CODES.items()),
        "",
        "```yaml",
        "# params/codes/sexe.yaml",
        "homme: M",
        "femme: F",
        '"1": M',
        '"?": INCONNU',
        "```",
        "",
    ]
    return "\n".join(out)
