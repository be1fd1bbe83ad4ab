import os
import secrets
import stat
from pathlib import Path

import pandas as pd
import pytest

from observatoire.core.errors import KeyProblem
from observatoire.intake.pseudonymise import MAKE_KEY, NoKey, Pseudonymiser, key_weakness, load_key
from tests.support.keys import TEST_KEY


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


# --- strength and every unreadable case: a French refusal, never a traceback (issue 17) ------

WEAK = {
    "00" * 32: "que des zéros",
    "a1" * 32: "un seul octet",
    "deadbeef" * 8: "motif de 4 octets",
    "0123456789abcdef" * 4: "motif de 8 octets",
    bytes(range(32)).hex(): "suite régulière",
    (bytes(range(16)) * 2)[::-1].hex() + "00": "octets différents",
    b"une phrase assez longue pour 256 bits".hex(): "imprimables",
}


@pytest.mark.parametrize(("hex_key", "why"), sorted(WEAK.items()))
def test_weak_keys_are_refused_with_how_to_make_one(monkeypatch, tmp_path, hex_key, why):
    monkeypatch.setenv("OBSERVATOIRE_CLE", hex_key)
    with pytest.raises(KeyProblem, match="trop faible") as err:
        load_key(tmp_path)
    assert why in str(err.value) and MAKE_KEY in str(err.value)


def test_random_keys_pass_the_strength_checks():
    assert all(key_weakness(secrets.token_bytes(32)) is None for _ in range(2000))
    assert key_weakness(bytes.fromhex(TEST_KEY)) is None


def _key_file(monkeypatch, path):
    monkeypatch.delenv("OBSERVATOIRE_CLE", raising=False)
    monkeypatch.setenv("OBSERVATOIRE_CLE_FICHIER", str(path))
    return path


def _project(tmp_path):
    project = tmp_path / "projet"
    project.mkdir(exist_ok=True)
    return project


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "est vide"),
        (b"\n  \n", "est vide"),
        ("clé-é".encode() + b"0" * 60, "non ASCII"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "non ASCII"),
        (TEST_KEY.encode("utf-16"), "non ASCII"),
        (b"0x" + TEST_KEY.encode(), "caractère n° 2 n'est pas 0-9"),
        (TEST_KEY[:10].encode() + b" " + TEST_KEY[10:].encode(), "caractère n° 11"),
        (TEST_KEY[:-1].encode(), "nombre impair"),
        (b"ab" * 8, "trop courte"),
        (b"0" * 5000, "5000 octets"),
    ],
)
def test_bad_key_files_get_a_french_refusal(monkeypatch, tmp_path, content, message):
    path = _key_file(monkeypatch, tmp_path / "cle")
    path.write_bytes(content)
    with pytest.raises(KeyProblem, match=message) as err:
        load_key(_project(tmp_path))
    assert TEST_KEY[2:] not in str(err.value)  # a refusal never prints the key


def test_a_bom_and_uppercase_hex_are_accepted(monkeypatch, tmp_path):
    path = _key_file(monkeypatch, tmp_path / "cle")
    path.write_bytes(b"\xef\xbb\xbf" + TEST_KEY.upper().encode() + b"\r\n")
    path.chmod(0o600)
    assert load_key(_project(tmp_path)) == bytes.fromhex(TEST_KEY)


def test_a_key_path_that_is_a_folder_is_explained(monkeypatch, tmp_path):
    _key_file(monkeypatch, tmp_path / "cles").mkdir()
    with pytest.raises(KeyProblem, match="est un dossier, pas un fichier de clé"):
        load_key(_project(tmp_path))


def test_a_dangling_symlink_and_a_file_taken_for_a_folder_are_explained(monkeypatch, tmp_path):
    link = _key_file(monkeypatch, tmp_path / "cle")
    link.symlink_to(tmp_path / "absente")
    with pytest.raises(KeyProblem, match="lien symbolique vers un fichier absent"):
        load_key(_project(tmp_path))
    (tmp_path / "fichier").write_text("x")
    _key_file(monkeypatch, tmp_path / "fichier" / "cle")
    with pytest.raises(KeyProblem, match="passe par un fichier"):
        load_key(_project(tmp_path))


def test_an_unreadable_key_file_is_explained(monkeypatch, tmp_path):
    path = _key_file(monkeypatch, tmp_path / "cle")
    path.write_text(TEST_KEY)
    path.chmod(0o600)

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)  # root reads anything: simulate the refusal
    with pytest.raises(KeyProblem, match="n'est pas lisible par cet utilisateur"):
        load_key(_project(tmp_path))


def test_a_key_file_that_cannot_be_created_is_explained(monkeypatch, tmp_path):
    _key_file(monkeypatch, tmp_path / "cles" / "cle")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(KeyProblem, match="Impossible de créer le fichier de clé"):
        load_key(_project(tmp_path))


def test_no_key_without_creation_is_nokey(monkeypatch, tmp_path):
    _key_file(monkeypatch, tmp_path / "absente")
    with pytest.raises(NoKey, match="Aucune clé de pseudonymisation"):
        load_key(_project(tmp_path), create=False)


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_variable_is_unset_with_a_warning(monkeypatch, tmp_path, capsys, empty):
    path = _key_file(monkeypatch, tmp_path / "cle")
    path.write_text(TEST_KEY + "\n")
    path.chmod(0o600)
    monkeypatch.setenv("OBSERVATOIRE_CLE", empty)
    assert load_key(_project(tmp_path)) == bytes.fromhex(TEST_KEY)
    err = capsys.readouterr().err
    assert "OBSERVATOIRE_CLE est définie mais vide" in err and "ignorée" in err


def test_an_empty_key_file_variable_means_the_default_file(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("OBSERVATOIRE_CLE", raising=False)
    monkeypatch.setenv("OBSERVATOIRE_CLE_FICHIER", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    load_key(_project(tmp_path))
    assert (tmp_path / "home/.config/observatoire/cle-pseudonymisation").is_file()
    assert "OBSERVATOIRE_CLE_FICHIER est définie mais vide" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["key-fingerprint", "ingest", "validate", "pseudonyme"])
def test_the_cli_refuses_a_weak_key_in_french(monkeypatch, tmp_path, capsys, root, verb):
    import shutil

    from observatoire.cli import main

    shutil.copytree(root / "params", tmp_path / "params")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data_clean").mkdir()
    (tmp_path / "data_clean/cle_empreinte.json").write_text('{"empreinte": "0123456789abcdef"}')
    monkeypatch.setenv("OBSERVATOIRE_CLE", "00" * 32)
    assert main([verb, *(["--partner", "abri_nuit"] if verb == "pseudonyme" else [])]) == 2
    err = capsys.readouterr().err
    assert "que des zéros" in err and "Traceback" not in err
