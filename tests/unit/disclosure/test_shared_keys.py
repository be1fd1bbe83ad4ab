"""A count both reports print (the year's 18–25 year olds) has one status in both.

Each report's publication is protected on its own; on a small network the annual report used to
mask the 18–25 year olds as a secondary cell while the youth report printed them (one partner
alone: « la clé personnes|2024|age=18-25 a deux valeurs ou deux statuts », the publication
stage stopped). Masked in one report and printed in the other, the cell protects nothing: it is
a headline figure of both, never taken by secondary suppression.
"""

from __future__ import annotations

import pytest

from observatoire.config.paths import PATHS
from observatoire.config.settings import load_settings
from observatoire.disclosure.publication import (
    SHARED_WITH_YOUTH,
    build_tables,
    headline_keys,
    key,
)
from observatoire.disclosure.youth import build_youth_tables, read_youth_inputs
from observatoire.reports.annual.context import read_indicator_years


@pytest.fixture(scope="module")
def year() -> int:
    return load_settings().report.year


def test_the_shared_count_is_a_headline_of_the_annual_report(year: int) -> None:
    ind_dir = PATHS.indicators(year)
    if not (ind_dir / "indicateurs.json").exists():
        pytest.skip(f"{ind_dir} absent : lancer l'étape indicators")
    ind, _ = read_indicator_years(ind_dir)
    keys = headline_keys(build_tables(ind, 5))
    assert {key(year, q) for q in SHARED_WITH_YOUTH} <= keys


def test_the_shared_count_is_a_headline_of_the_youth_report(year: int) -> None:
    youth_dir = PATHS.youth(year)
    if not (youth_dir / "resultats.json").exists():
        pytest.skip(f"{youth_dir} absent : lancer l'étape youth")
    res, frames = read_youth_inputs(youth_dir)
    tables = build_youth_tables(year, res, frames, 5)
    assert {key(year, q) for q in SHARED_WITH_YOUTH} <= set(tables.keep)
