"""Every module a DVC stage runs is a declared dependency of it, so that `dvc repro` reruns the
stage when that code changes (a missing dependency leaves stale outputs that look current)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

ENTRIES = {
    "generate_sample": ["observatoire.sample", "pipeline"],
    "ingest": ["observatoire.ingest", "pipeline"],
    "validate": ["observatoire.validate", "pipeline"],
    "link": ["observatoire.link", "pipeline"],
    "quality": ["observatoire.quality"],
    "indicators": ["notebooks/indicateurs.py"],
    "trends": ["notebooks/tendances.py"],
    "report": ["observatoire.report"],
    "youth": ["notebooks/jeunes.py"],
    "youth_report": ["observatoire.youth.report"],
    "leak_guard": ["observatoire.guard"],
}
"""The code each stage's command runs (the CLI dispatches to these modules or notebooks).
``pipeline`` stands for ``observatoire/pipeline.py`` with its module-level imports only: it
holds one small function per early stage, each importing its own module lazily."""

PIPELINE = SRC / "observatoire/pipeline.py"


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
    todo = [ROOT / e if e.endswith(".py") else _module_file(e) for e in entries if e != "pipeline"]
    seen: set[Path] = set()
    if "pipeline" in entries:
        seen.add(PIPELINE)
        todo.extend(_imported_files(PIPELINE, lazy=False))
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
    files = {p.relative_to(SRC).as_posix() for p in _closure(["observatoire.report"])}
    # report → publication → suppression; durations → activity (through annual)
    assert {"observatoire/publication.py", "observatoire/suppression.py"} <= files
    assert "observatoire/activity.py" in files
    early = {p.relative_to(SRC).as_posix() for p in _closure(["observatoire.ingest", "pipeline"])}
    assert "observatoire/link.py" not in early  # imported lazily by another stage's function
