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

import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.core.storage import write_csv, write_results_json
from observatoire.projects.budget import BudgetResult, budget_execution
from observatoire.projects.linkage import link_participants, linkage_summary
from observatoire.projects.objectives import IndicatorValue, evaluate_objectives, indicator_values
from observatoire.projects.records import ProjectRecords, load_project_records
from observatoire.projects.settings import Project, ProjectsSettings

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
    ],
    "participation_seances.csv": ["n_seances", "participants"],
    "retention.csv": ["month", "participants", "revus_3_mois", "share"],
    "conseil.csv": ["date", "presences"],
    "affiliation_scores.csv": ["time", "score", "locataires"],
    "domaines.csv": ["domain", "time", "locataires"],
    "issues_logement.csv": ["group", "tenants", "retained_12m", "returns"],
}
"""The tables of the analysis modules, with the columns written when a module is absent."""

ANALYSES = {
    "participation": ("observatoire.projects.participation", "participation"),
    "affiliation": ("observatoire.projects.affiliation", "affiliation"),
    "outcomes": ("observatoire.projects.outcomes", "housing_outcomes"),
}
"""Analysis functions of the package (module, function), called when present."""

_JSONS = {
    "participation": "effet_conseil.json",
    "affiliation": "affiliation.json",
    "outcomes": "issues_logement.json",
}


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
    """``activites_calendrier.csv``: per day and activity, sessions held and participants'
    presences (a session without attendance rows counts its ``participants_count`` when the
    sheet only counts heads)."""
    columns = ["date", "activity", "sessions", "presences"]
    acts = records.activities[records.activities["date"].dt.year == year]
    if acts.empty:
        return pd.DataFrame(columns=columns)
    att = records.attendance[records.attendance["role"].isin(project.participant_roles)]
    per_session = att.groupby("activity_id").size()
    acts = acts.drop_duplicates("activity_id").copy()
    heads = pd.to_numeric(acts["participants_count"], errors="coerce")
    counted = acts["activity_id"].map(per_session)
    acts["presences"] = counted.fillna(heads).fillna(0).astype(int)
    out = (
        acts.groupby([acts["date"].dt.normalize(), "activity"])
        .agg(sessions=("activity_id", "nunique"), presences=("presences", "sum"))
        .reset_index()
    )
    out["date"] = out["date"].dt.date.astype(str)
    return out[columns]


def proposal_counts(records: ProjectRecords, year: int) -> pd.DataFrame:
    """``propositions.csv``: the year's council proposals per theme × outcome (every pair of
    the closed lists, zeros included)."""
    props = records.proposals[records.proposals["date"].dt.year == year]
    counts = props.groupby(["theme", "outcome"]).size()
    rows = [
        {"theme": t, "outcome": o, "propositions": int(counts.get((t, o), 0))}
        for t in THEMES
        for o in OUTCOMES
    ]
    return pd.DataFrame(rows, columns=["theme", "outcome", "propositions"])


def _tenants_entry(
    links: pd.DataFrame, contacts: pd.DataFrame, partner: str | None
) -> pd.DataFrame:
    """Linked participants' entry in the housing partner (first ``date_start``), for the
    affiliation and outcomes analyses."""
    columns = ["participant_id", "person_id", "entry_date"]
    if partner is None or contacts.empty or links.empty:
        return pd.DataFrame(columns=columns)
    housed = contacts[contacts["partner_id"] == partner]
    entry = housed.groupby("person_id")["date_start"].min()
    linked = links[links["person_id"].notna()]
    out = linked.assign(entry_date=linked["person_id"].map(entry))
    return out.loc[out["entry_date"].notna(), columns].reset_index(drop=True)


def _analysis(name: str) -> Any:
    """The analysis function ``name`` of :data:`ANALYSES`, or None when its module is absent."""
    module, function = ANALYSES[name]
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return None


def _as_files(name: str, result: Any) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The tables and payload of an analysis result: a result exposing ``files()`` (file name →
    DataFrame or dict) is written as it says; otherwise its DataFrame fields are not guessed
    and the payload holds its other fields."""
    if hasattr(result, "files"):
        tables, payload = {}, {}
        for file, value in result.files().items():
            if isinstance(value, pd.DataFrame):
                tables[file] = value
            else:
                payload[file] = value
        return tables, payload
    values = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else {}
    scalars = {k: v for k, v in values.items() if not isinstance(v, pd.DataFrame)}
    return {}, {_JSONS[name]: scalars}


def _run_analyses(
    records: ProjectRecords,
    project: Project,
    year: int,
    links: pd.DataFrame,
    contacts: pd.DataFrame,
    results: ProjectResults,
) -> dict[str, IndicatorValue]:
    """Call the participation, affiliation and outcomes analyses when present; returns the
    affiliation indicators for the objectives."""
    entry = _tenants_entry(links, contacts, project.partenaire_logement)
    council = project.conseil
    calls = {
        "participation": lambda f: f(
            records.attendance,
            records.activities,
            year,
            council_code=council.activite if council else None,
            council_start=council.debut if council else None,
        ),
        "affiliation": lambda f: f(records.followups, entry, year),
        "outcomes": lambda f: f(
            contacts,
            links,
            links[links["project"] == records.project],
            partner=project.partenaire_logement or "housing_first",
            year=year,
        ),
    }
    external: dict[str, IndicatorValue] = {}
    for name, call in calls.items():
        status = {"statut": "calculé"}
        if name in ("affiliation", "outcomes") and project.type != "affiliation":
            status = {"statut": "non calculé", "raison": "sans objet pour ce type de projet"}
        elif (function := _analysis(name)) is None:
            status = {"statut": "non calculé", "raison": "non calculé — module absent"}
        else:
            result = call(function)
            tables, payloads = _as_files(name, result)
            results.tables.update(tables)
            results.payloads.update(payloads)
            if name == "affiliation" and hasattr(result, "indicators"):
                for key, value in result.indicators().items():
                    ok = isinstance(value, IndicatorValue)
                    external[key] = value if ok else IndicatorValue(value)
        results.summary.setdefault("analyses", {})[name] = status
        if status["statut"] != "calculé":
            results.payloads.setdefault(_JSONS[name], dict(status))
    for file, columns in FILES.items():
        results.tables.setdefault(file, pd.DataFrame(columns=columns))
    return external


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
    results.tables["liaison.csv"] = linkage_summary(links)
    external = _run_analyses(records, project, year, links, contacts, results)

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
    table = evaluate_objectives(objectives, values)
    results.tables["objectifs.csv"] = table
    if not objectives:
        results.notes.append(f"Aucun objectif déclaré pour {year} dans params/projets.yaml.")
    results.tables["activites_calendrier.csv"] = activity_calendar(records, project, year)
    results.tables["propositions.csv"] = proposal_counts(records, year)

    linked = links[links["project"] == project_id] if len(links) else links
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
        note.append(f"{path} absent : liaison des participants impossible (lancez « link »).")
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
        ["record_key", "tok_surname", "tok_first_name", "tok_birth_date"],
        notes,
    )
    if contacts.empty:
        contacts = pd.DataFrame(columns=["record_key", "person_id", "partner_id", "date_start"])
    out: dict[str, ProjectResults] = {}
    for project_id, project in settings.projets.items():
        records = load_project_records(paths.field_clean, project_id)
        results = compute_project(project_id, project, year, records, contacts, tokens)
        results.notes[:0] = notes
        folder = paths.member(paths.projects(year), project_id)
        write_project(results, folder)
        out[project_id] = results
    return out
