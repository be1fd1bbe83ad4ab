"""Bad input gets a French answer and an exit code; nothing is left half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from observatoire.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with the real params and mappings and a tiny synthetic sample."""
    shutil.copytree(ROOT / "params", tmp_path / "params")
    params = yaml.safe_load((tmp_path / "params/pipeline.yaml").read_text(encoding="utf-8"))
    params["sample"]["scale"] = 0.1
    (tmp_path / "params/pipeline.yaml").write_text(
        yaml.safe_dump(params, allow_unicode=True), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["generate-sample"]) == 0
    return tmp_path


def test_missing_required_column_stops_ingest_with_a_french_message(project, capsys):
    path = project / "data_raw/sample/urgence_sociale/urgence_sociale_2023.csv"
    text = (
        path.read_bytes()
        .decode("cp1252")
        .replace("Date naiss.;Sexe;Nationalité;Date;", "Date naiss.;Sexe;Nationalité;Jour;", 1)
    )
    path.write_bytes(text.encode("cp1252"))
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert "urgence_sociale" in err and "urgence_sociale_2023.csv" in err
    assert "« Date »" in err and "À faire" in err
    assert "Traceback" not in err
    assert not (project / "data_clean/staging").exists()


def test_missing_export_stops_ingest_and_says_where_to_put_it(project, capsys):
    shutil.rmtree(project / "data_raw/sample/housing_first")
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert "housing_first" in err and "aucun fichier" in err
    assert not (project / "data_clean/staging").exists()


def test_undecodable_file_is_rejected_with_its_line(project, capsys):
    path = project / "data_raw/sample/accueil_jour/accueil_jour_2022.csv"
    lines = path.read_bytes().split(b"\n")
    lines[4] = lines[4] + "é".encode("cp1252")
    path.write_bytes(b"\n".join(lines))
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert "UTF-8" in err and "ligne 5" in err and "accueil_jour_2022.csv" in err


def test_partners_lists_every_partner_with_its_format(project, capsys):
    assert main(["partners"]) == 0
    out = capsys.readouterr().out
    for pid in (
        "abri_nuit",
        "maison_accueil",
        "accueil_jour",
        "travail_rue",
        "urgence_sociale",
        "housing_first",
    ):
        assert pid in out
    assert "point-virgule" in out and "Excel" in out
