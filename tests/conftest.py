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
