"""`dvc repro` finishes on a small, partial network and the reports say what they skipped.

The network: the synthetic sample at scale 0.03 (fewer than 30 young newcomers in the entry
cohort, so no typology) read through two partners only, the night shelter and the day centre (no
street work, no maison d'accueil, no Housing First, no social emergency). Every declared output
of every stage must exist, and the reports must say in French what was not computed and why.
Heavier variants (one partner alone, each dispositif missing): ``bench/small_networks.py``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.support.small_network import Network, NetworkRun, run_network

pytestmark = pytest.mark.e2e

NETWORK = Network("deux_partenaires", ("abri_nuit", "accueil_jour"), scale=0.03)
YEAR = NETWORK.year


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> NetworkRun:
    result = run_network(NETWORK, tmp_path_factory.mktemp("petit_reseau"))
    assert result.returncode == 0, (
        f"dvc repro a échoué à l'étape {result.failed_stage} :\n{result.log[-3000:]}"
    )
    return result


def _text(path: Path) -> str:
    if path.suffix == ".pdf":
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    return path.read_text(encoding="utf-8")


def test_every_declared_output_exists(run: NetworkRun) -> None:
    assert run.missing_outputs == []


def test_fewer_than_30_young_newcomers_gives_an_empty_types_table_and_a_reason(
    run: NetworkRun,
) -> None:
    res = json.loads((run.project / f"outputs/youth/{YEAR}/resultats.json").read_text())
    assert 0 < res["cohort"]["youth"] < 30
    assert res["typology"] is None
    assert "non calculée" in res["non_calculable"]["typologie"]
    assert "travail de rue" in res["non_calculable"]["travail_rue"]
    types = pd.read_parquet(run.project / "data_clean/jeunes_types.parquet")
    assert types.empty and list(types.columns) == ["person_id", "type"]


def test_the_youth_report_says_what_it_skipped(run: NetworkRun) -> None:
    qmd = _text(run.project / f"outputs/reports/{YEAR}/jeunes-en-errance.qmd")
    assert "Ce que l'étude n'a pas pu calculer cette année" in qmd
    assert "Typologie des trajectoires non calculée" in qmd
    assert "moins de 30 jeunes" in qmd
    assert "## Le travail de rue" not in qmd  # no street work: no note about its records
    pdf = " ".join(_text(run.project / f"outputs/reports/{YEAR}/jeunes-en-errance.pdf").split())
    assert "Typologie des trajectoires non calculée" in pdf


def test_the_annual_report_names_the_missing_dispositifs(run: NetworkRun) -> None:
    qmd = _text(run.project / f"outputs/reports/{YEAR}/observatoire.qmd")
    assert "Ce que ce rapport ne peut pas calculer" in qmd
    for label in ("Travail de rue", "Maison d'accueil", "Housing First", "Urgence sociale"):
        assert f"- {label} : aucun partenaire de ce dispositif" in qmd, label
    for label in ("Hébergement d'urgence", "Accueil de jour"):
        assert f"- {label} : aucun partenaire" not in qmd
