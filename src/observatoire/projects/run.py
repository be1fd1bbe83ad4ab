"""Everything the follow-up of one project computes for one year, written to
``outputs/projects/<Y>/<project>/`` (stage ``projects``, notebook ``notebooks/projets.py``).

The files are the contract with the report (``reports/projects``) and the publication
(``disclosure/projets.py``); their person counts are RAW (internal): only the publication
decides what a reader may see. A part that cannot be computed (no records of that kind, an
analysis module absent) still writes its files — empty tables with their columns, a JSON saying
« non calculé » and why — so the report always finds what it reads and says why a part is
missing.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.core.storage import write_csv, write_results_json
from observatoire.projects.budget import BudgetResult, budget_execution
from observatoire.projects.linkage import link_participants, linkage_summary
from observatoire.projects.objectives import (
    EXTERNAL,
    IndicatorValue,
    evaluate_objectives,
    indicator_values,
)
from observatoire.projects.records import ProjectRecords, load_project_records
from observatoire.projects.settings import ROLES, Project, ProjectsSettings

__all__ = [
    "ANALYSES",
    "FILES",
    "OUTCOMES",
    "THEMES",
    "ProjectResults",
    "activity_calendar",
    "compute_project",
    "proposal_counts",
    "run_projects",
    "write_project",
]

THEMES = ("activite", "cadre_de_vie", "reglement", "partenariat", "autre")
OUTCOMES = ("realisee", "en_cours", "refusee", "abandonnee")
RESULTS_FILE = "results.json"

FILES: dict[str, list[str]] = {
    "participation_mois.csv": [
        "month",
        "sessions",
        "presences",
        "participants",
        "nouveaux",
        "revenants",
        *(f"participants_{role}" for role in ROLES),
    ],
    "participation_seances.csv": ["n_seances", "participants"],
    "retention.csv": [
        "month",
        "participants",
        "seen_again",
        "share",
        "ci_low",
        "ci_high",
        "complete",
    ],
    "cohortes.csv": ["cohort", "participants", "m1", "m2", "m3", "m4", "m5", "m6"],
    "conseil.csv": ["date", "activity_id", "presences"],
    "affiliation_scores.csv": ["time", "score", "locataires"],
    "domaines.csv": ["domain", "time", "locataires"],
    "issues_logement.csv": [
        "group",
        "tenants",
        "n_retention",
        "retained_12m",
        "share_retained",
        "ci_low",
        "ci_high",
        "n_returns",
        "returns",
        "share_returns",
        "ret_ci_low",
        "ret_ci_high",
    ],
    "anciennete.csv": ["group", "band", "tenants"],
}
"""The tables of the analysis modules, with the columns written when one is not computed."""

ANALYSES = {
    "participation": ("observatoire.projects.participation", "participation"),
    "proposals": ("observatoire.projects.participation", "council_proposals"),
    "affiliation": ("observatoire.projects.affiliation", "affiliation"),
    "outcomes": ("observatoire.projects.outcomes", "housing_outcomes"),
}
"""Analysis functions of the package (module, function), called when present."""

JSONS = {
    "participation": "effet_conseil.json",
    "affiliation": "affiliation.json",
    "outcomes": "issues_logement.json",
}
"""The JSON file of each analysis (« non calculé » and its reason when it is not computed)."""

_TABLES_OF = {
    "participation": {
        "participation_mois.csv": "monthly",
        "participation_seances.csv": "sessions_per_participant",
        "retention.csv": "retention",
        "cohortes.csv": "cohorts",
        "conseil.csv": "council",
        "activites_calendrier.csv": "calendar",
    },
    "proposals": {"propositions.csv": "table"},
    "affiliation": {"affiliation_scores.csv": "scores", "domaines.csv": "domains"},
    "outcomes": {"issues_logement.csv": "groups", "anciennete.csv": "tenure"},
}
"""Which field of each analysis' result is which file (``per_tenant`` is never written)."""

_AFFILIATION_ONLY = ("affiliation", "outcomes")
MODULE_ABSENT = "non calculé — module absent"


@dataclass
class ProjectResults:
    """One project's year: the tables and JSON payloads to write, by file name."""

    project: str
    year: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def activity_calendar(records: ProjectRecords, project: Project, year: int) -> pd.DataFrame:
    """``activites_calendrier.csv`` when the participation analysis is absent: per day and
    activity, sessions held and participants' presences."""
    columns = ["date", "activity", "sessions", "presences"]
    acts = records.activities[records.activities["date"].dt.year == year]
    if acts.empty:
        return pd.DataFrame(columns=columns)
    att = records.attendance[records.attendance["role"].isin(project.participant_roles)]
    per_session = att.groupby("activity_id")["participant_id"].nunique()
    acts = acts.drop_duplicates("activity_id").copy()
    acts["presences"] = acts["activity_id"].map(per_session).fillna(0).astype(int)
    out = (
        acts.groupby([acts["date"].dt.normalize(), "activity"])
        .agg(sessions=("activity_id", "nunique"), presences=("presences", "sum"))
        .reset_index()
    )
    return out[columns]


def proposal_counts(records: ProjectRecords, year: int) -> pd.DataFrame:
    """``propositions.csv`` when the proposals analysis is absent: the year's council proposals
    per theme (rows) and outcome (columns), and their total."""
    props = records.proposals[records.proposals["date"].dt.year == year]
    counts = props.groupby(["theme", "outcome"]).size()
    rows = []
    for theme in THEMES:
        row = {"theme": theme, **{o: int(counts.get((theme, o), 0)) for o in OUTCOMES}}
        rows.append({**row, "total": sum(row[o] for o in OUTCOMES)})
    return pd.DataFrame(rows, columns=["theme", *OUTCOMES, "total"])


def _analysis(name: str) -> Any:
    """The analysis function ``name`` of :data:`ANALYSES`, or None when its module is absent."""
    module, function = ANALYSES[name]
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return None


def _call(
    name: str,
    function: Any,
    records: ProjectRecords,
    project: Project,
    year: int,
    links: pd.DataFrame,
    contacts: pd.DataFrame,
) -> Any:
    council = project.conseil
    roles = project.participant_roles
    if name == "participation":
        return function(
            records.attendance,
            records.activities,
            year,
            council_code=council.activite if council else None,
            council_start=council.debut if council else None,
            participant_roles=roles,
        )
    if name == "proposals":
        return function(records.proposals, year)
    if name == "affiliation":
        # entry = the tenant's first follow-up (the project's own baseline, not the HF entry);
        # times after the tenant's housing exit are censored (exit from the HF stay)
        from observatoire.projects.affiliation import housing_exits

        exits = housing_exits(
            records.followups, contacts, project.partenaire_logement or "housing_first"
        )
        return function(records.followups, None, year, exits=exits)
    # participants = tenants who attended at least one of the project's activities (their first
    # presence is the index date). The individual follow-up is NOT participation: the Housing
    # First workers follow every tenant from entry (on the sample 126 of the 127 tenants of the
    # project's years), so « followed » would leave no one to compare with and would make the
    # index date the housing entry; participating is a choice the tenant makes (the selection the
    # comparison must face: the longer housed, the likelier to join).
    attended = records.attendance[records.attendance["role"].isin(roles)]
    tenants = attended[["participant_id", "date"]]
    return function(
        contacts,
        links[links["project"] == records.project],
        tenants,
        year,
        partner=project.partenaire_logement or "housing_first",
    )


def _run_analyses(
    records: ProjectRecords,
    project: Project,
    year: int,
    links: pd.DataFrame,
    contacts: pd.DataFrame,
    results: ProjectResults,
) -> dict[str, float | None]:
    """Call the participation, proposals, affiliation and outcomes analyses when present and
    keep their tables and JSON; returns the indicators they computed (year values)."""
    indicators: dict[str, float | None] = {}
    for name in ANALYSES:
        status: dict[str, Any] = {"statut": "calculé"}
        function = _analysis(name)
        if name in _AFFILIATION_ONLY and project.type != "affiliation":
            status = {"statut": "non calculé", "raison": "sans objet pour ce type de projet"}
        elif function is None:
            status = {"statut": "non calculé", "raison": MODULE_ABSENT}
        else:
            result = _call(name, function, records, project, year, links, contacts)
            for file, attribute in _TABLES_OF[name].items():
                results.tables[file] = getattr(result, attribute)
            payload = result.effect.to_dict() if name == "participation" else result.to_dict()
            if name in JSONS:
                results.payloads[JSONS[name]] = payload
            results.summary.setdefault("details", {})[name] = result.to_dict()
            indicators.update(getattr(result, "indicators", {}) or {})
            results.notes.extend(getattr(result, "notes", []) or [])
        results.summary.setdefault("analyses", {})[name] = status
        if status["statut"] != "calculé" and name in JSONS:
            results.payloads[JSONS[name]] = dict(status)
    for file, columns in FILES.items():
        results.tables.setdefault(file, pd.DataFrame(columns=columns))
    results.tables.setdefault("activites_calendrier.csv", activity_calendar(records, project, year))
    results.tables.setdefault("propositions.csv", proposal_counts(records, year))
    return indicators


def _cross_check(
    values: dict[str, IndicatorValue], theirs: dict[str, float | None], notes: list[str]
) -> None:
    """Each indicator the analyses also computed must agree with the objectives' year value
    (two implementations of one definition); a disagreement is said, not hidden."""
    for name, value in values.items():
        other = theirs.get(name)
        if name in EXTERNAL or other is None or value.value is None:
            continue
        if not math.isclose(float(value.value), float(other), rel_tol=1e-9, abs_tol=1e-9):
            notes.append(
                f"Indicateur « {name} » : objectifs {value.value:g}, analyse {float(other):g} "
                "(définitions à réconcilier)."
            )


def compute_project(
    project_id: str,
    project: Project,
    year: int,
    records: ProjectRecords,
    contacts: pd.DataFrame,
    identity_tokens: pd.DataFrame,
) -> ProjectResults:
    """The project's year: linkage, the analyses, budget, objectives, calendar, proposals."""
    results = ProjectResults(project_id, year, notes=list(records.notes))
    links = link_participants(records.attendance, records.followups, contacts, identity_tokens)
    # the match rate is the participants' (tenants, players), not the workers' nor volunteers'
    att = records.attendance
    counted = set(att.loc[att["role"].isin(project.participant_roles), "participant_id"])
    counted |= set(records.followups["participant_id"].dropna())
    results.tables["liaison.csv"] = linkage_summary(links[links["participant_id"].isin(counted)])
    theirs = _run_analyses(records, project, year, links, contacts, results)
    external = {
        name: IndicatorValue(value, reason="" if value is not None else "non calculé")
        for name, value in theirs.items()
        if name in EXTERNAL
    }

    budget: BudgetResult = budget_execution(records.budget, year, project.budget)
    results.notes.extend(budget.notes)
    results.tables["budget.csv"] = budget.lines
    results.tables["budget_mois.csv"] = budget.months
    results.tables["budget_controle.csv"] = budget.backtest

    objectives = project.objectives(year)
    values = indicator_values(
        records,
        project,
        year,
        sorted({o.indicateur for o in objectives}),
        budget=budget,
        external=external,
    )
    _cross_check(values, theirs, results.notes)
    table = evaluate_objectives(objectives, values)
    results.tables["objectifs.csv"] = table
    if not objectives:
        results.notes.append(f"Aucun objectif déclaré pour {year} dans params/projets.yaml.")

    linked = links[links["participant_id"].isin(counted)]
    results.summary.update(
        {
            "project": project_id,
            "label": project.label,
            "type": project.type,
            "year": year,
            "participant_roles": list(project.participant_roles),
            "council": project.conseil.model_dump() if project.conseil else None,
            "sessions": int(
                records.activities.loc[
                    records.activities["date"].dt.year == year, "activity_id"
                ].nunique()
            ),
            "linkage": {
                "participants": len(linked),
                "linked": int((linked["how"] != "aucun").sum()) if len(linked) else 0,
                "match_rate": (float((linked["how"] != "aucun").mean()) if len(linked) else None),
            },
            "objectives": {
                status: int((table["statut"] == status).sum())
                for status in ("atteint", "non_atteint", "en_cours", "non_calcule")
            },
            "objective_reasons": {
                row.code: row.raison for row in table.itertuples() if row.statut == "non_calcule"
            },
            "budget": budget.summary(),
        }
    )
    return results


def write_project(results: ProjectResults, out: Path) -> list[Path]:
    """The project's files into ``out`` (tables as CSV, payloads and ``results.json``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in sorted(results.tables.items()):
        written.append(out / name)
        write_csv(frame, written[-1])
    for name, payload in sorted(results.payloads.items()):
        written.append(out / name)
        write_results_json(written[-1], payload)
    written.append(out / RESULTS_FILE)
    write_results_json(written[-1], {**results.summary, "notes": results.notes})
    return written


def _read_optional(path: Path, columns: list[str] | None, note: list[str]) -> pd.DataFrame:
    if not Path(path).exists():
        note.append(
            f"{path} absent : liaison des participants impossible (lancez « ingest » puis "
            "« link »)."
        )
        return pd.DataFrame(columns=columns or [])
    return pd.read_parquet(path, columns=columns)


def run_projects(
    year: int, settings: ProjectsSettings, paths: Any = PATHS
) -> dict[str, ProjectResults]:
    """Compute and write every project of ``settings`` for ``year`` into
    ``outputs/projects/<Y>/<project>/``; returns the results by project."""
    notes: list[str] = []
    contacts = _read_optional(paths.contacts, None, notes)
    tokens = _read_optional(
        paths.staging / "identity_tokens.parquet",
        ["record_key", "tok_surname", "tok_first_name", "tok_birth_date", "tok_birth_date_swapped"],
        notes,
    )
    if contacts.empty:
        contacts = pd.DataFrame(columns=["record_key", "person_id", "partner_id", "date_start"])
    for column in ("date_end", "exit_reason"):  # a stay's end and reason (outcomes, exits)
        if column not in contacts:
            contacts[column] = pd.NaT if column == "date_end" else None
    out: dict[str, ProjectResults] = {}
    for project_id, project in settings.projets.items():
        records = load_project_records(paths.field_clean, project_id)
        results = compute_project(project_id, project, year, records, contacts, tokens)
        results.notes[:0] = notes
        folder = paths.member(paths.projects(year), project_id)
        write_project(results, folder)
        out[project_id] = results
    return out
