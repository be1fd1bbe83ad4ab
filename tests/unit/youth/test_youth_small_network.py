"""The youth study on a small, partial network: it writes every output, says what it skipped.

Planted: a network of two services (day centre and night shelter, no stay with an exit reason, no
street work) whose entry cohort holds 12 young people (fewer than ``youth.min_base`` = 30) and
24 adults. Known answer: no typology (and the reason why), empty tables with their columns, the
person-type table written with no row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from observatoire.youth.cohort import StudyParams
from observatoire.youth.outputs import write_results
from observatoire.youth.services import COMPARISON_COLUMNS, stay_exits
from observatoire.youth.study import TYPE_COLUMNS, TYPOLOGY, run_study
from tests.support.frames import contacts_frame
from tests.support.settings import project_settings

N_YOUTH, N_ADULTS = 12, 24


def small_network() -> pd.DataFrame:
    """Each person: a first day-centre visit in 2021 or 2022, a shelter night a month later,
    a last visit in 2024 for one in three (every year from 2020 has someone, for the flows)."""
    rows = [
        {"person_id": "ancien", "dispositif": "accueil_jour", "date_start": f"{y}-01-15"}
        for y in range(2019, 2025)
    ]
    for i in range(N_YOUTH + N_ADULTS):
        age = 19.0 + (i % 6) if i < N_YOUTH else 30.0 + i
        first = pd.Timestamp("2021-02-01") + pd.Timedelta(days=19 * i)
        pid = f"P{i:02d}"
        rows += [
            {"person_id": pid, "dispositif": "accueil_jour", "date_start": first,
             "age_at_contact": age, "sex": "F" if i % 3 else "M"},
            {"person_id": pid, "dispositif": "hebergement_urgence",
             "date_start": first + pd.Timedelta(days=30),
             "date_end": first + pd.Timedelta(days=32), "nights": 2.0, "age_at_contact": age},
        ]  # fmt: skip
        if i % 3 == 0:
            rows.append(
                {"person_id": pid, "dispositif": "accueil_jour", "date_start": "2024-03-01",
                 "age_at_contact": age + 3}
            )  # fmt: skip
    return contacts_frame(rows)


@pytest.fixture(scope="module")
def study() -> StudyParams:
    settings = project_settings(report__year=2024, report__disclosure_threshold=5)
    return StudyParams.from_settings(settings)


@pytest.fixture(scope="module")
def results(study: StudyParams):
    return run_study(small_network(), study)


def test_the_cohort_is_the_planted_one(results) -> None:
    assert (results.cohort["group"] == "jeunes").sum() == N_YOUTH
    assert (results.cohort["group"] == "adultes").sum() == N_ADULTS


def test_no_typology_below_min_base_and_the_reason_says_why_in_french(results, study) -> None:
    assert results.typology is None
    reason = results.not_computable[TYPOLOGY]
    assert "non calculée" in reason and f"moins de {study.min_base} jeunes" in reason
    assert "youth.min_base" in reason
    assert str(N_YOUTH) not in reason  # a raw count is the publication's to print
    assert list(results.types.columns[: len(TYPE_COLUMNS)]) == list(TYPE_COLUMNS)
    assert {"jaccard", "stable", "name"} <= set(results.types.columns)
    assert results.types.empty


def test_a_network_without_stays_with_exit_reasons_gives_an_empty_table_with_columns(
    results,
) -> None:
    assert results.exits.empty
    assert list(results.exits.columns) == ["dispositif", "measure", *COMPARISON_COLUMNS, "p_holm"]
    alone = stay_exits(small_network().assign(group="jeunes"))
    assert alone.empty and list(alone.columns) == ["dispositif", "measure", *COMPARISON_COLUMNS]


def test_every_output_is_written_and_readable(results, tmp_path: Path) -> None:
    types_path = tmp_path / "data_clean/jeunes_types.parquet"
    written = write_results(results, tmp_path / "youth", types_path)
    assert types_path in written and types_path.exists()
    types = pd.read_parquet(types_path)
    assert list(types.columns) == ["person_id", "type"] and types.empty
    res = json.loads((tmp_path / "youth/resultats.json").read_text(encoding="utf-8"))
    assert res["typology"] is None
    assert res["non_calculable"][TYPOLOGY] == results.not_computable[TYPOLOGY]
    for path in written:
        if path.suffix == ".csv":
            assert len(pd.read_csv(path).columns) > 0, path.name  # never a file with no header


def test_a_complete_study_writes_no_non_calculable_key(results, tmp_path: Path) -> None:
    """The key appears only when something was skipped: a full run's results stay as before."""
    results.not_computable.clear()
    try:
        write_results(results, tmp_path / "youth", tmp_path / "types.parquet")
        res = json.loads((tmp_path / "youth/resultats.json").read_text(encoding="utf-8"))
        assert "non_calculable" not in res
    finally:
        results.not_computable[TYPOLOGY] = "rétabli"


def test_logrank_without_variance_is_undefined_not_an_error() -> None:
    """Two spells ending the same day, one per group: at that time everyone at risk leaves,
    the statistic has no variance (statsmodels' solve fails on a singular matrix)."""
    from observatoire.youth.survival import logrank

    chi2, p = logrank([3, 3], [1, 1], ["jeunes", "adultes"])
    assert chi2 != chi2 and p != p  # NaN: not computable, never « no difference »
    chi2, p = logrank([2, 3, 5], [1, 1, 0], ["jeunes", "adultes", "adultes"])
    assert chi2 == pytest.approx(2.0) and 0 < p < 1


def test_a_counts_only_network_says_so_rather_than_asking_for_more_years() -> None:
    from observatoire.core.person_level import NO_PERSONS_REASON
    from observatoire.youth.outputs import cohort_unavailable_reason

    study = StudyParams.from_settings(project_settings())
    reason = cohort_unavailable_reason(small_network().iloc[0:0], study)
    assert reason is not None and NO_PERSONS_REASON in reason
    assert "Ajouter une année" not in reason
