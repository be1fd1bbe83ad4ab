"""A seasonal partner (closed by design outside a plan's window) on planted truth: the mapping
key ``coverage[].season``, its months off season covered rather than missing or partial, a
missing season still seen, and what `check` and the report's coverage chapter say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from observatoire.core.coverage import Coverage, season_months, season_text
from observatoire.core.errors import MappingError
from observatoire.intake.ingest import ingest_network
from observatoire.intake.mapping import load_mapping
from observatoire.intake.pseudonymise import Pseudonymiser

ROOT = Path(__file__).resolve().parents[3]
CODES = ROOT / "params/codes"
HEADER = "id_usager,nom,prenom,date_naissance,sexe,nationalite,date_passage,prestations"
WINTER = {"start": "11-15", "end": "03-31"}


def _mapping(tmp_path: Path, coverage) -> Path:
    spec = yaml.safe_load((ROOT / "params/partners/accueil_jour.yaml").read_text("utf-8"))
    spec["coverage"] = coverage
    spec["exports"][0]["files"] = "accueil/accueil_jour_*.csv"
    spec["exports"][0].pop("period_from_filename")  # one file spanning several years
    path = tmp_path / "accueil_jour.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def _winter_export(tmp_path: Path, first: str, last: str) -> None:
    """One visit a day from ``first`` to ``last``, on the days of the winter window only."""
    rng = np.random.default_rng(3)
    days = pd.Series(pd.date_range(first, last, freq="D"))
    md = days.dt.strftime("%m-%d")
    days = days[(md >= "11-15") | (md <= "03-31")]
    lines = [HEADER]
    for day in days:
        p = int(rng.integers(200))
        lines.append(f"AJ-{p},Nom{p},Prenom{p},1980-01-0{1 + p % 9},H,BE,{day:%Y-%m-%d},repas")
    raw = tmp_path / "raw" / "accueil"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "accueil_jour_export.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _ingest(tmp_path: Path, coverage):
    mapping = load_mapping(_mapping(tmp_path, coverage), CODES)
    return ingest_network(
        tmp_path / "raw", {"accueil_jour": mapping}, Pseudonymiser(b"k" * 32), lambda *_: None
    )


def test_season_months_and_text():
    assert season_months([("11-15", "03-31")]) == {11, 12, 1, 2, 3}
    assert season_months([("06-01", "08-31")]) == {6, 7, 8}
    assert season_months([("11-15", "03-31"), ("06-01", "08-31")]) == {11, 12, 1, 2, 3, 6, 7, 8}
    assert season_months([]) == set(range(1, 13))
    assert season_text([("11-15", "03-31")]) == "du 15 novembre au 31 mars"
    assert season_text([("06-01", "08-31")]) == "du 1er juin au 31 août"


@pytest.mark.parametrize(
    ("season", "words"),
    [
        ({"start": "11-31", "end": "03-31"}, ["coverage[0].season[0].start", "MM-JJ"]),
        ({"start": "13-01", "end": "03-31"}, ["coverage[0].season[0].start", "MM-JJ"]),
        ({"start": "11-15"}, ["coverage[0].season[0].end"]),
        ({"start": "11-15", "end": "03-31", "to": "x"}, ["coverage[0].season[0].to"]),
        ("hiver", ["coverage[0].season", "MM-JJ"]),
    ],
)
def test_a_wrong_season_is_refused_in_french_naming_file_and_key(tmp_path, season, words):
    path = _mapping(tmp_path, {"first": "2021-01", "last": "2024-12", "season": season})
    with pytest.raises(MappingError) as exc:
        load_mapping(path, CODES)
    message = str(exc.value)
    assert "accueil_jour.yaml" in message
    for word in words:
        assert word in message


def test_one_season_or_a_list_gives_the_months_off_season(tmp_path):
    one = load_mapping(
        _mapping(tmp_path, {"first": "2024-01", "last": "2024-12", "season": WINTER}), CODES
    )
    assert one.season == (("11-15", "03-31"),)
    assert one.off_season == tuple(f"2024-{m:02d}" for m in range(4, 11))
    both = {"first": "2024-01", "last": "2024-12", "season": [WINTER, {"start": "06-01",
            "end": "08-31"}]}  # fmt: skip
    two = load_mapping(_mapping(tmp_path, both), CODES)
    assert two.off_season == ("2024-04", "2024-05", "2024-09", "2024-10")
    plain = load_mapping(_mapping(tmp_path, {"first": "2024-01", "last": "2024-12"}), CODES)
    assert plain.season == () and plain.off_season == ()


def test_a_winter_partner_covers_whole_years_and_its_summers_are_off_season(tmp_path):
    _winter_export(tmp_path, "2021-01-01", "2024-12-31")
    res = _ingest(tmp_path, {"first": "2021-01", "last": "2024-12", "season": WINTER})
    cov = res.coverage
    p = cov.partners["accueil_jour"]
    assert cov.partial_years() == [] and cov.absent_years() == []
    assert all(cov.year_covered(y) for y in range(2021, 2025))
    assert cov.change_computable(2024)
    assert cov.lookback_covered("2024-01-01", days=730)
    assert p.off_season_in_year(2023) == list(range(4, 11))
    assert res.warnings == []
    assert res.files[0].reasons == {}
    again = Coverage.from_json(cov.to_json())
    assert again.partners["accueil_jour"] == p
    assert cov.to_json()["partners"]["accueil_jour"]["season"] == [["11-15", "03-31"]]


def test_declared_as_its_winters_only_the_same_partner_had_partial_years(tmp_path):
    """The baseline the season key replaces: winters declared as periods give partial years."""
    _winter_export(tmp_path, "2021-01-01", "2024-12-31")
    periods = [{"first": "2021-01", "last": "2021-03"}] + [
        {"first": f"{y}-11", "last": f"{y + 1}-03"} for y in (2021, 2022, 2023)
    ] + [{"first": "2024-11", "last": "2024-12"}]  # fmt: skip
    cov = _ingest(tmp_path, periods).coverage
    assert [r["year"] for r in cov.partial_years()] == [2021, 2022, 2023, 2024]
    assert not cov.change_computable(2024)


def test_a_missing_last_winter_is_still_absent_not_off_season(tmp_path):
    """Rows stop in March 2023 though the coverage runs to 2024: the in-season months without a
    row (7 > 6) are trimmed and absent; the summers between do not hide them."""
    _winter_export(tmp_path, "2021-01-01", "2023-03-31")
    res = _ingest(tmp_path, {"first": "2021-01", "last": "2024-12", "season": WINTER})
    cov = res.coverage
    assert "sans aucune ligne" in res.warnings[0]
    assert [(r["year"], r["months"]) for r in cov.partial_years()] == [(2023, [1, 2, 3])]
    assert [r["year"] for r in cov.absent_years()] == [2024]
    assert not cov.change_computable(2024)
    assert cov.partners["accueil_jour"].off_season_in_year(2023) == list(range(4, 11))


def test_a_season_short_of_rows_at_its_edge_stays_covered(tmp_path):
    """Rows start in November 2021 under a coverage from January 2021: the 3 leading in-season
    months are quiet (≤ 6), the summer is off season: 2021 is complete."""
    _winter_export(tmp_path, "2021-11-15", "2024-12-31")
    cov = _ingest(tmp_path, {"first": "2021-01", "last": "2024-12", "season": WINTER}).coverage
    assert cov.partial_years() == []


def test_the_coverage_chapter_says_off_season_not_partial(tmp_path):
    from types import SimpleNamespace

    from observatoire.reports.annual.chapters.coverage import (
        coverage_rows,
        partial_year_sentences,
        seasonal_partners,
    )

    _winter_export(tmp_path / "a", "2021-01-01", "2024-12-31")
    _winter_export(tmp_path / "b", "2021-01-01", "2023-03-31")
    for name, expect_partial in (("a", False), ("b", True)):
        cov = _ingest(
            tmp_path / name, {"first": "2021-01", "last": "2024-12", "season": WINTER}
        ).coverage
        data = SimpleNamespace(
            coverage=cov, year=2024 if name == "a" else 2023,
            partners={"accueil_jour": SimpleNamespace(name="Abri d'hiver")},
        )  # fmt: skip
        (row,) = coverage_rows(data)
        assert row["periods"].endswith(", saison du 15 novembre au 31 mars")
        assert seasonal_partners(data) == ["Abri d'hiver"]
        sentences = partial_year_sentences(data)
        if not expect_partial:
            assert sentences == []
            assert row["year_months"] == (
                "saison : janvier à mars, novembre et décembre ; hors saison : avril à octobre"
            )
        else:
            assert row["year_months"] == (
                "saison : janvier à mars ; hors saison : avril à octobre ; "
                "non couverts : novembre et décembre"
            )
            assert sentences[0].startswith(
                "Abri d'hiver : en 2023, les exports ne couvrent que janvier à mars de sa saison "
                "(janvier à mars, novembre et décembre)."
            )
