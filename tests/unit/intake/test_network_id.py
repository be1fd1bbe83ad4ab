"""The partner's own person id declared network-wide (``scope: network``): its keyed token, and
`observatoire check` on identity columns that are constant."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from observatoire.config.settings import InputsSettings
from observatoire.intake.check import check_file, render_text
from observatoire.intake.ingest import pseudonymise_contacts
from observatoire.intake.mapping import load_mapping
from observatoire.intake.pseudonymise import Pseudonymiser

ROOT = Path(__file__).resolve().parents[3]
CODES = ROOT / "params/codes"
PSEUDO = Pseudonymiser(bytes.fromhex("c3" * 32))


def _mapping(tmp_path: Path, partner: str, scope: str | None) -> Path:
    raw = yaml.safe_load((ROOT / f"params/partners/{partner}.yaml").read_text(encoding="utf-8"))
    if scope is not None:
        raw["exports"][0]["columns"]["local_id"]["scope"] = scope
    path = tmp_path / "partners" / f"{partner}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _frame(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "local_id": ids,
            "date_start": pd.to_datetime(["2024-01-05"] * len(ids)),
            "sex": "M",
            "source_file": "x/export.csv",
            "source_row": range(1, len(ids) + 1),
        }
    )


def test_scope_defaults_to_local_and_reads_network(tmp_path):
    local = load_mapping(_mapping(tmp_path, "abri_nuit", None), CODES)
    assert local.exports[0].columns["local_id"].scope == "local"
    network = load_mapping(_mapping(tmp_path, "abri_nuit", "network"), CODES)
    assert network.exports[0].columns["local_id"].scope == "network"


def test_a_network_id_gives_one_token_across_partners_and_never_the_id(tmp_path):
    night = load_mapping(_mapping(tmp_path, "abri_nuit", "network"), CODES)
    day = load_mapping(_mapping(tmp_path, "accueil_jour", "network"), CODES)
    local = load_mapping(_mapping(tmp_path, "urgence_sociale", None), CODES)
    c1, t1 = pseudonymise_contacts(_frame(["ab 12", "CD-7", " "]), night, PSEUDO)
    c2, t2 = pseudonymise_contacts(_frame(["AB12"]), day, PSEUDO)
    c3, t3 = pseudonymise_contacts(_frame(["AB12"]), local, PSEUDO)
    assert t1.loc[0, "tok_network_id"] == t2.loc[0, "tok_network_id"]
    assert t1.loc[0, "tok_network_id"] != t1.loc[1, "tok_network_id"]
    assert pd.isna(t1.loc[2, "tok_network_id"]) and t3["tok_network_id"].isna().all()
    # The record stays one partner's file.
    assert c1.loc[0, "record_key"] != c2.loc[0, "record_key"]
    for frame in (c1, t1, c2, t2):
        cells = frame.astype(str).to_numpy().ravel()
        assert not any(id_ in str(cell) for cell in cells for id_ in ("AB12", "ab 12", "CD-7"))


def test_check_names_a_constant_name_column_without_printing_it(tmp_path):
    header = "N° dossier;Nom;Prénom;Date de naissance;Sexe;Nationalité;Date d'entrée"
    names = ["Jean", "Marc", "Anne", "Luc", "Zoé", "Omar", "Lina", "Piotr"]
    rows = [
        f"AN-{i};ZZPLACEHOLDER;{names[i % 8]};01/02/19{50 + i};H;Belge;02/01/2024"
        for i in range(40)
    ]
    export = tmp_path / "abri_nuit_sejours_2024.csv"
    export.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("cp1252"))
    inputs = InputsSettings(
        raw_dir=tmp_path, partners_dir=ROOT / "params/partners", codes_dir=CODES
    )
    report = check_file(export, "abri_nuit", inputs)
    assert report.status == "ok"
    notes = [n for n in report.notes if "presque constante" in n]
    assert len(notes) == 1 and "« Nom » (surname)" in notes[0] and "40 des 40 dossiers" in notes[0]
    text = render_text(report)
    assert "ZZPLACEHOLDER" not in text and "Prénom" not in " ".join(notes)
