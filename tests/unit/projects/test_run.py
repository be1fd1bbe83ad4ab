"""The stage's function on tiny hand-made field tables: every contracted file is written, with
its columns, and what cannot be computed says why."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from observatoire.config.paths import Paths
from observatoire.core.storage import write_parquet
from observatoire.projects.budget import BACKTEST_COLUMNS
from observatoire.projects.objectives import OBJECTIVE_COLUMNS
from observatoire.projects.run import FILES, MODULE_ABSENT, run_projects
from tests.support.projects_fixtures import (
    PROJECT,
    budget,
    planted_records,
    settings,
    write_field_tables,
)

CONTRACT = {
    *FILES,
    "objectifs.csv",
    "budget.csv",
    "budget_mois.csv",
    "budget_controle.csv",
    "activites_calendrier.csv",
    "propositions.csv",
    "liaison.csv",
    "effet_conseil.json",
    "affiliation.json",
    "issues_logement.json",
    "results.json",
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("projet")
    paths = Paths(root=root)
    records = planted_records()
    records.budget = budget(
        [
            ("2024-01-01", "activites", "Ville", 1000, 0, 0),
            ("2024-02-10", "activites", "Ville", 0, 0, 600),
            ("2024-03-10", "activites", "Ville", 0, 300, 0),
        ]
    )
    write_field_tables(records, paths.field_clean)
    write_parquet(
        pd.DataFrame(
            {
                "record_key": ["rk"],
                "person_id": ["P1"],
                "partner_id": ["housing_first"],
                "date_start": [pd.Timestamp("2020-01-01")],
                "date_end": [pd.NaT],
                "exit_reason": [None],
            }
        ),
        paths.contacts,
    )
    objectives = [
        {"code": "conseils", "libelle": "Conseils", "indicateur": "seances:conseil", "cible": 10},
        {"code": "affilies", "libelle": "Affiliés", "indicateur": "affilies_12_mois", "cible": 0.4},
        {"code": "budget", "libelle": "Budget", "indicateur": "budget_execution", "cible": 0.9},
    ]
    run_projects(2024, settings(objectives), paths)
    return paths.projects(2024) / PROJECT


def test_every_contracted_file_is_written(written: Path):
    assert {p.name for p in written.iterdir()} == CONTRACT
    for name, columns in {**FILES, "budget_controle.csv": BACKTEST_COLUMNS}.items():
        assert list(pd.read_csv(written / name).columns) == columns, name


def test_objectives_budget_and_reasons(written: Path):
    objectives = pd.read_csv(written / "objectifs.csv").set_index("code")
    assert list(objectives.reset_index().columns) == OBJECTIVE_COLUMNS
    assert objectives.loc["conseils", "statut"] == "atteint"
    assert objectives.loc["budget", "statut"] == "en_cours"  # closed in March, 60 % spent
    assert objectives.loc["budget", "valeur"] == pytest.approx(0.6)
    results = json.loads((written / "results.json").read_text(encoding="utf-8"))
    assert results["budget"]["closing_month"] == 3
    lines = pd.read_csv(written / "budget.csv")
    act = lines[(lines["level"] == "ligne") & (lines["line"] == "activites")].iloc[0]
    assert act["projected"] == pytest.approx(900 + 900 / 3 * 9) and act["drift"]
    proposals = pd.read_csv(written / "propositions.csv").set_index("theme")
    assert proposals.loc["activite", "realisee"] == 1 and proposals["total"].sum() == 3
    for name in ("participation", "affiliation", "outcomes"):
        status = results["analyses"][name]
        assert status["statut"] == "calculé" or status["raison"] == MODULE_ABSENT
    if results["analyses"]["affiliation"]["statut"] != "calculé":
        assert "affilies" in results["objective_reasons"]
        payload = json.loads((written / "affiliation.json").read_text(encoding="utf-8"))
        assert payload == {"statut": "non calculé", "raison": MODULE_ABSENT}
    liaison = pd.read_csv(written / "liaison.csv")
    # L1–L6 (the worker W1 is not a participant): no contact matches them
    assert liaison.loc[liaison["how"] == "aucun", "participants"].item() == 6
    assert results["linkage"] == {"participants": 6, "linked": 0, "match_rate": 0.0}
