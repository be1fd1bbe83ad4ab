"""Declared coverage on planted truth: the mapping key, the proposal rule, stray rows set aside at
ingest (declared or not), partial years, and what `check` proposes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from observatoire.core.coverage import Coverage, propose_periods
from observatoire.core.errors import MappingError
from observatoire.intake.check import check_file, render_text
from observatoire.intake.ingest import ingest_network
from observatoire.intake.mapping import load_mapping
from observatoire.intake.pseudonymise import Pseudonymiser

ROOT = Path(__file__).resolve().parents[3]
CODES = ROOT / "params/codes"
HEADER = "id_usager,nom,prenom,date_naissance,sexe,nationalite,date_passage,prestations"


def _mapping(tmp_path: Path, coverage=None) -> Path:
    spec = yaml.safe_load((ROOT / "params/partners/accueil_jour.yaml").read_text("utf-8"))
    spec.pop("coverage", None)
    spec["exports"][0]["files"] = "accueil/accueil_jour_*.csv"
    spec["exports"][0].pop("period_from_filename")  # one file spanning several years
    if coverage is not None:
        spec["coverage"] = coverage
    path = tmp_path / "accueil_jour.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def _export(tmp_path: Path, first: str, last: str, stray: list[str] = (), seed: int = 1) -> Path:
    """A day-centre export: one visit a day by one of 300 persons from ``first`` to ``last``,
    plus ``stray`` visits (rows 2.. of the file) dated elsewhere."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(first, last, freq="D")
    lines = [HEADER]
    for i, day in enumerate([*map(pd.Timestamp, stray), *days]):
        p = int(rng.integers(300)) if i >= len(stray) else 1000 + i
        lines.append(f"AJ-{p},Nom{p},Prenom{p},1980-01-0{1 + p % 9},H,BE,{day:%Y-%m-%d},repas")
    raw = tmp_path / "raw" / "accueil"
    raw.mkdir(parents=True, exist_ok=True)
    path = raw / "accueil_jour_export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ingest(tmp_path: Path, coverage=None):
    mapping = load_mapping(_mapping(tmp_path, coverage), CODES)
    return ingest_network(
        tmp_path / "raw", {"accueil_jour": mapping}, Pseudonymiser(b"k" * 32), lambda *_: None
    )


# --- the mapping key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coverage", "words"),
    [
        ({"first": "2022-13", "last": "2024-12"}, ["coverage[0].first", "aaaa-mm"]),
        ({"first": "2024-01", "last": "2022-12"}, ["coverage[0].last", "précède"]),
        ({"first": "2022-01", "to": "2024-12"}, ["coverage[0].to", "first, last"]),
        ({"first": "2022-01-01", "last": "2024-12"}, ["est une date", "2022-01"]),
        (
            [{"first": "2022-01", "last": "2023-06"}, {"first": "2023-01", "last": "2024-12"}],
            ["chevauchent"],
        ),
        ("2022", ["coverage", "liste de périodes"]),
    ],
)
def test_a_wrong_coverage_is_refused_in_french_naming_file_and_key(tmp_path, coverage, words):
    path = _mapping(tmp_path, coverage)
    if coverage == {"first": "2022-01-01", "last": "2024-12"}:  # as YAML writes a date
        path.write_text(
            path.read_text("utf-8").replace("first: '2022-01-01'", "first: 2022-01-01"), "utf-8"
        )
    with pytest.raises(MappingError) as exc:
        load_mapping(path, CODES)
    message = str(exc.value)
    assert "accueil_jour.yaml" in message
    for word in words:
        assert word in message


def test_one_period_or_a_list_after_a_gap_is_read(tmp_path):
    one = load_mapping(_mapping(tmp_path, {"first": "2022-01", "last": "2024-09"}), CODES)
    assert one.coverage == (("2022-01", "2024-09"),)
    text = "coverage:\n  - {first: 2019-01, last: 2020-06}\n  - {first: 2021-01, last: 2024-12}\n"
    path = _mapping(tmp_path)
    path.write_text(path.read_text("utf-8") + text, "utf-8")
    assert load_mapping(path, CODES).coverage == (("2019-01", "2020-06"), ("2021-01", "2024-12"))


# --- the proposal rule -----------------------------------------------------------------------


def test_the_proposal_leaves_a_stray_old_row_out_and_keeps_quiet_months_in():
    days = pd.Series(pd.date_range("2022-01-01", "2024-12-31", freq="D"))
    quiet = days[(days.dt.month != 8) | (days.dt.year != 2023)]  # a summer without a row
    prop = propose_periods(pd.concat([pd.Series([pd.Timestamp("2007-03-05")]), quiet]))
    assert [(str(a), str(b)) for a, b in prop.periods] == [("2022-01", "2024-12")]
    assert prop.stray_rows == 1 and [str(m) for m in prop.stray_months] == ["2007-03"]


def test_the_proposal_keeps_two_large_runs_as_two_periods_and_ends_where_the_data_end():
    a = pd.Series(pd.date_range("2019-01-01", "2020-06-30", freq="D"))
    b = pd.Series(pd.date_range("2021-06-01", "2024-09-30", freq="D"))
    prop = propose_periods(pd.concat([a, b]))
    assert [(str(x), str(y)) for x, y in prop.periods] == [
        ("2019-01", "2020-06"),
        ("2021-06", "2024-09"),
    ]
    assert prop.stray_rows == 0


# --- ingest ------------------------------------------------------------------------------------


def test_a_stray_2007_row_is_set_aside_with_its_line_when_coverage_is_declared(tmp_path):
    _export(tmp_path, "2022-01-01", "2024-12-31", stray=["2007-03-05"])
    res = _ingest(tmp_path, {"first": "2022-01", "last": "2024-12"})
    assert res.files[0].reasons == {"hors_couverture_declaree": 1}
    assert [p.line for p in res.files[0].problems] == [2]
    assert res.contacts["date_start"].min() == pd.Timestamp("2022-01-01")
    assert res.warnings == []
    assert res.coverage.partners["accueil_jour"].status == "declaree"


def test_undeclared_the_stray_row_is_set_aside_as_isolated_and_the_analyst_warned(tmp_path):
    _export(tmp_path, "2022-01-01", "2024-12-31", stray=["2007-03-05"])
    res = _ingest(tmp_path)
    assert res.files[0].reasons == {"ligne_isolee": 1}
    assert res.files[0].rows_accepted == res.files[0].rows_read - 1
    (warning,) = res.warnings
    assert "couverture non déclarée" in warning and "accueil_jour" in warning
    assert "janvier 2022 à décembre 2024" in warning and "2007" in warning
    assert "coverage: {first: 2022-01, last: 2024-12}" in warning
    cov = res.coverage.partners["accueil_jour"]
    assert cov.status == "proposee" and cov.stray_rows == 1


def test_without_the_stray_row_ingest_gives_the_same_clean_rows(tmp_path):
    _export(tmp_path / "a", "2022-01-01", "2024-12-31", stray=["2007-03-05"])
    _export(tmp_path / "b", "2022-01-01", "2024-12-31")
    with_stray, without = _ingest(tmp_path / "a"), _ingest(tmp_path / "b")
    cols = ["date_start", "year", "age_at_contact"]
    assert len(with_stray.contacts) == len(without.contacts)
    pd.testing.assert_frame_equal(
        with_stray.contacts[cols].reset_index(drop=True), without.contacts[cols]
    )
    assert with_stray.coverage.to_json()["partners"]["accueil_jour"]["periods"] == [
        ["2022-01", "2024-12"]
    ]


def test_a_declared_coverage_with_years_without_any_row_is_trimmed_and_warned(tmp_path):
    _export(tmp_path, "2023-01-01", "2024-12-31")
    res = _ingest(tmp_path, {"first": "2020-01", "last": "2024-12"})
    ((a, b),) = res.coverage.partners["accueil_jour"].periods
    assert (str(a), str(b)) == ("2023-01", "2024-12")
    assert "sans aucune ligne" in res.warnings[0]


def test_an_export_stopping_in_september_is_a_partial_year(tmp_path):
    _export(tmp_path, "2022-01-01", "2024-09-30")
    cov = _ingest(tmp_path).coverage
    assert cov.partial_years() == [
        {"partner_id": "accueil_jour", "year": 2024, "months": list(range(1, 10)),
         "missing": [10, 11, 12]}
    ]  # fmt: skip
    assert not cov.year_covered(2024) and cov.year_covered(2023)
    assert not cov.change_computable(2024) and cov.change_computable(2023)
    assert Coverage.from_json(cov.to_json()).partial_years() == cov.partial_years()


# --- check ---------------------------------------------------------------------------------------


def test_check_proposes_the_block_to_paste_and_names_the_stray_row(tmp_path):
    from observatoire.config.settings import InputsSettings

    _mapping(tmp_path)
    path = _export(tmp_path, "2022-01-01", "2024-09-30", stray=["2007-03-05"])
    inputs = InputsSettings(raw_dir=tmp_path / "raw", partners_dir=tmp_path, codes_dir=CODES)
    report = check_file(path, "accueil_jour", inputs)
    text = render_text(report)
    assert report.coverage_proposed["stray_rows"] == 1
    assert "Couverture proposée d'après ce fichier : janvier 2022 à septembre 2024." in text
    assert "1 ligne isolée(s) (2007)" in text
    assert "coverage: {first: 2022-01, last: 2024-09}" in text
    assert "AJ-" not in text and "Nom" not in text.replace("Nombre", "")
