"""The ``linkage:`` section of params/pipeline.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from observatoire.core.errors import ObservatoireError
from observatoire.linkage.settings import LinkageSettings

ROOT = Path(__file__).resolve().parents[3]


def test_project_params_are_valid() -> None:
    params = yaml.safe_load((ROOT / "params/pipeline.yaml").read_text(encoding="utf-8"))
    settings = LinkageSettings.from_params(params["linkage"])
    assert 0 < settings.threshold < 1
    assert settings.threshold in settings.sensitivity_thresholds
    assert settings.overrides == Path("params/linkage_overrides.yaml")
    assert settings.street_birth_year_gap == params["linkage"]["street_work"]["birth_year_gap"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"treshold": 0.5}, "treshold"),
        ({"street_work": {"gap": 1}}, "street_work.gap"),
        ({"threshold": 1.0}, "entre 0 et 1"),
        ({"deterministic_rule_recall": 0}, "deterministic_rule_recall"),
    ],
)
def test_typos_and_impossible_values_are_refused(section: dict, message: str) -> None:
    with pytest.raises(ObservatoireError, match=message):
        LinkageSettings.from_params(section)
