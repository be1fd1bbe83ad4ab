"""Ingest on small hand-made exports: accounting, quarantine reasons, rejections, pseudonyms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml

from observatoire.core.errors import ExportRejected
from observatoire.intake.ingest import ingest_network, read_partner_file
from observatoire.intake.mapping import load_mapping
from observatoire.intake.pseudonymise import Pseudonymiser

ROOT = Path(__file__).resolve().parents[3]
HEADER = (
    "N° dossier;Nom;Prénom;Date de naissance;Sexe;Nationalité;Date d'entrée;Date de sortie;Nuitées"
)


def _mapping(tmp_path: Path, **fmt_overrides) -> Path:
    spec = yaml.safe_load((ROOT / "params/partners/abri_nuit.yaml").read_text(encoding="utf-8"))
    spec["exports"] = spec["exports"][:1]
    spec["exports"][0]["files"] = "abri/abri_*.csv"
    spec["exports"][0]["format"].update(fmt_overrides)
    path = tmp_path / "abri_nuit.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def _read(tmp_path: Path, lines: list[str], name: str = "abri_2024.csv"):
    mapping = load_mapping(_mapping(tmp_path), ROOT / "params/codes")
    raw = tmp_path / "raw" / "abri"
    raw.mkdir(parents=True, exist_ok=True)
    path = raw / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return read_partner_file(path, f"abri/{name}", mapping, mapping.exports[0])


GOOD = "AN-1;Lefèvre;Zoé;07/03/1990;F;Belge;02/01/2024;05/01/2024;3"


def test_a_clean_file_is_fully_accepted(tmp_path):
    res, frame = _read(
        tmp_path, [HEADER, GOOD, "AN-2;Dupont;Marc;12/11/1985;H;Marocaine;10/02/2024;11/02/2024;1"]
    )
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (2, 2, 0)
    assert frame.loc[0, "sex"] == "F" and frame.loc[1, "nationality"] == "HORS_UE"
    assert frame.loc[0, "date_start"] == pd.Timestamp("2024-01-02")


@pytest.mark.parametrize(
    ("row", "reason", "column"),
    [
        (
            "AN-1;Lefèvre;Zoé;07/03/1990;F;Belge;2024-01-02;05/01/2024;3",
            "date_illisible",
            "Date d'entrée",
        ),
        (
            "AN-1;Lefèvre;Zoé;31/02/1990;F;Belge;02/01/2024;05/01/2024;3",
            "date_illisible",
            "Date de naissance",
        ),
        (
            "AN-1;Lefèvre;Zoé;07/03/1990;F;Belge;02/01/2023;05/01/2023;3",
            "date_hors_periode",
            "Date d'entrée",
        ),
        ("AN-1;Lefèvre;Zoé;07/03/1990;Q;Belge;02/01/2024;05/01/2024;3", "code_inconnu", "Sexe"),
        (
            "AN-1;Lefèvre;Zoé;07/03/1990;F;Belge;02/01/2024;05/01/2024;trois",
            "nombre_illisible",
            "Nuitées",
        ),
        (
            ";Lefèvre;Zoé;07/03/1990;F;Belge;02/01/2024;05/01/2024;3",
            "identite_manquante",
            "N° dossier",
        ),
        ("AN-1;Lefèvre;Zoé;07/03/1990;F;Belge;;05/01/2024;3", "date_manquante", "Date d'entrée"),
        (
            "AN-1;Lefèvre;Zoé;07/03/1990;F;Belge;05/01/2024;02/01/2024;3",
            "dates_incoherentes",
            "Date de sortie",
        ),
        ("Total;;;;;;;;1234", "ligne_total", "N° dossier"),
    ],
)
def test_bad_rows_are_set_aside_with_reason_line_and_column(tmp_path, row, reason, column):
    res, frame = _read(tmp_path, [HEADER, GOOD, row])
    assert res.rows_read == 2 and res.rows_accepted == 1 and res.rows_quarantined == 1
    q = res.quarantined.iloc[0]
    assert (q["reason"], q["column"], q["line"], q["source_row"]) == (reason, column, 3, 2)


def test_duplicate_rows_are_set_aside_once(tmp_path):
    res, _ = _read(tmp_path, [HEADER, GOOD, GOOD])
    assert res.reasons == {"ligne_dupliquee": 1} and res.rows_accepted == 1


def test_renamed_column_maps_through_its_alias_and_extra_columns_are_reported(tmp_path):
    header = HEADER.replace("Nuitées", "Nb nuits") + ";Remarque"
    res, frame = _read(tmp_path, [header, GOOD + ";rien"])
    assert res.rows_accepted == 1 and frame.loc[0, "nights"] == 3
    assert res.extra_columns == ["Remarque"]


def test_missing_required_column_rejects_the_file_in_french(tmp_path):
    header = HEADER.replace("Date d'entrée", "Arrivée")
    with pytest.raises(ExportRejected) as err:
        _read(tmp_path, [header, GOOD])
    msg = str(err.value)
    assert "abri_nuit" in msg and "abri/abri_2024.csv" in msg and "« Date d'entrée »" in msg
    assert "aliases" in msg


def test_network_ingest_pseudonymises_and_sets_aside_an_identical_file(tmp_path):
    mapping = load_mapping(_mapping(tmp_path), ROOT / "params/codes")
    raw = tmp_path / "raw" / "abri"
    raw.mkdir(parents=True)
    body = ("\r\n".join([HEADER, GOOD]) + "\r\n").encode("cp1252")
    (raw / "abri_2024.csv").write_bytes(body)
    (raw / "abri_2024_copie.csv").write_bytes(body)
    result = ingest_network(
        tmp_path / "raw", {"abri_nuit": mapping}, Pseudonymiser(b"k" * 32), progress=lambda *_: None
    )
    assert len(result.contacts) == 1
    dup = [f for f in result.files if f.duplicate_of]
    assert len(dup) == 1 and dup[0].reasons == {"fichier_en_double": 1}
    text = result.contacts.to_csv() + result.tokens.to_csv()
    for identity in ("Lefèvre", "LEFEVRE", "Zoé", "ZOE", "1990-03-07", "07/03/1990", "AN-1"):
        assert identity not in text
    assert result.contacts.loc[0, "age_at_contact"] == 33


def test_xlsx_with_title_block_and_total_row(tmp_path):
    from openpyxl import Workbook

    mapping = load_mapping(ROOT / "params/partners/maison_accueil.yaml", ROOT / "params/codes")
    spec = mapping.exports[0]
    wb = Workbook()
    ws = wb.active
    ws.title = "Séjours"
    ws.append(["Maison d'accueil — export 2024"])
    ws.append([])
    ws.append([])
    ws.append(
        [
            "Réf.",
            "Nom de famille",
            "Prénom",
            "Né(e) le",
            "Genre",
            "Nationalité",
            "Date d'entrée",
            "Date de sortie",
            "Motif de sortie",
        ]
    )
    ws.append(
        [
            "MA1",
            "Peeters",
            "Jan",
            dt.datetime(1980, 5, 4),
            "Homme",
            "Belge",
            dt.datetime(2024, 3, 1),
            dt.datetime(2024, 6, 1),
            "Relogement",
        ]
    )
    ws.append([])
    ws.append(["MA2", "Janssens", "An", 29000, "Femme", "BE", 45383, None, None])
    ws.append(["Total", None, None, None, None, None, None, None, None])
    path = tmp_path / "maison_accueil_2024.xlsx"
    wb.save(path)
    res, frame = read_partner_file(path, "maison_accueil/maison_accueil_2024.xlsx", mapping, spec)
    assert res.rows_read == 3 and res.rows_accepted == 2 and res.reasons == {"ligne_total": 1}
    assert frame["source_row"].tolist() == [1, 3]
    assert frame.loc[0, "exit_reason"] == "relogement"
    assert frame.loc[1, "date_start"] == pd.Timestamp("2024-04-01")


def test_a_corrected_resend_of_the_same_period_replaces_the_original(tmp_path):
    mapping = load_mapping(_mapping(tmp_path), ROOT / "params/codes")
    raw = tmp_path / "raw" / "abri"
    raw.mkdir(parents=True)
    original = [HEADER, GOOD, "AN-2;Dupont;Marc;12/11/1985;H;Marocaine;10/02/2024;11/02/2024;1"]
    corrected = [HEADER, GOOD, "AN-2;Dupont;Marc;12/11/1985;H;Marocaine;10/02/2024;12/02/2024;2"]
    for name, lines in (("abri_2024.csv", original), ("abri_2024_v2.csv", corrected)):
        (raw / name).write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    result = ingest_network(
        tmp_path / "raw", {"abri_nuit": mapping}, Pseudonymiser(b"k" * 32), progress=lambda *_: None
    )
    assert len(result.contacts) == 2  # not 4: the period is counted once
    assert sorted(result.contacts["nights"].tolist()) == [2, 3]  # the corrected values
    old = next(f for f in result.files if f.source_file == "abri/abri_2024.csv")
    assert old.reasons == {"periode_deja_couverte": 2}
    assert old.duplicate_of == "abri/abri_2024_v2.csv"
    assert old.rows_read == old.rows_quarantined
