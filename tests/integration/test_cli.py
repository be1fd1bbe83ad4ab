"""Bad input gets a French answer and an exit code; nothing is left half-written."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
import yaml

from observatoire.cli import STAGES, build_parser, main
from observatoire.config.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real params and mappings and a tiny synthetic sample, generated once per module (the
    generator is deterministic): each test works on its own copy (:func:`project`)."""
    base = tmp_path_factory.mktemp("cli_echantillon")
    shutil.copytree(ROOT / "params", base / "params")
    params = yaml.safe_load((base / "params/pipeline.yaml").read_text(encoding="utf-8"))
    params["sample"]["scale"] = 0.04  # as small as ingest is sure to succeed (test_faults)
    (base / "params/pipeline.yaml").write_text(
        yaml.safe_dump(params, allow_unicode=True), encoding="utf-8"
    )
    with contextlib.chdir(base):
        assert main(["generate-sample"]) == 0
    return base


@pytest.fixture
def project(generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder of its own with the real params and mappings and a tiny synthetic
    sample (a copy of :func:`generated`: a test may break it)."""
    shutil.copytree(generated, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
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


# --- verbs: one per dvc stage, former verbs as aliases -----------------------------------------

PARAMS = ["--params", str(ROOT / "params/pipeline.yaml")]
DVC_STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _func(*argv: str):
    return build_parser().parse_args([*PARAMS, *argv]).func


@pytest.mark.parametrize("stage", sorted(DVC_STAGES))
def test_every_dvc_stage_has_the_verb_of_its_name_and_dvc_calls_it(stage: str):
    verb = stage.replace("_", "-")
    assert STAGES[stage][0] == verb
    assert _func(verb) is STAGES[stage][2]
    assert DVC_STAGES[stage]["cmd"] == f"observatoire {verb}"


def test_the_cli_has_no_stage_that_dvc_lacks():
    assert list(STAGES) == list(DVC_STAGES)  # same stages, in pipeline order


@pytest.mark.parametrize(
    ("alias", "verb"),
    [("qualite", "quality"), ("report-jeunes", "youth-report"), ("guard", "leak-guard")],
)
def test_former_verbs_still_work(alias: str, verb: str):
    assert _func(alias) is _func(verb)


@pytest.mark.parametrize(
    ("verb", "notebook"),
    [("indicators", "indicateurs"), ("trends", "tendances"), ("youth", "jeunes")],
)
def test_a_notebook_stage_verb_runs_its_notebook_like_notebook_name(
    verb: str, notebook: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    import observatoire.core.notebooks as notebooks

    monkeypatch.chdir(tmp_path)  # away from the project's data, made with the analyst's key

    ran: list[tuple[str, Path, int, int]] = []
    monkeypatch.setattr(
        notebooks,
        "run_notebook",
        lambda name, path, year, k: ran.append((name, path, year, k)),
    )
    assert main([*PARAMS, verb]) == 0
    assert main([*PARAMS, "notebook", notebook]) == 0
    assert ran[0] == ran[1] and ran[0][0] == notebook
    report = load_settings(ROOT / "params/pipeline.yaml").report
    assert ran[0][1:] == (ROOT / "params/pipeline.yaml", report.year, report.disclosure_threshold)


@pytest.mark.parametrize("verb", ["partners", "summary", "check", "pseudonyme", "notebook"])
def test_the_analyst_tools_keep_their_verbs(verb: str):
    assert f"    {verb} " in build_parser().format_help()


def test_help_is_french(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "étapes du pipeline" in out and "leak-guard" in out and "fichier de paramètres" in out


def test_publier_archives_a_released_year_once(project, capsys):
    """`observatoire publier ANNÉE` copies the year's ledger to publications/ANNÉE/ and refuses
    to rewrite it; without a report it says what to do first."""
    assert main(["publier", "2024"]) != 0
    assert "produisez d'abord le rapport 2024" in capsys.readouterr().err
    ledger = project / "outputs/tables/2024/cases_publiees.csv"
    ledger.parent.mkdir(parents=True)
    ledger.write_text("key,status,value,tables\npersonnes|2024|reseau,publie,10,t\n")
    assert main(["release", "2024"]) == 0
    assert (project / "publications/2024/cases_publiees.csv").read_text() == ledger.read_text()
    assert "git add publications/2024" in capsys.readouterr().out
    assert main(["publier", "2024"]) != 0
    assert "déjà archivée" in capsys.readouterr().err


# --- partner mappings: the schema's refusals reach every command ------------------------------


@pytest.fixture
def mappings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with the real params and mappings, no data: a mapping is refused before
    any file is read."""
    shutil.copytree(ROOT / "params", tmp_path / "params")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _break(project: Path, change) -> Path:
    path = project / "params/partners/abri_nuit.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


BROKEN = {
    "join": (lambda r: r.update(join={"on": "person_id"}), "« join »"),
    "quotechar": (
        lambda r: r["exports"][0]["format"].update(quotechar='"'),
        "« exports[0].format.quotechar »",
    ),
    "table": (
        lambda r: r["exports"][1].update(table="contact"),
        "« exports[1].table » vaut « contact »",
    ),
}


@pytest.mark.parametrize("verb", ["partners", "ingest", "check"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_wrong_mapping_key_stops_every_command_with_exit_2_in_french(
    mappings, capsys, verb: str, case: str
):
    change, key = BROKEN[case]
    path = _break(mappings, change)
    argv = {
        "partners": ["partners"],
        "ingest": ["ingest"],
        "check": [
            "check",
            "data_raw/sample/abri_nuit/abri_nuit_sejours_2024.csv",
            "--partner",
            "abri_nuit",
        ],
    }[verb]
    assert main(argv) == 2
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "correspondance refusée" in text.lower() and "params/partners/abri_nuit.yaml" in text
    assert key in text and "À faire" in text and "docs/correspondances.md" in text
    assert "Traceback" not in text and "TypeError" not in text and "Input should" not in text
    assert path.exists() and not (mappings / "data_clean").exists()


def test_check_of_another_partner_is_not_blocked_by_a_broken_mapping(mappings, capsys):
    _break(mappings, lambda r: r.update(join={}))
    assert main(["check", "absent.csv", "--partner", "accueil_jour"]) == 2
    out = capsys.readouterr().out
    assert "absent.csv" in out and "correspondance refusée" not in out.lower()


def test_partners_schema_prints_every_key_and_markdown_is_the_reference_page(mappings, capsys):
    assert main(["partners", "--schema"]) == 0
    out = capsys.readouterr().out
    for key in ("exports[].format.delimiter", "exports[].columns.<champ>.codes", "capacity.beds"):
        assert f"\n{key}\n" in out
    assert "Valeurs admises" in out and "Exemple" in out and "Défaut" in out
    assert main(["partners", "--schema", "--markdown"]) == 0
    assert capsys.readouterr().out == (ROOT / "docs/correspondances.md").read_text("utf-8")


@pytest.mark.parametrize(
    ("argv", "french"),
    [
        (["check", "fichier.csv"], "arguments obligatoires manquants : --partner"),
        (["chek"], "choix inconnu : 'chek'"),
        (["check", "--partner", "abri_nuit", "a.csv", "b.csv"], "arguments inconnus : b.csv"),
        (["check", "--partner"], "une valeur est attendue"),
    ],
)
def test_a_mistyped_command_line_is_answered_in_french(argv, french, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert french in err
    assert err.startswith("utilisation : observatoire")
    assert "usage:" not in err and "error:" not in err


def test_a_reader_that_goes_away_is_not_a_traceback():
    """`observatoire partners --schema --markdown | head -1`: the pipe closes before we finish."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "observatoire.cli", "partners", "--schema", "--markdown"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr


def test_ingest_records_its_key_and_a_changed_key_stops_the_next_stages(
    project, monkeypatch, capsys
):
    """Issue 17, defect 8: a changed key used to go through, dropping the overrides quietly."""
    from observatoire.intake.key_fingerprint import CHANGE_ENV, fingerprint
    from tests.support.keys import OTHER_KEY, TEST_KEY

    assert main(["ingest"]) == 0
    recorded = (project / "data_clean/cle_empreinte.json").read_text(encoding="utf-8")
    assert fingerprint(bytes.fromhex(TEST_KEY)) in recorded and TEST_KEY not in recorded
    monkeypatch.setenv("OBSERVATOIRE_CLE", OTHER_KEY)
    for verb in ("validate", "ingest"):
        assert main([verb]) == 2
        err = capsys.readouterr().err
        assert "n'est pas celle qui a produit" in err and "Traceback" not in err
    assert not (project / "data_clean/validated").exists()
    monkeypatch.setenv(CHANGE_ENV, "1")
    assert main(["ingest"]) == 0
    assert "ATTENTION : changement de clé" in capsys.readouterr().err
    recorded = (project / "data_clean/cle_empreinte.json").read_text(encoding="utf-8")
    assert fingerprint(bytes.fromhex(OTHER_KEY)) in recorded
