"""The publication's small searches (plans, maps, relays) on the sample's outputs: the same
patterns and search records on one process and on two (:func:`run_groups`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from observatoire.config.settings import load_settings
from observatoire.disclosure.workers import run_groups
from observatoire.reports.publication import SEARCH_GROUPS

ROOT = Path(__file__).resolve().parents[2]
SMALL = ("plans", "cartes", "relais")


def _record(found: dict) -> dict:
    return {
        name: None if pub is None else (pub.status, pub.values, pub.search)
        for name, pub in found.items()
    }


def test_the_small_searches_are_the_same_on_one_process_and_on_two(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    settings = load_settings(ROOT / "params/pipeline.yaml")
    year = settings.report.year
    if not (ROOT / f"outputs/field/relais/{year}").is_dir():
        pytest.skip("sorties des relais absentes : dvc repro")
    tasks = {name: partial(SEARCH_GROUPS[name], settings) for name in SMALL}
    alone = _record(run_groups(tasks, workers=1))
    side_by_side = _record(run_groups(tasks, workers=2))
    assert any(found is not None for found in alone.values())
    for name in SMALL:
        if alone[name] is None:
            assert side_by_side[name] is None
            continue
        status, values, search = alone[name]
        assert side_by_side[name][0] == status and side_by_side[name][1] == values
        # the seconds aside (the bench's only), the search ran the same
        assert {**vars(side_by_side[name][2]), "greedy_seconds": 0, "optimal_seconds": 0} == {
            **vars(search),
            "greedy_seconds": 0,
            "optimal_seconds": 0,
        }
