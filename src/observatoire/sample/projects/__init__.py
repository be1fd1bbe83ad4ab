"""Projects of the synthetic sample (issue « suivi de projet »): the spreadsheets of the Housing
First teams' social-affiliation project (``affiliation_hf``) and the KoboToolbox attendance
exports of the street-football team (``sport_foot``), with their budgets, and the planted truth
(``sample_truth/projets.json``).

Every part draws from its own seeded stream (``projects/<project>/<part>``) and reads the rest
of the sample only (the Housing First tenants of the export, the names and birth dates of the
contact exports): the other files of the sample stay byte-identical.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from observatoire.sample.config import SampleParams, stream
from observatoire.sample.exports import ExportFile
from observatoire.sample.fieldwork.common import FieldFile
from observatoire.sample.network import Network
from observatoire.sample.projects.affiliation import affiliation_files
from observatoire.sample.projects.budget import BudgetLine, budget_file
from observatoire.sample.projects.sport import sport_files

__all__ = [
    "BUDGETS",
    "DRIFT",
    "PROJECTS",
    "PROJECT_PARTS",
    "PROJECT_YEARS",
    "ProjectPart",
    "ProjectSample",
    "assemble_projects",
    "project_part",
    "project_sample",
]

PROJECTS = ("affiliation_hf", "sport_foot")
PROJECT_YEARS = (2023, 2024)

BUDGETS: dict[str, list[BudgetLine]] = {
    "affiliation_hf": [
        ("personnel", "Personnel", "Région wallonne (AViQ)", 42000.0,
         ("Salaire coordinatrice (mi-temps)",)),
        ("activites", "Activités", "Fondation Roi Baudouin", 6500.0,
         ("Tickets Article 27", "Entrées piscine", "Courses atelier cuisine", "Matériel peinture")),
        ("transport", "Transport", "Ville de Meuse-Centre", 1800.0,
         ("Location minibus", "Tickets TEC", "Carburant")),
        ("location", "Location de salles", "Ville de Meuse-Centre", 2400.0,
         ("Location salle maison de quartier", "Location hall")),
        ("communication", "Communication", "Fondation Roi Baudouin", 600.0,
         ("Impression affiches", "Journal des locataires")),
    ],
    "sport_foot": [
        ("personnel", "Personnel", "Loterie Nationale", 28000.0, ("Salaire éducateur sportif",)),
        ("equipement", "Équipement", "Sponsor privé", 3200.0,
         ("Maillots", "Ballons", "Chaussures", "Chasubles", "Trousse de secours")),
        ("transport", "Transport", "Ville de Meuse-Centre (Sports)", 2500.0,
         ("Location minibus", "Train tournoi", "Carburant")),
        ("location", "Location terrain", "Ville de Meuse-Centre (Sports)", 3600.0,
         ("Location hall omnisports", "Location terrain synthétique")),
        ("activites", "Inscriptions tournois", "Fondation Roi Baudouin", 1500.0,
         ("Inscription tournoi", "Repas d'équipe")),
    ],
}  # fmt: skip
DRIFT = {"project": "sport_foot", "year": 2024, "line": "transport", "ratio": 1.25}
"""The planted drift: this line's year spending is 125 % of its plan (threshold 10 %)."""


@dataclass(frozen=True)
class ProjectSample:
    """The projects' files and their planted truth."""

    files: list[FieldFile]
    truth: dict

    def truth_json(self) -> str:
        return json.dumps(self.truth, indent=2, ensure_ascii=False, default=str) + "\n"


def _tenants(files: list[ExportFile]) -> pd.DataFrame:
    """The Housing First tenants as the export writes them (read only)."""
    frames = [
        pd.DataFrame(
            {
                "code": f.table["Code locataire"].astype(str).to_numpy(),
                "entry": f.table["Entrée en logement"].to_numpy(),
                "exit": f.table["Sortie du logement"].to_numpy(),
                "exit_reason": f.table["Motif de sortie"].astype(str).to_numpy(),
                "person": f.truth["true_person_id"].to_numpy(),
            }
        )
        for f in files
        if f.partner_id == "housing_first"
    ]
    out = pd.concat(frames, ignore_index=True)
    out["exit"] = [x if isinstance(x, dt.date) else None for x in out["exit"]]
    return out


PROJECT_PARTS = ("affiliation", "sport", "budgets")
"""The projects' pieces, in the order of the run in one process: each draws from its own
streams and reads only the exports, so they can be drawn side by side."""

ProjectPart = Any  # AffiliationOutput, (sport files, truth), (budget files, lines)


def _rngs(seed: int, project: str, parts: tuple[str, ...]) -> dict:
    return {p: stream(seed, f"projects/{project}/{p}") for p in parts}


def project_part(part: str, params: SampleParams, files: list[ExportFile]) -> ProjectPart:
    """One of :data:`PROJECT_PARTS`, drawn from its own streams."""
    seed = params.seed
    if part == "affiliation":
        return affiliation_files(
            _tenants(files), _rngs(seed, "affiliation_hf", ("teams", "sessions", "attendance",
                                                            "typing", "followups", "council"))
        )  # fmt: skip
    if part == "sport":
        return sport_files(files, _rngs(seed, "sport_foot", ("players", "sessions", "attendance")))
    return _budgets(seed)


def _budgets(seed: int) -> tuple[list[FieldFile], dict]:
    """Each project's yearly budget workbook, and its lines by project and year."""
    out: list[FieldFile] = []
    budgets: dict = {}
    for project in PROJECTS:
        rng = stream(seed, f"projects/{project}/budget")
        for year in PROJECT_YEARS:
            ratios = {code: float(rng.uniform(0.82, 0.98)) for code, *_ in BUDGETS[project]}
            if (project, year) == (DRIFT["project"], DRIFT["year"]):
                ratios[DRIFT["line"]] = DRIFT["ratio"]
            data, rows, truth = budget_file(
                project, year, BUDGETS[project], ratios, rng, "Coordination du projet"
            )
            out.append(FieldFile(f"{project}/budget_{year}.xlsx", data, f"{project}/budget_prevu",
                                 year, rows))  # fmt: skip
            budgets.setdefault(project, {})[str(year)] = truth["lines"]
    return out, budgets


def project_sample(
    params: SampleParams, network: Network, files: list[ExportFile]
) -> ProjectSample:
    """Generate the projects' part from its own streams, reading the exports only."""
    del network  # the exports carry what the teams know (codes, dates, names)
    return assemble_projects([project_part(p, params, files) for p in PROJECT_PARTS])


def assemble_projects(parts: list[ProjectPart]) -> ProjectSample:
    """The projects' part from its pieces, drawn in the order of :data:`PROJECT_PARTS`."""
    affil, (sport, sport_truth), (budget_files, budgets) = parts
    out = [FieldFile(path, data, export, year, rows)
           for path, year, export, data, rows in [*affil.files, *sport]]  # fmt: skip
    out += budget_files
    affil.truth["budget"] = budgets["affiliation_hf"]
    sport_truth["budget"] = budgets["sport_foot"]
    truth = {
        "note": "Vérité des projets synthétiques (jamais lue par le pipeline, jamais publiée) : "
        "effets plantés avec leur estimande, valeurs réalisées, pour les tests et les notebooks.",
        "years": list(PROJECT_YEARS),
        "projects": list(PROJECTS),
        "budget_drift": {
            **DRIFT,
            "threshold": 0.10,
            "estimand": "(dépensé + engagé) de l'année ÷ prévu de la ligne ; la ligne dépense au "
            "même rythme toute l'année (une projection de fin d'année la signale dès les premiers "
            "mois) ; les autres lignes : rapport tiré entre 0,82 et 0,98",
        },
        "affiliation_hf": affil.truth,
        "sport_foot": sport_truth,
        "files": {
            f.relative_path: {"export": f.export, "year": f.year, "rows": f.rows} for f in out
        },
    }
    return ProjectSample(out, truth)
