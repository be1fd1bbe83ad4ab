"""The field forms (XLSForm), described once: the source of ``params/formulaires/*.xlsx``.

The sector's field teams fill forms on phones with KoboToolbox or ODK Collect, which both load
XLSForm workbooks (sheets ``survey``, ``choices``, ``settings``). The five forms of the
observatory are described here as data, their choice lists taken from the canonical code lists
of :mod:`observatoire.core.schema` (a choice's name IS the canonical code, its label the French
label), so that a form, the mapping that reads its exports and the synthetic generator that
plays its users cannot drift apart. ``observatoire forms`` (or :func:`write_forms`) writes the
workbooks; a test checks that the committed files hold exactly what this module produces and
that ``pyxform`` converts each to a valid XForm.

:func:`read_form` reads any XLSForm workbook back (the committed one, or a partner's own) into
the columns and choice values its KoboToolbox export carries (« XML values and headers »,
groups in headers, separator « / »): what ``observatoire check`` compares an export with.

Why Python and not the XLSX as source: a workbook is a binary file a review cannot read, and
the choice lists would be a second copy of the canonical codes; here a change of a code list
changes the form, and the diff of a form change is readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from observatoire.core.schema import (
    GROUP_AGE_BANDS,
    GROUP_SEXES,
    INCIDENT_CONSEQUENCES,
    INCIDENT_CONTEXTS,
    INCIDENT_DIRECTIONS,
    INCIDENT_SEVERITIES,
    INCIDENT_TYPES,
    NETWORK_SERVICES,
    PLACE_TYPES,
    PROJECT_ACTIVITIES,
    PROJECT_ROLES,
    RELAY_ACTIONS,
    RELAY_BARRIERS,
    RELAY_NEEDS,
    RELAY_ORIENTATIONS,
    RELAY_POINTS,
    STREET_CLIMATES,
    STREET_ORIENTATIONS,
    STREET_PROBLEMS,
    STREET_RESOURCES,
    STREET_ZONES,
    SUPPORT_AFTER,
    TESTIMONY_ROLES,
    WORKER_ROLES,
    WORKER_SENIORITY,
)

__all__ = [
    "FORMS",
    "FORM_VERSION",
    "KOBO_METADATA",
    "KOBO_REPEAT_METADATA",
    "Form",
    "FormLayout",
    "Question",
    "form_sheets",
    "read_form",
    "unknown_values",
    "write_form",
    "write_forms",
]

FORM_VERSION = "2024.1"
"""The version the committed forms carry (``settings.version``, exported as ``__version__``)."""

KOBO_METADATA = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
)
"""Columns KoboToolbox adds after the questions of a form's main sheet."""
KOBO_REPEAT_METADATA = (
    "_index",
    "_parent_table_name",
    "_parent_index",
    "_submission__id",
    "_submission__uuid",
    "_submission__submission_time",
    "_submission__validation_status",
    "_submission__notes",
    "_submission__status",
    "_submission__submitted_by",
    "_submission___version__",
    "_submission__tags",
)
"""Columns KoboToolbox adds to the sheet of a repeat group (the parent's ``_uuid`` among them)."""

NEVER_MAPPED = ("deviceid", "_submitted_by")
"""Identities of a phone and of a worker's account: exported, never read."""

SURVEY_COLUMNS = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "constraint_message",
    "appearance",
    "parameters",
)
CHOICE_COLUMNS = ("list_name", "name", "label")
SETTINGS_COLUMNS = ("form_title", "form_id", "version", "default_language", "style")


@dataclass(frozen=True)
class Question:
    """One row of an XLSForm ``survey`` sheet."""

    type: str
    name: str = ""
    label: str = ""
    hint: str = ""
    required: bool = False
    relevant: str = ""
    constraint: str = ""
    constraint_message: str = ""
    appearance: str = ""
    parameters: str = ""

    def row(self) -> list[str]:
        values = {**self.__dict__, "required": "yes" if self.required else ""}
        return [values[c] for c in SURVEY_COLUMNS]


@dataclass(frozen=True)
class Form:
    """An XLSForm: its questions in order, its choice lists and its settings."""

    form_id: str
    title: str
    survey: tuple[Question, ...]
    choices: dict[str, dict[str, str]]
    version: str = FORM_VERSION


def _meta() -> list[Question]:
    return [
        Question("start", "start"),
        Question("end", "end"),
        Question("today", "today"),
        Question("deviceid", "deviceid"),
    ]


def _group(name: str, label: str, *questions: Question, repeat: bool = False) -> list[Question]:
    kind = "repeat" if repeat else "group"
    return [Question(f"begin_{kind}", name, label), *questions, Question(f"end_{kind}", name)]


NO_IDENTITY = "N'écrivez ni nom, ni adresse, ni téléphone, ni date de naissance."
PAST_DATE = Question(
    "date",
    "date",
    "Date",
    required=True,
    constraint=". <= today() and . >= date('2015-01-01')",
    constraint_message="La date ne peut pas être dans le futur.",
)
YES_NO = {"oui": "Oui", "non": "Non"}


def _date(label: str) -> Question:
    return Question(**{**PAST_DATE.__dict__, "label": label})


def _yes_no(name: str, label: str, **kw: object) -> Question:
    return Question("select_one oui_non", name, label, **kw)  # type: ignore[arg-type]


def _capitalised(codes: dict[str, str]) -> dict[str, str]:
    return {k: v[:1].upper() + v[1:] for k, v in codes.items()}


FICHE_INCIDENT = Form(
    "fiche_incident",
    "Fiche incident — baromètre des violences",
    (
        *_meta(),
        Question(
            "note",
            "consigne",
            "Une fiche par incident, remplie le jour même par un travailleur du service. "
            + NO_IDENTITY,
        ),
        *_group(
            "incident",
            "L'incident",
            _date("Date de l'incident"),
            Question("time", "heure", "Heure de l'incident (approximative)"),
            Question("select_one services", "service", "Service", required=True),
            Question(
                "select_multiple types_violence",
                "types",
                "Type(s) de violence",
                hint="Plusieurs réponses possibles.",
                required=True,
            ),
            Question("select_one directions", "direction", "Sens de la violence", required=True),
            Question("select_one gravites", "gravite", "Gravité", required=True),
            Question(
                "integer",
                "personnes",
                "Nombre de personnes impliquées",
                constraint=". >= 1 and . <= 50",
                constraint_message="Entre 1 et 50 personnes.",
            ),
            Question(
                "text",
                "auteur",
                "Numéro de dossier de l'usager auteur dans le service (s'il est connu)",
                hint="Le numéro seulement, jamais le nom : il est pseudonymisé à la lecture.",
                relevant="${direction} = 'usager_travailleur' or ${direction} = 'usager_usager'",
            ),
        ),
        *_group(
            "contexte",
            "Le contexte",
            Question(
                "select_multiple contextes",
                "contexte_incident",
                "Contexte de l'incident",
                hint="Plusieurs réponses possibles.",
            ),
        ),
        *_group(
            "suites",
            "Les suites",
            Question(
                "select_multiple consequences",
                "consequences",
                "Suites de l'incident",
                required=True,
                constraint="not(selected(., 'aucune') and count-selected(.) > 1)",
                constraint_message="« Aucune » ne se combine pas avec une autre réponse.",
            ),
        ),
        *_group(
            "recit",
            "Le récit",
            Question(
                "text",
                "description",
                "Ce qui s'est passé",
                hint=NO_IDENTITY,
                appearance="multiline",
            ),
        ),
    ),
    {
        "services": _capitalised(NETWORK_SERVICES),
        "types_violence": _capitalised(INCIDENT_TYPES),
        "directions": _capitalised(INCIDENT_DIRECTIONS),
        "gravites": _capitalised(INCIDENT_SEVERITIES),
        "contextes": _capitalised(INCIDENT_CONTEXTS),
        "consequences": _capitalised(INCIDENT_CONSEQUENCES),
    },
)

OBSERVATION_RUE = Form(
    "observation_rue",
    "Observation de rue — travail social de rue",
    (
        *_meta(),
        Question(
            "note",
            "consigne",
            "Une fiche par présence dans une zone : qui est là, où, quand, ce qui s'y passe. "
            + NO_IDENTITY,
        ),
        *_group(
            "presence",
            "La présence",
            _date("Date de la présence"),
            Question("time", "heure_debut", "Heure de début", required=True),
            Question(
                "decimal",
                "duree",
                "Durée (heures)",
                constraint=". > 0 and . <= 12",
                constraint_message="Entre 0 et 12 heures.",
            ),
            Question("select_one zones", "zone", "Zone", required=True),
            Question("select_one lieux", "type_lieu", "Type de lieu"),
        ),
        *_group(
            "groupes",
            "Groupes rencontrés",
            Question(
                "integer",
                "taille",
                "Nombre de personnes du groupe",
                required=True,
                constraint=". >= 1 and . <= 100",
                constraint_message="Entre 1 et 100 personnes.",
            ),
            Question("select_one tranches_age", "tranche_age", "Tranche d'âge (la plupart)"),
            Question("select_one genres", "genre", "Composition"),
            repeat=True,
        ),
        *_group(
            "constats",
            "Ce qui est observé",
            Question("select_multiple problemes", "problemes", "Problèmes observés"),
            Question("select_multiple ressources", "ressources", "Ressources observées"),
            Question("select_one climats", "climat", "Climat"),
        ),
        *_group(
            "actions",
            "Actions",
            Question("select_multiple orientations", "orientations", "Orientations données"),
            _yes_no("projet_collectif", "Séance de projet collectif avec des jeunes ?"),
            Question(
                "integer",
                "participants",
                "Participants au projet collectif",
                relevant="${projet_collectif} = 'oui'",
                constraint=". >= 0 and . <= 100",
            ),
        ),
        *_group(
            "notes",
            "Notes",
            Question(
                "text",
                "observations",
                "Observations libres",
                hint=NO_IDENTITY,
                appearance="multiline",
            ),
        ),
    ),
    {
        "zones": dict(STREET_ZONES),
        "lieux": _capitalised(PLACE_TYPES),
        "tranches_age": _capitalised(GROUP_AGE_BANDS),
        "genres": _capitalised(GROUP_SEXES),
        "problemes": _capitalised(STREET_PROBLEMS),
        "ressources": _capitalised(STREET_RESOURCES),
        "climats": _capitalised(STREET_CLIMATES),
        "orientations": _capitalised(STREET_ORIENTATIONS),
        "oui_non": YES_NO,
    },
)

RELAIS_PRESTATION = Form(
    "relais_prestation",
    "Fiche-relevé des prestations — habitants-relais",
    (
        *_meta(),
        Question(
            "note",
            "consigne",
            "Une fiche par prestation (une personne ou un groupe aidé ensemble). " + NO_IDENTITY,
        ),
        *_group(
            "prestation",
            "La prestation",
            _date("Date"),
            Question("time", "heure", "Heure"),
            Question(
                "text",
                "relais",
                "Votre code d'habitant-relais",
                hint="Le code donné par la coordination (par ex. HR03), jamais votre nom.",
                required=True,
                constraint="regex(., '^HR[0-9]{2}$')",
                constraint_message="Un code HR suivi de deux chiffres, par ex. HR03.",
            ),
            Question("select_one points", "point", "Point de contact", required=True),
            Question(
                "integer",
                "personnes",
                "Personnes aidées",
                required=True,
                constraint=". >= 1 and . <= 30",
            ),
        ),
        *_group(
            "besoins",
            "Besoins et réponses",
            Question("select_multiple besoins", "besoins", "Besoins", required=True),
            Question("select_multiple actions", "actions", "Actions", required=True),
            Question(
                "select_multiple orientations",
                "orientations",
                "Orienté vers",
                relevant="selected(${actions}, 'orientation')",
            ),
            Question("select_multiple obstacles", "obstacles", "Obstacles à l'accès"),
        ),
        *_group(
            "situation",
            "La situation",
            Question("text", "description", "Situation", hint=NO_IDENTITY, appearance="multiline"),
        ),
    ),
    {
        "points": _capitalised(RELAY_POINTS),
        "besoins": _capitalised(RELAY_NEEDS),
        "actions": _capitalised(RELAY_ACTIONS),
        "orientations": _capitalised(RELAY_ORIENTATIONS),
        "obstacles": _capitalised(RELAY_BARRIERS),
    },
)

LIKERT_SAFETY = {
    "1": "1 — pas du tout en sécurité",
    "2": "2",
    "3": "3",
    "4": "4",
    "5": "5 — tout à fait en sécurité",
}

ENQUETE_TRAVAILLEURS = Form(
    "enquete_travailleurs",
    "Enquête auprès des travailleurs — violences dans les services",
    (
        *_meta(),
        Question(
            "note",
            "consigne",
            "Questionnaire anonyme : ni nom, ni service nominatif au-delà du type de service. "
            "Les 12 derniers mois.",
        ),
        *_group(
            "profil",
            "Votre profil",
            Question("select_one services", "service", "Votre service", required=True),
            Question("select_one fonctions", "fonction", "Votre fonction", required=True),
            Question("select_one anciennetes", "anciennete", "Votre ancienneté dans le secteur"),
        ),
        *_group(
            "violences",
            "Ces 12 derniers mois, avez-vous…",
            _yes_no("verbale_12m", "subi une violence verbale ?", required=True),
            _yes_no("physique_12m", "subi une violence physique ?", required=True),
            _yes_no("menaces_12m", "subi des menaces ?", required=True),
            _yes_no("temoin_12m", "été témoin d'une violence ?", required=True),
        ),
        *_group(
            "securite",
            "Sécurité et soutien",
            Question(
                "select_one echelle",
                "sentiment",
                "Au travail, vous sentez-vous en sécurité ? (1 à 5)",
                required=True,
            ),
            _yes_no("formation", "Avez-vous été formé à la gestion de la violence ?"),
            Question(
                "select_one soutiens",
                "soutien",
                "Après un incident, avez-vous été soutenu ?",
                relevant="${verbale_12m} = 'oui' or ${physique_12m} = 'oui' or "
                "${menaces_12m} = 'oui'",
            ),
        ),
        *_group(
            "commentaire",
            "Commentaire",
            Question("text", "texte", "Un commentaire ?", hint=NO_IDENTITY, appearance="multiline"),
        ),
    ),
    {
        "services": _capitalised(NETWORK_SERVICES),
        "fonctions": _capitalised(WORKER_ROLES),
        "anciennetes": _capitalised(WORKER_SENIORITY),
        "oui_non": YES_NO,
        "echelle": LIKERT_SAFETY,
        "soutiens": _capitalised(SUPPORT_AFTER),
    },
)

TEMOIGNAGE = Form(
    "temoignage",
    "Témoignage — recherche-action violences",
    (
        *_meta(),
        Question(
            "note",
            "consigne",
            "Recueilli avec l'accord de la personne ; ses mots, sans rien qui l'identifie. "
            + NO_IDENTITY,
        ),
        *_group(
            "temoignage",
            "Le témoignage",
            _date("Date du recueil"),
            _yes_no(
                "accord",
                "La personne accepte que son témoignage soit utilisé sans son nom",
                required=True,
                constraint=". = 'oui'",
                constraint_message="Sans accord, le témoignage n'est pas recueilli.",
            ),
            Question("select_one roles", "role", "Qui témoigne ?", required=True),
            Question("select_one services", "service", "Service concerné (s'il y en a un)"),
            Question(
                "text",
                "texte",
                "Le témoignage",
                required=True,
                hint=NO_IDENTITY,
                appearance="multiline",
            ),
        ),
    ),
    {
        "oui_non": YES_NO,
        "roles": _capitalised(TESTIMONY_ROLES),
        "services": _capitalised(NETWORK_SERVICES),
    },
)

PRESENCE_ACTIVITE = Form(
    "presence_activite",
    "Présences à une activité — suivi de projet",
    (
        *_meta(),
        Question(
            "note",
            "consigne",
            "Une fiche par séance (entraînement, tournoi, atelier…) : l'activité, puis chaque "
            "participant. Les noms et dates de naissance servent à relier les participants aux "
            "services du réseau : ils sont pseudonymisés dès la lecture et jamais publiés.",
        ),
        *_group(
            "activite",
            "La séance",
            _date("Date de la séance"),
            Question("select_one activites", "type", "Activité", required=True),
            Question("text", "intitule", "Intitulé (si besoin)"),
            Question("text", "lieu", "Lieu"),
            Question("text", "partenaire", "Partenaire (lieu, club, organisation)"),
            Question(
                "decimal",
                "duree",
                "Durée (heures)",
                constraint=". > 0 and . <= 24",
                constraint_message="Entre 0 et 24 heures.",
            ),
        ),
        *_group(
            "participants",
            "Participants",
            Question("text", "nom", "Nom"),
            Question("text", "prenom", "Prénom"),
            Question(
                "date",
                "date_naissance",
                "Date de naissance",
                constraint=". < today() and . >= date('1920-01-01')",
                constraint_message="Une date de naissance passée.",
            ),
            Question(
                "text",
                "code",
                "Code du participant (s'il en a un)",
                hint="Par ex. le code locataire Housing First.",
            ),
            Question("select_one roles", "role", "Rôle", required=True),
            Question(
                "select_one services",
                "service",
                "Service qui l'envoie",
                relevant="${role} = 'joueur'",
            ),
            repeat=True,
        ),
    ),
    {
        "activites": _capitalised(PROJECT_ACTIVITIES),
        "roles": _capitalised(PROJECT_ROLES),
        "services": _capitalised(NETWORK_SERVICES),
    },
)

FORMS: dict[str, Form] = {
    f.form_id: f
    for f in (
        FICHE_INCIDENT,
        OBSERVATION_RUE,
        RELAIS_PRESTATION,
        ENQUETE_TRAVAILLEURS,
        TEMOIGNAGE,
        PRESENCE_ACTIVITE,
    )
}
"""The forms shipped in ``params/formulaires/<form_id>.xlsx``."""


def form_sheets(form: Form) -> dict[str, list[list[str]]]:
    """The three sheets of the workbook, header row first, as lists of cell texts."""
    choices = [
        [list_name, name, label]
        for list_name, options in form.choices.items()
        for name, label in options.items()
    ]
    return {
        "survey": [list(SURVEY_COLUMNS), *(q.row() for q in form.survey)],
        "choices": [list(CHOICE_COLUMNS), *choices],
        "settings": [
            list(SETTINGS_COLUMNS),
            [form.title, form.form_id, form.version, "", "pages"],
        ],
    }


def write_form(form: Form, path: Path) -> None:
    """Write ``form`` as an XLSForm workbook (cell texts only; the test compares contents)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in form_sheets(form).items():
        sheet = wb.create_sheet(title)
        for row in rows:
            sheet.append([v if v != "" else None for v in row])
        sheet.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def write_forms(folder: Path) -> list[Path]:
    """Write every form of :data:`FORMS` into ``folder``; returns the paths written."""
    paths = []
    for form_id, form in FORMS.items():
        path = Path(folder) / f"{form_id}.xlsx"
        write_form(form, path)
        paths.append(path)
    return paths


# --- reading a form back -------------------------------------------------------------------------


@dataclass
class FormLayout:
    """What a KoboToolbox export of a form holds (« XML values and headers », groups in headers,
    separator « / »): its sheets' question columns and the choice values of its select
    questions."""

    form_id: str
    version: str
    columns: dict[str, list[str]] = field(default_factory=dict)
    """Per sheet (the form's id for the main sheet, a repeat's name for its sheet), the
    question columns in order, with the 0/1 columns of each select_multiple option."""
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per select question's column, its choice names (the XML values an export writes)."""
    multiple: frozenset[str] = frozenset()
    """The columns of select_multiple questions (several values, separated by a space)."""

    def known(self, sheet: str) -> set[str]:
        """The columns an export sheet may hold: questions, metadata."""
        meta = KOBO_METADATA if sheet == self.form_id else KOBO_REPEAT_METADATA
        return set(self.columns.get(sheet, [])) | set(meta)


def _cell(value: object) -> str:
    return "" if value is None else str(value).strip()


def read_form(path: Path) -> FormLayout:
    """The layout of the XLSForm workbook at ``path`` (its ``survey``, ``choices`` and
    ``settings`` sheets). Notes are not exported; metadata questions (start, end, today,
    deviceid) are columns of the main sheet."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {
            ws.title: [[_cell(v) for v in r] for r in ws.iter_rows(values_only=True)]
            for ws in wb.worksheets
        }
    finally:
        wb.close()
    survey = _records(sheets.get("survey", []))
    settings = _records(sheets.get("settings", []))
    choice_rows = _records(sheets.get("choices", []))
    form_id = (settings[0].get("form_id") if settings else "") or Path(path).stem
    version = settings[0].get("version", "") if settings else ""
    lists: dict[str, list[str]] = {}
    for r in choice_rows:
        if r.get("list_name") and r.get("name"):
            lists.setdefault(r["list_name"], []).append(r["name"])
    layout = FormLayout(form_id, version, {form_id: []})
    multiple: set[str] = set()
    path_stack: list[str] = []
    sheet_stack: list[str] = [form_id]
    for q in survey:
        kind, name = q.get("type", ""), q.get("name", "")
        words = kind.split()
        head = words[0] if words else ""
        if head in ("begin_group", "begin group"):
            path_stack.append(name)
        elif head in ("begin_repeat", "begin repeat"):
            path_stack.append(name)
            sheet_stack.append(name)
            layout.columns.setdefault(name, [])
        elif head in ("end_group", "end group"):
            path_stack.pop()
        elif head in ("end_repeat", "end repeat"):
            path_stack.pop()
            sheet_stack.pop()
        elif name and head not in ("note", ""):
            column = "/".join([*path_stack, name])
            sheet = layout.columns[sheet_stack[-1]]
            sheet.append(column)
            if head in ("select_one", "select_multiple") and len(words) > 1:
                options = tuple(lists.get(words[1], []))
                layout.choices[column] = options
                if head == "select_multiple":
                    multiple.add(column)
                    sheet.extend(f"{column}/{o}" for o in options)
    layout.multiple = frozenset(multiple)
    return layout


def _records(rows: list[list[str]]) -> list[dict[str, str]]:
    if not rows:
        return []
    header = rows[0]
    return [{h: v for h, v in zip(header, row, strict=False) if h} for row in rows[1:] if any(row)]


def unknown_values(values: Iterable[object], options: Iterable[str], multiple: bool) -> set[str]:
    """The values of an export's column that are not choice names of its question."""
    known = set(options)
    found: set[str] = set()
    for v in values:
        text = _cell(v)
        if not text or text.lower() == "nan":
            continue
        found.update(text.split() if multiple else [text])
    return found - known


if __name__ == "__main__":  # python -m observatoire.core.forms params/formulaires
    import sys

    for written in write_forms(Path(sys.argv[1] if len(sys.argv) > 1 else "params/formulaires")):
        print(f"Formulaire écrit : {written}")
