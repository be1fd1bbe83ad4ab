"""The key's fingerprint: never the key, checked by every stage after ingest (issue 17)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from observatoire.cli import main
from observatoire.config.settings import load_settings
from observatoire.intake.key_fingerprint import (
    CHANGE_ENV,
    KeyMismatch,
    check_configured_key,
    fingerprint,
    key_for_ingest,
    stage_key_fingerprint,
    write_fingerprint,
)
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.linkage.overrides import load_overrides
from observatoire.linkage.stage import OverridesApplied, unmatched_overrides_warning
from tests.support.keys import OTHER_KEY, TEST_KEY

KEY, OTHER = bytes.fromhex(TEST_KEY), bytes.fromhex(OTHER_KEY)


def test_the_fingerprint_names_the_key_and_reveals_nothing_of_it():
    fp = fingerprint(KEY)
    assert fp == fingerprint(KEY) and fp != fingerprint(OTHER) and len(fp) == 16
    assert fp not in TEST_KEY and TEST_KEY[:16] != fp
    # not the pseudonym of anything: tokens are HMAC(key, purpose \x1f value), 32 hex
    pseudo = Pseudonymiser(KEY)
    assert not pseudo.token("record", "observatoire/empreinte-de-cle/v1").startswith(fp)


@pytest.fixture
def project(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Params of the project; pseudonymised data made with the tests' key, two overrides of
    which one names records of the data."""
    shutil.copytree(root / "params", tmp_path / "params")
    monkeypatch.chdir(tmp_path)
    pseudo = Pseudonymiser(KEY)
    keys = [pseudo.token("record", f"abri_nuit:{i}") for i in range(3)]
    staging = tmp_path / "data_clean/staging"
    staging.mkdir(parents=True)
    pd.DataFrame({"record_key": keys}).to_parquet(staging / "contacts.parquet")
    overrides = {
        "forcer_liaison": [{"a": keys[0], "b": keys[1], "motif": "courriel"}],
        "forcer_separation": [{"a": keys[2], "b": "f" * 32, "motif": "dossier parti"}],
    }
    (tmp_path / "params/linkage_overrides.yaml").write_text(yaml.safe_dump(overrides))
    write_fingerprint(tmp_path / "data_clean/cle_empreinte.json", KEY)
    return tmp_path


def _configured(project: Path) -> str:
    return json.loads((project / "data_clean/cle_configuree.json").read_text())["empreinte"]


def test_same_key_the_stage_writes_the_same_bytes(project: Path, capsys) -> None:
    assert main(["key-fingerprint"]) == 0
    first = (project / "data_clean/cle_configuree.json").read_bytes()
    assert main(["key-fingerprint"]) == 0
    assert (project / "data_clean/cle_configuree.json").read_bytes() == first
    assert _configured(project) == fingerprint(KEY) and TEST_KEY not in first.decode()
    check_configured_key(load_settings(Path("params/pipeline.yaml")))  # later stages: same key


@pytest.mark.parametrize("verb", ["key-fingerprint", "ingest", "validate", "link", "report"])
def test_a_changed_key_stops_every_stage_and_says_what_it_breaks(
    project: Path, monkeypatch, capsys, verb
) -> None:
    monkeypatch.setenv("OBSERVATOIRE_CLE", OTHER_KEY)
    assert main([verb]) == 2
    err = capsys.readouterr().err
    assert f"empreinte {fingerprint(OTHER)}" in err and f"empreinte {fingerprint(KEY)}" in err
    assert "les 2 corrections de liaison" in err and "1 désignent des dossiers" in err
    assert "jeunes en errance" in err and f"{CHANGE_ENV}=1 dvc repro" in err
    assert "observatoire pseudonyme" in err and "Traceback" not in err
    assert OTHER_KEY not in err and TEST_KEY not in err
    assert not (project / "data_clean/cle_configuree.json").exists()


def test_a_confirmed_change_goes_through_loudly(project: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OBSERVATOIRE_CLE", OTHER_KEY)
    monkeypatch.setenv(CHANGE_ENV, "1")
    settings = load_settings(Path("params/pipeline.yaml"))
    stage_key_fingerprint(settings)
    assert _configured(project) == fingerprint(OTHER)
    err = capsys.readouterr().err
    assert "ATTENTION : changement de clé" in err and "les 2 corrections" in err
    assert key_for_ingest(settings) == OTHER  # ingest run by hand: the same confirmation
    # without the confirmation, ingest by hand refuses to overwrite the data
    monkeypatch.delenv(CHANGE_ENV)
    with pytest.raises(KeyMismatch):
        key_for_ingest(settings)


def test_without_a_key_stages_run_on_and_ingest_asks_for_the_data_key(
    project: Path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("OBSERVATOIRE_CLE")
    monkeypatch.setenv("OBSERVATOIRE_CLE_FICHIER", str(project.parent / "aucune-cle"))
    assert main(["key-fingerprint"]) == 0
    assert _configured(project) == fingerprint(KEY)  # the data's: ingest is not rerun
    assert not (project.parent / "aucune-cle").exists()  # no new key made behind your back
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert "Aucune clé de pseudonymisation" in err and fingerprint(KEY) in err


def test_overrides_that_match_nothing_are_reported_loudly(project: Path) -> None:
    overrides = load_overrides(Path("params/linkage_overrides.yaml"))
    text = unmatched_overrides_warning(overrides, OverridesApplied(0, 0, ["x"] * 4))
    assert text.startswith("ATTENTION : 2 correction(s) de liaison sur 2")
    assert "la clé de pseudonymisation a très probablement changé" in text
    assert "observatoire pseudonyme --partner ID" in text
    some = unmatched_overrides_warning(overrides, OverridesApplied(1, 0, ["x"]))
    assert "1 correction(s) de liaison sur 2" in some and "quitté les exports" in some
