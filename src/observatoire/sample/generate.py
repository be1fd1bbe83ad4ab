"""Entry point of the stage ``generate_sample``: simulate the network, write every partner's
exports under ``raw_dir`` and the ground truth under ``truth_dir``.

The field records and the projects' records (most of the stage's time: openpyxl writing their
workbooks) are drawn from their own streams and read only the network and the exports, never
one another: :func:`_field_and_projects` draws their pieces on ``OBSERVATOIRE_PROCESSUS`` worker
processes (:mod:`observatoire.core.workers`) and assembles them in the order of the run in one
process, so every byte is the same whatever the number of processes.
"""

from __future__ import annotations

import functools
import multiprocessing
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.workers import WORKERS_ENV, WorkerLost, run_groups, worker_processes
from observatoire.sample.config import SampleParams
from observatoire.sample.exports import ExportFile, build_exports
from observatoire.sample.fieldwork import (
    FIELD_PARTS,
    FieldSample,
    assemble_field,
    field_part,
    name_book,
)
from observatoire.sample.network import Network, simulate_network
from observatoire.sample.plans import plan_files, truth_json
from observatoire.sample.projects import (
    PROJECT_PARTS,
    ProjectSample,
    assemble_projects,
    project_part,
)
from observatoire.sample.truth import noise_rates, persons_table, truth_rows, write_truth
from observatoire.sample.writers import staged_directory, write_export

__all__ = ["SampleSummary", "generate_sample"]


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`generate_sample` produced, for the run summary and the tests."""

    raw_dir: Path
    truth_dir: Path
    files: tuple[str, ...]  # paths relative to raw_dir (POSIX)
    truth_files: tuple[str, ...]
    rows_per_export: dict[str, dict[int, int]]  # "abri_nuit/sejours" → {year: data rows}
    total_rows: int
    distinct_persons_per_year: dict[int, int]
    noise_rates: dict[str, float]  # realised, per registration (second id: per person)
    shelter_beds: int  # beds simulated (the mapping's beds × scale)
    shelter_winter_extra_beds: int
    seconds: float = field(compare=False)

    @property
    def rows_per_partner(self) -> dict[str, dict[int, int]]:
        """Data rows per partner and year (all of a partner's exports together)."""
        out: dict[str, dict[int, int]] = {}
        for key, per_year in self.rows_per_export.items():
            partner = key.split("/")[0]
            target = out.setdefault(partner, {})
            for year, n in per_year.items():
                target[year] = target.get(year, 0) + n
        return out

    def __str__(self) -> str:
        return self.report()

    def report(self) -> str:
        """A short summary in French, for the end of the stage."""
        years = sorted(self.distinct_persons_per_year)
        total = f"{self.total_rows:,}".replace(",", "\u202f")
        lines = [
            f"Échantillon synthétique écrit dans {self.raw_dir} "
            f"({len(self.files)} fichiers, {total} lignes, {self.seconds:.1f} s).",
            f"Vérité terrain : {self.truth_dir} ({', '.join(self.truth_files)}).",
            "Personnes distinctes par an : "
            + ", ".join(f"{y} : {self.distinct_persons_per_year[y]}" for y in years)
            + ".",
        ]
        for export, per_year in self.rows_per_export.items():
            lines.append(
                f"  {export:<32}" + "  ".join(f"{y}: {per_year.get(y, 0):>6}" for y in years)
            )
        rates = ", ".join(f"{k} = {v:.1%}" for k, v in self.noise_rates.items())
        lines.append(f"Bruit réalisé : {rates}.")
        lines.append(
            f"Abri de nuit simulé avec {self.shelter_beds} lits "
            f"+ {self.shelter_winter_extra_beds} en hiver."
        )
        return "\n".join(lines)


def generate_sample(
    sample_params: Mapping[str, Any], raw_dir: Path, truth_dir: Path
) -> SampleSummary:
    """Generate the synthetic partner exports and their ground truth.

    ``sample_params`` is the ``sample:`` section of params/pipeline.yaml. Both output folders
    are replaced as a whole, through staging folders renamed into place at the end, so a crash
    leaves the previous sample (or none), never a half-written one. Same parameters give
    byte-identical files.
    """
    started = time.perf_counter()
    params = SampleParams.from_mapping(sample_params)
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)

    network = simulate_network(params)
    files = build_exports(network, params)
    truth = truth_rows(files)
    persons = persons_table(network, truth)
    rates = noise_rates(truth, params)

    with staged_directory(raw_dir) as raw_stage, staged_directory(truth_dir) as truth_stage:
        # The exports and their truth are written while the field records and the projects'
        # records are drawn (on worker processes: :func:`_pieces`).
        truth_files, field, projects = _pieces(
            params,
            network,
            files,
            lambda: _write_exports(files, raw_stage, truth_stage, truth, persons, rates),
        )
        # The seasonal plans: the weather and the plans' services, from their own streams.
        extra, planted = plan_files(params)
        for plan_file in extra:
            target = raw_stage / plan_file.relative_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(plan_file.text.encode(plan_file.encoding))
        (truth_stage / "plans.json").write_text(truth_json(planted), encoding="utf-8")
        truth_files.append("plans.json")
        # The field records (forms' exports, allowances) and the projects' records (team
        # spreadsheets, attendance form), from their own streams too, drawn above.
        for field_file in field.files:
            target = raw_stage / field_file.relative_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(field_file.data)
        (truth_stage / "terrain.json").write_text(field.terrain_json(), encoding="utf-8")
        (truth_stage / "notes_identites.csv").write_text(field.identities_csv(), encoding="utf-8")
        truth_files += ["terrain.json", "notes_identites.csv"]
        for project_file in projects.files:
            target = raw_stage / project_file.relative_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(project_file.data)
        (truth_stage / "projets.json").write_text(projects.truth_json(), encoding="utf-8")
        truth_files.append("projets.json")

    rows_per_export: dict[str, dict[int, int]] = {}
    for export in files:
        rows_per_export.setdefault(f"{export.partner_id}/{export.export}", {})[export.year] = len(
            export.table
        )
    for plan_file in extra:
        rows_per_export.setdefault(plan_file.export, {})[plan_file.year] = plan_file.rows
    for field_file in [*field.files, *projects.files]:
        rows_per_export.setdefault(field_file.export, {})[field_file.year] = field_file.rows
    years = {export.relative_path: export.year for export in files}
    truth_years = truth["source_file"].map(years)
    distinct = (
        pd.DataFrame({"year": truth_years, "person": truth["true_person_id"]})
        .groupby("year")["person"]
        .nunique()
    )
    overall = rates["registrations"]["overall"]
    return SampleSummary(
        raw_dir=raw_dir,
        truth_dir=truth_dir,
        files=tuple(
            sorted(
                [export.relative_path for export in files]
                + [f.relative_path for f in extra]
                + [f.relative_path for f in field.files]
                + [f.relative_path for f in projects.files]
            )
        ),
        truth_files=tuple(truth_files),
        rows_per_export=rows_per_export,
        total_rows=sum(len(export.table) for export in files)
        + sum(f.rows for f in extra)
        + sum(f.rows for f in field.files)
        + sum(f.rows for f in projects.files),
        distinct_persons_per_year={int(y): int(n) for y, n in distinct.items()},
        noise_rates={
            "name_variant": overall["name_variant"],
            "day_month_swap": overall["day_month_swap"],
            "missing_birth_date": overall["missing_birth_date"],
            "second_local_id": rates["second_local_id"]["overall"]["share"],
        },
        shelter_beds=network.capacity.beds,
        shelter_winter_extra_beds=network.capacity.winter_extra_beds,
        seconds=time.perf_counter() - started,
    )


_DRAWN: dict[str, Any] = {}
"""What the pieces of :func:`_pieces` read (the network, the exports: 44 MB at scale 1), set
before the worker processes are forked, which inherit it: never pickled."""

LONGEST = ("projects/affiliation", "exports", "relays", "incidents", "projects/sport", "street")
"""The longest pieces (scale 1 and 10), started first so the two processes end together."""


def _write_exports(
    files: list[ExportFile],
    raw_stage: Path,
    truth_stage: Path,
    truth: pd.DataFrame,
    persons: pd.DataFrame,
    rates: dict,
) -> list[str]:
    """Write the partners' exports and their truth; the truth's file names."""
    for export in files:
        write_export(export, raw_stage)
    return write_truth(truth_stage, truth, persons, rates)


def _piece(name: str) -> Any:
    """One piece: the exports written, or a piece of the field or projects' part."""
    params, network, files = _DRAWN["params"], _DRAWN["network"], _DRAWN["files"]
    if name == "exports":
        return _DRAWN["write"]()
    if name.startswith("projects/"):
        return project_part(name.removeprefix("projects/"), params, files)
    if "book" not in _DRAWN:  # built once in each process that draws a field piece
        _DRAWN["book"] = name_book(params, files)
    return field_part(name, params, network, files, _DRAWN["book"])


def _lost(name: str) -> WorkerLost:
    return WorkerLost(
        "Échantillon synthétique : un processus de génération s'est arrêté sans répondre "
        f"(mémoire épuisée ou processus tué ?) ; « {name} » n'est pas généré. Rien n'a été "
        f"écrit.\n  À faire : relancez l'étape ; si cela se répète, lancez-la avec {WORKERS_ENV}=1 "
        "(un seul processus) et transmettez le message obtenu."
    )


def _pieces(
    params: SampleParams,
    network: Network,
    files: list[ExportFile],
    write: Callable[[], list[str]],
) -> tuple[list[str], FieldSample, ProjectSample]:
    """``write()`` (the exports written), the field part and the projects' part, their pieces
    run side by side; in the run in one process, in the order it always had.

    The pieces read the network and the exports through the workers' copy of this process's
    memory (fork); where the system cannot fork, or with ``OBSERVATOIRE_PROCESSUS=1``, they are
    run here one after the other.
    """
    workers = worker_processes() if "fork" in multiprocessing.get_all_start_methods() else 1
    _DRAWN.update(params=params, network=network, files=files, write=write)
    try:
        names = ["exports", *FIELD_PARTS, *(f"projects/{part}" for part in PROJECT_PARTS)]
        tasks = {name: functools.partial(_piece, name) for name in names}
        done = run_groups(tasks, workers, first=LONGEST, lost=_lost)
    finally:
        _DRAWN.clear()
    field = assemble_field([done[name] for name in FIELD_PARTS])
    projects = assemble_projects([done[f"projects/{part}"] for part in PROJECT_PARTS])
    return done["exports"], field, projects
