"""Windows only where covered, on planted truth: a stray 2007 row in a 2022–2024 network changes
neither the flows nor the years a trend uses; an export stopping in September makes 2024 a
partial year that no change or trend uses; the youth look-back needs its months covered; the
report's coverage chapter says so."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from observatoire.core.coverage import Coverage, PartnerCoverage
from observatoire.indicators.flows import flows_by_year
from observatoire.reports.annual.chapters.coverage import partial_year_sentences
from tests.support.frames import contacts_frame

P = pd.Period


def _declared(pid: str, first: str, last: str) -> PartnerCoverage:
    return PartnerCoverage(pid, "accueil_jour", "declaree", ((P(first), P(last)),))


def _network(last: str = "2024-12-31", stray: bool = False) -> pd.DataFrame:
    """Two day centres, 150 persons visiting at random from 2022 to ``last`` (the second
    partner to 2024 always), and a stray 2007 visit of a person also seen in 2024."""
    rng = np.random.default_rng(7)
    rows = []
    for pid, end in (("a", last), ("b", "2024-12-31")):
        days = pd.date_range("2022-01-01", end, freq="D")
        for day in days[::3]:
            rows.append(
                {"person_id": f"P{rng.integers(150)}", "partner_id": pid,
                 "dispositif": "accueil_jour", "date_start": day}
            )  # fmt: skip
    if stray:
        rows.append(
            {"person_id": "P1", "partner_id": "a", "dispositif": "accueil_jour",
             "date_start": pd.Timestamp("2007-03-05")}
        )  # fmt: skip
    return contacts_frame(rows)


def test_a_stray_2007_row_changes_neither_the_flows_nor_the_years_of_a_trend():
    clean, stray = _network(), _network(stray=True)
    years = [2023, 2024]
    pd.testing.assert_frame_equal(flows_by_year(clean, years), flows_by_year(stray, years))
    table = flows_by_year(stray, years).set_index("year")
    assert not table.loc[2023, "calculable"] and table.loc[2024, "calculable"]
    cov = Coverage.from_contacts(stray)
    assert cov.partners["a"].stray_rows == 1
    yearly = stray.groupby("year")["person_id"].nunique()
    assert list(cov.keep_full_years(yearly).index) == [2022, 2023, 2024]  # no 2007


def test_without_coverage_the_stray_row_would_have_made_2023_computable():
    """The planted failure: the old rule (data start = oldest row) trusted the 2007 row."""
    stray = _network(stray=True)
    data_start = stray["date_start"].min()
    assert (pd.Timestamp("2023-01-01") - data_start).days >= 730  # the old, wrong answer


def test_an_export_stopping_in_september_is_neither_compared_nor_in_a_trend():
    cov = Coverage.from_contacts(_network(last="2024-09-30"))
    assert cov.partial_years() == [
        {"partner_id": "a", "year": 2024, "months": list(range(1, 10)), "missing": [10, 11, 12]}
    ]
    assert not cov.change_computable(2024) and cov.change_computable(2023)
    assert cov.full_years() == [2022, 2023]
    yearly = pd.Series([100, 110, 80], index=[2022, 2023, 2024])
    assert list(cov.keep_full_years(yearly).index) == [2022, 2023]
    # the other partner covers 2024 in full: its own dispositif-level question is unaffected
    only_b = Coverage({"b": cov.partners["b"]})
    assert only_b.change_computable(2024)


def test_a_partner_closed_before_the_year_is_not_concerned_by_it():
    old, new = _declared("old", "2018-01", "2021-12"), _declared("new", "2020-01", "2024-12")
    cov = Coverage({"old": old, "new": new})
    assert cov.year_covered(2024) and cov.change_computable(2024)
    assert cov.lookback_covered(pd.Timestamp("2024-01-01"), days=730)
    # a partner that joins in 2023 has no look-back for 2024: not computable
    joined = Coverage({**cov.partners, "late": _declared("late", "2023-01", "2024-12")})
    assert not joined.lookback_covered(pd.Timestamp("2024-01-01"), days=730)


def test_the_youth_lookback_needs_its_months_covered_not_an_old_row():
    from observatoire.youth.cohort import build_cohort
    from tests.unit.youth.test_youth_study import study_params

    study = study_params()  # 2024: entry window 2021–2022, 12 months of look-back (2020)
    frame = _network(stray=True)
    frame["person_id"] = frame["person_id"].astype(str)
    assert build_cohort(frame, study).attrs.get("lookback_incomplete")
    covered = Coverage(
        {"a": _declared("a", "2020-01", "2024-12"), "b": _declared("b", "2020-01", "2024-12")}
    )
    assert not build_cohort(frame, study, covered).attrs.get("lookback_incomplete")


def test_the_coverage_chapter_flags_the_partial_year_and_its_rule():
    cov = Coverage.from_contacts(_network(last="2024-09-30"))
    data = SimpleNamespace(
        coverage=cov,
        year=2024,
        partners={"a": SimpleNamespace(name="Accueil A"), "b": SimpleNamespace(name="Accueil B")},
    )
    (sentence,) = partial_year_sentences(data)
    expected = "Accueil A : en 2024, les exports ne couvrent que janvier à septembre"
    assert sentence.startswith(expected)
    assert "9 mois sur 12" in sentence and "exclue des tendances" in sentence
    assert "aucune variation" in sentence and "annualisée" in sentence
