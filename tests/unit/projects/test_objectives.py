"""Objectives: each indicator recomputed on a hand-made year whose answers are known."""

from __future__ import annotations

import pandas as pd
import pytest

from observatoire.projects.budget import budget_execution
from observatoire.projects.objectives import (
    IndicatorValue,
    evaluate_objectives,
    indicator_values,
    newcomer_retention,
)
from tests.support.projects_fixtures import PROJECT, attendance, planted_records, settings

NAMES = [
    "participants_uniques",
    "seances",
    "seances:conseil",
    "presences",
    "nouveaux_participants",
    "retention_3_mois",
    "conseil_presence_moyenne",
    "propositions_realisees",
    "budget_execution",
    "affilies_12_mois",
]


@pytest.fixture(scope="module")
def values() -> dict[str, IndicatorValue]:
    records = planted_records()
    project = settings().project(PROJECT)
    budget = budget_execution(records.budget, 2024, project.budget)
    return indicator_values(records, project, 2024, NAMES, budget=budget)


def test_counts_and_their_cumulative_trend(values):
    # L1…L5 from January, L6 from October; the worker W1 is not a participant
    assert values["participants_uniques"].value == 6
    assert values["participants_uniques"].monthly == (5,) * 9 + (6,) * 3
    assert values["seances"].value == 22
    assert values["seances:conseil"].monthly == (0, 0, *range(1, 11))
    assert values["presences"].value == 5 + 4 + 28 + 15 + 30
    assert values["nouveaux_participants"].value == 6


def test_retention_of_the_newcomers_whose_window_closed(values):
    # January's five newcomers: L5 never comes back; L6 (October) has no closed window
    assert values["retention_3_mois"].value == pytest.approx(4 / 5)
    assert values["retention_3_mois"].monthly[:3] == (None, None, None)
    tenants = planted_records().attendance.query("role == 'locataire'")
    assert newcomer_retention(tenants, 2024, 4) == (0.8, 5)
    assert newcomer_retention(tenants, 2024, 12) == (0.8, 5)
    # seen before the year: not a newcomer of 2024
    earlier = tenants.assign(date=tenants["date"] - pd.DateOffset(years=1))
    both = pd.concat([earlier[earlier["participant_id"] == "L1"], tenants])
    assert newcomer_retention(both, 2024, 12) == (0.75, 4)


def test_council_attendance_and_realised_proposals(values):
    council = values["conseil_presence_moyenne"]
    assert council.value == 3.0 and council.monthly[:2] == (None, None)
    # realised in June and November; the proposal of December 2023 is not the year's
    assert values["propositions_realisees"].monthly == (0,) * 5 + (1,) * 5 + (2, 2)


def test_missing_inputs_say_why(values):
    assert values["budget_execution"].value is None
    assert "pas de budget" in values["budget_execution"].reason
    assert values["affilies_12_mois"].reason == "non calculé — analyse de l'affiliation absente"


def test_reached_not_reached_in_progress_and_not_computed(values):
    objectives = (
        settings(
            [
                {
                    "code": "a",
                    "libelle": "Locataires",
                    "indicateur": "participants_uniques",
                    "cible": 6,
                },
                {"code": "b", "libelle": "Conseils", "indicateur": "seances:conseil", "cible": 11},
                {
                    "code": "c",
                    "libelle": "Présence",
                    "indicateur": "conseil_presence_moyenne",
                    "cible": 2.5,
                    "sens": "au_plus",
                },
                {
                    "code": "d",
                    "libelle": "Affiliés",
                    "indicateur": "affilies_12_mois",
                    "cible": 0.4,
                },
            ]
        )
        .project(PROJECT)
        .objectives(2024)
    )
    table = evaluate_objectives(objectives, values).set_index("code")
    assert table.loc["a", "atteint"] and table.loc["a", "statut"] == "atteint"
    assert table.loc["b", "statut"] == "non_atteint" and not table.loc["b", "atteint"]
    assert table.loc["c", "statut"] == "non_atteint"  # 3.0 > 2.5 for an « au plus »
    assert table.loc["d", "statut"] == "non_calcule" and pd.isna(table.loc["d", "atteint"])
    assert table.loc["b", "m12"] == 10 and table.loc["a", "mois_observes"] == 12


def test_a_running_year_is_in_progress_not_failed():
    records = planted_records()
    records.attendance = records.attendance[records.attendance["date"] < "2024-07-01"]
    records.activities = records.activities[records.activities["date"] < "2024-07-01"]
    project = settings().project(PROJECT)
    values = indicator_values(records, project, 2024, ["seances:conseil"])
    assert values["seances:conseil"].monthly[6:] == (None,) * 6
    objective = (
        settings(
            [{"code": "b", "libelle": "Conseils", "indicateur": "seances:conseil", "cible": 10}]
        )
        .project(PROJECT)
        .objectives(2024)
    )
    row = evaluate_objectives(objective, values).iloc[0]
    assert row["valeur"] == 4 and row["statut"] == "en_cours" and row["mois_observes"] == 6


def test_external_affiliation_values_are_used():
    records = planted_records()
    records.attendance = attendance([])
    project = settings().project(PROJECT)
    values = indicator_values(
        records,
        project,
        2024,
        ["affilies_12_mois"],
        external={"affilies_12_mois": IndicatorValue(0.5)},
    )
    assert values["affilies_12_mois"].value == 0.5
