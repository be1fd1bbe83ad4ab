import os
import stat

import pandas as pd
import pytest

from observatoire.core.errors import KeyProblem
from observatoire.intake.pseudonymise import Pseudonymiser, load_key


def test_first_run_creates_an_owner_only_key_outside_the_project(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OBSERVATOIRE_CLE", raising=False)
    key_file = tmp_path / "cles" / "cle"
    monkeypatch.setenv("OBSERVATOIRE_CLE_FICHIER", str(key_file))
    project = tmp_path / "projet"
    project.mkdir()
    key = load_key(project)
    assert len(key) >= 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "Sauvegardez" in capsys.readouterr().err
    assert load_key(project) == key  # same key next run


def test_a_key_file_inside_the_project_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("OBSERVATOIRE_CLE", raising=False)
    monkeypatch.setenv("OBSERVATOIRE_CLE_FICHIER", str(tmp_path / "cle"))
    with pytest.raises(KeyProblem, match="dans le dépôt"):
        load_key(tmp_path)


def test_short_keys_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("OBSERVATOIRE_CLE", "ab" * 8)
    with pytest.raises(KeyProblem, match="trop courte"):
        load_key(tmp_path)


def test_same_key_same_pseudonym_other_key_unrelated():
    a, b = Pseudonymiser(b"\x01" * 32), Pseudonymiser(b"\x02" * 32)
    assert a.token("surname", "DUPONT") == a.token("surname", "DUPONT")
    assert a.token("surname", "DUPONT") != b.token("surname", "DUPONT")
    # Purposes are separate domains: a surname and a first name never collide by construction.
    assert a.token("surname", "MARTIN") != a.token("first_name", "MARTIN")


def test_tokens_keep_missing_values_missing():
    p = Pseudonymiser(b"\x01" * 32)
    out = p.tokens("surname", ["DUPONT", None, "", "DUPONT"])
    assert out[0] == out[3] and pd.isna(out[1]) and pd.isna(out[2])
