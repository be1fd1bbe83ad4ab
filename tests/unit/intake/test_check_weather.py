"""`observatoire check` on weather files (KMI/IRM aws_1day readings, alert periods), broken on
purpose: a bad temperature, a minimum above the maximum, a missing day, an unknown alert. The
answer is French, names the file's lines, and exits 1; a clean file exits 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatoire.cli import main
from observatoire.config.settings import InputsSettings
from observatoire.intake.check import check_file, render_text

ROOT = Path(__file__).resolve().parents[3]
BASE = ROOT / "tests" / "fixtures" / "foreign" / "meteo_irm"
READINGS = (BASE / "data_raw" / "meteo_irm" / "aws_1day_2024-01.csv").read_text("utf-8")
HEADER, *ROWS = READINGS.splitlines()
UCCLE = ROWS[:10]  # 6447, 1–10 January 2024, all plausible


def _inputs(tmp_path: Path) -> InputsSettings:
    return InputsSettings(
        raw_dir=tmp_path / "raw", partners_dir=BASE / "params" / "partners",
        codes_dir=ROOT / "params" / "codes",
    )  # fmt: skip


def _cells(row: str, **values: str) -> str:
    """Row ``row`` with ``temp_max`` / ``temp_min`` replaced (the last two columns)."""
    head, tmax, tmin = row.rsplit(",", 2)
    return ",".join([head, values.get("tmax", tmax), values.get("tmin", tmin)])


def _check(tmp_path: Path, rows: list[str], name: str = "aws_1day_2024-01.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = check_file(path, "meteo_irm", _inputs(tmp_path))
    return report, render_text(report)


def test_a_clean_weather_file_exits_0_without_a_coverage_block(tmp_path):
    report, text = _check(tmp_path, UCCLE)
    assert report.exit_code == 0 and report.status == "ok"
    assert "toutes les lignes sont acceptées (code de sortie 0)" in text
    assert "coverage" not in text and "Couverture" not in text  # a source has no coverage
    assert "nuitées" not in text  # the contacts' footnote is not the weather's


def test_an_impossible_temperature_and_a_minimum_above_the_maximum_name_their_lines(tmp_path):
    rows = list(UCCLE)
    rows[2] = _cells(rows[2], tmax="92.0")  # file line 4: a typing error
    rows[6] = _cells(rows[6], tmax="1.0", tmin="4.0")  # file line 8: min above max
    report, text = _check(tmp_path, rows)
    assert report.exit_code == 1 and report.reasons == {"valeur_hors_plage": 2}
    assert "température impossible (hors de −40 à 50 °C" in text
    assert "colonne « temp_max » : ligne 4" in text
    assert "colonne « temp_min > temp_max » : ligne 8" in text
    assert "le minimum du jour au plus égal à son maximum" in text
    assert "(code de sortie 1)" in text
    # the two days set aside are days without a reading for the phase calendar
    assert "jours sans relevé retenu" in text and "03/01/2024" in text


def test_an_unreadable_temperature_is_a_number_problem(tmp_path):
    rows = list(UCCLE)
    rows[4] = _cells(rows[4], tmin="-7.9°C")
    report, text = _check(tmp_path, rows)
    assert report.reasons == {"nombre_illisible": 1}
    assert "colonne « temp_min » : ligne 6" in text and report.exit_code == 1


def test_a_missing_day_alone_exits_1_and_names_the_day(tmp_path):
    rows = UCCLE[:4] + UCCLE[5:]  # 5 January missing
    report, text = _check(tmp_path, rows)
    assert report.rows_quarantined == 0 and report.status == "days_missing"
    assert report.exit_code == 1
    assert "jours sans relevé retenu (station 6447" in text and "(05/01/2024)" in text
    assert "mais des jours manquent (code de sortie 1)" in text


def test_a_day_read_twice_is_said(tmp_path):
    report, text = _check(tmp_path, [*UCCLE, _cells(UCCLE[3], tmax="2.5")])  # a re-sent day
    assert "jours relevés deux fois (station 6447) : 1 (04/01/2024)" in text
    assert report.exit_code == 0


def test_an_unknown_alert_is_set_aside_with_its_line(tmp_path):
    path = tmp_path / "alertes_2024.csv"
    path.write_text(
        "Début;Fin;Alerte\n04/01/2024;07/01/2024;Avertissement froid extrême\n"
        "20/07/2024;21/07/2024;Alerte ozone\n",
        encoding="utf-8",
    )
    report = check_file(path, "meteo_irm", _inputs(tmp_path))
    text = render_text(report)
    assert report.reasons == {"code_inconnu": 1} and report.exit_code == 1
    assert "colonne « Alerte » : ligne 3" in text
    assert "jours sans relevé" not in text and "Non vérifié ici : la suite" not in text


@pytest.mark.parametrize("as_json", [False, True])
def test_the_cli_answers_with_the_exit_code(tmp_path, capsys, monkeypatch, as_json):
    rows = UCCLE[:4] + UCCLE[5:]
    path = tmp_path / "aws_1day_2024-01.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    params = tmp_path / "pipeline.yaml"
    text = (ROOT / "params" / "pipeline.yaml").read_text("utf-8")
    params.write_text(
        text.replace("partners_dir: params/partners", f"partners_dir: {BASE}/params/partners"),
        encoding="utf-8",
    )
    args = ["--params", str(params), "check", str(path), "--partner", "meteo_irm"]
    code = main(args + (["--json"] if as_json else []))
    out = capsys.readouterr().out
    assert code == 1
    if as_json:
        data = json.loads(out)
        assert data["exit_code"] == 1 and data["table"] == "weather"
        assert data["coverage_proposed"] is None and data["weather"]
    else:
        assert "Météo : jours sans relevé retenu" in out


def test_the_partners_listing_shows_the_weather_as_a_source_not_a_partner(capsys):
    assert main(["partners"]) == 0
    out = capsys.readouterr().out
    partners, sources = out.split("\nSources (1) :")
    assert partners.startswith("Partenaires (9) :") and "meteo_irm" not in partners
    assert "abri_grand_froid — " in partners
    assert "saisonnier : ouvert du 15 novembre au 31 mars" in partners
    assert "la météo, pas des partenaires" in sources
    assert "meteo_irm — IRM — observations journalières (Uccle) (météo ;" in sources
    assert "champs : timestamp → date, code → station, temp_min → tmin, temp_max → tmax" in sources
    assert "dates aaaa-mm-jjThh:mi:ssZ" in sources
