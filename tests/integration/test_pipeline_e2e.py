"""End to end: `make run`'s `observatoire repro` (DVC, two stages at a time) on a reduced
synthetic sample, then check what a reader relies on.

The pipeline runs once per test session in a temporary copy of the project (reduced sample
params), exactly as the analyst runs it; the tests then recompute published figures
independently from ``data_clean/`` and compare them with the report.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.schema import EXIT_REASONS, NATIONALITY_GROUPS
from observatoire.reports.charts import french_number
from tests.support.attacker import (
    chain,
    integers_left,
    reader_view,
    relations_from_tables,
    value_intervals,
)
from tests.support.keys import PIPELINE_KEY
from tests.support.pdf_text import (
    BARE_COUNT,
    deck_lines,
    masks_lost,
    pdf_lines,
    person_counts_in_prose,
)
from tests.support.published import (
    FLOWS,
    LONG_STAY,
    LONG_STAY_PARTS,
    SECONDARY_TEXT,
    YOUTH_FOLDER,
    cell_texts,
    check_published,
    html_rows,
    parse_number,
    partner_labels,
    plain_text,
    read_grids,
    read_params,
    read_partners,
)
from tests.support.recount import (
    AGE_NAMES,
    HOUSING_FIRST,
    SHELTER,
    STAY_SERVICES,
    as_day,
    covered_days,
    flow_status,
    person_profiles,
    present_in,
    shelter_nights,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
YEAR = 2024
SCALE = 0.12


def _copy_project(dest: Path) -> None:
    for name in ("dvc.yaml", "params", "publications", "notebooks", "src"):
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


# A hang guard, not a timing: on a loaded machine, with `make test`'s second process running the
# other end-to-end module, the whole `dvc repro` once took more than 1 200 s.
HANG_GUARD_S = 3600


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S
    )


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("pipeline") / "projet"
    dest.mkdir()
    _copy_project(dest)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": PIPELINE_KEY}
    env.pop("OBSERVATOIRE_CLE_FICHIER", None)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    assert _run([str(BIN / "dvc"), "init", "-q"], dest, env).returncode == 0
    _run([str(BIN / "dvc"), "config", "core.analytics", "false"], dest, env)
    # as `make run` does: DVC's stages two at a time (core.scheduler); test_key_dvc and the
    # small networks run plain `dvc repro`
    run = _run([str(BIN / "observatoire"), "repro"], dest, env)
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


def test_report_source_has_no_markup_left_as_text(project: Path) -> None:
    """Every heading of the Quarto source starts a block (after a blank line or a div fence: a
    heading glued to the paragraph above is printed as « ## … » text), and no template tag
    survives."""
    for name in ("observatoire.qmd", "jeunes-en-errance.qmd"):
        source = project / f"outputs/reports/{YEAR}/{name}"
        if not source.exists():
            continue
        lines = source.read_text(encoding="utf-8").splitlines()
        fenced = False
        for n, line in enumerate(lines):
            if line.startswith(("```", "~~~")):
                fenced = not fenced
            before = lines[n - 1].strip() if n else ""
            glued = bool(before) and not before.startswith(":::")
            if not fenced and re.match(r"#{1,6} ", line) and glued:
                raise AssertionError(f"{name}, ligne {n + 1} : titre collé au paragraphe : {line}")
        text = "\n".join(lines)
        assert "{%" not in text and "{{ " not in text, name


def test_executed_notebooks_are_kept_with_code(project: Path) -> None:
    for name in ("indicateurs", "tendances"):
        html = (project / f"outputs/notebooks/{name}.html").read_text(encoding="utf-8")
        assert "observatoire" in html and "parameters" in html


def test_validated_records_are_the_clean_ones_but_the_linked_person(
    project: Path, clean: dict[str, pd.DataFrame]
) -> None:
    """The barometer counts nights and contacts from the validated records so that it need
    not wait for ``link`` (PATHS.validated_contacts): that holds only while linkage adds
    ``person_id`` and changes no row, no order, no other column."""
    validated = project / "data_clean/validated"
    contacts = pd.read_parquet(validated / "contacts.parquet")
    assert "person_id" not in contacts.columns
    linked = clean["contacts"].drop(columns="person_id")
    pd.testing.assert_frame_equal(contacts[linked.columns], linked)
    assert set(contacts.columns) == set(linked.columns)
    refusals = pd.read_parquet(validated / "refusals.parquet")
    pd.testing.assert_frame_equal(refusals, clean["refusals"])


# --- published figures against an independent recount (tests/support/recount.py), the tables
# read back as an outsider reads them (tests/support/published.py) ------------------------------


def test_the_recount_applies_the_presence_rules_to_a_hand_made_sample() -> None:
    """The recount itself, on five persons worked out by hand (no pipeline)."""
    nat = pd.NaT
    contacts = pd.DataFrame(
        [
            # person, dispositif, entry, exit, nights, year delivered
            ("a", SHELTER, "2023-12-28", "2024-01-03", 6, 2023),  # across New Year
            ("b", HOUSING_FIRST, "2021-03-01", nat, None, 2021),  # housed since 2021
            ("c", "maison_accueil", "2024-05-01", "2024-05-01", 0, 2024),  # same-day stay
            ("d", SHELTER, "2024-12-30", nat, None, 2024),  # no exit: one night
            ("e", "accueil_jour", "2022-10-05", nat, None, 2022),
            ("e", "accueil_jour", "2024-02-01", nat, None, 2024),
        ],
        columns=["person_id", "dispositif", "date_start", "date_end", "nights", "year"],
    ).astype({"date_start": "datetime64[ms]", "date_end": "datetime64[ms]", "nights": float})
    cov = covered_days(contacts)
    assert sorted(present_in(cov, 2023)["person_id"]) == ["a", "b"]
    assert sorted(present_in(cov, 2024)["person_id"].unique()) == ["a", "b", "c", "d", "e"]
    assert sorted(present_in(cov, 2021)["person_id"]) == ["b"]
    status = flow_status(cov, 2024, 730, 90)
    assert status is not None
    # a and b were present on 31/12/2023; e was last seen 453 days before 1/1/2024.
    assert status.to_dict() == {
        "a": "continuing",
        "b": "continuing",
        "c": "new",
        "d": "new",
        "e": "returning",
    }
    assert flow_status(cov, 2022, 730, 90) is None  # data start on 1/3/2021: no 730 days
    nights = shelter_nights(cov)
    assert nights.sum() == 7 and nights[pd.Timestamp("2024-01-02")] == 1
    assert (nights.index.year == 2023).sum() == 4  # 28, 29, 30, 31 December
    assert pd.Timestamp("2024-12-30") in nights.index


@pytest.fixture(scope="session")
def published(project: Path) -> dict[str, Any]:
    """What the report publishes: the CSV tables as grids and cells, the ledger, k, params."""
    params = read_params(project)
    partners = read_partners(project)
    grids = read_grids(project / f"outputs/tables/{YEAR}", partner_labels(partners), YEAR)
    return {
        "grids": grids,
        "cells": cell_texts(grids),
        "ledger": pd.read_csv(project / f"outputs/tables/{YEAR}/cases_publiees.csv"),
        "k": int(params["report"]["disclosure_threshold"]),
        "params": params,
        "partners": partners,
        "tables_dir": project / f"outputs/tables/{YEAR}",
        "indicators": json.loads(
            (project / f"outputs/indicators/{YEAR}/indicateurs.json").read_text(encoding="utf-8")
        ),
    }


@pytest.fixture(scope="session")
def covered(clean: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return covered_days(clean["contacts"])


def _shown(n: int, k: int) -> str:
    """What the report prints for a count of ``n`` (in the package's own number format)."""
    return f"< {k}" if 0 < n < k else french_number(n)


def test_every_figure_csv_prints_the_ledger_s_cells(project: Path, published) -> None:
    """A chart prints what the tables print (regression: the age pyramid once drew men under 18,
    women 22–25 and women 65+ that Tableau 5 masked, and the « < 5 » cells beside them could be
    recomputed from the row totals). Every figure's CSV names ledger keys; a hidden key has no
    value there and shows its mask."""
    ledger = published["ledger"].set_index("key")
    figures = sorted((project / f"outputs/reports/{YEAR}/figures").glob("*.csv"))
    assert figures, "no figure CSV beside the report's figures"
    for path in figures:
        frame = pd.read_csv(path, dtype={"text": str})
        for row in frame.itertuples():
            assert row.key in ledger.index, (path.name, row.key)
            status = ledger.loc[row.key, "status"]
            assert row.status == status, (path.name, row.key)
            if status != "publie":
                assert pd.isna(row.value) and not str(row.text)[:1].isdigit(), (path.name, row)
            else:
                assert row.value == ledger.loc[row.key, "value"], (path.name, row.key)


def test_ledger_and_tables_print_the_same_cells(published) -> None:
    """A quantity printed in several tables reads the same everywhere, and the reader's key for
    every printed cell is the ledger's: same keys, statuses and values (so the checks and the
    attack below read the tables as the ledger names them). The youth report's cells are in the
    same ledger, its tables in their subfolder."""
    cells, ledger, k = published["cells"], published["ledger"], published["k"]
    # the other reports' cells (youth report, seasonal plans, maps) are in the same ledger,
    # their tables in their subfolders: each table the ledger names there is a file
    youth = ledger["tables"].str.startswith(f"{YOUTH_FOLDER}/")
    other = ledger["tables"].map(lambda ts: all("/" in t for t in ts.split(", ")))
    files = {
        p.relative_to(published["tables_dir"]).with_suffix("").as_posix()
        for p in published["tables_dir"].glob("*/*.csv")
    }
    named = {t for ts in ledger.loc[other, "tables"] for t in ts.split(", ") if "/" in t}
    assert youth.any() and named <= files, sorted(named - files)
    ledger = ledger[~other]
    for g in published["grids"]:
        for r, c in itertools.product(g.keys.index, g.keys.columns):
            key = g.keys.loc[r, c]
            assert key is None or g.text.loc[r, c] == cells[key], (g.name, r, c, key)
    assert set(ledger["key"]) == set(cells)
    for row in ledger.itertuples():
        text = cells[row.key]
        if row.status == "publie":
            assert parse_number(text) == row.value, (row.key, text, row.value)
        else:
            assert pd.isna(row.value), row.key
            assert text == {"primaire": f"< {k}", "secondaire": SECONDARY_TEXT}[row.status]


def test_network_distinct_persons_match_an_independent_count(
    covered, published, report_html
) -> None:
    """Persons present in each year (personnes_par_annee, personnes_par_dispositif) and the
    headline of the report."""
    cells, k = published["cells"], published["k"]
    years = sorted(int(y) for y in covered["year"].unique() if y <= YEAR)
    for year in years:
        check_published(
            cells, f"personnes|{year}|reseau", present_in(covered, year)["person_id"].nunique(), k
        )
    n = present_in(covered, YEAR)["person_id"].nunique()
    assert n >= k
    assert f"<strong>{french_number(n)} personnes distinctes</strong>" in report_html


def test_per_dispositif_counts_match_and_small_counts_are_hidden(
    covered, published, report_html
) -> None:
    """Persons per dispositif and year, per partner, the base of the time-in-service table,
    and the report's key-figures table (persons present; contacts by the year they start)."""
    cells, k = published["cells"], published["k"]
    for year in sorted(int(y) for y in covered["year"].unique() if y <= YEAR):
        for disp, n in (
            present_in(covered, year).groupby("dispositif")["person_id"].nunique().items()
        ):
            check_published(cells, f"personnes|{year}|dispositif={disp}", int(n), k)
    present = present_in(covered, YEAR)
    for pid, n in present.groupby("partner_id")["person_id"].nunique().items():
        check_published(cells, f"personnes|{YEAR}|partenaire={pid}", int(n), k)
    for disp, n in present.groupby("dispositif")["person_id"].nunique().items():
        check_published(cells, f"personnes|{YEAR}|dispositif={disp}", int(n), k)
    rows = {row[0]: row for row in html_rows(report_html, "tbl-chiffres-cles")}
    delivered = covered[covered["year"] == YEAR].groupby("dispositif").size()
    for disp, n in present.groupby("dispositif")["person_id"].nunique().items():
        row = rows[DISPOSITIFS[disp]]
        assert row[1] == _shown(int(n), k), (disp, row, n)
        assert row[3] == french_number(int(delivered[disp])), (disp, row, delivered[disp])


def test_profile_tables_match_an_independent_count(covered, published, report_html) -> None:
    """Age × sex (every cell and margin) and nationality groups; the youth headline."""
    cells, k = published["cells"], published["k"]
    profile = person_profiles(covered, YEAR)
    cross = profile.groupby(["age", "sex"]).size()
    for age in [*AGE_NAMES, "inconnu"]:
        for sex in ("M", "F", "inconnu/X"):
            check_published(
                cells, f"personnes|{YEAR}|age={age}|sexe={sex}", int(cross.get((age, sex), 0)), k
            )
        check_published(cells, f"personnes|{YEAR}|age={age}", int((profile["age"] == age).sum()), k)
    for sex in ("M", "F", "inconnu/X"):
        check_published(
            cells, f"personnes|{YEAR}|sexe={sex}", int((profile["sex"] == sex).sum()), k
        )
    for group in NATIONALITY_GROUPS:
        n = int((profile["nationality"] == group).sum())
        check_published(cells, f"personnes|{YEAR}|nationalite={group}", n, k)
    youth = int(profile["age"].isin(["18-21", "22-25"]).sum())
    assert f"de jeunes de 18 à 25 ans ({_shown(youth, k)} personnes)" in plain_text(report_html)


def test_flows_match_an_independent_count(covered, published, report_html) -> None:
    """New / continuing / returning for the network each year (presence-based, windows from the
    params) and per dispositif in the report year; years without the look-back are not shown."""
    cells, k = published["cells"], published["k"]
    flows = published["params"]["report"]["flows"]
    windows = (int(flows["new_lookback_days"]), int(flows["continuing_days"]))
    shown_years = 0
    for year in sorted(int(y) for y in covered["year"].unique() if y <= YEAR):
        status = flow_status(covered, year, *windows)
        if status is None:
            assert not any(key.startswith(f"personnes|{year}|flux=") for key in cells), year
            continue
        shown_years += 1
        counts = status.value_counts()
        for flow in FLOWS:
            check_published(cells, f"personnes|{year}|flux={flow}", int(counts.get(flow, 0)), k)
    assert shown_years >= 1
    status = flow_status(covered, YEAR, *windows)
    assert status is not None
    present = present_in(covered, YEAR)
    for disp, persons in present.groupby("dispositif")["person_id"].unique().items():
        counts = status.reindex(persons).value_counts()
        for flow in FLOWS:
            key = f"personnes|{YEAR}|dispositif={disp}|flux={flow}"
            check_published(cells, key, int(counts.get(flow, 0)), k)
    new = int((status == "new").sum())
    assert f"{_shown(new, k)} nouvelles personnes" in plain_text(report_html)


def test_multi_service_use_matches_an_independent_count(covered, published) -> None:
    """Persons by combination of services d'urgence et de jour (a long stay, maison d'accueil
    or Housing First, never splits a row; persons with only a long stay have their own row) and
    by number of those services (0 to 3+); rows under k are only published together as
    « autres combinaisons », and every row of 50 persons or more is published."""
    cells, k = published["cells"], published["k"]
    present = present_in(covered, YEAR)
    short = present[~present["dispositif"].isin(LONG_STAY_PARTS)]
    sets = short.groupby("person_id")["dispositif"].agg(lambda s: "+".join(sorted(set(s))))
    sets = sets.reindex(present["person_id"].unique()).fillna(LONG_STAY)
    size = (sets.str.count(r"\+") + 1).where(sets != LONG_STAY, 0)
    for label, n in (("0", 0), ("1", 1), ("2", 2)):
        check_published(cells, f"personnes|{YEAR}|nb_services={label}", int((size == n).sum()), k)
    check_published(cells, f"personnes|{YEAR}|nb_services=3+", int((size >= 3).sum()), k)
    combos = sets.value_counts()
    for combo, n in combos[combos >= k].items():
        check_published(cells, f"personnes|{YEAR}|parcours={combo}", int(n), k)
        if n >= 50:
            assert parse_number(cells[f"personnes|{YEAR}|parcours={combo}"]) == n, combo
    listed = {key for key in cells if key.startswith(f"personnes|{YEAR}|parcours=")}
    if (combos < k).any():
        others = int(combos[combos < k].sum())
        check_published(cells, f"personnes|{YEAR}|parcours=autres", others, k)
        assert len(listed) == int((combos >= k).sum()) + 1
    else:
        assert len(listed) == int((combos >= k).sum())


def test_shelter_occupancy_matches_an_independent_count(covered, clean, published) -> None:
    """Nights (each in its month), bed-nights offered (permanent beds + winter-plan beds on
    winter nights, capacities of the shelter partners), occupancy and refusals, per month and
    for the year: the CSV of shelter figures and indicateurs.json."""
    rep = published["params"]["report"]
    shelters = [p for p in published["partners"].values() if p["dispositif"] == SHELTER]
    beds = sum(p["capacity"].get("beds", 0) for p in shelters)
    extra = sum(p["capacity"].get("winter_extra_beds", 0) for p in shelters)
    days = pd.date_range(f"{YEAR}-01-01", f"{YEAR}-12-31", freq="D")
    md = days.strftime("%m-%d")
    winter = (md >= rep["winter_start"]) | (md <= rep["winter_end"])
    refusals = clean["refusals"]
    refused = refusals.groupby(as_day(refusals["date"]))["refusals"].sum()
    frame = pd.DataFrame(
        {
            "nights": shelter_nights(covered).reindex(days, fill_value=0).to_numpy(),
            "capacity": beds + extra * winter.astype(int),
            "refusals": refused.reindex(days, fill_value=0).to_numpy(),
        },
        index=days,
    )
    months = frame.groupby(frame.index.month).agg(
        nights=("nights", "sum"),
        capacity=("capacity", "sum"),
        refusals=("refusals", "sum"),
        refusal_nights=("refusals", lambda r: int((r > 0).sum())),
    )
    monthly = {int(m["month"]): m for m in published["indicators"]["occupancy_monthly"]}
    assert sorted(monthly) == list(range(1, 13))
    for month, row in months.iterrows():
        got = monthly[int(month)]
        assert got["nights"] == row["nights"], (month, got, row.to_dict())
        assert got["capacity_nights"] == row["capacity"], month
        assert got["refusals"] == row["refusals"], month
        assert got["refusal_nights"] == row["refusal_nights"], month
        assert got["occupancy"] == pytest.approx(row["nights"] / row["capacity"]), month
    year = months.sum()
    csv = pd.read_csv(
        Path(published["tables_dir"]) / "chiffres_hebergement_urgence.csv", dtype=str
    ).set_index("indicateur")["valeur"]
    assert parse_number(csv["nuitées"]) == year["nights"]
    assert parse_number(csv["nuitées offertes"]) == year["capacity"]
    assert (
        abs(parse_number(csv["taux d'occupation"]) - 100 * year["nights"] / year["capacity"])
        <= 0.05
    )
    assert parse_number(csv["refus faute de place"]) == year["refusals"]
    assert parse_number(csv["nuits avec au moins un refus"]) == year["refusal_nights"]
    shelter = published["indicators"]["shelter"]
    assert (shelter["nights"], shelter["capacity_nights"]) == (year["nights"], year["capacity"])
    assert shelter["refusal_nights"] == year["refusal_nights"]


def test_exit_reasons_match_an_independent_count(covered, published) -> None:
    """Stays whose exit date falls in the year, per service and reason (stays, not persons);
    a service that exports no reason is not shown."""
    cells, k = published["cells"], published["k"]
    ended = covered[
        covered["dispositif"].isin(STAY_SERVICES)
        & (as_day(covered["date_end"]).dt.year == YEAR)
        & covered["exit_reason"].notna()
    ]
    counts = ended.groupby(["dispositif", "exit_reason"]).size()
    shown = {key.split("|")[2] for key in cells if key.startswith(f"sorties|{YEAR}|")}
    assert shown == {f"dispositif={d}" for d in ended["dispositif"].unique()}
    for disp in ended["dispositif"].unique():
        for reason in EXIT_REASONS:
            n = int(counts.get((disp, reason), 0))
            check_published(cells, f"sorties|{YEAR}|dispositif={disp}|motif={reason}", n, k)
        check_published(cells, f"sorties|{YEAR}|dispositif={disp}", int(counts.loc[disp].sum()), k)


def test_housing_first_retention_matches_an_independent_count(covered, published) -> None:
    """First tenancy of each person entered at least 12 (24) months before 31/12; still housed
    if no exit before the anniversary or an exit to other housing (relogement)."""
    cells, k = published["cells"], published["k"]
    hf = covered[covered["dispositif"] == HOUSING_FIRST]
    hf = hf.sort_values(["date_start", "source_file", "source_row"]).drop_duplicates("person_id")
    assert len(hf)
    for months in (12, 24):
        anchor = hf["first"] + pd.DateOffset(months=months)
        cohort = hf[anchor <= pd.Timestamp(YEAR, 12, 31)]
        anchor = anchor[cohort.index]
        running = cohort["exit_day"].isna() | (cohort["exit_day"] >= anchor)
        housed = running | (cohort["exit_reason"] == "relogement")
        died = ~running & (cohort["exit_reason"] == "deces")
        key = f"housing_first|{YEAR}|horizon={months}"
        if not len(cohort):
            assert key not in cells
            continue
        check_published(cells, key, len(cohort), k)
        check_published(cells, f"{key}|logees", int(housed.sum()), k)
        check_published(cells, f"{key}|decedees", int(died.sum()), k)
        check_published(cells, f"{key}|non_logees", int((~housed & ~died).sum()), k)


def test_returns_after_housing_match_an_independent_count(covered, published) -> None:
    """One exit cohort (first exit to housing of each person in the cohort years, ending
    ceil(max months / 12) years before 31/12), the same at every window; a return is a shelter
    entry after the exit day and within the window (the grace is for housing re-entries)."""
    cells, k = published["cells"], published["k"]
    ret = published["params"]["report"]["returns"]
    months = sorted(int(m) for m in ret["months"])
    last = YEAR - -(-max(months) // 12)
    first = last - int(ret.get("cohort_years", 1)) + 1
    exits = covered[
        covered["dispositif"].isin(STAY_SERVICES)
        & (covered["exit_reason"] == "relogement")
        & covered["exit_day"].notna()
        & covered["exit_day"].between(pd.Timestamp(first, 1, 1), pd.Timestamp(last, 12, 31))
    ]
    first_exit = exits.groupby("person_id")["exit_day"].min()
    entries = covered.loc[covered["dispositif"] == SHELTER, ["person_id", "first"]]
    later = entries.join(first_exit.rename("exit"), on="person_id", how="inner")
    check_published(cells, f"retours|{YEAR}|cohorte", len(first_exit), k)
    previous = -1
    for m in months:
        back = later[
            ((later["first"] - later["exit"]).dt.days >= 1)
            & (later["first"] <= later["exit"] + pd.DateOffset(months=m))
        ]
        returned = back["person_id"].nunique()
        assert returned >= previous  # nested windows of one cohort: never fewer
        previous = returned
        check_published(cells, f"retours|{YEAR}|horizon={m}|retour_abri", int(returned), k)


def test_long_term_stayers_match_an_independent_count(covered, published) -> None:
    """Persons with at least N nights homeless (shelter or maison d'accueil) in the window
    ending 31/12, among the persons present (a night or a contact day, Housing First
    excluded) in its last active_days days, whose number is published too."""
    cells, k = published["cells"], published["k"]
    lt = published["params"]["report"]["long_term"]
    lo = pd.Timestamp(YEAR - int(lt["window_years"]) + 1, 1, 1)
    hi = pd.Timestamp(YEAR, 12, 31)
    rows = covered[
        (covered["dispositif"] != HOUSING_FIRST)
        & (covered["first"] <= hi)
        & (covered["last"] >= lo)
    ]
    first, last = rows["first"].clip(lower=lo), rows["last"].clip(upper=hi)
    n = ((last - first).dt.days + 1).to_numpy()
    offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    days = pd.DataFrame(
        {
            "person_id": rows["person_id"].to_numpy().repeat(n),
            "day": first.to_numpy().repeat(n) + offsets.astype("timedelta64[D]"),
        }
    ).drop_duplicates()
    last_day = days.groupby("person_id")["day"].max()
    active = last_day[last_day > hi - pd.Timedelta(days=int(lt["active_days"]))].index
    check_published(cells, f"personnes|{YEAR}|presents_fin_annee", len(active), k)
    stay_rows = rows["dispositif"].isin(STAY_SERVICES).to_numpy().repeat(n)
    flagged = pd.DataFrame(
        {
            "person_id": rows["person_id"].to_numpy().repeat(n),
            "day": first.to_numpy().repeat(n) + offsets.astype("timedelta64[D]"),
            "night": stay_rows,
        }
    )
    nights = flagged[flagged["night"]].drop_duplicates(["person_id", "day"])
    per_person = nights.groupby("person_id").size().reindex(active, fill_value=0)
    for threshold in [int(d) for d in lt["days"]]:
        n_persons = int((per_person >= threshold).sum())
        check_published(cells, f"personnes|{YEAR}|longue_duree={threshold}", n_persons, k)


# --- the attack: recover hidden cells from the published tables alone (tests/support/attacker.py)


def test_both_reports_count_persons_by_one_rule(published) -> None:
    """One counting rule (presence in the year) in every output: the annual report's 18–25 year
    olds are the youth report's young actives (one ledger key printed by both), and the
    linkage's range brackets the report's count with the same rule (its maximum, no street-work
    record linked, is the network count; its named persons are the « identifiées »)."""
    ledger = published["ledger"].set_index("key")
    y = YEAR
    youth = ledger.loc[f"personnes|{y}|age=18-25"]
    assert f"{YOUTH_FOLDER}/profil_actifs" in youth["tables"], youth["tables"]
    assert "chiffres_du_profil" in youth["tables"]
    value = {k: ledger.loc[f"personnes|{y}|{k}", "value"] for k in ("reseau", "identifies")}
    bounds = {
        b: ledger.loc[f"personnes|{y}|liaison=fourchette_{b}", "value"]
        for b in ("minimum", "maximum")
    }
    assert bounds["maximum"] == value["reseau"], (bounds, value)
    assert value["identifies"] <= bounds["minimum"] <= bounds["maximum"], (bounds, value)


# Printed in another shape in the PDF (nothing to compare row by row): the combinations are a
# chart (its CSV is checked above), the exits one table per dispositif with motifs as rows.
RESHAPED_IN_PDF = {"combinaisons_de_dispositifs.csv", "sorties_par_motif.csv"}


def test_the_pdfs_print_nothing_the_published_tables_hide(project: Path, published) -> None:
    """The attacker's third source, the text of every PDF and of the slide deck, adds nothing to
    the CSVs it attacks:
    every number of persons in the prose is a value the ledger publishes (or the rule's own
    « entre 1 et k − 1 », the minimum for a mean), and every table row printed in a PDF shows
    its masks. Regression: the key figures once printed « 574 personnes » and the annex the
    linkage's person counts outside the publication."""
    ledger, k = published["ledger"], published["k"]
    printed = set(ledger.loc[ledger["status"] == "publie", "value"].astype(int))
    allowed = printed | {k - 1, k, int(published["params"]["report"]["min_persons_for_mean"])}
    tables = published["tables_dir"]
    reports = project / f"outputs/reports/{YEAR}"
    for pdf, folder in (
        ("observatoire.pdf", tables),
        ("jeunes-en-errance.pdf", tables / YOUTH_FOLDER),
    ):
        lines = pdf_lines(reports / pdf)
        counts = person_counts_in_prose(lines)
        assert len(counts) >= 5, (pdf, counts)  # not vacuous: the reports print counts in prose
        outside = [c for c in counts if c.value not in allowed]
        assert not outside, (pdf, outside)
        csvs = [p for p in sorted(folder.glob("*.csv")) if p.name not in RESHAPED_IN_PDF]
        lost = [msg for csv in csvs for msg in masks_lost(lines, csv)]
        assert not lost, (pdf, lost)
    # The slide deck: its key figures and its table of persons per dispositif.
    deck = deck_lines(reports / "chiffres-cles.pptx")
    counts = person_counts_in_prose(deck)
    bare = [int(x.replace(" ", "")) for x in deck if BARE_COUNT.match(x)]
    assert len(counts) >= 2 and len(bare) >= 4, (counts, bare)
    assert not [c for c in counts if c.value not in allowed], counts
    assert set(bare) <= printed, sorted(set(bare) - printed)


def test_no_hidden_cell_can_be_recovered_from_the_published_tables(published) -> None:
    """Every « < k » cell keeps at least two possible values 1…k−1 for a reader who solves
    every relation the tables justify, whether « s » is read as ≥ 0 or ≥ k."""
    cells, k, grids = published["cells"], published["k"], published["grids"]
    reader = relations_from_tables(grids, published["partners"], YEAR)
    in_relations = {key for r in reader.relations for key in r}
    primary = sorted(key for key, text in cells.items() if text == f"< {k}")
    hidden = sorted(key for key, text in cells.items() if text in (f"< {k}", SECONDARY_TEXT))
    isolated = [key for key in hidden if key not in in_relations]
    # Not vacuous: the relations reach every hidden cell, except cells of tables that carry
    # no additive identity at all (persons per year and dispositif of the early years).
    ledger = published["ledger"].set_index("key")["tables"]
    free_tables = {"personnes_par_dispositif_et_annee", "personnes_par_annee"}
    for key in isolated:
        assert set(ledger[key].split(", ")) <= free_tables, (
            f"cellule masquée hors relations : {key}"
        )
    if primary:
        assert set(primary) - set(isolated), "aucune relation ne touche les cellules « < k »"
    report = [
        f"{len(reader.relations)} relations ({len(reader.aux)} inconnues auxiliaires), "
        f"{len(hidden)} cellules masquées dont {len(primary)} « < {k} », "
        f"hors relations : {isolated or 'aucune'}"
    ]
    pinned = []
    for floor in (0.0, float(k)):
        known, bounds = reader_view(cells, k, floor)
        intervals = value_intervals(reader, known, bounds)
        for key in primary:
            left = integers_left(intervals[key], k)
            report.append(f"s ≥ {floor:g} : {key} ∈ {intervals[key]}, valeurs possibles {left}")
            if len(left) < 2:
                why = "; ".join(chain(reader, key, known))
                pinned.append(f"« {key} » = {left} (s ≥ {floor:g}) par : {why}")
    print("\n".join(report))
    assert not pinned, "cellules « < k » retrouvées par un lecteur :\n" + "\n".join(pinned)


def test_the_attacker_recovers_a_cell_hidden_alone_in_a_line_with_a_total(tmp_path: Path) -> None:
    """Positive control (no pipeline): one « < 5 » beside published cells and a published total
    is recovered exactly; masking a second cell of the line restores the protection."""
    tables = tmp_path / "tables"
    tables.mkdir()
    csv = (
        "tranche_age,hommes,femmes,sexe_inconnu_ou_X,total\n"
        "18-21,10,< 5,0,13\n"
        "22-25,20,7,0,27\n"
        "Total,30,10,0,40\n"
    )
    (tables / "personnes_par_age_et_sexe.csv").write_text(csv, encoding="utf-8")
    grids = read_grids(tables, {}, YEAR)
    reader = relations_from_tables(grids, {}, YEAR)
    target = f"personnes|{YEAR}|age=18-21|sexe=F"
    known, bounds = reader_view(cell_texts(grids), 5, 0.0)
    assert value_intervals(reader, known, bounds)[target] == pytest.approx((3.0, 3.0))
    assert integers_left((3.0, 3.0), 5) == [3]
    # The same row with the men's cell masked « s »: 13 = men + women, men ≥ 5 → women ≤ 8, but
    # the column (10 = 7 + women) still pins it: mask the 7 too and the reader is stuck.
    (tables / "personnes_par_age_et_sexe.csv").write_text(
        csv.replace("18-21,10,", "18-21,s,").replace("22-25,20,7,", "22-25,s,s,"),
        encoding="utf-8",
    )
    grids = read_grids(tables, {}, YEAR)
    for floor in (0.0, 5.0):
        known, bounds = reader_view(cell_texts(grids), 5, floor)
        interval = value_intervals(relations_from_tables(grids, {}, YEAR), known, bounds)[target]
        assert integers_left(interval, 5) == [1, 2, 3, 4]


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
    # the rows of the partners whose records are persons are the clean contacts and refusals
    # (count-only partners and weather sources fill tables of another shape)
    persons = read_partners(project)
    person_rows = sum(a["rows_clean"] for a in rows["files"].values() if a["partner_id"] in persons)
    assert person_rows == len(clean["contacts"]) + len(clean["refusals"])
    assert rows["rows_clean"] == sum(a["rows_clean"] for a in rows["files"].values())


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
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": PIPELINE_KEY}
    status = _run([str(BIN / "dvc"), "status"], project, env)
    # key_fingerprint runs on every `dvc repro` (DVC cannot see the key): its only entry.
    lines = [line.strip() for line in status.stdout.splitlines() if line.strip()]
    assert lines == ["key_fingerprint:", "always changed"], status.stdout


def _digests(project: Path) -> dict[str, str]:
    files = sorted((project / "data_clean").rglob("*.parquet"))
    files += sorted(p for p in (project / f"outputs/tables/{YEAR}").rglob("*") if p.is_file())
    files += [project / f"outputs/reports/{YEAR}/observatoire.pdf"]
    return {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_rerun_gives_byte_identical_clean_data_tables_and_pdf(project: Path) -> None:
    """Same inputs, params and key → the same bytes (runs last: it rewrites the outputs)."""
    before = _digests(project)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": PIPELINE_KEY}
    for stage in ("ingest", "validate", "link", "report"):
        run = _run([str(BIN / "dvc"), "repro", "-f", "-s", stage], project, env)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert _digests(project) == before


def test_every_rendered_report_passes_the_proofreader(project: Path) -> None:
    """The text a reader sees (PDF through pypdf, HTML with alt texts) has none of the
    French errors of :data:`observatoire.reports.proofread.FORBIDDEN` and no statement made
    twice in a row."""
    from observatoire.reports.proofread import proofread_file

    out = project / f"outputs/reports/{YEAR}"
    files = sorted([*out.glob("*.pdf"), *out.glob("*.html")])
    assert {f.stem for f in files} >= {"observatoire", "jeunes-en-errance"}
    found = {f.name: [str(x) for x in proofread_file(f)] for f in files}
    assert not any(found.values()), json.dumps(found, ensure_ascii=False, indent=1)


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
