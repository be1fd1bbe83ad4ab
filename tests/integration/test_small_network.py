"""`dvc repro` finishes on a small, partial network and the reports say what they skipped.

The network: the synthetic sample at scale 0.03 read through the day centre's mapping alone (one
partner; no night shelter, no street work, no maison d'accueil, no Housing First, no social
emergency; fewer than 30 young newcomers, so no typology). Until issue 16 it stopped in the
``trends`` stage (« Aucune nuitée ni aucun refus pour le dispositif « hebergement_urgence » »).
Every declared output of every stage must exist; the trends stage, the youth study and both
reports must say in French what was not computed and why. The other variants (each dispositif
missing, street work alone, two years of data): ``bench/small_networks.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from observatoire.reports.proofread import pdf_text
from tests.support.small_network import Network, NetworkRun, run_network

pytestmark = pytest.mark.e2e

NETWORK = Network("accueil_jour_seul", ("accueil_jour",), scale=0.03)
YEAR = NETWORK.year


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> NetworkRun:
    # timeout: a hang guard (a loaded machine running make test's two processes is slow)
    result = run_network(NETWORK, tmp_path_factory.mktemp("petit_reseau"), timeout=3600)
    assert result.returncode == 0, (
        f"dvc repro a échoué à l'étape {result.failed_stage} :\n{result.log[-3000:]}"
    )
    return result


def _text(path: Path) -> str:
    if path.suffix == ".pdf":
        return " ".join(pdf_text(path).split())
    return path.read_text(encoding="utf-8")


def test_every_declared_output_exists(run: NetworkRun) -> None:
    assert run.missing_outputs == []


def test_the_trends_stage_says_why_it_made_no_forecast(run: NetworkRun) -> None:
    trends = json.loads((run.project / f"outputs/trends/{YEAR}/tendances.json").read_text())
    reasons = trends["non_calcule"]
    assert trends["forecast"] is None and trends["occupancy"] is None
    assert "aucun partenaire du dispositif « Hébergement d'urgence »" in reasons["prevision"]
    assert "À faire" in reasons["prevision"]
    assert trends["network"] is not None  # five years: the yearly trend is still estimated
    assert not (run.project / f"outputs/trends/{YEAR}/prevision_hiver.csv").exists()


def test_the_annual_report_says_what_it_skipped_and_that_the_network_is_partial(
    run: NetworkRun,
) -> None:
    qmd = _text(run.project / f"outputs/reports/{YEAR}/observatoire.qmd")
    assert "## Ce qui n'a pas pu être calculé" in qmd
    assert "Prévision de la demande de l'hiver à venir non calculée" in qmd
    assert "**Réseau partiel.**" in qmd and "**Le réseau est partiel**" in qmd
    for label in ("Travail de rue", "Maison d'accueil", "Housing First", "Urgence sociale"):
        assert f"- {label} : aucun partenaire de ce dispositif" in qmd, label
    assert "# Hébergement d'urgence {#" not in qmd  # no chapter for an absent dispositif
    assert "figures/prevision_hiver.png" not in qmd and "figures/nuitees_mensuelles" not in qmd
    assert "personnes rencontrées par le travail de rue, connues seulement" not in qmd
    pdf = _text(run.project / f"outputs/reports/{YEAR}/observatoire.pdf")
    assert "Ce qui n'a pas pu être calculé" in pdf.replace("\u2019", "'")


def test_the_youth_study_and_report_say_what_they_skipped(run: NetworkRun) -> None:
    res = json.loads((run.project / f"outputs/youth/{YEAR}/resultats.json").read_text())
    assert 0 < res["cohort"]["youth"] < 30
    assert res["typology"] is None
    assert set(res["non_calculable"]) == {"typologie", "travail_rue", "abri_nuit"}
    types = pd.read_parquet(run.project / "data_clean/jeunes_types.parquet")
    assert types.empty and list(types.columns) == ["person_id", "type"]
    qmd = _text(run.project / f"outputs/reports/{YEAR}/jeunes-en-errance.qmd")
    assert "Ce que l'étude n'a pas pu calculer cette année" in qmd
    assert "moins de 30 jeunes" in qmd
    assert "**Issue principale non calculée.**" in qmd
    assert "## Le travail de rue" not in qmd
