"""Trends and forecast of an outside monthly series (``observatoire tendance --serie``): a
planted trend and seasonality are found within their intervals, the forecast covers the planted
winter, and a bad file is refused in French with exit code 2."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.cli import main
from observatoire.models.external import (
    SeriesFileError,
    analyse_series,
    read_monthly_series,
    write_series_results,
)

GROWTH = 1.08  # planted annual rate ratio
AMPLITUDE = 0.4  # planted log-seasonality: exp(0.4 cos(2π (m − 1)/12)), January highest


def _planted(path: Path, months: int = 72, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    grid = pd.date_range("2019-01-01", periods=months, freq="MS")
    t = np.arange(months) / 12
    mu = 300 * GROWTH**t * np.exp(AMPLITUDE * np.cos(2 * np.pi * (grid.month - 1) / 12))
    frame = pd.DataFrame({"mois": grid.strftime("%Y-%m"), "valeur": rng.poisson(mu)})
    frame.to_csv(path, index=False, sep=";")
    return path


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    path = _planted(tmp_path_factory.mktemp("serie") / "repas.csv")
    series = read_monthly_series(path)
    return analyse_series(series, "repas", "repas", with_forecast=True, draws=1000, seed=5)


def test_the_planted_trend_and_season_are_within_their_intervals(analysis):
    m = analysis.monthly_model
    assert m.ci_low <= GROWTH <= m.ci_high
    july = m.seasonal_effects.set_index("month").loc[7]  # cos(π) = −1: July vs January
    planted = math.exp(AMPLITUDE * (math.cos(2 * np.pi * 6 / 12) - 1))
    assert july["ci_low"] <= planted <= july["ci_high"]
    assert analysis.yearly_trend.ci_low <= GROWTH <= analysis.yearly_trend.ci_high
    assert analysis.not_computed == {}


def test_the_forecast_interval_holds_the_planted_winter(analysis):
    fc = analysis.outlook.forecast
    months = fc.months["month"]
    t = np.asarray([(m.year - 2019) + (m.month - 1) / 12 for m in months])
    truth = 300 * GROWTH**t * np.exp(AMPLITUDE * np.cos(2 * np.pi * (months.dt.month - 1) / 12))
    assert fc.pi95[0] <= truth.sum() <= fc.pi95[1]
    assert fc.winter == "2025-2026"
    naive = analysis.outlook.naive
    assert set(naive) == {"dernier_hiver", "saisonnier"}  # no capacity: no capped naive


def test_results_are_written_with_a_french_summary(analysis, tmp_path: Path):
    names = {p.name for p in write_series_results(analysis, tmp_path)}
    assert {"tendance.json", "serie.csv", "stl.csv", "prevision.csv", "resume.md"} <= names
    data = json.loads((tmp_path / "tendance.json").read_text(encoding="utf-8"))
    assert data["mois"] == 72 and data["prevision"]["winter"] == "2025-2026"
    assert "Prévision de l'hiver à venir" in (tmp_path / "resume.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date;nombre\n2020-01;3\n", "colonne(s) manquante(s) « month » (ou « mois »)"),
        ("mois;valeur\n2020-01-15;3\n2020-02-15;4\n", "ne sont pas mensuelles"),
        ("mois;valeur\n" + "".join(f"2020-{m:02d};5\n" for m in range(1, 13)),
         "série trop courte, 12 mois ; il en faut au moins 24"),
        ("mois;valeur\n2020-01;5\n2020-03;5\n", "1 mois manquant(s)"),
        ("mois;valeur\n2020-01;-2\n", "négative"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_in_french(tmp_path: Path, content: str, message: str):
    path = tmp_path / "mauvais.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SeriesFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_monthly_series(path)


def test_the_cli_verb_exits_2_on_a_bad_file(tmp_path: Path, capsys):
    path = tmp_path / "mauvais.csv"
    path.write_text("date,nombre\n2020-01,3\n", encoding="utf-8")
    assert main(["tendance", "--serie", str(path)]) == 2
    assert "colonne(s) manquante(s)" in capsys.readouterr().err


def test_the_cli_verb_writes_results_where_asked(tmp_path: Path, capsys):
    path = _planted(tmp_path / "douches.csv", months=36)
    out = tmp_path / "resultats"
    argv = ["tendance", "--serie", str(path), "--libelle", "douches", "--sortie", str(out)]
    assert main(argv) == 0
    assert (out / "tendance.json").exists() and (out / "ajustement_mensuel.png").exists()
    assert "Série « douches » : 36 mois de douches" in capsys.readouterr().out
