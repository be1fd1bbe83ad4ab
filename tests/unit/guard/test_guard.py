"""Leak guard: a clean tree passes; every identity of the planted catalogue
(``tests/support/planted_identities.py``) fails it (recall 1.0), its report never holds the value;
a lone common word that is also somebody's name does not (« Cles » in « Chiffres clés »).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from observatoire.config.settings import Settings
from observatoire.core.storage import publish_members
from observatoire.guard.leaks import (
    REPORT,
    Identities,
    LeakFound,
    check_before_publishing,
    run_guard,
)
from tests.support.planted_identities import PLANTINGS

ROOT = Path(__file__).resolve().parents[3]
HEADER = (
    "N° dossier;Nom;Prénom;Date de naissance;Sexe;Nationalité;Date d'entrée;Date de sortie;Nuitées"
)
RAW_ROWS = [
    "AN-001222;Dupré-Lefèvre;Clémentine;07/03/1990;F;Belge;02/01/2024;05/01/2024;3",
    "AN-001223;Van der Berg;Mathéo;12/11/1985;H;Marocaine;10/02/2024;11/02/2024;1",
    "AN-001224;Grand;Alpha;23/06/1979;H;Belge;15/03/2024;16/03/2024;1",
    "4711;WOUTERS;Jean;01/10/1970;H;Belge;20/04/2024;22/04/2024;2",
]
"""Four stays: a compound surname with accents, a particle name, stop-listed names (« Grand »,
« Alpha »), a numeric client id too short to be searched."""

SETTINGS = Settings.from_mapping(
    {
        **yaml.safe_load((ROOT / "params/pipeline.yaml").read_text(encoding="utf-8")),
        "inputs": {
            "raw_dir": "raw",
            "partners_dir": "partners",
            "codes_dir": str(ROOT / "params/codes"),
        },
    }
)


@functools.cache
def _pdf(text: str) -> bytes:
    import typst

    return typst.compile(f"= Rapport annuel\n{text}\n".encode(), format="pdf")


def _write_raw(root: Path) -> None:
    spec = yaml.safe_load((ROOT / "params/partners/abri_nuit.yaml").read_text(encoding="utf-8"))
    spec["exports"] = spec["exports"][:1]
    spec["exports"][0]["files"] = "abri/abri_*.csv"
    (root / "partners").mkdir()
    (root / "partners/abri_nuit.yaml").write_text(
        yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8"
    )
    (root / "raw/abri").mkdir(parents=True)
    body = "\r\n".join([HEADER, *RAW_ROWS]) + "\r\n"
    (root / "raw/abri/abri_2024.csv").write_bytes(body.encode("cp1252"))


def _notebook(output: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(
        'total = contacts["record_key"].nunique()\nif total:\n    print(total)\nelif False:\n'
        "    pass"
    )
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Indicateurs 2024"), code]
    return nb


def _write_clean_tree(root: Path) -> None:
    """What the pipeline legitimately writes: pseudonymous keys, counts, prose, Data Docs."""
    keys = [hashlib.sha256(f"k{i}".encode()).hexdigest() for i in range(4)]
    contacts = pd.DataFrame(
        {
            "record_key": keys,
            "partner_id": "abri_nuit",
            "date_start": pd.to_datetime(["2024-01-02", "2024-02-10", "2024-03-15", "2024-04-20"]),
            "orientation": ["CPAS", None, "Santé", "Aucune"],
            "age_at_contact": [33, 38, 44, 53],
            "source_file": "abri/abri_2024.csv",
        }
    )
    (root / "data_clean").mkdir()
    contacts.to_parquet(root / "data_clean/contacts.parquet", index=False)
    reports = root / "outputs/reports/2024"
    (reports / "figures").mkdir(parents=True)
    (reports / "figures/pyramide.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (reports / "observatoire.html").write_text(
        "<html><head><style>td { display: block; }</style>"
        '<script>var label = "personnes";</script></head><body>'
        "<h1>Observatoire 2024</h1><p>Le réseau a aidé 4 personnes distinctes.</p>"
        "<table><tr><td>Abri de nuit</td><td>4</td></tr></table></body></html>",
        encoding="utf-8",
    )
    (reports / "observatoire.pdf").write_bytes(_pdf("Le réseau a aidé 4 personnes distinctes."))
    (root / "outputs/metrics").mkdir(parents=True)
    (root / "outputs/metrics/rows.json").write_text(
        json.dumps({"rows_read": 4, "rows_clean": 4, "files": {"abri/abri_2024.csv": 4}}),
        encoding="utf-8",
    )
    (root / "outputs/notebooks").mkdir()
    nbformat.write(_notebook("4 personnes\n"), root / "outputs/notebooks/indicateurs.ipynb")
    (root / "outputs/validation").mkdir()
    (root / "outputs/validation/index.html").write_text(
        '<div class="content-block"><button class="close">×</button>'
        "<p>Expectation : valeurs dans la liste (sexe).</p></div>",
        encoding="utf-8",
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _write_raw(tmp_path)
    _write_clean_tree(tmp_path)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str, str]:
    """Exit code, JSON report (parsed and as text) and everything printed."""
    code = run_guard(SETTINGS)
    out, err = capsys.readouterr()
    text = REPORT.read_text(encoding="utf-8")
    return code, json.loads(text), text, out + err


def test_clean_tree_passes_and_reports_counts_only(project, capsys):
    code, report, _, _ = _run(capsys)
    assert code == 0 and report["status"] == "ok" and report["findings"] == []
    # The report's own files (outputs/reports/2024) are checked by the report stage itself.
    assert report["files_scanned"]["by_type"] == {
        "html": 1,
        "ipynb": 1,
        "json": 1,
        "parquet": 1,
    }
    # 4711 is too short to tell from a count; every name is searched (no stop list).
    assert report["identity_values_checked"] == {
        "nom": 4,
        "prénom": 4,
        "date de naissance": 4,
        "identifiant partenaire": 3,
        "identité en texte libre": 0,
    }
    not_checked = report["identity_values_not_checked"]
    assert not_checked["identifiants numériques de moins de 6 chiffres"] == 1


@pytest.mark.parametrize("planting", PLANTINGS, ids=lambda p: p.id)
def test_every_planted_identity_fails_the_guard_without_being_reported(project, capsys, planting):
    path = Path(planting.file)
    path.parent.mkdir(parents=True, exist_ok=True)
    planting.write(path)
    code, report, text, printed = _run(capsys)
    assert code == 1 and report["status"] == "fuite"
    assert {f["file"] for f in report["findings"]} == {planting.file}
    assert planting.kind in {f["kind"] for f in report["findings"]}
    for value in planting.secrets:
        assert value not in text
        assert value not in printed
    assert planting.file in printed and "À faire" in printed


def test_recall_on_the_catalogue_is_one(tmp_path, monkeypatch):
    """Every planting caught when planted all at once, each in its own file."""
    monkeypatch.chdir(tmp_path)
    _write_raw(tmp_path)
    _write_clean_tree(tmp_path)
    for planting in PLANTINGS:
        Path(planting.file).parent.mkdir(parents=True, exist_ok=True)
        planting.write(Path(planting.file))
    assert run_guard(SETTINGS) == 1
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    caught = {f["file"] for f in report["findings"]}
    recall = sum(p.file in caught for p in PLANTINGS) / len(PLANTINGS)
    assert recall == 1.0


def test_lone_names_and_substrings_do_not_trigger(project, capsys):
    """« Grand » and « Alpha » are one person's names, but never side by side here."""
    Path("outputs/tables/2024").mkdir(parents=True)
    Path("outputs/tables/2024/hiver.csv").write_text(
        "mesure,valeur\n"
        "lits du Plan Grand Froid,15\n"
        "alpha (Cameron–Trivedi),0.3\n"
        "Wouters seul,1\n"  # a surname alone: an ordinary word until it has context
        "Jean et les autres,1\n"
        "Wouterse,1\n"  # longer word containing a surname
        "Berg,2\n"  # a 4-letter part of « Van der Berg »: only the full phrase is searched
        "4711,3\n",  # a short numeric client id: indistinguishable from a count
        encoding="utf-8",
    )
    code, report, _, _ = _run(capsys)
    assert code == 0 and report["findings"] == []


def test_a_path_naming_somebody_is_reported_masked(project, capsys):
    Path("outputs/fiches").mkdir()
    Path("outputs/fiches/Wouters_Jean.txt").write_text("Fiche vide.\n", encoding="utf-8")
    code, report, text, printed = _run(capsys)
    assert code == 1
    assert {f["kind"] for f in report["findings"]} == {"nom", "prénom"}
    for finding in report["findings"]:
        assert finding["file"].startswith("outputs/[chemin masqué")
        assert finding["where"] == "nom du fichier ou d'un dossier"
    assert "Wouters" not in text and "Wouters" not in printed


def test_a_column_named_after_somebody_is_masked(project, capsys):
    frame = pd.DataFrame({"mois": ["2024-01"], "Dupré-Lefèvre": ["oui"]})
    frame.to_parquet("data_clean/pivot.parquet", index=False)
    code, report, text, _ = _run(capsys)
    assert code == 1
    (finding,) = report["findings"]
    assert finding["where"].startswith("nom de la colonne n° 2")  # and pandas metadata
    assert "Dupré" not in text and "Lefèvre" not in text


def test_an_unreadable_file_is_listed_as_not_checked(project, capsys):
    Path("outputs/tables/2024").mkdir(parents=True)
    Path("outputs/tables/2024/abime.pdf").write_bytes(b"%PDF-1.7 tronque")
    code, report, _, printed = _run(capsys)
    assert code == 0 and report["findings"] == []
    (unreadable,) = report["files_unreadable"]
    assert unreadable["file"] == "outputs/tables/2024/abime.pdf"
    assert unreadable["reason"].startswith("illisible")
    assert "outputs/tables/2024/abime.pdf n'a pas pu être vérifié" in printed


# --- matching rules, without files ---


@pytest.fixture(scope="module")
def ids() -> Identities:
    ids = Identities()
    ids.add_name("Martin", "nom")
    ids.add_name("Dupré-Lefèvre", "nom")
    ids.add_name("Van der Berg", "nom")
    ids.add_name("Ali", "prénom")
    ids.add_client_id("AN-001222")
    ids.add_client_id("123456")
    ids.add_client_id(4711.0)
    ids.add_birth_dates(pd.Series(["07/03/1990", "31/02/1990"], dtype=object), "%d/%m/%Y")
    return ids


def _found(ids: Identities, text: str) -> set[str]:
    return {kind for kind, _ in ids.match(text)}


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("M. MARTIN est passé", {"nom"}),
        ("la Martinique", set()),
        ("Martin_2024.csv", {"nom"}),
        ("dupre lefevre", {"nom"}),
        ("Mme Lefèvre", {"nom"}),  # a distinctive part (5 letters or more) alone
        ("VAN DER BERG", {"nom"}),
        ("la famille Berg, le van", {"nom"}),  # the one distinctive part: found, not evidence
        ("Ali", {"prénom"}),  # found, but a first name alone is no evidence (see below)
        ("né le 1990-03-07T00:00:00", {"date de naissance"}),
        ("07.03.1990", {"date de naissance"}),
        ("1990/03/07", {"date de naissance"}),
        ("07-03-1990", {"date de naissance"}),
        ("31/02/1990", {"date de naissance"}),  # impossible date, still the raw export text
        ("2007-03-1990", set()),
        ("outputs/dossier_an-001222.pdf", {"identifiant partenaire"}),
        ("AN-0012220", set()),
        ("taux 0.123456", set()),  # a decimal, not the id 123456
        ("123456 nuitées", {"identifiant partenaire"}),
        ("4711 contacts", set()),
    ],
)
def test_matching_rules(ids, text, kinds):
    assert _found(ids, text) == kinds


def test_compound_name_is_counted_once(ids):
    hits = ids.match("Dupré-Lefèvre, puis Lefèvre seul")
    assert sum(hits.values()) == 2


def test_a_report_stage_publishes_nothing_when_its_rendered_files_leak(project, capsys):
    """The report stages' flow: render into staging, scan, publish; a leak keeps the old files."""
    target = Path("outputs/reports/2024")
    before = (target / "observatoire.html").read_bytes()
    staging = target / ".observatoire.tmp-test"
    staging.mkdir()
    (staging / "figures").mkdir()
    (staging / "observatoire.html").write_text(
        "<p>Chiffres clés : 4 personnes.</p><p>Cas : Jean WOUTERS, 3 nuitées.</p>",
        encoding="utf-8",
    )
    members = ["observatoire.html", "figures"]
    with pytest.raises(LeakFound) as caught:
        check_before_publishing(SETTINGS, staging, members, target, "report")
    message = str(caught.value)
    assert "outputs/reports/2024/observatoire.html" in message and "rien n'a été publié" in message
    assert "WOUTERS" not in message and "Wouters" not in message
    assert (target / "observatoire.html").read_bytes() == before
    (staging / "observatoire.html").write_text("<p>Chiffres clés : 4 personnes.</p>")
    check_before_publishing(SETTINGS, staging, members, target, "report")
    publish_members(staging, target, members)
    assert "Chiffres clés" in (target / "observatoire.html").read_text(encoding="utf-8")


def test_evidence_needs_the_same_record(ids_records):
    assert not ids_records.evidence("Chiffres clés 2024")
    assert not ids_records.evidence("Jean seul")
    assert not ids_records.evidence("Wouters seul")
    assert ids_records.evidence("Jean WOUTERS")
    assert ids_records.evidence("WOUTERS, né le 01/10/1970")
    assert not ids_records.evidence("WOUTERS, né le 07/03/1990")  # somebody else's date
    assert not ids_records.evidence("Jean Cles")  # two names, two different people
    assert ids_records.evidence("Cles Marie")
    assert not ids_records.evidence("Jean " + "mot " * 8 + "Wouters")  # too far apart


@pytest.fixture(scope="module")
def ids_records() -> Identities:
    ids = Identities()
    for surname, first, birth in [
        ("Wouters", "Jean", "1970-10-01"),
        ("Cles", "Marie", "1990-03-07"),
    ]:
        rid = ids.record((surname, first, birth))
        ids.add_name(surname, "nom", rid)
        ids.add_name(first, "prénom", rid)
        ids.add_birth_date(pd.Timestamp(birth), None, rid)
    return ids


def test_field_notes_are_read_by_the_whole_deidentification(project, capsys):
    """A field note kept with a third person's name (absent from every export: only the NLP
    layer knows it) is a leak; the same note de-identified is not; no field folder: no error."""
    code, _, _, _ = _run(capsys)
    assert code == 0
    field = project / "data_clean" / "field"
    field.mkdir(parents=True)
    notes = ["Passage aux Quais, climat calme.", "Sophie Lambert dort au Parc depuis l'hiver."]
    pd.DataFrame({"partner_id": ["travail_rue"] * 2, "note": notes}).to_parquet(
        field / "street_observations.parquet"
    )
    code, report, _, _ = _run(capsys)
    assert code == 1
    [finding] = report["findings"]
    assert finding["file"] == "data_clean/field/street_observations.parquet"
    assert finding["kind"] == "identité en texte libre"
    assert "Lambert" not in json.dumps(report)
    notes[1] = "[NOM] dort au Parc depuis l'hiver."
    pd.DataFrame({"partner_id": ["travail_rue"] * 2, "note": notes}).to_parquet(
        field / "street_observations.parquet"
    )
    assert _run(capsys)[0] == 0


def test_field_tables_scanned_in_a_second_process_find_the_same(project, capsys, monkeypatch):
    """With two processes the field tables are scanned in a forked worker while the guard reads
    the rest: the same report (findings, places, counts, order) as in one process, the worker
    really used (two tables); a leak in a field note and one in another file are both found."""
    from observatoire.core.workers import WORKERS_ENV
    from observatoire.guard import leaks

    field = project / "data_clean" / "field"
    field.mkdir(parents=True)
    notes = ["Passage aux Quais, climat calme.", "Sophie Lambert dort au Parc depuis l'hiver."]
    for table, kept in (("street_observations", notes), ("visits", notes[:1])):
        pd.DataFrame({"partner_id": "travail_rue", "note": kept}).to_parquet(
            field / f"{table}.parquet"
        )
    (project / "outputs/metrics/zz_export.csv").write_text(
        "nom;total\nDupré-Lefèvre;3\n", encoding="utf-8"
    )
    submitted: list[int] = []

    class Spy(leaks._NoteScans):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            submitted.append(len(self.futures))

    monkeypatch.setattr(leaks, "_NoteScans", Spy)
    reports = {}
    for processes in ("1", "2"):
        monkeypatch.setenv(WORKERS_ENV, processes)
        code, report, _, _ = _run(capsys)
        assert code == 1
        report.pop("seconds", None)
        reports[processes] = report
    assert submitted == [0, 2]
    assert reports["1"] == reports["2"]
    files = [f["file"] for f in reports["2"]["findings"]]
    assert "data_clean/field/street_observations.parquet" in files
    assert "outputs/metrics/zz_export.csv" in files


def _lost_worker(path):
    import os

    os._exit(1)  # a worker killed (out of memory): no answer


def test_a_lost_scanning_worker_leaves_its_tables_to_the_guard(project, capsys, monkeypatch):
    """The forked worker dies: its field tables are scanned in the guard's own process, the
    leak in a note is still found."""
    from observatoire.core.workers import WORKERS_ENV
    from observatoire.guard import leaks

    field = project / "data_clean" / "field"
    field.mkdir(parents=True)
    notes = ["Passage aux Quais, climat calme.", "Sophie Lambert dort au Parc depuis l'hiver."]
    pd.DataFrame({"partner_id": "travail_rue", "note": notes}).to_parquet(
        field / "street_observations.parquet"
    )
    monkeypatch.setattr(leaks, "_scan_in_worker", _lost_worker)
    monkeypatch.setenv(WORKERS_ENV, "2")
    code, report, _, _ = _run(capsys)
    assert code == 1
    [finding] = report["findings"]
    assert finding["file"] == "data_clean/field/street_observations.parquet"
    assert finding["kind"] == "identité en texte libre"
