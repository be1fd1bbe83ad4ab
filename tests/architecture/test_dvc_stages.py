"""Every module a DVC stage runs is a declared dependency of it, so that `dvc repro` reruns the
stage when that code changes (a missing dependency leaves stale outputs that look current)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

ENTRIES = {
    "generate_sample": ["observatoire.sample.stage"],
    "key_fingerprint": ["observatoire.intake.key_fingerprint"],
    "ingest": ["observatoire.intake.stages"],
    "identity_index": ["observatoire.guard.index"],
    "validate": ["observatoire.intake.stages"],
    "link": ["observatoire.linkage.stage"],
    "linkage_imputations": ["observatoire.indicators.linkage_imputations"],
    "quality": ["observatoire.reports.quality"],
    "indicators": ["notebooks/indicateurs.py"],
    "trends": ["notebooks/tendances.py"],
    "report": ["observatoire.reports.annual.report"],
    "youth": ["notebooks/jeunes.py"],
    "plans": ["notebooks/plans.py"],
    "barometer": ["notebooks/barometre.py"],
    "publication": ["observatoire.reports.publication"],
    "youth_report": ["observatoire.reports.youth.report"],
    "leak_guard": ["observatoire.guard.leaks"],
    "plans_report": ["observatoire.reports.plans.report"],
    "relays": ["notebooks/relais.py"],
    "relays_report": ["observatoire.reports.relays.report"],
    "barometer_suppression": ["observatoire.disclosure.apart"],
    "barometer_report": ["observatoire.reports.barometre.report"],
    "projects_report": ["observatoire.reports.projects.report"],
    "maps": ["observatoire.reports.maps.stage"],
    "street_diagnosis": ["notebooks/diagnostic.py"],
    "street_diagnosis_report": ["observatoire.reports.diagnostic.report"],
    "projects": ["notebooks/projets.py"],
}
"""The code each stage's command runs (the CLI dispatches to these modules or notebooks)."""


def _module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def _imported_files(path: Path, lazy: bool = True) -> set[Path]:
    """Package modules imported in ``path``: anywhere (lazy imports inside functions run too),
    or at module level only."""
    found: set[Path] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree) if lazy else tree.body:
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("observatoire"):
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("observatoire")]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
                file = _module_file(".".join(parts[:i]))
                if file is not None:
                    found.add(file)
    return found


def _closure(entries: list[str]) -> set[Path]:
    todo = [ROOT / e if e.endswith(".py") else _module_file(e) for e in entries]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path is None or path in seen:
            continue
        seen.add(path)
        todo.extend(_imported_files(path) - seen)
    return seen


def _deps(stage: dict) -> list[str]:
    return [d if isinstance(d, str) else next(iter(d)) for d in stage.get("deps", [])]


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def test_every_stage_has_its_entry_points_listed():
    assert set(ENTRIES) == set(STAGES)


@pytest.mark.parametrize("stage", sorted(ENTRIES))
def test_each_module_a_stage_runs_is_one_of_its_deps(stage: str):
    deps = _deps(STAGES[stage])
    missing = []
    for file in sorted(_closure(ENTRIES[stage])):
        rel = file.relative_to(ROOT).as_posix()
        if file.name == "__init__.py" and not _imported_files(file):
            continue  # a package docstring changes nothing
        if not any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in deps):
            missing.append(rel)
    assert not missing, f"stage {stage}: add to its deps in dvc.yaml: {missing}"


def test_the_closure_follows_lazy_imports_and_transitive_ones():
    files = {
        p.relative_to(SRC).as_posix() for p in _closure(["observatoire.reports.annual.report"])
    }
    # report → publication → suppression; durations → presence (through annual)
    assert {
        "observatoire/disclosure/publication.py",
        "observatoire/disclosure/suppression.py",
    } <= files
    assert "observatoire/core/presence.py" in files
    early = {p.relative_to(SRC).as_posix() for p in _closure(ENTRIES["ingest"])}
    assert not any(f.startswith("observatoire/linkage/") for f in early)
    sample = {p.relative_to(SRC).as_posix() for p in _closure(ENTRIES["generate_sample"])}
    assert not any(f.startswith("observatoire/intake/") for f in sample)


def test_a_stage_depends_on_packages_not_on_a_list_of_modules():
    """Deps are folders (a subpackage) so that a new module needs no dvc.yaml edit; a single
    file is named only where a stage uses one module of a package above it (the chart style)."""
    for name, stage in STAGES.items():
        files = [d for d in _deps(stage) if d.startswith("src/observatoire/") and d.endswith(".py")]
        allowed = (
            {"src/observatoire/__init__.py"}
            | {f"src/observatoire/reports/{m}" for m in ("__init__.py", "charts.py")}
            | {f"src/observatoire/reports/youth/{m}" for m in ("__init__.py", "charts.py")}
        )
        assert set(files) <= allowed, f"stage {name}: depend on the subpackage, not {files}"
