"""The mapping language: every key a partner mapping file (``params/partners/*.yaml``) may hold.

Each block is a frozen, strict model that refuses unknown keys (``extra="forbid"``), wrong types
and values outside their closed list, like :mod:`observatoire.config.settings` does for
``params/pipeline.yaml``. A refused file stops ``partners``, ``check`` and ``ingest`` with one
French message naming the file, the key path (``exports[0].format.quotechar``), what is admitted
there and what to do — never a traceback (:class:`~observatoire.core.errors.MappingError`, exit
code 2).

Each key carries its French description, its default and one example: the reference printed by
``observatoire partners --schema`` and written to ``docs/correspondances.md``
(:mod:`observatoire.intake.mapping_reference`) is generated from these models, so a key cannot be
added without its documentation.

Validation with ``context={"codes_dir": Path}`` also reads the shared code lists a mapping names
(``codes: "@sexe"``) and checks that they exist and translate into canonical codes.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from observatoire.config.validation import french_problems, shown
from observatoire.core import yamltext
from observatoire.core.dispositifs import DISPOSITIFS, NIGHT_STAYS, SHELTER
from observatoire.core.errors import MappingError
from observatoire.core.schema import (
    AGGREGATE_MEASURES,
    EXIT_REASONS,
    FIELD_TABLES,
    NATIONALITY_GROUPS,
    PROJECT_CHILD_TABLES,
    SEX_CODES,
    TABLE_FIELDS,
    WEATHER_ALERTS,
)
from observatoire.intake.discovery import unsafe_pattern

__all__ = [
    "CANONICAL_CODES",
    "COLUMN_TYPES",
    "FIELD_TABLE_NAMES",
    "FORM_NAME",
    "TABLES",
    "FILE_TYPES",
    "REFERENCE_HINT",
    "REQUIRED_FIELDS",
    "AggregatesSchema",
    "CapacitySchema",
    "GroupsSchema",
    "ColumnSchema",
    "CoveragePeriodSchema",
    "ExportSchema",
    "FormatSchema",
    "GRID_HEADERS",
    "GridSchema",
    "JoinSchema",
    "PartnerSchema",
    "SeasonSchema",
    "WhereSchema",
    "bound_date",
    "read_code_list",
    "validate_mapping",
]

FILE_TYPES = ("csv", "xlsx", "ods")
COLUMN_TYPES = ("text", "date", "integer", "decimal", "hour", "boolean")
TABLES = ("contacts", "refusals", "aggregates", "weather", *FIELD_TABLES)
FIELD_TABLE_NAMES = tuple(FIELD_TABLES)
"""Tables of field records (forms filled on phones, the relays' allowance sheet)."""
READING_KINDS = {"code": "text", "codes": "text", "free_text": "text"}
"""How a canonical field's column is read (``type``), when it differs from its kind."""
CANONICAL_CODES: dict[str, tuple[str, ...]] = {
    "sex": SEX_CODES,
    "nationality": tuple(NATIONALITY_GROUPS),
    "exit_reason": tuple(EXIT_REASONS),
    "measure": tuple(AGGREGATE_MEASURES),
    "alert": tuple(WEATHER_ALERTS),
}
"""The codes a code list must translate into, for the canonical fields that are codes."""
REQUIRED_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "contacts": (("date_start",), ("local_id", "initials")),
    "refusals": (("date",), ("refusals",)),
    "aggregates": (("date",),),
    "weather": (("date",), ("tmin", "tmax", "alert")),
    "incidents": (("date",),),
    "street_observations": (("date",), ("zone",)),
    "street_groups": (("submission_id",),),
    "relay_services": (("date",), ("relay_id",)),
    "relay_allowances": (("date",), ("relay_id",)),
    "worker_survey": (),
    "testimonies": (("date",), ("text",)),
    "project_activities": (("date",), ("activity",)),
    "project_attendance": (("activity_id", "date"), ("participant_id", "surname")),
    "project_followups": (("date",), ("participant_id",)),
    "project_proposals": (("date",),),
    "project_budget": (("line",), ("planned_eur", "committed_eur", "spent_eur")),
}
"""Per table, the fields a mapping must declare (one of each group)."""
GRID_HEADERS = ("@top", "@bottom")
"""Column names of a grid's session header: its top (the activity) and bottom (the date)."""
REFERENCE_HINT = "docs/correspondances.md ou `observatoire partners --schema`"

PARTNER_ID = r"^[a-z](?:[a-z0-9_]){0,39}$"  # written unlike JOIN_NAME: PATTERNS is keyed by it
"""A partner id names folders and files (``outputs/quality/<year>/<id>.pdf``, the quarantine,
the mapping file itself): a closed character set, so that no id can hold a path."""
CODE_LIST = r"^@[A-Za-z0-9_-]+$"
FORM_NAME = r"^[a-z][a-z0-9_]{0,39}$"
PATTERNS = {
    FORM_NAME: "le nom d'un formulaire de params/formulaires/ sans « .xlsx », en minuscules sans "
    "accent ni espace, par ex. « fiche_incident »",
    PARTNER_ID: "un identifiant de 1 à 40 caractères en minuscules sans accent ni espace (lettres, "
    "chiffres, « _ »), commençant par une lettre, par ex. « abri_nuit » (ni « / », ni « . »)",
    CODE_LIST: "le nom d'une liste de codes de params/codes/ précédé de « @ », par ex. « @sexe »",
}

Text = Annotated[str, Field(min_length=1)]


def _doc(description: str, example: str, **extra: str) -> Any:
    """Field metadata of the reference: French description, one YAML example, and optional
    ``type`` / ``allowed`` / ``default`` wordings where the annotation alone says too little."""
    return {"description": description, "json_schema_extra": {"example": example, **extra}}


def _error(at: str, message: str) -> PydanticCustomError:
    """A refusal of the key ``at`` below the validated one (see :mod:`config.validation`)."""
    return PydanticCustomError("mapping_value", message, {"at": at})


class Block(BaseModel):
    """A block of a mapping file: frozen, strict, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


# --- format ---------------------------------------------------------------------------------------


class GridSchema(Block):
    """A grid of attendance marks (``exports[].format.grid``)."""

    row_columns: list[Text] = Field(
        ...,
        min_length=1,
        **_doc(
            "Colonnes qui décrivent la personne de la ligne (code, nom, rôle…), lues sur chaque "
            "présence ; toutes les autres colonnes titrées sont des séances.",
            'row_columns: ["Code locataire", "Rôle"]',
            type="liste de textes",
        ),
    )
    mark: list[Text | int] = Field(
        ...,
        min_length=1,
        **_doc(
            "Marques de présence (casse, accents et espaces ignorés).",
            'mark: [x, P, "1", présent]',
            type="liste de textes",
        ),
    )
    absent: list[Text | int] = Field(
        [],
        **_doc(
            "Marques d'absence : comptées dans le journal d'ingestion, pas des présences ni "
            "des erreurs.",
            "absent: [A, abs, excusé]",
            type="liste de textes",
            default="[] (aucune)",
        ),
    )
    ignore: list[Text] = Field(
        [],
        **_doc(
            "Colonnes titrées qui ne sont pas des séances (remarques…) ; une colonne "
            "« Total » est toujours ignorée.",
            'ignore: ["Remarque"]',
            type="liste de textes",
            default="[] (aucune)",
        ),
    )


class FormatSchema(Block):
    """How the partner's software writes the file (``exports[].format``)."""

    type: Literal["csv", "xlsx", "ods"] = Field(
        "csv",
        **_doc(
            "Type de fichier : texte délimité (csv, y compris .tsv et .txt), classeur Excel "
            "(xlsx) ou OpenDocument (ods).",
            "type: xlsx",
        ),
    )
    encoding: Text = Field(
        "utf-8",
        **_doc(
            "Encodage des caractères d'un fichier csv (jamais deviné ; refusé pour xlsx et ods, "
            "qui n'en ont pas). Les logiciels Windows écrivent souvent cp1252.",
            "encoding: cp1252",
            allowed="tout encodage connu de Python : utf-8, utf-8-sig, cp1252, latin-1, "
            "iso-8859-15…",
            type="texte",
        ),
    )
    delimiter: Text = Field(
        ",",
        **_doc(
            "Séparateur de colonnes d'un fichier csv (refusé pour xlsx et ods) : un seul "
            'caractère ("\\t" pour une tabulation, entre guillemets doubles).',
            'delimiter: ";"',
            allowed="un caractère : « , », « ; », « \\t », « | »…",
            type="texte",
        ),
    )
    decimal: Literal[".", ","] = Field(
        ".", **_doc("Marque décimale des nombres (« 12,5 » s'écrit avec « , »).", 'decimal: ","')
    )
    thousands: Text | None = Field(
        None,
        **_doc(
            "Séparateur des milliers des nombres (« 1.234 »), s'il y en a un ; différent de la "
            "marque décimale.",
            'thousands: "."',
            allowed="un caractère (« . », « , », « ' », espace) ou rien",
            type="texte",
        ),
    )
    date_format: Text = Field(
        "%Y-%m-%d",
        **_doc(
            "Format des dates, jamais deviné : codes strftime (%d jour, %m mois, %Y année sur "
            "4 chiffres, %y sur 2), ou « excel » pour des cellules de date d'un classeur.",
            'date_format: "%d/%m/%Y"',
            allowed="« excel » ou un format avec jour, mois et année (%d, %m, %Y ou %y)",
            type="texte",
        ),
    )
    header_row: Annotated[int, Field(ge=1)] = Field(
        1,
        **_doc(
            "Numéro de la ligne des titres de colonnes (1 = la première ; plus bas s'il y a un "
            "bloc de titre au-dessus).",
            "header_row: 4",
            type="nombre entier ≥ 1",
        ),
    )
    sheet: Text | None = Field(
        None,
        **_doc(
            "Feuille à lire d'un classeur xlsx ou ods (refusée pour un csv) ; sans elle, la "
            "première feuille.",
            'sheet: "Séjours"',
            type="texte",
        ),
    )

    sheets: Text | None = Field(
        None,
        **_doc(
            "Plusieurs feuilles d'un classeur à lire comme un seul export (par ex. une feuille "
            "par mois) : « * » pour toutes, ou une expression régulière sur le nom des feuilles "
            "(« ^(janv|févr|mars) », « ^\\d{4}-\\d{2}$ »). Chaque feuille a sa propre "
            "comptabilité (« fichier.xlsx#Feuille » dans la quarantaine et rows.json). Exclut "
            "sheet.",
            'sheets: "*"',
            type="texte (« * » ou expression régulière)",
            default="aucune (une seule feuille : sheet, ou la première)",
        ),
    )
    skip_sheets: list[Text] = Field(
        [],
        **_doc(
            "Feuilles à ne pas lire quand sheets en désigne plusieurs (mode d'emploi, "
            "récapitulatif, listes de choix) ; nom exact, casse et accents ignorés.",
            'skip_sheets: ["Mode d\'emploi", "Total"]',
            type="liste de textes",
            default="[] (aucune)",
        ),
    )
    header_rows: Annotated[int, Field(ge=1, le=2)] = Field(
        1,
        **_doc(
            "Nombre de lignes de l'en-tête, à partir de header_row : 2 pour un en-tête sur deux "
            "lignes dont la première a des cellules fusionnées (« Activité » au-dessus de "
            "« Date », « Lieu », « Durée »). La valeur d'une cellule fusionnée vaut pour toutes "
            "les colonnes qu'elle couvre ; une colonne s'appelle alors « Haut / Bas » (par ex. "
            "« Activité / Date »), ou « Haut » seul quand la cellule du bas est vide ou "
            "fusionnée avec celle du haut. Les données commencent à la ligne header_row + "
            "header_rows.",
            "header_rows: 2",
            type="nombre entier, 1 ou 2",
        ),
    )
    grid: GridSchema | None = Field(
        None,
        **_doc(
            "Une grille de présences : une ligne par personne, une colonne par séance (en-tête "
            "sur deux lignes : l'activité en haut, fusionnée sur ses dates, la date en bas), "
            "une marque dans la cellule quand la personne était là. Chaque cellule marquée "
            "devient une ligne (une présence) ; une cellule vide n'est rien ; une marque "
            "d'absence déclarée est comptée à part ; une autre marque (« ? ») est mise en "
            "quarantaine (marque_inconnue). Les colonnes lisent « @top » (le haut de l'en-tête "
            "de la séance), « @bottom » (son bas) et les colonnes de la personne (row_columns). "
            "Exige header_rows: 2.",
            'grid: {row_columns: ["Code locataire", "Rôle"], mark: [x, P, "1"], absent: [A]}',
            default="aucune (un tableau ordinaire : une ligne = une ligne)",
        ),
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f"encodage « {value} » inconnu : utf-8, utf-8-sig, cp1252 ou latin-1 (par ex.)."
            ) from None
        return value

    @field_validator("delimiter", "thousands")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value in '"\r\n'):
            raise ValueError(
                f"{shown(value)} : attendu un seul caractère (« ; », « , », « . », « \\t »…), "
                "entre guillemets."
            )
        return value

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value: str) -> str:
        if value == "excel":
            return value
        day = dt.date(2024, 1, 31)
        try:
            ok = dt.datetime.strptime(day.strftime(value), value).date() == day
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"format de date {shown(value)} inutilisable : il doit contenir le jour (%d), "
                'le mois (%m) et l\'année (%Y ou %y), par ex. "%d/%m/%Y" ; ou « excel ».'
            )
        return value

    @model_validator(mode="after")
    def _fits_the_type(self) -> FormatSchema:
        if self.thousands is not None and self.thousands == self.decimal:
            raise _error(
                "thousands",
                "le séparateur des milliers est aussi la marque décimale : changez l'un des deux "
                "(ou supprimez thousands).",
            )
        if self.type == "csv" and self.sheet is not None:
            raise _error(
                "sheet", "une feuille ne se déclare que pour un classeur (type: xlsx ou ods)."
            )
        if self.sheets is not None:
            if self.type != "xlsx":
                raise _error("sheets", "plusieurs feuilles ne se lisent que dans un classeur xlsx.")
            if self.sheet is not None:
                raise _error(
                    "sheets",
                    "sheet (une feuille) et sheets (plusieurs) s'excluent : gardez-en une.",
                )
            if self.sheets != "*":
                try:
                    re.compile(self.sheets)
                except re.error as exc:
                    raise _error(
                        "sheets", f"expression régulière invalide ({exc}) ; « * » : toutes."
                    ) from None
        elif self.skip_sheets:
            raise _error(
                "skip_sheets", "skip_sheets ne s'applique qu'avec sheets : ajoutez sheets: \"*\"."
            )
        if self.header_rows > 1 and self.type != "xlsx":
            raise _error(
                "header_rows",
                "un en-tête sur deux lignes (cellules fusionnées) ne se lit que dans un classeur "
                "xlsx.",
            )
        if self.grid is not None and self.header_rows != 2:
            raise _error(
                "grid",
                "une grille de présences a un en-tête sur deux lignes (l'activité, puis la "
                "date) : ajoutez header_rows: 2.",
            )
        if self.type != "csv":
            for key in ("encoding", "delimiter"):
                if key in self.model_fields_set:
                    raise _error(
                        key,
                        f"« {key} » ne s'applique qu'aux fichiers csv (type: {self.type}) : "
                        "supprimez-la.",
                    )
        return self


# --- columns --------------------------------------------------------------------------------------


class ColumnSchema(Block):
    """One canonical field fed by one column of the partner's file (``exports[].columns.<champ>``).

    A bare label (``sex: "Sexe"``) is short for ``{column: "Sexe"}``."""

    column: Text = Field(
        ...,
        **_doc(
            "Libellé de la colonne dans le fichier du partenaire (casse, accents et espaces "
            'ignorés à la lecture). Forme courte : `champ: "Libellé"`.',
            'column: "Date d\'entrée"',
            type="texte",
        ),
    )
    aliases: list[Text] = Field(
        [],
        **_doc(
            "Autres libellés de la même colonne (anciens exports, variantes d'orthographe).",
            'aliases: ["Date entree", "Entrée"]',
            type="liste de textes",
        ),
    )
    type: Literal["text", "date", "integer", "decimal", "hour", "boolean"] | None = Field(
        None,
        **_doc(
            "Comment lire la colonne : texte, date (selon format.date_format ; les dates ISO "
            "d'un export KoboToolbox ou ODK, « 2024-03-15 » ou « 2024-03-15T22:40:00.000+01:00 », "
            "se lisent aussi), nombre entier ou nombre décimal (selon format.decimal), heure "
            "(hour : « 22:40:00.000+01:00 », « 22:40 », une date et heure ou un nombre de 0 à "
            "23, lue comme l'heure 22) ou oui/non (boolean : oui, non, yes, no, true, false, 1, "
            "0, ou les valeurs de codes traduites en oui et non). Doit être celui du champ "
            "canonique.",
            "type: hour",
            default="le type du champ canonique (voir « Champs canoniques »)",
        ),
    )
    codes: Any = Field(
        None,
        **_doc(
            "Traduction des valeurs du partenaire en codes canoniques : le nom d'une liste "
            "partagée de params/codes/ précédé de « @ », ou une liste en ligne "
            "{libellé: code}. Une valeur absente de la liste met la ligne en quarantaine "
            "(code_inconnu).",
            'codes: "@sexe"     # ou : codes: {H: M, F: F, "?": INCONNU}',
            type="texte « @liste » ou dictionnaire libellé: code",
            allowed="pour sex, nationality et exit_reason, des codes canoniques (voir « Listes "
            "de codes »)",
        ),
    )
    identity: bool | None = Field(
        None,
        **_doc(
            "Colonne d'identité (pseudonymisée dès la lecture, jamais écrite en clair). "
            "Vrai pour local_id, surname, first_name, birth_date et initials, faux pour les "
            "autres : la clé le rappelle, elle ne peut pas le changer.",
            "identity: true",
            default="celui du champ canonique",
        ),
    )
    required: bool = Field(
        False,
        **_doc(
            "Colonne obligatoire : un fichier sans elle est refusé ; une ligne où elle est vide "
            "est mise en quarantaine.",
            "required: true",
        ),
    )
    multiple: str | None = Field(
        None,
        **_doc(
            "Séparateur des codes d'une réponse à choix multiple (select_multiple de "
            "KoboToolbox ou ODK : « verbale menaces », séparés par une espace) ; seulement pour "
            "un champ à plusieurs codes (voir « Champs canoniques »), qui l'exige. Chaque code "
            "est traduit par la liste codes: s'il y en a une ; le champ garde les codes "
            "canoniques triés, séparés par une espace. Les colonnes 0/1 par option "
            "(« incident/types/verbale ») que KoboToolbox ajoute ne sont pas lues.",
            'multiple: " "',
            type="texte (un caractère)",
            default="aucun (un seul code par cellule)",
        ),
    )
    scope: Literal["network", "local"] = Field(
        "local",
        **_doc(
            "Portée de l'identifiant de la personne (local_id seulement) : local (propre au "
            "partenaire : il ne relie que ses propres dossiers) ou network (le logiciel du "
            "partenaire partage le même identifiant de personne dans tout le réseau, entre "
            "plusieurs partenaires ou dispositifs : les dossiers qui le partagent sont la même "
            "personne, même sans nom). Pseudonymisé comme les autres identités, jamais écrit "
            "en clair.",
            "scope: network",
        ),
    )

    person_partner: Annotated[str, Field(pattern=PARTNER_ID)] | None = Field(
        None,
        **_doc(
            "Pour le code du participant d'un projet (participant_id seulement) : le partenaire "
            "dont ce code est l'identifiant de la personne (par ex. housing_first, dont l'export "
            "porte le même « Code locataire ») : une clé chiffrée (person_key) relie alors le "
            "participant au dossier de ce partenaire, comme record_key des contacts.",
            "person_partner: housing_first",
            type="identifiant d'un partenaire",
            default="aucun (le code ne vaut que dans le projet)",
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        if not isinstance(data, dict):
            raise ValueError(
                f"{shown(data)} n'est ni un libellé de colonne (texte entre guillemets) ni un "
                'bloc {column: "Libellé", …}.'
            )
        return data

    @field_validator("multiple")
    @classmethod
    def _separator(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value in '"\r\n'):
            raise ValueError(
                f"{shown(value)} : attendu un seul caractère entre guillemets, par ex. "
                '" " (une espace, comme KoboToolbox) ou ";".'
            )
        return value

    @field_validator("codes")
    @classmethod
    def _codes_shape(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            if not re.match(CODE_LIST, value):
                raise ValueError(f"{shown(value)} : attendu {PATTERNS[CODE_LIST]}.")
            return value
        if isinstance(value, dict):
            return _code_pairs(value, "la liste en ligne")
        raise ValueError(
            f"{shown(value)} : attendu « @nom_de_liste » ou un dictionnaire {{libellé: code}}."
        )


def _code_pairs(raw: dict[Any, Any], what: str) -> dict[str, str]:
    """Labels (texts or whole numbers) → codes (texts); YAML's yes/no/true/false are refused."""
    pairs: dict[str, str] = {}
    for label, code in raw.items():
        if isinstance(label, bool) or not isinstance(label, str | int):
            raise ValueError(
                f"{what} contient le libellé {shown(label)} : mettez chaque libellé entre "
                'guillemets (YAML lit yes, no, true, false, on, off et ~ autrement : "no": X).'
            )
        if not isinstance(code, str) or not code:
            raise ValueError(
                f"{what} traduit « {label} » par {shown(code)} : attendu un code (texte)."
            )
        pairs[str(label)] = code
    return pairs


def read_code_list(ref: str, codes_dir: Path) -> dict[str, str]:
    """The shared code list ``@name`` (``params/codes/<name>.yaml``), label → code.

    Raises :class:`ValueError` (French, naming the file) if it is missing or malformed."""
    path = Path(codes_dir) / f"{ref.lstrip('@')}.yaml"
    if not path.is_file():
        raise ValueError(
            f"la liste de codes « {ref} » n'existe pas ({path}) : créez ce fichier ou corrigez "
            "le nom."
        )
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"la liste de codes {path} est illisible ({exc}).") from None
    if not isinstance(raw, dict) or not raw:
        raise ValueError(
            f"la liste de codes {path} doit contenir des lignes « libellé: code »."
        ) from None
    return _code_pairs(raw, f"la liste de codes {path}")


# --- coverage -------------------------------------------------------------------------------------

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class SeasonSchema(Block):
    """One window of the year a seasonal partner works in (``coverage[].season``)."""

    start: str = Field(
        ...,
        **_doc(
            "Premier jour de la saison, « MM-JJ » entre guillemets (celui de la période du plan "
            "dans params/plans.yaml).",
            'start: "11-15"',
            type="jour « MM-JJ »",
        ),
    )
    end: str = Field(
        ...,
        **_doc(
            "Dernier jour de la saison, « MM-JJ » entre guillemets ; avant start, la saison "
            "passe le 31 décembre (l'hiver).",
            'end: "03-31"',
            type="jour « MM-JJ »",
        ),
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _a_day(cls, value: Any) -> str:
        match = MONTH_DAY.match(value) if isinstance(value, str) else None
        if (
            match is None
            or not 1 <= int(match.group(1)) <= 12
            or not 1 <= int(match.group(2)) <= DAYS_IN_MONTH[int(match.group(1)) - 1]
        ):
            raise ValueError(
                f"{shown(value)} : attendu un jour « MM-JJ » entre guillemets, par ex. "
                '"11-15" (le 15 novembre).'
            )
        return value


def _season_list(value: Any) -> Any:
    """One window (a block) or a list of windows (a partner working in winter and in summer)."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise ValueError(
        f'{shown(value)} : attendu une saison {{start: "MM-JJ", end: "MM-JJ"}} ou une liste '
        "de saisons."
    )


class CoveragePeriodSchema(Block):
    """One period a partner's exports cover, whole months (``coverage``, ``exports[].coverage``)."""

    first: str = Field(
        ...,
        **_doc(
            "Premier mois couvert, aaaa-mm (le mois entier).",
            "first: 2022-01",
            type="mois aaaa-mm",
        ),
    )
    last: str = Field(
        ...,
        **_doc(
            "Dernier mois couvert, aaaa-mm (le mois entier) ; un export qui s'arrête en "
            "septembre déclare 2024-09, pas 2024-12.",
            "last: 2024-09",
            type="mois aaaa-mm",
        ),
    )
    season: Annotated[list[SeasonSchema] | None, BeforeValidator(_season_list)] = Field(
        None,
        **_doc(
            "Partenaire saisonnier par nature (un abri du Plan Grand Froid, un accueil du Plan "
            "Canicule) : la ou les fenêtres de l'année où il fonctionne. Les mois de la période "
            "hors de la saison sont « hors saison » : ni manquants ni partiels (le service est "
            "fermé), et une année est complète quand ses mois de saison sont couverts. Déclarez "
            "la période en années entières et copiez la période du plan (params/plans.yaml) : "
            'coverage: {first: 2020-01, last: 2024-12, season: {start: "11-15", end: "03-31"}}.',
            'season: {start: "11-15", end: "03-31"}\n'
            "# un service des deux plans :\n"
            'season:\n  - {start: "11-15", end: "03-31"}\n  - {start: "06-01", end: "08-31"}',
            type="saison ou liste de saisons",
            default="toute l'année",
        ),
    )

    @field_validator("first", "last", mode="before")
    @classmethod
    def _a_month(cls, value: Any) -> str:
        if isinstance(value, dt.date):
            raise ValueError(
                f"{value.isoformat()} est une date : écrivez seulement le mois, "
                f"{value.year:04d}-{value.month:02d} (la couverture se déclare par mois entiers)."
            )
        match = MONTH.match(value) if isinstance(value, str) else None
        if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise ValueError(
                f"{shown(value)} : attendu un mois aaaa-mm, par ex. 2022-01 (mois de 01 à 12)."
            )
        return value

    @model_validator(mode="after")
    def _in_order(self) -> CoveragePeriodSchema:
        if self.last < self.first:
            raise _error(
                "last",
                f"le dernier mois ({self.last}) précède le premier ({self.first}) : inversez-les.",
            )
        return self


def _coverage_list(value: Any) -> Any:
    """One period (a block) or a list of periods; overlapping periods are refused."""
    if value is None:
        return None
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"{shown(value)} : attendu une période {{first: aaaa-mm, last: aaaa-mm}} ou une "
            "liste de périodes (un partenaire qui a eu une interruption)."
        )
    return value


# --- joins and row filters -----------------------------------------------------------------------

JOIN_NAME = r"^[a-z][a-z0-9_]{0,39}$"
PATTERNS[JOIN_NAME] = (
    "un nom court en minuscules sans accent ni espace (lettres, chiffres, « _ »), par ex. "
    "« personnes »"
)


def _relative_glob(value: str) -> str:
    """A ``files:`` pattern stays inside inputs.raw_dir: it may name a sub-folder, never an
    absolute path, a parent folder (``..``) nor a Windows path
    (:func:`observatoire.intake.discovery.unsafe_pattern`)."""
    why = unsafe_pattern(value)
    if why is not None:
        raise ValueError(
            f"{shown(value)} : motif refusé ({why}) ; attendu un motif relatif au dossier "
            "inputs.raw_dir, qui peut nommer un sous-dossier, sans « .. » (par ex. "
            '"abri_nuit/abri_nuit_*.csv").'
        )
    return value


def _no_overlap(periods: list[CoveragePeriodSchema] | None) -> None:
    if not periods:
        return
    ordered = sorted(periods, key=lambda p: p.first)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.first <= a.last:
            raise ValueError(
                f"les périodes {a.first}–{a.last} et {b.first}–{b.last} se chevauchent : "
                "fusionnez-les en une seule."
            )


COVERAGE_DOC = (
    "Période que couvrent les exports, par mois entiers : {first: aaaa-mm, last: aaaa-mm}, ou "
    "une liste de périodes si le partenaire a eu une interruption. Les lignes datées hors de la "
    "couverture sont mises en quarantaine (hors_couverture_declaree) ; les flux, les "
    "antériorités, les tendances et les variations annuelles ne sont calculés que sur des mois "
    "couverts. `observatoire check` la propose d'après les données. Sans elle, la couverture "
    "est proposée d'après les données, avec un avertissement « couverture non déclarée »."
)


def _disjoint(periods: list[CoveragePeriodSchema] | None) -> list[CoveragePeriodSchema] | None:
    _no_overlap(periods)
    return periods


Coverage = Annotated[
    list[CoveragePeriodSchema] | None,
    BeforeValidator(_coverage_list),
    AfterValidator(_disjoint),
]
"""A ``coverage`` key (partner or export): one period or a list, never overlapping."""


class JoinSchema(Block):
    """A further table of a relational export, joined to each row of the export's file
    (``exports[].join[]``). The export's file is the « many » side: each of its rows finds at
    most one row of the joined table."""

    name: Annotated[str, Field(pattern=JOIN_NAME)] = Field(
        ...,
        **_doc(
            "Nom court de la table jointe. Ses colonnes se désignent ensuite « nom.Colonne » "
            "partout où l'export nomme une colonne (columns, where, keys d'une jointure suivante), "
            "ce qui évite toute confusion avec les colonnes du fichier principal.",
            "name: personnes     # puis : birth_date: {column: personnes.DOB, type: date}",
            type="texte",
            allowed="minuscules sans accent, chiffres et « _ », commençant par une lettre ; "
            "unique dans l'export",
        ),
    )
    files: Text = Field(
        ...,
        **_doc(
            "Fichier(s) de la table jointe, motif relatif à inputs.raw_dir (plusieurs fichiers "
            "sont lus comme une seule table) ; mêmes règles que exports[].files.",
            'files: "reseau_hmis/Client.csv"',
            type="texte (motif de fichiers)",
        ),
    )
    format: FormatSchema | None = Field(
        None,
        **_doc(
            "Format de la table jointe (mêmes clés que exports[].format).",
            'format: {delimiter: ";", date_format: "%d/%m/%Y"}',
            default="le format de l'export",
        ),
    )
    keys: Annotated[dict[Text, Text], Field(min_length=1)] = Field(
        ...,
        **_doc(
            "Clé de jointure : {colonne du fichier principal: colonne de la table jointe}, une "
            "paire par colonne de la clé. La colonne de gauche peut être celle d'une table "
            "jointe plus haut (« sejours.PersonalID »). Une clé présente deux fois dans la table "
            "jointe met les lignes concernées en quarantaine (jointure_ambigue). (Pas « on: », "
            "que YAML lit comme « oui ».)",
            "keys: {PersonalID: PersonalID}",
            type="dictionnaire colonne: colonne",
        ),
    )
    required: bool = Field(
        True,
        **_doc(
            "Vrai : une ligne sans correspondance dans la table jointe est mise en quarantaine "
            "(jointure_sans_correspondance). Faux (jointure « à gauche ») : la ligne est gardée, "
            "les colonnes de la table jointe sont vides (par ex. un séjour sans sortie).",
            "required: false",
        ),
    )
    columns: list[Text] = Field(
        [],
        **_doc(
            "Colonnes de la table jointe que l'export utilise (un fichier sans elles est "
            "refusé) ; sans la clé, toutes ses colonnes sont disponibles.",
            "columns: [DOB, Gender, FirstName, LastName]",
            type="liste de textes",
            default="toutes les colonnes de la table jointe",
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _no_yaml_boolean_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(isinstance(k, bool) for k in data):
            raise ValueError(
                "une clé de ce bloc est lue comme oui/non par YAML (on, off, yes, no) : la clé "
                "de jointure s'écrit keys: {colonne: colonne}, pas on:."
            )
        return data

    @field_validator("files")
    @classmethod
    def _relative(cls, value: str) -> str:
        return _relative_glob(value)


Scalar = Annotated[str, Field(min_length=1)] | int
DispositifCode = Literal[tuple(DISPOSITIFS)]  # type: ignore[valid-type]


class WhereSchema(Block):
    """A row filter of an export (``exports[].where[]``): rows outside it are out of scope,
    counted as filtered, never quarantined as errors."""

    column: Text = Field(
        ...,
        **_doc(
            "Colonne brute du fichier (ou « table.Colonne » d'une table jointe) sur laquelle "
            "porte le filtre, avant toute traduction par une liste de codes.",
            "column: programmes.ProjectType",
            type="texte",
        ),
    )
    in_: list[Scalar] | None = Field(
        None,
        alias="in",
        **_doc(
            "Ne garder que les lignes dont la valeur est dans cette liste (codes tels que le "
            "logiciel les écrit ; casse, accents et espaces ignorés). Une cellule vide n'y est "
            "jamais.",
            "in: [1, 0]",
            type="liste de textes ou de nombres entiers",
        ),
    )
    not_in: list[Scalar] | None = Field(
        None,
        **_doc(
            "Écarter les lignes dont la valeur est dans cette liste ; les autres (cellules vides "
            "comprises) sont gardées.",
            "not_in: [12, 14]",
            type="liste de textes ou de nombres entiers",
        ),
    )
    from_: dt.date | Text | None = Field(
        None,
        alias="from",
        **_doc(
            "Ne garder que les lignes datées de ce jour ou après (date au format de l'export ou "
            "aaaa-mm-jj). Une date vide ou illisible n'est pas filtrée (elle est vérifiée comme "
            "toute date).",
            "from: 2023-01-01",
            type="date",
        ),
    )
    to: dt.date | Text | None = Field(
        None,
        **_doc(
            "Ne garder que les lignes datées de ce jour ou avant (même forme que from).",
            "to: 2024-12-31",
            type="date",
        ),
    )

    @model_validator(mode="after")
    def _one_condition(self) -> WhereSchema:
        kinds = [k for k, v in (("in", self.in_), ("not_in", self.not_in)) if v is not None]
        if self.from_ is not None or self.to is not None:
            kinds.append("from/to")
        if len(kinds) != 1:
            found = f"ici : {', '.join(kinds)}" if kinds else "aucune ici"
            raise _error(
                "column",
                "un filtre porte une seule condition : in: [codes], not_in: [codes], ou une "
                f"période from: / to: ({found}) ; écrivez un filtre « - » par condition.",
            )
        for key, values in (("in", self.in_), ("not_in", self.not_in)):
            if values is not None and not values:
                raise _error(key, f"la liste « {key} » est vide : donnez au moins un code.")
        return self


# --- aggregate returns ---------------------------------------------------------------------------


class GroupsSchema(Block):
    """What each population group of an aggregate return is to the others
    (``exports[].aggregates.groups``). Codes are the values of the group column after its
    ``codes:`` list, if it has one; a value the block does not name is set aside
    (code_inconnu)."""

    total: Text | None = Field(
        None,
        **_doc(
            "Le groupe qui est l'ensemble des personnes (« Tous », « Total ») : jamais "
            "additionné à ses parties.",
            "total: tous",
            type="texte",
        ),
    )
    partition: list[Text] = Field(
        [],
        **_doc(
            "Les groupes qui ne se chevauchent pas et dont la somme est le total (isolés et "
            "familles, par ex.) ; sans total déclaré, c'est leur somme qui fait l'ensemble.",
            "partition: [isoles, familles]",
            type="liste de textes",
        ),
    )
    subgroups: list[Text] = Field(
        [],
        **_doc(
            "Les groupes qui chevauchent les autres (jeunes de 18 à 24 ans, personnes sans "
            "abri de longue durée) : montrés seuls, jamais additionnés.",
            "subgroups: [jeunes_18_24, chronique]",
            type="liste de textes",
        ),
    )

    @model_validator(mode="after")
    def _each_once(self) -> GroupsSchema:
        named = ([self.total] if self.total else []) + list(self.partition) + list(self.subgroups)
        twice = sorted({g for g in named if named.count(g) > 1})
        if twice:
            raise _error(
                "partition",
                f"groupe(s) {', '.join(twice)} déclaré(s) deux fois : un groupe est le total, "
                "une partie de la partition ou un sous-groupe, pas plusieurs.",
            )
        if not named:
            raise _error("partition", "déclarez au moins un groupe (total, partition, subgroups).")
        return self


class AggregatesSchema(Block):
    """How an aggregate return counts (``exports[].aggregates``)."""

    period: Literal["jour", "mois"] = Field(
        ...,
        **_doc(
            "Ce que couvre une ligne : un jour (fichier quotidien d'occupation) ou un mois "
            "civil (rapport mensuel ; la date est n'importe quel jour du mois).",
            "period: mois",
        ),
    )
    groups: GroupsSchema | None = Field(
        None,
        **_doc(
            "Les groupes de population, si le fichier a une colonne de groupe "
            "(columns.group) : lequel est le total, lesquels forment une partition, lesquels "
            "sont des sous-groupes qui chevauchent (clés ci-dessous).",
            "groups: {partition: [isoles, familles], subgroups: [jeunes_18_24]}",
            default="un seul groupe, l'ensemble",
        ),
    )


def _check_aggregates(export: Any) -> None:
    """The rules of an aggregate export: its block, long or wide, its groups."""
    if export.table != "aggregates":
        if export.aggregates is not None:
            raise _error(
                "aggregates",
                f"le bloc aggregates ne s'applique qu'à table: aggregates (ici {export.table}) : "
                "supprimez-le.",
            )
        return
    if export.aggregates is None:
        raise _error(
            "aggregates",
            "table: aggregates exige le bloc aggregates (au moins period: jour ou mois).",
        )
    cols = export.columns
    wide = [m for m in AGGREGATE_MEASURES if m in cols]
    long = [f for f in ("measure", "value") if f in cols]
    if long and len(long) != 2:
        raise _error(
            "columns",
            "un fichier long déclare ensemble measure (la colonne qui nomme la mesure) et "
            "value (la colonne du nombre).",
        )
    if long and wide:
        raise _error(
            f"columns.{wide[0]}",
            "un fichier est long (measure + value) ou large (une colonne par mesure), pas les "
            f"deux : supprimez {', '.join(wide)} ou measure et value.",
        )
    if not long and not wide:
        raise _error(
            "columns",
            "déclarez les mesures du fichier : une colonne par mesure (fichier large : "
            f"{', '.join(AGGREGATE_MEASURES)}) ou measure et value (fichier long).",
        )
    groups = export.aggregates.groups
    if "group" in cols and groups is None:
        raise _error(
            "aggregates.groups",
            "le fichier a une colonne de groupe (columns.group) : déclarez le rôle de chaque "
            "groupe (total, partition, subgroups) pour qu'aucun total ne soit additionné à "
            "ses parties.",
        )
    if groups is not None and "group" not in cols:
        raise _error(
            "aggregates.groups",
            "des groupes sont déclarés mais aucune colonne de groupe (columns.group) : "
            "déclarez-la ou supprimez groups.",
        )


# --- exports --------------------------------------------------------------------------------------


class ExportSchema(Block):
    """One kind of file the partner sends (``exports[]``)."""

    name: Text | None = Field(
        None,
        **_doc(
            "Nom court de l'export (dans les messages et la fiche qualité) ; unique pour le "
            "partenaire.",
            "name: sejours",
            type="texte",
            default="export1, export2… selon sa place",
        ),
    )
    table: Literal[TABLES] = Field(  # type: ignore[valid-type]
        "contacts",
        **_doc(
            "Table canonique que le fichier alimente : contacts (une ligne par personne et "
            "passage, séjour, contact…), refusals (refus faute de place, par nuit), "
            "aggregates (comptages déjà agrégés : lits, nuitées, flux par statut, repas… par "
            "jour ou par mois ; voir docs/donnees-agregees.md et la clé aggregates), weather "
            "(météo du jour par station : températures minimale et maximale, alertes "
            "officielles ; voir docs/plans-saisonniers.md), ou une table de relevés de terrain "
            "(formulaires KoboToolbox ou ODK, voir docs/formulaires.md) : incidents (fiches "
            "incident), street_observations (observations du travail de rue), street_groups "
            "(groupes rencontrés : la feuille de la répétition « groupes », reliée à son "
            "observation par l'uuid), relay_services (prestations des habitants-relais), "
            "relay_allowances (défraiements des habitants-relais, un tableur), worker_survey "
            "(enquête auprès des travailleurs) ou testimonies (témoignages) ; ou une table du "
            "suivi d'un projet (tableurs de l'équipe, formulaire presence_activite ; voir "
            "docs/formulaires.md) : project_activities (activités, une ligne par séance), "
            "project_attendance (présences : une ligne par participant et séance), "
            "project_followups (suivis individuels), project_proposals (propositions du conseil "
            "des locataires) ou project_budget (budget prévu et dépenses).",
            "table: incidents",
        ),
    )
    files: Text = Field(
        ...,
        **_doc(
            "Fichiers de cet export, motif relatif à inputs.raw_dir (« * » pour n'importe quels "
            "caractères). Il peut nommer un sous-dossier, jamais un chemin absolu ni « .. » ; "
            "un lien symbolique trouvé par le motif arrête l'ingestion (déposez une copie du "
            "fichier). Un renvoi de la même année est reconnu et remplace l'original s'il est "
            "nommé après lui : « _v2 », « _corrige » ou « (1) » d'un second téléchargement.",
            'files: "abri_nuit/abri_nuit_sejours_*.csv"',
            type="texte (motif de fichiers)",
        ),
    )
    period_from_filename: Text | None = Field(
        None,
        **_doc(
            "Expression régulière qui lit l'année couverte dans le nom du fichier, avec un "
            "groupe nommé year ; les lignes datées d'une autre année sont mises en quarantaine "
            "(date_hors_periode).",
            "period_from_filename: '(?P<year>\\d{4})'",
            type="texte (expression régulière)",
        ),
    )
    format: FormatSchema = Field(
        FormatSchema(),
        **_doc(
            "Comment le logiciel du partenaire écrit le fichier (clés ci-dessous).",
            'format: {type: csv, encoding: cp1252, delimiter: ";", date_format: "%d/%m/%Y"}',
            default="csv UTF-8, virgules, dates aaaa-mm-jj",
        ),
    )
    columns: dict[str, ColumnSchema] = Field(
        ...,
        **_doc(
            "Pour chaque champ canonique alimenté, la colonne du fichier qui le porte (clés "
            "ci-dessous). Les champs admis dépendent de la table (voir « Champs canoniques ») ; "
            "contacts exige date_start et local_id ou initials, refusals exige date et refusals.",
            'columns:\n  date_start: {column: "Date", type: date, required: true}',
            type="dictionnaire champ: colonne",
        ),
    )
    dispositif: DispositifCode | None = Field(
        None,
        **_doc(
            "Dispositif des lignes de cet export, s'il diffère de celui du partenaire : un même "
            "fichier peut ainsi alimenter plusieurs dispositifs (deux exports lisant le même "
            "fichier, avec des filtres where complémentaires sur le type de programme).",
            "dispositif: travail_rue",
            default="le dispositif du partenaire",
        ),
    )
    join: list[JoinSchema] = Field(
        [],
        **_doc(
            "Tables à joindre à chaque ligne du fichier de l'export (exports relationnels : "
            "personnes, programmes, sorties…), dans l'ordre (clés ci-dessous). Le fichier de "
            "l'export est le côté « plusieurs » : chaque ligne trouve au plus une ligne de chaque "
            "table jointe ; les lignes jointes jamais utilisées sont comptées (rows.json).",
            'join:\n  - name: personnes\n    files: "reseau_hmis/Client.csv"\n'
            "    keys: {PersonalID: PersonalID}",
            type="liste de blocs",
            default="[] (aucune)",
        ),
    )
    where: list[WhereSchema] = Field(
        [],
        **_doc(
            "Filtres de lignes, tous appliqués (clés ci-dessous) : une ligne hors filtre est "
            "comptée « filtrée » (lue = propre + en quarantaine + filtrée), ni gardée ni mise "
            "en quarantaine.",
            "where:\n  - {column: programmes.ProjectType, in: [1]}\n"
            "  - {column: EntryDate, from: 2020-01-01}",
            type="liste de blocs",
            default="[] (aucun)",
        ),
    )
    coverage: Coverage = Field(
        None,
        **_doc(
            COVERAGE_DOC + " Déclarée ici, elle vaut pour cet export seulement (elle remplace "
            "celle du partenaire).",
            "coverage: {first: 2022-01, last: 2024-09}",
            type="période ou liste de périodes",
            default="celle du partenaire (clé coverage)",
        ),
    )

    aggregates: AggregatesSchema | None = Field(
        None,
        **_doc(
            "Pour un export table: aggregates (et lui seul, qui l'exige) : la période d'une "
            "ligne et le rôle des groupes de population (clés ci-dessous).",
            "aggregates: {period: mois, groups: {partition: [isoles, familles], subgroups: "
            "[jeunes]}}",
            default="aucun (exigé pour table: aggregates)",
        ),
    )
    form: Annotated[str, Field(pattern=FORM_NAME)] | None = Field(
        None,
        **_doc(
            "Formulaire XLSForm de cet export (params/formulaires/<form>.xlsx), quand une source "
            "envoie les exports de plusieurs formulaires (fiches incident, enquête, "
            "témoignages) : `observatoire check` compare l'export à ce formulaire.",
            "form: enquete_travailleurs",
            type="texte",
            default="le formulaire de la source (clé form), s'il y en a un",
        ),
    )
    night_by_night: bool = Field(
        False,
        **_doc(
            "Vrai : chaque ligne est une nuit passée (export « nuit par nuit », par ex. les "
            "services nuitée d'un logiciel de gestion) : elle compte pour une nuitée, du soir de "
            "sa date au lendemain. Seulement pour une table contacts d'un dispositif compté en "
            f"nuitées ({', '.join(NIGHT_STAYS)}).",
            "night_by_night: true",
            default="false (une ligne = un séjour, avec ses dates d'entrée et de sortie)",
        ),
    )

    @field_validator("files")
    @classmethod
    def _relative(cls, value: str) -> str:
        return _relative_glob(value)

    @field_validator("period_from_filename")
    @classmethod
    def _year_pattern(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"expression régulière invalide ({exc}).") from None
        if "year" not in pattern.groupindex:
            raise ValueError(
                f"{shown(value)} n'a pas de groupe nommé year : écrivez '(?P<year>\\d{{4}})'."
            )
        return value

    @model_validator(mode="after")
    def _columns_fit_the_table(self, info: ValidationInfo) -> ExportSchema:
        fields = TABLE_FIELDS[self.table]
        for name, col in self.columns.items():
            at = f"columns.{name}"
            if name not in fields:
                raise _error(
                    at,
                    f"le champ « {name} » n'existe pas dans la table {self.table}. Champs "
                    f"admis : {', '.join(fields)}.",
                )
            canonical = fields[name]
            kind = READING_KINDS.get(canonical.kind, canonical.kind)
            if canonical.kind == "codes" and col.multiple is None:
                raise _error(
                    f"{at}.multiple",
                    f"le champ « {name} » ({canonical.label}) reçoit plusieurs codes (choix "
                    'multiple) : déclarez leur séparateur, multiple: " " pour un export '
                    "KoboToolbox ou ODK.",
                )
            if canonical.kind != "codes" and col.multiple is not None:
                raise _error(
                    f"{at}.multiple",
                    f"le champ « {name} » ({canonical.label}) ne reçoit qu'une valeur : "
                    "supprimez multiple.",
                )
            if col.type is not None and col.type != kind:
                raise _error(
                    f"{at}.type",
                    f"le champ « {name} » ({canonical.label}) se lit en {kind} : écrivez "
                    f"type: {kind} ou supprimez type.",
                )
            if col.identity is not None and col.identity != canonical.identity:
                state = "est" if canonical.identity else "n'est pas"
                raise _error(
                    f"{at}.identity",
                    f"le champ « {name} » {state} une identité dans le modèle canonique : "
                    f"écrivez identity: {str(canonical.identity).lower()} ou supprimez identity.",
                )
            if col.codes is not None:
                _check_codes(name, col.codes, kind, at, info, canonical.codes)
            if col.person_partner is not None and name != "participant_id":
                raise _error(
                    f"{at}.person_partner",
                    "person_partner ne se déclare que pour participant_id (le code du "
                    f"participant d'un projet), pas pour « {name} » : supprimez-la.",
                )
            grid_label = col.column in GRID_HEADERS or any(a in GRID_HEADERS for a in col.aliases)
            if grid_label and self.format.grid is None:
                raise _error(
                    f"{at}.column",
                    f"« {col.column} » désigne l'en-tête d'une séance d'une grille de présences : "
                    "déclarez format.grid (ou nommez une colonne du fichier).",
                )
            if "scope" in col.model_fields_set and name != "local_id":
                raise _error(
                    f"{at}.scope",
                    f"scope (portée de l'identifiant : network ou local) ne se déclare que pour "
                    f"local_id, pas pour « {name} » : supprimez scope.",
                )
        if (
            self.table in FIELD_TABLES
            and self.table not in PROJECT_CHILD_TABLES  # a repeat's rows: their parent's year
            and "date" not in self.columns
            and self.period_from_filename is None
        ):
            raise _error(
                "period_from_filename",
                f"la table {self.table} n'a pas de colonne de date déclarée : l'année des "
                "réponses se lit dans le nom du fichier ; déclarez period_from_filename: "
                "'(?P<year>\\d{4})'.",
            )
        for group in REQUIRED_FIELDS[self.table]:
            if not any(f in self.columns for f in group):
                which = " ou ".join(group)
                raise _error(
                    "columns",
                    f"la table {self.table} exige le champ {which} : déclarez la colonne qui le "
                    "porte.",
                )
        _check_aggregates(self)
        return self

    @model_validator(mode="after")
    def _joins_and_filters_fit(self) -> ExportSchema:
        """Join names unique, a key or a filter naming « table.Colonne » names a table joined
        before it (and one of its declared columns), a period bound readable as a date."""
        declared: dict[str, JoinSchema] = {}
        for i, join in enumerate(self.join):
            if join.name in declared:
                raise _error(
                    f"join[{i}].name",
                    f"deux tables jointes s'appellent « {join.name} » : donnez-leur des noms "
                    "différents.",
                )
            for left in join.keys:
                _check_reference(left, declared, self.join, f"join[{i}].keys.{left}")
            declared[join.name] = join
        for name, col in self.columns.items():
            for label in (col.column, *col.aliases):
                _check_reference(label, declared, self.join, f"columns.{name}.column")
        for i, cond in enumerate(self.where):
            _check_reference(cond.column, declared, self.join, f"where[{i}].column")
            for key, bound in (("from", cond.from_), ("to", cond.to)):
                if isinstance(bound, str) and bound_date(bound, self.format.date_format) is None:
                    raise _error(
                        f"where[{i}].{key}",
                        f"{shown(bound)} n'est pas une date : écrivez-la aaaa-mm-jj (par ex. "
                        "2024-01-31) ou au format de l'export.",
                    )
            low = bound_date(cond.from_, self.format.date_format)
            high = bound_date(cond.to, self.format.date_format)
            if low is not None and high is not None and low > high:
                raise _error(
                    f"where[{i}].to", "la fin de la période (to) précède son début (from)."
                )
        return self


def _check_reference(
    label: str, declared: dict[str, JoinSchema], joins: list[JoinSchema], at: str
) -> None:
    """A label « table.Colonne » must name a table joined before it, and one of its columns."""
    prefix, dot, column = label.partition(".")
    if not dot or prefix not in {j.name for j in joins}:
        return
    if prefix not in declared:
        raise _error(
            at,
            f"« {label} » désigne la table jointe « {prefix} », déclarée plus bas : placez cette "
            "jointure avant celle qui s'en sert.",
        )
    brought = declared[prefix].columns
    if brought and column not in brought:
        raise _error(
            at,
            f"« {label} » : la colonne « {column} » n'est pas dans join.columns de « {prefix} » "
            f"({', '.join(brought)}) : ajoutez-la à cette liste.",
        )


def bound_date(value: dt.date | str | None, date_format: str) -> dt.date | None:
    """A period bound of a filter: a YAML date, an ISO date or a date in the export's format."""
    if value is None or isinstance(value, dt.date):
        return value
    formats = ["%Y-%m-%d"] + ([date_format] if date_format != "excel" else [])
    for fmt in formats:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _check_codes(
    name: str,
    codes: Any,
    kind: str,
    at: str,
    info: ValidationInfo,
    field_codes: tuple[str, ...] = (),
) -> None:
    if kind not in ("text", "boolean"):
        raise _error(
            f"{at}.codes",
            f"le champ « {name} » se lit en {kind} : une liste de codes ne s'applique qu'à un "
            "champ texte ou codé ; supprimez codes.",
        )
    codes_dir = (info.context or {}).get("codes_dir")
    if isinstance(codes, str):
        if codes_dir is None:
            return
        try:
            codes = read_code_list(codes, codes_dir)
        except ValueError as exc:
            raise _error(f"{at}.codes", str(exc)) from None
    # A field table's own list first (street_groups.sex is not the contacts' sex).
    admitted = ("oui", "non") if kind == "boolean" else field_codes or CANONICAL_CODES.get(name)
    if admitted:
        wrong = sorted({c for c in codes.values() if c not in admitted})
        if wrong:
            raise _error(
                f"{at}.codes",
                f"code(s) {', '.join(wrong)} inconnu(s) pour « {name} » : codes admis : "
                f"{', '.join(admitted)}.",
            )


# --- the partner ----------------------------------------------------------------------------------


class CapacitySchema(Block):
    """Beds of a night shelter (``capacity``)."""

    beds: Annotated[int, Field(ge=0)] = Field(
        0, **_doc("Lits ouverts toute l'année.", "beds: 40", type="nombre entier ≥ 0")
    )
    winter_extra_beds: Annotated[int, Field(ge=0)] = Field(
        0,
        **_doc(
            "Lits ajoutés pendant le plan hiver (report.winter_start à report.winter_end).",
            "winter_extra_beds: 15",
            type="nombre entier ≥ 0",
        ),
    )


class PartnerSchema(Block):
    """One partner mapping file, ``params/partners/<partner>.yaml``."""

    partner_id: Annotated[str, Field(pattern=PARTNER_ID)] = Field(
        ...,
        **_doc(
            "Identifiant du partenaire, unique dans le réseau (noms de dossiers, fiche qualité, "
            "`observatoire check --partner`). Le fichier de correspondance porte ce nom : "
            "params/partners/<partner_id>.yaml.",
            "partner_id: abri_nuit",
            type="texte",
            allowed="1 à 40 caractères : minuscules sans accent, chiffres et « _ », commençant "
            "par une lettre",
        ),
    )
    name: Text = Field(
        ...,
        **_doc(
            "Nom du partenaire tel que les rapports l'impriment.",
            'name: "Abri de nuit « Le Phare »"',
            type="texte",
        ),
    )
    dispositif: DispositifCode | None = Field(
        None,
        **_doc(
            "Type de service (dispositif) dont relèvent les exports du partenaire (un export "
            "peut déclarer le sien : exports[].dispositif).",
            "dispositif: hebergement_urgence",
            default="obligatoire, sauf si chaque export déclare son dispositif (ou ne lit que "
            "la météo : table weather)",
        ),
    )
    row_unit: Text = Field(
        "contact",
        **_doc(
            "Ce que représente une ligne de ses exports, en français (imprimé par "
            "`observatoire partners` et dans le rapport).",
            "row_unit: séjour",
            type="texte",
        ),
    )
    form: Annotated[str, Field(pattern=FORM_NAME)] | None = Field(
        None,
        **_doc(
            "Formulaire XLSForm dont viennent les exports (params/formulaires/<form>.xlsx, "
            "voir docs/formulaires.md) : `observatoire check` signale les colonnes et les "
            "valeurs de choix d'un export que ce formulaire ne connaît pas.",
            "form: fiche_incident",
            type="texte",
            default="aucun (pas de comparaison au formulaire)",
        ),
    )
    capacity: CapacitySchema | None = Field(
        None,
        **_doc(
            f"Lits d'un abri de nuit (dispositif {SHELTER} seulement) : taux d'occupation et "
            "prévision de l'hiver.",
            "capacity: {beds: 40, winter_extra_beds: 15}",
            default="aucune capacité déclarée",
        ),
    )
    exports: Annotated[list[ExportSchema], Field(min_length=1)] = Field(
        ...,
        **_doc(
            "Les sortes de fichiers que le partenaire envoie, une entrée « - » chacune (clés "
            "ci-dessous).",
            'exports:\n  - name: sejours\n    files: "abri_nuit/abri_nuit_sejours_*.csv"\n'
            "    columns: {…}",
            type="liste de blocs",
        ),
    )
    coverage: Coverage = Field(
        None,
        **_doc(
            COVERAGE_DOC,
            "coverage: {first: 2022-01, last: 2024-12}\n# ou, après une interruption :\n"
            "coverage:\n  - {first: 2019-01, last: 2020-06}\n  - {first: 2021-01, last: 2024-12}",
            type="période ou liste de périodes",
            default="proposée d'après les données, avec un avertissement",
        ),
    )

    @model_validator(mode="after")
    def _whole_partner(self) -> PartnerSchema:
        if self.dispositif is None:
            lacking = [
                f"n°{i + 1}"
                for i, e in enumerate(self.exports)
                # the weather and field records are no service's contacts
                if e.dispositif is None and e.table != "weather" and e.table not in FIELD_TABLES
            ]
            if lacking:
                raise _error(
                    "dispositif",
                    "le dispositif du partenaire manque alors que l'export "
                    f"{', '.join(lacking)} n'en déclare pas : ajoutez dispositif: au partenaire "
                    f"(ou à chaque export). Valeurs admises : {', '.join(DISPOSITIFS)}.",
                )
        _field_apart(self)
        runs = {self.dispositif} | {e.dispositif for e in self.exports}
        if self.capacity is not None and SHELTER not in runs:
            raise _error(
                "capacity",
                f"une capacité n'est lue que pour le dispositif {SHELTER} (ici "
                f"{', '.join(sorted(d for d in runs if d))}) : supprimez capacity.",
            )
        for i, export in enumerate(self.exports):
            runs_in = export.dispositif or self.dispositif
            if export.night_by_night and (export.table != "contacts" or runs_in not in NIGHT_STAYS):
                raise _error(
                    f"exports[{i}].night_by_night",
                    "une ligne ne vaut une nuitée que dans une table contacts d'un dispositif "
                    f"compté en nuitées ({', '.join(NIGHT_STAYS)}) ; ici table {export.table}, "
                    f"dispositif {runs_in} : supprimez night_by_night.",
                )
        seen: dict[str, int] = {}
        for i, export in enumerate(self.exports):
            name = export.name or f"export{i + 1}"
            if name in seen:
                raise _error(
                    f"exports[{i}].name",
                    f"deux exports s'appellent « {name} » (n°{seen[name] + 1} et n°{i + 1}) : "
                    "donnez-leur des noms différents.",
                )
            seen[name] = i
        return self


def _field_apart(partner: PartnerSchema) -> None:
    """Field records (forms, the allowance sheet) come from a source of their own: a mapping
    file does not mix them with contacts, refusals, aggregates or the weather, and its exports
    carry no dispositif (they are not contacts of a service)."""
    field = [i for i, e in enumerate(partner.exports) if e.table in FIELD_TABLES]
    if not field:
        if partner.form is not None or any(e.form for e in partner.exports):
            raise _error(
                "form",
                "un formulaire ne se déclare que pour des relevés de terrain (tables "
                f"{', '.join(FIELD_TABLES)}) : supprimez form.",
            )
        return
    other = [i for i in range(len(partner.exports)) if i not in field]
    if other:
        raise _error(
            f"exports[{other[0]}].table",
            "les relevés de terrain (formulaires, défraiements) se déclarent dans un fichier de "
            "correspondance à part, sans contacts, refus, agrégats ni météo : créez par ex. "
            f"params/partners/{partner.partner_id}_terrain.yaml.",
        )
    for i in field:
        if partner.exports[i].dispositif is not None:
            raise _error(
                f"exports[{i}].dispositif",
                "un relevé de terrain n'est pas un contact d'un dispositif : supprimez dispositif.",
            )
    if partner.dispositif is not None:
        raise _error(
            "dispositif",
            "un relevé de terrain n'est pas un contact d'un dispositif : supprimez dispositif.",
        )


# --- checking a file ------------------------------------------------------------------------------


def validate_mapping(raw: Any, path: Path, codes_dir: Path | None) -> PartnerSchema:
    """Check one parsed mapping file; a problem raises :class:`MappingError` naming ``path``,
    each key path, what is admitted and what to do."""
    if not isinstance(raw, dict):
        raise MappingError(
            f"Correspondance refusée : {path} doit décrire un partenaire (lignes « clé: valeur »), "
            f"pas {shown(raw)}.",
            f"partez d'un fichier existant de params/partners/ ; la référence : {REFERENCE_HINT}.",
        )
    context = {"codes_dir": Path(codes_dir)} if codes_dir is not None else None
    try:
        return PartnerSchema.model_validate(raw, context=context)
    except ValidationError as exc:
        problems = french_problems(
            PartnerSchema,
            exc,
            patterns=PATTERNS,
            missing_hint=f"voir {REFERENCE_HINT}",
            name_key_in_values=True,
        )
        where = [_export_of(raw, err["loc"]) for err in exc.errors()]
        lines = [f"{w}{p}" for w, p in zip(where, problems, strict=True)]
        head = (
            f"Correspondance refusée : {path} : {lines[0]}"
            if len(lines) == 1
            else f"Correspondance refusée : {path} :\n" + "\n".join(f"  - {x}" for x in lines)
        )
        raise MappingError(
            head,
            f"corrigez {path} puis relancez ; chaque clé, ses valeurs admises et un exemple : "
            f"{REFERENCE_HINT}.",
        ) from None


def _export_of(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """« export « refus » : » before a problem inside an export (« export n°2 : » unnamed)."""
    if len(loc) < 2 or loc[0] != "exports" or not isinstance(loc[1], int):
        return ""
    exports = raw.get("exports")
    i = loc[1]
    name = None
    if isinstance(exports, list) and i < len(exports) and isinstance(exports[i], dict):
        name = exports[i].get("name")
    return f"export « {name} » : " if isinstance(name, str) else f"export n°{i + 1} : "
