"""End to end: `dvc repro` on a reduced synthetic sample, then check what a reader relies on.

The pipeline runs once per test session in a temporary copy of the project (reduced sample
params), exactly as the analyst runs it; the tests then recompute published figures
independently from ``data_clean/`` and compare them with the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from observatoire.charts import french_number

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
YEAR = 2024
SCALE = 0.12


def _copy_project(dest: Path) -> None:
    for name in ("dvc.yaml", "params", "notebooks", "src"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(src, dest / name)
    params_path = dest / "params/pipeline.yaml"
    params = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params["sample"]["scale"] = SCALE
    params["report"]["year"] = YEAR
    params_path.write_text(
        yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("pipeline") / "projet"
    dest.mkdir()
    _copy_project(dest)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": "b2" * 32}
    env.pop("OBSERVATOIRE_CLE_FICHIER", None)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    assert _run([str(BIN / "dvc"), "init", "-q"], dest, env).returncode == 0
    _run([str(BIN / "dvc"), "config", "core.analytics", "false"], dest, env)
    run = _run([str(BIN / "dvc"), "repro"], dest, env)
    (dest / "repro.log").write_text(run.stdout + run.stderr, encoding="utf-8")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return dest


@pytest.fixture(scope="session")
def clean(project: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_parquet(project / "data_clean" / f"{name}.parquet")
        for name in ("contacts", "persons", "refusals")
    }


@pytest.fixture(scope="session")
def report_html(project: Path) -> str:
    return (project / f"outputs/reports/{YEAR}/observatoire.html").read_text(encoding="utf-8")


def test_report_files_exist_and_pdf_is_a_pdf(project: Path) -> None:
    out = project / f"outputs/reports/{YEAR}"
    assert (out / "observatoire.html").stat().st_size > 10_000
    pdf = (out / "observatoire.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    assert (out / "observatoire.qmd").exists()


def test_executed_notebooks_are_kept_with_code(project: Path) -> None:
    for name in ("indicateurs", "tendances"):
        html = (project / f"outputs/notebooks/{name}.html").read_text(encoding="utf-8")
        assert "observatoire" in html and "parameters" in html


def test_network_distinct_persons_match_an_independent_count(clean, report_html) -> None:
    c = clean["contacts"]
    expected = c.loc[pd.to_datetime(c["date_start"]).dt.year == YEAR, "person_id"].nunique()
    assert expected >= 5
    assert f"<strong>{french_number(expected)} personnes distinctes</strong>" in report_html


def test_per_dispositif_counts_match_and_small_counts_are_hidden(clean, report_html) -> None:
    c = clean["contacts"]
    year = c[pd.to_datetime(c["date_start"]).dt.year == YEAR]
    for disp, n in year.groupby("dispositif")["person_id"].nunique().items():
        shown = "&lt; 5" if 0 < n < 5 else french_number(n)
        assert shown in report_html, (disp, n)


def test_published_tables_apply_the_disclosure_rule(project: Path) -> None:
    tables = project / f"outputs/tables/{YEAR}"
    files = sorted(tables.glob("*.csv"))
    assert files
    for f in files:
        frame = pd.read_csv(f, dtype=str)
        for col in frame.columns:
            if col.startswith(("personnes", "hommes", "femmes", "total")):
                for value in frame[col].dropna():
                    digits = value.replace("\u202f", "")
                    if digits.isdigit():
                        assert int(digits) == 0 or int(digits) >= 5, (f.name, col, value)


def test_tables_workbook_has_a_sheet_per_table_and_notes(project: Path) -> None:
    from openpyxl import load_workbook

    tables = project / f"outputs/tables/{YEAR}"
    wb = load_workbook(tables / f"tableaux_{YEAR}.xlsx", read_only=True)
    # Every published table is a sheet (Excel cuts names at 31 characters); the ledger of cell
    # statuses (cases_publiees.csv) is a register for the analyst, not a table of the report.
    csv_names = {p.stem[:31] for p in tables.glob("*.csv") if p.stem != "cases_publiees"}
    assert set(wb.sheetnames) == csv_names | {"Notes"}
    notes = " ".join(str(r[0]) for r in wb["Notes"].iter_rows(values_only=True) if r[0])
    assert "Secret statistique" in notes


def test_every_row_read_is_clean_or_quarantined(project: Path, clean) -> None:
    rows = json.loads((project / "outputs/metrics/rows.json").read_text())
    for acc in rows["files"].values():
        assert acc["rows_read"] == acc["rows_clean"] + acc["rows_quarantined"]
    n_contacts = len(clean["contacts"]) + len(clean["refusals"])
    assert rows["rows_clean"] == n_contacts


def test_clean_data_holds_no_identity(clean) -> None:
    forbidden = {"surname", "first_name", "birth_date", "local_id", "initials"}
    for frame in clean.values():
        assert not forbidden & set(frame.columns)


def test_distinct_persons_per_partner_close_to_the_truth(project: Path, clean) -> None:
    truth = pd.read_csv(project / "data_raw/sample_truth/truth.csv").drop(columns=["partner_id"])
    c = clean["contacts"].merge(truth, on=["source_file", "source_row"], how="left")
    assert c["true_person_id"].notna().all()
    for partner, grp in c[c["partner_id"] != "travail_rue"].groupby("partner_id"):
        found, true = grp["person_id"].nunique(), grp["true_person_id"].nunique()
        assert abs(found - true) / true < 0.05, (partner, found, true)


def test_report_states_the_sha256_of_every_raw_file(project: Path, report_html: str) -> None:
    raw = project / "data_raw/sample"
    for path in raw.rglob("*"):
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() in report_html


def test_pdf_metadata_date_comes_from_the_data_year(project: Path) -> None:
    pdf = (project / f"outputs/reports/{YEAR}/observatoire.pdf").read_bytes()
    dates = re.findall(rb"CreationDate\s*\(D:(\d{8})", pdf)
    assert dates and all(d.startswith(str(YEAR + 1).encode()) for d in dates)


def test_noop_rerun_changes_nothing(project: Path) -> None:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": "b2" * 32}
    status = _run([str(BIN / "dvc"), "status"], project, env)
    assert "up to date" in status.stdout or "à jour" in status.stdout, status.stdout


def _digests(project: Path) -> dict[str, str]:
    files = sorted((project / "data_clean").rglob("*.parquet"))
    files += sorted((project / f"outputs/tables/{YEAR}").glob("*"))
    files += [project / f"outputs/reports/{YEAR}/observatoire.pdf"]
    return {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_rerun_gives_byte_identical_clean_data_tables_and_pdf(project: Path) -> None:
    """Same inputs, params and key → the same bytes (runs last: it rewrites the outputs)."""
    before = _digests(project)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": "b2" * 32}
    for stage in ("ingest", "validate", "link", "report"):
        run = _run([str(BIN / "dvc"), "repro", "-f", "-s", stage], project, env)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert _digests(project) == before


def test_youth_report_is_built_and_its_cohort_is_the_data(project: Path, clean) -> None:
    """`dvc repro` builds the youth report; the cohort it publishes is recomputed here from
    the clean contacts, independently of observatoire.youth."""
    out = project / f"outputs/reports/{YEAR}"
    html = (out / "jeunes-en-errance.html").read_text(encoding="utf-8")
    assert (out / "jeunes-en-errance.pdf").read_bytes().startswith(b"%PDF")
    assert (project / "outputs/notebooks/jeunes.html").exists()
    contacts = clean["contacts"]
    first = contacts.sort_values(["date_start", "source_file", "source_row"]).drop_duplicates(
        "person_id"
    )
    window = first["date_start"].between(f"{YEAR - 3}-01-01", f"{YEAR - 2}-12-31")
    age = first["age_at_contact"].fillna(-1).astype(float).apply(lambda a: int(a // 1))
    youth = int((window & age.between(18, 25)).sum())
    adults = int((window & (age >= 26)).sum())
    text = re.sub(r"<[^>]+>", "", html)
    expected = french_number(youth) if youth >= 5 else "< 5"
    assert f"{expected} jeunes de 18 à 25 ans" in text
    assert french_number(adults) in text
    # Every person count of the cohort table (Quarto source) is 0, ≥ 5, or « < 5 ».
    qmd = (out / "jeunes-en-errance.qmd").read_text(encoding="utf-8")
    rows = [
        line
        for line in qmd[qmd.index("{#tbl-cohorte}") : qmd.index("callout-note")].splitlines()
        if line.startswith("| ") and not line.startswith("| Groupe")
    ]
    cells = [c.strip() for line in rows for c in line.strip("|").split("|")[1:]]
    counts = [int(c.replace("\u202f", "")) for c in cells if c and c[0].isdigit()]
    assert counts and all(n == 0 or n >= 5 for n in counts)
