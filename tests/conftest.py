"""Shared fixtures: a fixed test key (never the analyst's), the project's params and mappings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.keys import TEST_KEY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with a fixed key: tests never create a key in the user's home."""
    monkeypatch.setenv("OBSERVATOIRE_CLE", TEST_KEY)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def partners():
    from observatoire.intake.mapping import load_partners

    return load_partners(ROOT / "params/partners", ROOT / "params/codes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of end-to-end runs (``e2e``: a whole ``dvc repro``) first, the most e2e first,
    each module's tests kept together and in their order: with ``make test`` on two processes
    (``--dist loadscope --no-loadscope-reorder``) the longest modules start at once and the
    short ones fill in around them, so both processes finish together."""
    total: dict[Path, int] = {}
    e2e: dict[Path, int] = {}
    for item in items:
        total[item.path] = total.get(item.path, 0) + 1
        if item.get_closest_marker("e2e") is not None:
            e2e[item.path] = e2e.get(item.path, 0) + 1
    items.sort(key=lambda item: -e2e.get(item.path, 0) / total[item.path])
