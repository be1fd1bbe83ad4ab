"""The analyst's overrides file, and the pseudonym of a partner's local id."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from observatoire.cli import main
from observatoire.intake.ingest import pseudonymise_contacts
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.linkage.overrides import OverridesError, load_overrides, record_key_of
from tests.support.keys import TEST_KEY

A, B, C = "a" * 32, "b" * 32, "c" * 32


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "corrections.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_missing_or_empty_file_means_no_override(tmp_path: Path) -> None:
    assert len(load_overrides(tmp_path / "absent.yaml")) == 0
    assert (
        len(load_overrides(write(tmp_path, {"forcer_liaison": [], "forcer_separation": []}))) == 0
    )


def test_pairs_are_read_with_their_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "forcer_liaison": [{"a": A, "b": B, "motif": "courriel du partenaire"}],
            "forcer_separation": [{"a": A.upper(), "b": C}],
        },
    )
    overrides = load_overrides(path)
    assert [(o.a, o.b, o.reason) for o in overrides.together] == [(A, B, "courriel du partenaire")]
    assert [(o.a, o.b) for o in overrides.apart] == [(A, C)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"forcer_liaison": [{"a": A}]}, "il faut les clés"),
        ({"forcer_liaison": [{"a": A, "b": "AN-1187"}]}, "n'est pas un pseudonyme"),
        ({"forcer_liaison": [{"a": A, "b": A}]}, "identiques"),
        ({"forcer_ensemble": []}, "section(s) inconnue(s)"),
        ({"forcer_liaison": {"a": A, "b": B}}, "doit être une liste"),
        (
            {"forcer_liaison": [{"a": A, "b": B}], "forcer_separation": [{"a": B, "b": A}]},
            "à la fois",
        ),
    ],
)
def test_malformed_files_are_refused_in_french(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(OverridesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_overrides(write(tmp_path, data))


def test_record_key_is_the_one_ingest_gives(partners) -> None:
    pseudo = Pseudonymiser(bytes.fromhex("a1" * 32))
    frame = pd.DataFrame(
        {
            "local_id": [" an-1187 "],
            "surname": ["Lefèvre"],
            "first_name": ["Zoé"],
            "birth_date": [pd.Timestamp("1990-03-07")],
            "sex": ["F"],
            "date_start": [pd.Timestamp("2024-01-02")],
            "source_file": ["abri_nuit/x.csv"],
            "source_row": [1],
        }
    )
    contacts, tokens = pseudonymise_contacts(frame, partners["abri_nuit"], pseudo)
    assert contacts.loc[0, "record_key"] == record_key_of("abri_nuit", "AN-1187", pseudo)
    assert tokens.loc[0, "tok_name_initials"] == pseudo.token("initials", "ZL")
    assert len(tokens.loc[0, "tok_surname_variants"]) == len("LEFEVRE") + 1


def test_pseudonym_command_reads_the_id_without_echo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], root: Path, tmp_path: Path
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: "AN-1187")
    monkeypatch.chdir(tmp_path)  # away from the project's data, made with the analyst's key
    assert (
        main(
            ["--params", str(root / "params/pipeline.yaml"), "pseudonyme", "--partner", "abri_nuit"]
        )
        == 0
    )
    out = capsys.readouterr().out.strip()
    pseudo = Pseudonymiser(bytes.fromhex(TEST_KEY))  # the tests' key (conftest)
    assert out == record_key_of("abri_nuit", "AN-1187", pseudo)
    assert "AN-1187" not in out
