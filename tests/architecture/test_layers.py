"""Imports only go down the pipeline: a package may import its own modules and the layers below
it, never a layer above nor a sibling of its layer. The layering is what the folders promise a
newcomer (``docs/contributing.md``); a test keeps it true."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "observatoire"

LAYERS: list[set[str]] = [
    {"core"},
    {"config"},
    {"sample", "intake"},
    {"linkage"},
    {"indicators"},
    {"models", "youth"},
    {"plans", "field", "projects"},
    {"disclosure"},
    {"guard"},
    {"reports"},
    {"cli"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str | None:
    """``observatoire.intake.mapping`` → ``intake``; the root package itself → None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "observatoire" else None


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "observatoire":
                found += [(node.lineno, f"observatoire.{a.name}") for a in node.names]
            elif node.module.startswith("observatoire."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name) for a in node.names if a.name.startswith("observatoire.")
            ]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_top_level_name_has_a_layer():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    tops -= {"__init__", "__main__"}
    assert tops == set(RANK), "add the new subpackage to LAYERS (and to docs/contributing.md)"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(SRC).as_posix())
def test_imports_only_go_down_the_layers(path: Path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    if own == "__init__":
        return
    wrong = []
    for line, module in _imports(path):
        other = _top(module)
        if other is None or other == own or other == "__version__":
            continue
        if other not in RANK or RANK[other] >= RANK[own]:
            wrong.append(f"line {line}: {module} ({other} is not below {own})")
    assert not wrong, "\n".join(wrong)


def test_no_private_name_is_imported_across_modules():
    wrong = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("observatoire"):
                wrong += [
                    f"{path.relative_to(SRC)}:{node.lineno} {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and a.name != "__version__"
                ]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_upward_import(tmp_path: Path):
    """The rule can fail: an indicators module importing the report layer is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from observatoire.reports.charts import PALETTE\n", encoding="utf-8")
    ((line, module),) = _imports(bad)
    assert RANK[_top(module)] > RANK["indicators"]
