"""The indicators stage's contract on a tiny hand-made network: what is written is what is read
back, the keys are those the report reads, and a file of another shape fails loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from observatoire.core.errors import ContractError
from observatoire.core.storage import write_json
from observatoire.indicators.annual import annual_indicators
from observatoire.indicators.contract import (
    UNREAD_COLUMNS,
    AnnualIndicators,
    IndicatorsResults,
    ShelterFigures,
    compute_indicators,
    read_indicators,
    read_network_monthly,
    write_indicators,
)
from observatoire.intake.mapping import PartnerMapping
from tests.support.frames import contacts_frame
from tests.support.settings import project_settings

REPORT = project_settings(report__year=2020).report  # the year is compute_indicators' own
PARTNERS = {
    "abri": PartnerMapping(
        "abri", "Abri", "hebergement_urgence", "séjour", (), {"beds": 2, "winter_extra_beds": 1}
    ),
    "accueil": PartnerMapping("accueil", "Accueil", "accueil_jour", "passage", ()),
}
TABLES = [
    "personnes_par_mois",
    "personnes_par_mois_reseau",
    "nuitees_par_mois",
    "occupation_par_mois",
    "hivers",
    "flux_par_annee",
    "contacts_par_mois",
    "combinaisons_dispositifs",
]


def _contacts() -> pd.DataFrame:
    shelter = {"partner_id": "abri", "dispositif": "hebergement_urgence"}
    day = {"partner_id": "accueil", "dispositif": "accueil_jour"}
    stay = {**shelter, "nights": 2}
    return contacts_frame(
        [
            {**stay, "person_id": "a", "date_start": "2023-02-01", "date_end": "2023-02-03"},
            {**stay, "person_id": "a", "date_start": "2024-01-10", "date_end": "2024-01-12"},
            {**stay, "person_id": "b", "date_start": "2024-03-05", "date_end": "2024-03-07"},
            {**day, "person_id": "b", "date_start": "2023-06-01", "sex": "F"},
            {**day, "person_id": "c", "date_start": "2024-06-01", "age_at_contact": 20.0},
            {**day, "person_id": "d", "date_start": "2024-11-20", "nationality_group": "UE"},
        ]
    )


def _refusals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner_id": "abri",
            "dispositif": "hebergement_urgence",
            "date": pd.to_datetime(["2023-12-01", "2024-01-11"]),
            "refusals": [1, 3],
        }
    )


@pytest.fixture(scope="module")
def results() -> IndicatorsResults:
    return compute_indicators(_contacts(), _refusals(), PARTNERS, REPORT, 2024)


def test_write_then_read_gives_the_same_typed_figures(results, tmp_path: Path):
    written = write_indicators(results, tmp_path)
    names = ["indicateurs.json", "indicateurs_annee_precedente.json"] + [f"{t}.csv" for t in TABLES]
    assert [p.name for p in written] == names
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert read_indicators(tmp_path / "indicateurs.json") == results.figures
    previous = read_indicators(tmp_path / "indicateurs_annee_precedente.json")
    assert previous == results.previous_year
    assert (results.figures.year, previous.year) == (2024, 2023)
    assert results.figures.network.persons == 4 and previous.network.persons == 2
    monthly = read_network_monthly(tmp_path)
    assert monthly["month"].dtype.kind == "M"
    assert monthly["persons"].tolist() == results.monthly_persons_network["persons"].tolist()


def test_the_json_is_exactly_what_annual_indicators_computes(results, tmp_path: Path):
    """The contract adds a type, never a change: the bytes are those of the plain dictionary."""
    write_indicators(results, tmp_path / "contract")
    report = project_settings(report__year=2024).report
    write_json(
        tmp_path / "plain.json", annual_indicators(_contacts(), _refusals(), PARTNERS, report)
    )
    written = (tmp_path / "contract/indicateurs.json").read_bytes()
    assert written == (tmp_path / "plain.json").read_bytes()


def test_the_columns_dropped_before_the_counts_are_read_by_no_indicator():
    """compute_indicators drops UNREAD_COLUMNS for speed: the figures (and their `_prev`) are those
    computed on every column (and no count fails for want of one)."""
    full, narrow = _contacts(), _contacts().drop(columns=list(UNREAD_COLUMNS))
    assert set(UNREAD_COLUMNS) <= set(full.columns)
    report = project_settings(report__year=2024).report
    assert annual_indicators(narrow, _refusals(), PARTNERS, report) == annual_indicators(
        full, _refusals(), PARTNERS, report
    )


def test_the_json_keys_are_those_the_report_reads(results, tmp_path: Path):
    write_indicators(results, tmp_path)
    data = json.loads((tmp_path / "indicateurs.json").read_text(encoding="utf-8"))
    report_reads = {
        "year", "years", "network", "dispositifs", "partners", "shelter", "profile", "coverage",
        "yearly_persons", "yearly_persons_by_dispositif", "winters", "occupancy_monthly",
        "nationality", "age_sex_full", "unknown_shares", "flows", "durations", "durations_prev",
        "long_term", "pathways", "exits", "housing_first", "returns", "interventions",
    }  # fmt: skip
    assert report_reads <= set(data) == set(AnnualIndicators.json_keys())
    assert set(data["shelter"]) == {
        "nights", "nights_prev", "capacity", "capacity_nights", "occupancy", "occupancy_prev",
        "refusals", "refusals_prev", "refusal_nights",
    }  # fmt: skip
    assert data["shelter"]["capacity"] == {"beds": 2, "winter_extra_beds": 1}
    assert set(data["dispositifs"]["accueil_jour"]) == {
        "label", "persons", "persons_prev", "contacts", "contacts_prev",
    }  # fmt: skip
    assert data["partners"]["abri"] == {
        "name": "Abri",
        "dispositif": "hebergement_urgence",
        "persons": 2,
    }
    assert {"sex", "age_sex"} <= set(data["profile"])
    assert set(data["network"]) >= {"persons", "persons_prev", "contacts", "partners"}


@pytest.mark.parametrize(
    "path", [("network",), ("network", "persons"), ("shelter", "capacity", "beds"), ("flows_prev",)]
)
def test_a_missing_key_fails(results, tmp_path: Path, path: tuple[str, ...]):
    write_indicators(results, tmp_path)
    file = tmp_path / "indicateurs.json"
    data = json.loads(file.read_text(encoding="utf-8"))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ContractError, match=path[-1]):
        read_indicators(file)


def test_an_unexpected_key_fails(results):
    data = results.figures.to_json() | {"nouvelle_cle": 1}
    with pytest.raises(ContractError, match="nouvelle_cle"):
        AnnualIndicators.from_json(data)


def test_no_shelter_is_an_empty_object():
    partners = {"accueil": PARTNERS["accueil"]}
    got = compute_indicators(_contacts(), _refusals(), partners, REPORT, 2024)
    assert got.figures.shelter is None
    assert got.figures.to_json()["shelter"] == {}
    assert ShelterFigures.from_json({}) is None
