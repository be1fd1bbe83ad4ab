"""The indicators of a network without person-level rows (counts only): every table is written
with its header, the network's monthly series keeps its date type."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from observatoire.indicators.contract import (
    compute_indicators,
    read_network_monthly,
    write_indicators,
)
from tests.unit.indicators.test_indicators_contract import (
    PARTNERS,
    REPORT,
    TABLES,
    _contacts,
    _refusals,
)


def test_no_person_level_row_writes_every_table_with_its_header(tmp_path: Path) -> None:
    results = compute_indicators(
        _contacts().iloc[0:0], _refusals().iloc[0:0], PARTNERS, REPORT, 2024
    )
    assert results.figures.years == []
    write_indicators(results, tmp_path)
    for name in TABLES:
        frame = pd.read_csv(tmp_path / f"{name}.csv")
        assert len(frame.columns), name  # the beds of a declared capacity are no persons
        if name != "occupation_par_mois":
            assert frame.empty, name
    monthly = read_network_monthly(tmp_path)
    assert monthly.empty and pd.api.types.is_datetime64_any_dtype(monthly["month"])
