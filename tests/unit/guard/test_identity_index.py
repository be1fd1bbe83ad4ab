"""The identity index: written once from the raw exports, it holds no identity in clear, the
guard and the report stages find leaks through it, and a stale one (an export changed, another
key) is never used: the identities are collected again, and a French line says why."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from observatoire.config.paths import PATHS
from observatoire.guard import index
from observatoire.guard.leaks import REPORT, LeakFound, check_before_publishing, run_guard
from tests.support.keys import OTHER_KEY
from tests.unit.guard.test_guard import HEADER, RAW_ROWS, SETTINGS, _write_clean_tree, _write_raw

IN_CLEAR = [
    "Dupré",
    "Dupre",
    "Lefèvre",
    "Lefevre",
    "Clémentine",
    "Clementine",
    "Van der Berg",
    "Berg",
    "Mathéo",
    "Matheo",
    "Wouters",
    "Grand",
    "Alpha",
    "AN-001222",
    "001223",
    "07/03/1990",
    "1990-03-07",
    "07.03.1990",
    "12-11-1985",
    "1970/10/01",
]
"""The fixture's names, ids and birth dates, in the forms they are searched in (case ignored)."""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _write_raw(tmp_path)
    _write_clean_tree(tmp_path)
    return tmp_path


def _collection_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("les exports bruts ont été relus malgré un index à jour")

    monkeypatch.setattr(index, "collect_identities", refuse)


def _stage_report(staging: Path, text: str) -> tuple[Path, list[str], Path]:
    target = Path("outputs/reports/2024")
    staging.mkdir()
    (staging / "observatoire.html").write_text(text, encoding="utf-8")
    return staging, ["observatoire.html"], target


def test_the_index_holds_no_identity_in_clear(project, capsys):
    index.stage_identity_index(SETTINGS)
    assert "jamais en clair" in capsys.readouterr().out
    raw = PATHS.identity_index.read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    for value in IN_CLEAR:
        for form in (value, value.lower(), value.upper()):
            assert form.encode() not in raw
            assert form not in text, form
    data = json.loads(text)
    assert data["exports_lus"] == 1 and list(data["exports_bruts"]) == ["abri/abri_2024.csv"]
    # the same exports and key give the same bytes (DVC sees no change)
    index.stage_identity_index(SETTINGS)
    assert PATHS.identity_index.read_bytes() == raw


def test_the_guard_works_from_the_index_and_still_finds_a_leak(project, capsys, monkeypatch):
    index.stage_identity_index(SETTINGS)
    _collection_forbidden(monkeypatch)
    assert run_guard(SETTINGS) == 0
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    assert report["raw_exports_read"] == 1
    assert report["identity_values_checked"]["nom"] == 4
    # the index is not scanned (keyed hashes only), as the guard's own report is not
    assert "gz" not in report["files_scanned"]["by_type"]
    assert "relues" not in capsys.readouterr().out
    Path("outputs/tables").mkdir()
    Path("outputs/tables/cas.csv").write_text("cas\nM. WOUTERS Jean (01/10/1970)\n")
    assert run_guard(SETTINGS) == 1
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    assert {f["kind"] for f in report["findings"]} >= {"nom", "prénom", "date de naissance"}
    assert "WOUTERS" not in REPORT.read_text(encoding="utf-8")


def test_a_report_stage_loads_the_index_once_and_publishes_nothing_on_a_leak(project, monkeypatch):
    index.stage_identity_index(SETTINGS)
    _collection_forbidden(monkeypatch)
    loads = []
    original = index._from_index
    monkeypatch.setattr(index, "_from_index", lambda *a: loads.append(1) or original(*a))
    staging, members, target = _stage_report(
        Path("outputs/reports/2024/.tmp-a"), "<p>Chiffres clés : 4 personnes.</p>"
    )
    check_before_publishing(SETTINGS, staging, members, target, "relays_report")
    staging, members, target = _stage_report(
        Path("outputs/reports/2024/.tmp-b"), "<p>Dupré-Lefèvre, 3 nuitées.</p>"
    )
    with pytest.raises(LeakFound) as caught:
        check_before_publishing(SETTINGS, staging, members, target, "relays_report")
    assert "Dupré" not in str(caught.value)
    assert loads == [1]  # two checks, one load


def test_a_changed_export_makes_the_index_stale_and_is_collected_again(project, capsys):
    index.stage_identity_index(SETTINGS)
    capsys.readouterr()
    raw = project / "raw/abri/abri_2024.csv"
    row = "AN-009999;Kowalczyk;Zbigniew;02/05/1961;H;Polonaise;01/05/2024;02/05/2024;1"
    raw.write_bytes(("\r\n".join([HEADER, *RAW_ROWS, row]) + "\r\n").encode("cp1252"))
    Path("outputs/tables").mkdir()
    Path("outputs/tables/cas.csv").write_text("cas\nM. KOWALCZYK Zbigniew\n")
    assert run_guard(SETTINGS) == 1  # the new person is searched for: not in the index
    printed = capsys.readouterr().out
    assert "les exports bruts ont changé" in printed
    assert "(1 fichier ajouté, retiré ou modifié)" in printed
    assert "relues dans 1 fichier d'export " in printed
    # an export added beside it is as stale
    index.stage_identity_index(SETTINGS)
    (project / "raw/abri/abri_2025.csv").write_bytes((HEADER + "\r\n").encode("cp1252"))
    assert run_guard(SETTINGS) == 1
    assert "les exports bruts ont changé" in capsys.readouterr().out


def test_an_index_made_with_another_key_is_not_used(project, capsys, monkeypatch):
    index.stage_identity_index(SETTINGS)
    capsys.readouterr()
    monkeypatch.setenv("OBSERVATOIRE_CLE", OTHER_KEY)
    staging, members, target = _stage_report(
        Path("outputs/reports/2024/.tmp-a"), "<p>Cas : Jean WOUTERS, 3 nuitées.</p>"
    )
    with pytest.raises(LeakFound):
        check_before_publishing(SETTINGS, staging, members, target, "report")
    printed = capsys.readouterr().out
    assert "l'index des identités a été construit avec une autre clé" in printed
    assert "les identités sont relues" in printed


def test_a_missing_index_or_key_is_said_and_the_exports_are_read(project, capsys, monkeypatch):
    assert run_guard(SETTINGS) == 0
    assert "l'index des identités data_clean/index_identites.json.gz est absent" in (
        capsys.readouterr().out
    )
    index.stage_identity_index(SETTINGS)
    monkeypatch.delenv("OBSERVATOIRE_CLE")
    monkeypatch.setenv("OBSERVATOIRE_CLE_FICHIER", str(project.parent / "aucune-cle"))
    assert run_guard(SETTINGS) == 0
    assert "aucune clé de pseudonymisation n'est configurée" in capsys.readouterr().out


def test_a_value_seen_again_gives_the_same_identities_as_adding_it_again():
    """The guard adds a person's values once and, on their next rows, only makes the new record
    an owner (guard.leaks.Identities._seen): the state must be exactly that of adding every value
    on every row, which the private ``_add_*`` do without the memo."""
    from observatoire.guard.leaks import FIRST_NAME, SURNAME, Identities

    rows = [
        ("Dupré-Lefèvre", "Amandine", "AB12345", pd.Timestamp("1990-03-14"), "14/03/1990"),
        ("Dupré-Lefèvre", "Amandine", "AB12345", pd.Timestamp("1990-03-14"), "14/03/1990"),
        ("Martin", "Li", 123456.0, pd.NaT, "31/02/1990"),
        ("Martin", "Amandine", "123", pd.NaT, float("nan")),
        ("De la Rue", "Amandine", 123456, pd.Timestamp("1990-03-14"), None),
    ]
    key = b"k" * 32
    memo, plain = Identities(key), Identities(key)
    for surname, first, client, parsed, raw in rows:
        for ids, name, client_id, birth in (
            (memo, memo.add_name, memo.add_client_id, memo.add_birth_date),
            (plain, plain._add_name, plain._add_client_id, plain._add_birth_date),
        ):
            rid = ids.record(("p", surname, first, str(client), str(raw)))
            name(surname, SURNAME, rid)
            name(first, FIRST_NAME, rid)
            client_id(client, rid)
            birth(parsed, raw, rid)
    assert memo.owners == plain.owners and list(memo.owners) == list(plain.owners)
    assert any(len(records) > 1 for records in memo.owners.values())  # values did recur
    for attr in ("checked", "not_checked", "strong_names", "name_hashes", "_record_ids"):
        assert getattr(memo, attr) == getattr(plain, attr), attr
    for vocab in ("names", "codes"):
        a, b = getattr(memo, vocab), getattr(plain, vocab)
        assert (a.singles, a.phrases, a.longest, a._by_first) == (
            b.singles,
            b.phrases,
            b.longest,
            b._by_first,
        )
