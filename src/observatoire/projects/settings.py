"""Typed parameters of the projects the network follows (``params/projets.yaml``).

A project (the Housing First tenants' social affiliation, the street-football team) is a partner
of the mapping files (its ``partner_id`` is the project id) whose records are activities,
attendance, follow-ups, council proposals and budget lines. What the analysis needs beyond the
records is here, per project: its label and type, the roles counted as participants, the
tenants' council (activity code and first month), the activity codes and their labels, the
objectives of each year (an indicator of a closed list, a target and a direction) and the budget
drift threshold.

Like the other params files, the file refuses unknown keys, wrong types and unknown indicators:
a problem stops the command with a French message naming the key path
(``projets.affiliation_hf.objectifs.2024[1].indicateur``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from observatoire.config.paths import PATHS
from observatoire.config.validation import (
    french_problems,
    params_refusal,
    read_params_yaml,
    shown,
)
from observatoire.core.errors import ObservatoireError

__all__ = [
    "INDICATORS",
    "ROLES",
    "SECTION",
    "BudgetParams",
    "Council",
    "Objective",
    "Project",
    "ProjectsError",
    "ProjectsSettings",
    "load_projects_settings",
    "projects_from_mapping",
]

SECTION = "projets"
"""The top-level key of ``params/projets.yaml``."""

INDICATORS: dict[str, str] = {
    "participants_uniques": "participants distincts de l'année (rôles comptés comme participants)",
    "seances": "séances tenues (toutes activités)",
    "presences": "présences (une par participant et séance)",
    "retention_3_mois": "part des participants d'un mois revus dans les 3 mois suivants",
    "nouveaux_participants": "participants de l'année jamais vus avant l'année",
    "conseil_presence_moyenne": "présences moyennes par séance du conseil des locataires",
    "propositions_realisees": "propositions du conseil de l'année réalisées",
    "affilies_6_mois": "part des locataires avec au moins un domaine actif à 6 mois",
    "affilies_12_mois": "part des locataires avec au moins un domaine actif à 12 mois",
    "score_affiliation_median_12_mois": "score d'affiliation médian à 12 mois (0 à 8 domaines)",
    "budget_execution": "part du budget prévu de l'année dépensée",
}
"""The closed list of indicator names an objective may use (plus ``seances:<activity code>``)."""

ROLES = ("locataire", "joueur", "volontaire", "travailleur", "autre")
"""The attendance roles (``project_attendance.role``)."""

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Label = Annotated[str, Field(min_length=1, max_length=200)]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_PATTERNS = {
    r"^[a-z][a-z0-9_]*$": "un code en minuscules sans accent (lettres, chiffres, « _ »)",
    _MONTH.pattern: "un mois « AAAA-MM » (ex. 2024-03)",
}
_DEFAULT_ROLES = {"affiliation": ("locataire",), "socio_sport": ("joueur",)}


class ProjectsError(ObservatoireError, ValueError):
    """``params/projets.yaml`` is missing, unreadable or wrong."""


class Block(BaseModel):
    """A block of the file: frozen, strict, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Council(Block):
    """The tenants' council: its activity code and the month it started (« AAAA-MM »)."""

    activite: Code
    debut: Annotated[str, Field(pattern=_MONTH.pattern)]


class Objective(Block):
    """One objective of a year: an indicator of :data:`INDICATORS` against a target.

    ``sens: au_moins`` is reached when the value is at least the target, ``au_plus`` when it is
    at most the target (a cost, a share of dropouts)."""

    code: Code
    libelle: Label
    indicateur: Annotated[str, Field(min_length=1)]
    cible: Annotated[float, Field(ge=0)]
    sens: Literal["au_moins", "au_plus"] = "au_moins"


class BudgetParams(Block):
    """The budget follow-up: a line whose projected year-end passes its planned amount by more
    than ``seuil_derive`` (a share: 0.10 = 10 %) is flagged (an overrun must be found or
    funded); one projected below its planned amount by more than ``seuil_sous_execution`` too
    when that threshold is given (money a funder may claim back; by default not flagged, since
    lines commonly close at 85–95 %). The run-rate of the projection is the mean monthly
    engagement of the last ``mois_rythme`` months."""

    seuil_derive: Annotated[float, Field(gt=0, le=1)] = 0.10
    seuil_sous_execution: Annotated[float, Field(gt=0, le=1)] | None = None
    mois_rythme: Annotated[int, Field(ge=1, le=12)] = 3


class Project(Block):
    """One project: label, type, participants' roles, council, activities, objectives, budget."""

    label: Label
    type: Literal["affiliation", "socio_sport"]
    partenaire_logement: Code | None = None
    roles_participants: list[Literal[ROLES]] | None = None  # type: ignore[valid-type]
    conseil: Council | None = None
    activites: dict[Code, Label]
    objectifs: dict[int, list[Objective]] = {}
    budget: BudgetParams = BudgetParams()

    @model_validator(mode="after")
    def _check(self) -> Project:
        if self.conseil is not None and self.conseil.activite not in self.activites:
            raise PydanticCustomError(
                "projets_value",
                f"le code « {self.conseil.activite} » n'est pas une des activités du projet "
                f"(activites : {', '.join(self.activites)}).",
                {"at": "conseil.activite"},
            )
        for year, objectives in self.objectifs.items():
            seen: set[str] = set()
            for i, objective in enumerate(objectives):
                at = f"objectifs.{year}[{i}]"
                problem = self._indicator_problem(objective.indicateur)
                if problem:
                    raise PydanticCustomError("projets_value", problem, {"at": f"{at}.indicateur"})
                if objective.code in seen:
                    raise PydanticCustomError(
                        "projets_value",
                        f"le code d'objectif « {objective.code} » est déjà utilisé en {year}.",
                        {"at": f"{at}.code"},
                    )
                seen.add(objective.code)
        return self

    def _indicator_problem(self, name: str) -> str:
        """A French sentence when ``name`` is no indicator of this project, else ``""``."""
        if name in INDICATORS:
            return ""
        if name.startswith("seances:"):
            code = name.split(":", 1)[1]
            if code in self.activites:
                return ""
            return (
                f"indicateur « {name} » : l'activité « {code} » n'est pas une des activités du "
                f"projet (activites : {', '.join(self.activites)})."
            )
        return (
            f"indicateur inconnu « {name} » : indicateurs admis : {', '.join(INDICATORS)}, "
            "ou « seances:<code d'activité> »."
        )

    @property
    def participant_roles(self) -> tuple[str, ...]:
        """The roles counted as participants (default: tenants, or players)."""
        return tuple(self.roles_participants or _DEFAULT_ROLES[self.type])

    def objectives(self, year: int) -> list[Objective]:
        """The objectives of ``year`` (none declared: an empty list)."""
        return list(self.objectifs.get(year, []))


class ProjectsSettings(Block):
    """``projets:``: the projects by id (the ``partner_id`` of their mapping files)."""

    projets: dict[Code, Project]

    def project(self, project_id: str, source: Path = PATHS.projects_params) -> Project:
        """The project ``project_id``, or a French error listing the declared ones."""
        if project_id not in self.projets:
            raise ProjectsError(
                f"Projet « {project_id} » absent de {source} (projets déclarés : "
                f"{', '.join(self.projets) or 'aucun'}).\n  À faire : ajoutez-le sous « projets: »"
                " (voir docs/projets.md)."
            )
        return self.projets[project_id]


def projects_from_mapping(data: Any, source: Path = PATHS.projects_params) -> ProjectsSettings:
    """Check the parsed file; ``source`` is the file named in error messages."""
    if not isinstance(data, dict):
        raise ProjectsError(
            f"{source} : un dictionnaire de paramètres (clé: valeur) est attendu, pas "
            f"{shown(data)}.\n  À faire : corrigez {source} (voir docs/projets.md)."
        )
    try:
        return ProjectsSettings.model_validate(data)
    except ValidationError as exc:
        problems = french_problems(
            ProjectsSettings, exc, patterns=_PATTERNS, name_key_in_values=True
        )
        what = ("Paramètre des projets", "Paramètres des projets")
        raise ProjectsError(params_refusal(problems, what, source, "docs/projets.md")) from None


def load_projects_settings(path: Path = PATHS.projects_params) -> ProjectsSettings:
    """Read and check ``params/projets.yaml``."""
    path = Path(path)
    if not path.exists():
        raise ProjectsError(
            f"Fichier des paramètres des projets introuvable : {path}.\n  À faire : lancez la "
            "commande depuis la racine du projet."
        )
    data = read_params_yaml(path, ProjectsError, "des paramètres des projets")
    if not isinstance(data, dict) or SECTION not in data:
        raise ProjectsError(
            f"Section « {SECTION}: » absente de {path}.\n  À faire : ajoutez-la (voir "
            "docs/projets.md)."
        )
    return projects_from_mapping(data, path)
