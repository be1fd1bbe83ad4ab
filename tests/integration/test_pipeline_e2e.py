"""End to end: `dvc repro` on a reduced synthetic sample, then check what a reader relies on.

The pipeline runs once per test session in a temporary copy of the project (reduced sample
params), exactly as the analyst runs it; the tests then recompute published figures
independently from ``data_clean/`` and compare them with the report.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.optimize import linprog

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.schema import EXIT_REASONS, NATIONALITY_GROUPS
from observatoire.reports.charts import french_number

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
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


# --- an independent recount from data_clean/ (plain pandas, no indicator function) --------------
#
# Presence (docs/indicateurs.md): a person counts in a year when one of their contacts covers a day
# of it. A visit covers its day. A stay (shelter, maison d'accueil, Housing First) covers its
# nights, entry to the night before its exit day (an entry and exit on the same day covers that
# day). Exit day: date_end, else entry + exported nights, else one night at the shelter; a maison
# d'accueil stay or a tenancy with neither is still running, up to 31/12 of the last data year.

SHELTER = "hebergement_urgence"
HOUSING_FIRST = "housing_first"
STAY_SERVICES = (SHELTER, "maison_accueil", HOUSING_FIRST)
DAY = pd.Timedelta(days=1)
AGE_EDGES = [-np.inf, 17, 21, 25, 34, 44, 54, 64, np.inf]
AGE_NAMES = ["<18", "18-21", "22-25", "26-34", "35-44", "45-54", "55-64", "65+"]
FLOWS = ("new", "continuing", "returning")


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).astype("datetime64[ns]").dt.normalize()


def _covered(contacts: pd.DataFrame) -> pd.DataFrame:
    """The contacts with ``first`` and ``last`` (both included) day covered, and ``exit_day``."""
    c = contacts.copy()
    start = _day(c["date_start"])
    exit_day = _day(c["date_end"])
    exit_day = exit_day.fillna(start + pd.to_timedelta(c["nights"].astype("float64"), unit="D"))
    exit_day = exit_day.where(exit_day.notna() | (c["dispositif"] != SHELTER), start + DAY)
    data_end = pd.Timestamp(int(c["year"].max()), 12, 31)
    stay_last = (exit_day - DAY).where(exit_day > start, start).where(exit_day.notna(), data_end)
    stay = c["dispositif"].isin(STAY_SERVICES)
    c["first"] = start
    c["last"] = stay_last.where(stay, start)
    c["exit_day"] = exit_day.where(stay)
    return c


def _present(cov: pd.DataFrame, year: int) -> pd.DataFrame:
    return cov[
        (cov["first"] <= pd.Timestamp(year, 12, 31)) & (cov["last"] >= pd.Timestamp(year, 1, 1))
    ]


def _most_frequent(rows: pd.DataFrame, column: str) -> pd.Series:
    """Per person, the most frequent known value of ``column`` (alphabetically first on a tie)."""
    known = rows[rows[column].notna() & (rows[column] != "INCONNU")]
    n = known.groupby(["person_id", column]).size().rename("n").reset_index()
    n = n.sort_values(["person_id", "n", column], ascending=[True, False, True])
    return n.drop_duplicates("person_id").set_index("person_id")[column]


def _profile(cov: pd.DataFrame, year: int) -> pd.DataFrame:
    """One row per person of the year: age band at their first contact of the year with a known
    age (« inconnu » if none), sex (M, F, else « inconnu/X ») and nationality group."""
    rows = _present(cov, year).sort_values(["date_start", "source_file", "source_row"])
    persons = pd.Index(rows["person_id"].unique())
    age = rows.dropna(subset=["age_at_contact"]).groupby("person_id")["age_at_contact"].first()
    band = pd.cut(np.floor(age.reindex(persons)), AGE_EDGES, labels=AGE_NAMES)
    sex = _most_frequent(rows, "sex").reindex(persons)
    nationality = _most_frequent(rows, "nationality_group").reindex(persons)
    return pd.DataFrame(
        {
            "age": band.astype(object).fillna("inconnu").to_numpy(),
            "sex": sex.where(sex.isin(["M", "F"]), "inconnu/X").to_numpy(),
            "nationality": nationality.fillna("INCONNU").to_numpy(),
        },
        index=persons,
    )


def _flow_status(cov: pd.DataFrame, year: int, lookback: int, continuing: int) -> pd.Series | None:
    """Per person of the year: new (no presence in the ``lookback`` days before 1 January),
    continuing (present in the ``continuing`` days before) or returning; None when the data do
    not reach ``lookback`` days back."""
    jan1 = pd.Timestamp(year, 1, 1)
    if (jan1 - cov["first"].min()).days < lookback:
        return None
    persons = pd.Index(_present(cov, year)["person_id"].unique())
    before = cov[cov["first"] < jan1]
    last = before["last"].clip(upper=jan1 - DAY).groupby(before["person_id"]).max()
    gap = (jan1 - last.reindex(persons)).dt.days
    status = np.select(
        [gap.isna() | (gap > lookback), gap <= continuing], ["new", "continuing"], "returning"
    )
    return pd.Series(status, index=persons)


def _shelter_nights(cov: pd.DataFrame) -> pd.Series:
    """Persons sleeping at the shelter per night (evening date): entry to the night before exit."""
    stays = cov[cov["dispositif"] == SHELTER]
    n = (stays["exit_day"] - stays["first"]).dt.days.clip(lower=0).astype("int64").to_numpy()
    offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    nights = stays["first"].to_numpy().repeat(n) + offsets.astype("timedelta64[D]")
    return pd.Series(nights).value_counts()


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
    cov = _covered(contacts)
    assert sorted(_present(cov, 2023)["person_id"]) == ["a", "b"]
    assert sorted(_present(cov, 2024)["person_id"].unique()) == ["a", "b", "c", "d", "e"]
    assert sorted(_present(cov, 2021)["person_id"]) == ["b"]
    status = _flow_status(cov, 2024, 730, 90)
    assert status is not None
    # a and b were present on 31/12/2023; e was last seen 453 days before 1/1/2024.
    assert status.to_dict() == {
        "a": "continuing",
        "b": "continuing",
        "c": "new",
        "d": "new",
        "e": "returning",
    }
    assert _flow_status(cov, 2022, 730, 90) is None  # data start on 1/3/2021: no 730 days
    nights = _shelter_nights(cov)
    assert nights.sum() == 7 and nights[pd.Timestamp("2024-01-02")] == 1
    assert (nights.index.year == 2023).sum() == 4  # 28, 29, 30, 31 December
    assert pd.Timestamp("2024-12-30") in nights.index


def _params(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "params/pipeline.yaml").read_text(encoding="utf-8"))


def _partner_dispositifs(project: Path) -> dict[str, dict[str, Any]]:
    return {
        p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((project / "params/partners").glob("*.yaml"))
    }


# --- the published tables, read as an outsider reads them ------------------------------------
#
# Every CSV cell is named by the quantity key of the ledger (cases_publiees.csv): the same key in
# two tables is the same number. The mapping from printed labels to keys is written out here, so
# that a renamed label or a new table fails loudly instead of escaping the checks below.

NO_KEY_TABLES = {"cases_publiees", "chiffres_hebergement_urgence"}
DISPOSITIF_CODES = {label: code for code, label in DISPOSITIFS.items()}
NATIONALITY_CODES = {label: code for code, label in NATIONALITY_GROUPS.items()}
REASON_CODES = {label: code for code, label in EXIT_REASONS.items()}
AGE_ROWS = {"Moins de 18 ans": "<18", "65 ans et plus": "65+", "Âge inconnu": "inconnu"}
SEX_COLUMNS = {"hommes": "M", "femmes": "F", "sexe_inconnu_ou_X": "inconnu/X"}
FLOW_COLUMNS = {"nouveaux": "new", "continus": "continuing", "de_retour": "returning"}
NETWORK_ROW = "Réseau (personnes distinctes)"
SECONDARY_TEXT = "s"
OTHER_COMBINATIONS = "Autres combinaisons"


def _quantity(what: str, year: int | str, *parts: str | None) -> str:
    named = [p for p in parts if p]
    return "|".join([what, str(year), *named]) if named else f"{what}|{year}|reseau"


# The report merges the maison d'accueil and Housing First in its combinations (and counts
# them as one dispositif in the number of dispositifs).
LONG_STAY = "maison_accueil_ou_housing_first"
LONG_STAY_PARTS = ("maison_accueil", "housing_first")
COMBINATION_CODES = {**DISPOSITIF_CODES, "Maison d'accueil ou Housing First": LONG_STAY}


def _combination(label: str) -> str:
    if label == OTHER_COMBINATIONS:
        return "combinaison=autres"
    return "combinaison=" + "+".join(sorted(COMBINATION_CODES[p] for p in label.split(" + ")))


def _cell_key(table: str, row: str, col: str, partner_ids: dict[str, str]) -> str | None:
    """The quantity key of a printed cell (row label × column label) of ``table``; None for a
    cell that is not a count (a mean beside the persons it is based on)."""
    y = YEAR
    tot_r, tot_c = row == "Total", col == "total"

    def disp(label: str) -> str:
        return f"dispositif={DISPOSITIF_CODES[label]}"

    match table:
        case "personnes_par_annee":
            return _quantity("personnes", row)
        case "personnes_par_dispositif":
            return _quantity("personnes", col, None if row == NETWORK_ROW else disp(row))
        case "personnes_par_dispositif_et_annee":
            return _quantity("personnes", col, disp(row))
        case "personnes_par_partenaire":
            return _quantity("personnes", col, f"partenaire={partner_ids[row]}")
        case "personnes_par_age_et_sexe":
            age = None if tot_r else f"age={AGE_ROWS.get(row, row)}"
            return _quantity("personnes", y, age, None if tot_c else f"sexe={SEX_COLUMNS[col]}")
        case "personnes_par_nationalite":
            return _quantity(
                "personnes", y, None if tot_r else f"nationalite={NATIONALITY_CODES[row]}"
            )
        case "sorties_par_motif":
            return _quantity(
                "sorties", y, disp(row), None if tot_c else f"motif={REASON_CODES[col]}"
            )
        case "flux_par_annee":
            return _quantity("personnes", row, None if tot_c else f"flux={FLOW_COLUMNS[col]}")
        case "flux_par_dispositif":
            return _quantity(
                "personnes", y, disp(row), None if tot_c else f"flux={FLOW_COLUMNS[col]}"
            )
        case "nombre_de_dispositifs":
            return _quantity("personnes", y, None if tot_r else f"nb_dispositifs={row}")
        case "combinaisons_de_dispositifs":
            return _quantity("personnes", y, None if tot_r else _combination(row))
        case "personnes_longue_duree":
            return _quantity("personnes", y, f"longue_duree={row}")
        case "housing_first_maintien":
            return _quantity("housing_first", y, f"horizon={row}", None if tot_c else col)
        case "retours_apres_relogement":
            return _quantity("retours", y, f"horizon={row}", None if tot_c else col)
        case "duree_dans_les_services":
            # the persons present in a service are its persons: the same quantity key
            return _quantity("personnes", y, disp(row)) if col == "personnes" else None
    raise AssertionError(f"tableau publié « {table} » inconnu du lecteur : étendez _cell_key")


@dataclass(frozen=True)
class Grid:
    """One published table: the printed text and the quantity key of every cell."""

    name: str
    text: pd.DataFrame
    keys: pd.DataFrame
    total_row: str | None
    total_col: str | None


def _read_grids(tables: Path, partner_ids: dict[str, str]) -> list[Grid]:
    grids = []
    for path in sorted(tables.glob("*.csv")):
        if path.stem in NO_KEY_TABLES:
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        text = frame.set_index(frame.columns[0])
        text.index = text.index.astype(str)
        keys = pd.DataFrame(
            [[_cell_key(path.stem, r, c, partner_ids) for c in text.columns] for r in text.index],
            index=text.index,
            columns=text.columns,
        )
        grids.append(
            Grid(
                path.stem,
                text,
                keys,
                "Total" if "Total" in text.index else None,
                "total" if "total" in text.columns else None,
            )
        )
    return grids


def _partner_labels(partners: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Printed partner label → partner id (the table prints a code, a service or a name)."""
    labels = {}
    for pid, spec in partners.items():
        for label in (pid, DISPOSITIFS.get(pid), spec.get("name")):
            if label:
                labels[label] = pid
    return labels


def _number(text: str) -> float:
    """A French number as printed (« 1 234 », « 93,4 % »)."""
    for ch in ("\u202f", "\u00a0", " ", "%"):
        text = text.replace(ch, "")
    return float(text.replace(",", ".").replace("\u2212", "-"))


def _cells(grids: list[Grid]) -> dict[str, str]:
    """Quantity key → printed text (as first printed: see the ledger test for the others)."""
    out: dict[str, str] = {}
    for g in grids:
        for r in g.text.index:
            for c in g.text.columns:
                key, text = g.keys.loc[r, c], g.text.loc[r, c]
                if key is not None:
                    out.setdefault(key, text)
    return out


@pytest.fixture(scope="session")
def published(project: Path) -> dict[str, Any]:
    """What the report publishes: the CSV tables as grids and cells, the ledger, k, params."""
    params = _params(project)
    partners = _partner_dispositifs(project)
    grids = _read_grids(project / f"outputs/tables/{YEAR}", _partner_labels(partners))
    return {
        "grids": grids,
        "cells": _cells(grids),
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
    return _covered(clean["contacts"])


def _check(cells: dict[str, str], key: str, true: int, k: int) -> None:
    """A published count equals the recount; « < k » hides a true 1…k−1; « s » is hidden; and a
    true 1…k−1 is never printed."""
    assert key in cells, f"« {key} » absent des tableaux (recompté : {true})"
    text = cells[key]
    if text == f"< {k}":
        assert 1 <= true <= k - 1, (key, text, true)
    elif text != SECONDARY_TEXT:
        assert _number(text) == true, (key, text, true)
    if 1 <= true <= k - 1:
        assert text == f"< {k}", (key, text, true)


def _plain(html_text: str) -> str:
    """The text of some HTML, tags dropped, spaces collapsed (narrow no-break spaces kept)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", html_text))
    return re.sub(r"[ \t\r\n]+", " ", text).replace("’", "'").strip()


def _html_rows(report: str, table_id: str) -> list[list[str]]:
    """The body rows of the report's table ``table_id``, as lists of cell texts."""
    table = report[report.index(f'id="{table_id}"') :]
    body = table[: table.index("</table>")]
    body = body[body.index("<tbody>") :]
    return [
        [_plain(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    ]


def _shown(n: int, k: int) -> str:
    return f"< {k}" if 0 < n < k else french_number(n)


def test_ledger_and_tables_print_the_same_cells(published) -> None:
    """A quantity printed in several tables reads the same everywhere, and the reader's key for
    every printed cell is the ledger's: same keys, statuses and values (so the checks and the
    attack below read the tables as the ledger names them)."""
    cells, ledger, k = published["cells"], published["ledger"], published["k"]
    for g in published["grids"]:
        for r, c in itertools.product(g.keys.index, g.keys.columns):
            key = g.keys.loc[r, c]
            assert key is None or g.text.loc[r, c] == cells[key], (g.name, r, c, key)
    assert set(ledger["key"]) == set(cells)
    for row in ledger.itertuples():
        text = cells[row.key]
        if row.status == "publie":
            assert _number(text) == row.value, (row.key, text, row.value)
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
        _check(cells, f"personnes|{year}|reseau", _present(covered, year)["person_id"].nunique(), k)
    n = _present(covered, YEAR)["person_id"].nunique()
    assert n >= k
    assert f"<strong>{french_number(n)} personnes distinctes</strong>" in report_html


def test_per_dispositif_counts_match_and_small_counts_are_hidden(
    covered, published, report_html
) -> None:
    """Persons per dispositif and year, per partner, the base of the time-in-service table,
    and the report's key-figures table (persons present; contacts by the year they start)."""
    cells, k = published["cells"], published["k"]
    for year in sorted(int(y) for y in covered["year"].unique() if y <= YEAR):
        for disp, n in _present(covered, year).groupby("dispositif")["person_id"].nunique().items():
            _check(cells, f"personnes|{year}|dispositif={disp}", int(n), k)
    present = _present(covered, YEAR)
    for pid, n in present.groupby("partner_id")["person_id"].nunique().items():
        _check(cells, f"personnes|{YEAR}|partenaire={pid}", int(n), k)
    for disp, n in present.groupby("dispositif")["person_id"].nunique().items():
        _check(cells, f"personnes|{YEAR}|dispositif={disp}", int(n), k)
    rows = {row[0]: row for row in _html_rows(report_html, "tbl-chiffres-cles")}
    delivered = covered[covered["year"] == YEAR].groupby("dispositif").size()
    for disp, n in present.groupby("dispositif")["person_id"].nunique().items():
        row = rows[DISPOSITIFS[disp]]
        assert row[1] == _shown(int(n), k), (disp, row, n)
        assert row[3] == french_number(int(delivered[disp])), (disp, row, delivered[disp])


def test_profile_tables_match_an_independent_count(covered, published, report_html) -> None:
    """Age × sex (every cell and margin) and nationality groups; the youth headline."""
    cells, k = published["cells"], published["k"]
    profile = _profile(covered, YEAR)
    cross = profile.groupby(["age", "sex"]).size()
    for age in [*AGE_NAMES, "inconnu"]:
        for sex in ("M", "F", "inconnu/X"):
            _check(
                cells, f"personnes|{YEAR}|age={age}|sexe={sex}", int(cross.get((age, sex), 0)), k
            )
        _check(cells, f"personnes|{YEAR}|age={age}", int((profile["age"] == age).sum()), k)
    for sex in ("M", "F", "inconnu/X"):
        _check(cells, f"personnes|{YEAR}|sexe={sex}", int((profile["sex"] == sex).sum()), k)
    for group in NATIONALITY_GROUPS:
        n = int((profile["nationality"] == group).sum())
        _check(cells, f"personnes|{YEAR}|nationalite={group}", n, k)
    youth = int(profile["age"].isin(["18-21", "22-25"]).sum())
    assert f"de jeunes de 18 à 25 ans ({_shown(youth, k)} personnes)" in _plain(report_html)


def test_flows_match_an_independent_count(covered, published, report_html) -> None:
    """New / continuing / returning for the network each year (presence-based, windows from the
    params) and per dispositif in the report year; years without the look-back are not shown."""
    cells, k = published["cells"], published["k"]
    flows = published["params"]["report"]["flows"]
    windows = (int(flows["new_lookback_days"]), int(flows["continuing_days"]))
    shown_years = 0
    for year in sorted(int(y) for y in covered["year"].unique() if y <= YEAR):
        status = _flow_status(covered, year, *windows)
        if status is None:
            assert not any(key.startswith(f"personnes|{year}|flux=") for key in cells), year
            continue
        shown_years += 1
        counts = status.value_counts()
        for flow in FLOWS:
            _check(cells, f"personnes|{year}|flux={flow}", int(counts.get(flow, 0)), k)
    assert shown_years >= 1
    status = _flow_status(covered, YEAR, *windows)
    assert status is not None
    present = _present(covered, YEAR)
    for disp, persons in present.groupby("dispositif")["person_id"].unique().items():
        counts = status.reindex(persons).value_counts()
        for flow in FLOWS:
            key = f"personnes|{YEAR}|dispositif={disp}|flux={flow}"
            _check(cells, key, int(counts.get(flow, 0)), k)
    new = int((status == "new").sum())
    assert f"{_shown(new, k)} nouvelles personnes" in _plain(report_html)


def test_multi_service_use_matches_an_independent_count(covered, published) -> None:
    """Persons by number of dispositifs (1, 2, 3, 4+) and by exact combination, maison
    d'accueil and Housing First merged; combinations under k are only published together as
    « autres combinaisons »."""
    cells, k = published["cells"], published["k"]
    present = _present(covered, YEAR)
    merged = present["dispositif"].where(~present["dispositif"].isin(LONG_STAY_PARTS), LONG_STAY)
    sets = (
        present.assign(dispositif=merged)
        .groupby("person_id")["dispositif"]
        .agg(lambda s: "+".join(sorted(set(s))))
    )
    size = sets.str.count(r"\+") + 1
    for label, n in (("1", 1), ("2", 2), ("3", 3)):
        _check(cells, f"personnes|{YEAR}|nb_dispositifs={label}", int((size == n).sum()), k)
    _check(cells, f"personnes|{YEAR}|nb_dispositifs=4+", int((size >= 4).sum()), k)
    combos = sets.value_counts()
    for combo, n in combos[combos >= k].items():
        _check(cells, f"personnes|{YEAR}|combinaison={combo}", int(n), k)
    _check(cells, f"personnes|{YEAR}|combinaison=autres", int(combos[combos < k].sum()), k)
    listed = {key for key in cells if key.startswith(f"personnes|{YEAR}|combinaison=")}
    assert len(listed) == int((combos >= k).sum()) + 1


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
    refused = refusals.groupby(_day(refusals["date"]))["refusals"].sum()
    frame = pd.DataFrame(
        {
            "nights": _shelter_nights(covered).reindex(days, fill_value=0).to_numpy(),
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
    assert _number(csv["nuitées"]) == year["nights"]
    assert _number(csv["nuitées offertes"]) == year["capacity"]
    assert abs(_number(csv["taux d'occupation"]) - 100 * year["nights"] / year["capacity"]) <= 0.05
    assert _number(csv["refus faute de place"]) == year["refusals"]
    assert _number(csv["nuits avec au moins un refus"]) == year["refusal_nights"]
    shelter = published["indicators"]["shelter"]
    assert (shelter["nights"], shelter["capacity_nights"]) == (year["nights"], year["capacity"])
    assert shelter["refusal_nights"] == year["refusal_nights"]


def test_exit_reasons_match_an_independent_count(covered, published) -> None:
    """Stays whose exit date falls in the year, per service and reason (stays, not persons);
    a service that exports no reason is not shown."""
    cells, k = published["cells"], published["k"]
    ended = covered[
        covered["dispositif"].isin(STAY_SERVICES)
        & (_day(covered["date_end"]).dt.year == YEAR)
        & covered["exit_reason"].notna()
    ]
    counts = ended.groupby(["dispositif", "exit_reason"]).size()
    shown = {key.split("|")[2] for key in cells if key.startswith(f"sorties|{YEAR}|")}
    assert shown == {f"dispositif={d}" for d in ended["dispositif"].unique()}
    for disp in ended["dispositif"].unique():
        for reason in EXIT_REASONS:
            n = int(counts.get((disp, reason), 0))
            _check(cells, f"sorties|{YEAR}|dispositif={disp}|motif={reason}", n, k)
        _check(cells, f"sorties|{YEAR}|dispositif={disp}", int(counts.loc[disp].sum()), k)


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
        housed = (
            cohort["exit_day"].isna()
            | (cohort["exit_day"] >= anchor)
            | (cohort["exit_reason"] == "relogement")
        )
        key = f"housing_first|{YEAR}|horizon={months}"
        if not len(cohort):
            assert key not in cells
            continue
        _check(cells, key, len(cohort), k)
        _check(cells, f"{key}|logees", int(housed.sum()), k)
        _check(cells, f"{key}|non_logees", int((~housed).sum()), k)


def test_returns_after_housing_match_an_independent_count(covered, published) -> None:
    """Each person's first exit to housing (relogement) whose whole window ends by 31/12; a
    return is a shelter entry more than grace_days after the exit and within the window."""
    cells, k = published["cells"], published["k"]
    ret = published["params"]["report"]["returns"]
    exits = covered[
        covered["dispositif"].isin(STAY_SERVICES)
        & (covered["exit_reason"] == "relogement")
        & covered["exit_day"].notna()
    ]
    first_exit = exits.groupby("person_id")["exit_day"].min()
    entries = covered.loc[covered["dispositif"] == SHELTER, ["person_id", "first"]]
    for months in [int(m) for m in ret["months"]]:
        observed = first_exit[
            first_exit + pd.DateOffset(months=months) <= pd.Timestamp(YEAR, 12, 31)
        ]
        key = f"retours|{YEAR}|horizon={months}"
        if not len(observed):
            assert key not in cells
            continue
        later = entries.join(observed.rename("exit"), on="person_id", how="inner")
        back = later[
            ((later["first"] - later["exit"]).dt.days > int(ret["grace_days"]))
            & (later["first"] <= later["exit"] + pd.DateOffset(months=months))
        ]
        returned = back["person_id"].nunique()
        _check(cells, key, len(observed), k)
        _check(cells, f"{key}|retour_abri", int(returned), k)
        _check(cells, f"{key}|sans_retour_abri", int(len(observed) - returned), k)


def test_long_term_stayers_match_an_independent_count(covered, published) -> None:
    """Persons present (a night or a contact day, Housing First excluded) on at least N days of
    the window ending 31/12 and present in its last active_days days."""
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
    per_person = days.groupby("person_id")["day"].agg(["size", "max"])
    active = per_person[per_person["max"] > hi - pd.Timedelta(days=int(lt["active_days"]))]
    for threshold in [int(d) for d in lt["days"]]:
        n_persons = int((active["size"] >= threshold).sum())
        _check(cells, f"personnes|{YEAR}|longue_duree={threshold}", n_persons, k)


# --- the attack: recover hidden cells from the published tables alone --------------------------
#
# The reader holds every CSV table of the year and the ledger's keys (which name each cell's
# quantity). From the tables themselves they write additive relations (Σ coef · value = 0;
# an inequality a ≤ b becomes b − a − slack = 0 with a slack ≥ 0) and, for each hidden cell,
# solve two linear programs (HiGHS, integers relaxed) for the values it can take.

Relation = dict[str, float]


class Reader:
    """The relations an outsider can justify from the printed tables, and the unknowns they
    bring (auxiliary unknowns, « ~… », are ≥ 0)."""

    def __init__(self) -> None:
        self.relations: list[Relation] = []
        self.aux: set[str] = set()
        self.why: list[str] = []

    def equal(self, total: str, parts: list[str], why: str) -> None:
        coef: Relation = {total: 1.0}
        for part in parts:
            coef[part] = coef.get(part, 0.0) - 1.0
        self.relations.append({key: v for key, v in coef.items() if v})
        self.why.append(why)

    def at_most(self, small: str, big: list[str], why: str) -> None:
        """small ≤ Σ big, as Σ big − small − slack = 0 with a slack ≥ 0."""
        coef: Relation = {self.unknown(f"~écart:{small}≤{'+'.join(big)}"): 1.0}
        for key in big:
            coef[key] = coef.get(key, 0.0) - 1.0
        coef[small] = coef.get(small, 0.0) + 1.0
        self.relations.append({key: v for key, v in coef.items() if v})
        self.why.append(why)

    def unknown(self, name: str) -> str:
        self.aux.add(name)
        return name


def _relations(grids: list[Grid], partners: dict[str, dict[str, Any]]) -> Reader:
    reader = Reader()
    keys = {key for g in grids for key in g.keys.to_numpy().ravel() if key is not None}

    # 1. Printed totals: every line of a table with a « Total » row or « total » column adds up.
    for g in grids:
        if g.total_row:
            rows = [r for r in g.keys.index if r != g.total_row]
            for col in g.keys.columns:
                parts = [g.keys.loc[r, col] for r in rows]
                if g.keys.loc[g.total_row, col] is None:
                    continue
                reader.equal(g.keys.loc[g.total_row, col], parts, f"{g.name}: colonne {col}")
        if g.total_col:
            cols = [c for c in g.keys.columns if c != g.total_col]
            for row in g.keys.index:
                parts = [g.keys.loc[row, c] for c in cols]
                reader.equal(g.keys.loc[row, g.total_col], parts, f"{g.name}: ligne {row}")

    # 2. A dispositif served by a single partner is that partner.
    by_disp: dict[str, list[str]] = {}
    for pid, spec in partners.items():
        by_disp.setdefault(spec["dispositif"], []).append(pid)
    for disp, pids in by_disp.items():
        total, part = (
            f"personnes|{YEAR}|dispositif={disp}",
            f"personnes|{YEAR}|partenaire={pids[0]}",
        )
        if len(pids) == 1 and {total, part} <= keys:
            reader.equal(total, [part], f"partenaire unique de {disp}")

    # 3. The time-in-service table's persons are the dispositif's persons (same key).

    # 4. Combinations: a combination of c dispositifs counts in class c of the number of
    # dispositifs and in each of its dispositifs; « autres » hides an unknown composition. The
    # merged « maison d'accueil ou Housing First » hides whether each person used the one, the
    # other or both.
    prefix = f"personnes|{YEAR}|combinaison="
    others = prefix + "autres"
    combos = {
        key: key.removeprefix(prefix).split("+")
        for key in keys
        if key.startswith(prefix) and key != others
    }
    classes = {"1": 1, "2": 2, "3": 3, "4+": 4}
    if others in keys and all(f"personnes|{YEAR}|nb_dispositifs={c}" in keys for c in classes):
        share = {c: reader.unknown(f"~autres:{c}") for c in classes}
        for c, n in classes.items():
            listed = [key for key, codes in combos.items() if min(len(codes), 4) == n]
            total = f"personnes|{YEAR}|nb_dispositifs={c}"
            reader.equal(total, [*listed, share[c]], f"combinaisons de classe {c}")
        reader.equal(others, list(share.values()), "composition des autres combinaisons")
        disp_keys = {d: f"personnes|{YEAR}|dispositif={d}" for d in DISPOSITIFS}
        if all(key in keys for key in disp_keys.values()):
            # each listed merged combination: with the maison d'accueil only, Housing First
            # only, or both
            split = {}
            for key, codes in combos.items():
                if LONG_STAY in codes:
                    split[key] = {
                        part: reader.unknown(f"~{key}:{part}")
                        for part in (*LONG_STAY_PARTS, "les deux")
                    }
                    reader.equal(key, list(split[key].values()), f"{key} : MA, HF ou les deux")
            types = [d for d in DISPOSITIFS if d not in LONG_STAY_PARTS] + [LONG_STAY]
            uses = {}
            for d in types:  # persons of « autres » with each dispositif (merged)
                uses[d] = reader.unknown(f"~autres:utilise={d}")
                reader.at_most(uses[d], [others], f"autres combinaisons avec {d}")
            for d, total in disp_keys.items():
                if d in LONG_STAY_PARTS:
                    in_others = reader.unknown(f"~autres:utilise={d}")
                    reader.at_most(in_others, [uses[LONG_STAY]], f"autres avec {d}")
                    listed = [parts[p] for parts in split.values() for p in (d, "les deux")]
                    reader.equal(total, [*listed, in_others], f"combinaisons contenant {d}")
                else:
                    listed = [key for key, codes in combos.items() if d in codes]
                    reader.equal(total, [*listed, uses[d]], f"combinaisons contenant {d}")
            reader.at_most(
                uses[LONG_STAY],
                [f"~autres:utilise={d}" for d in LONG_STAY_PARTS],
                "autres avec MA ou HF",
            )
            # Σ over (merged) dispositifs of the persons of « autres » using it = Σ c · persons of
            # class c (4 to len(types) for class 4+).
            beyond = reader.unknown("~autres:au-delà-de-4")
            reader.relations.append(
                {
                    **{u: 1.0 for u in uses.values()},
                    **{share[c]: -float(n) for c, n in classes.items()},
                    beyond: -1.0,
                }
            )
            reader.why.append("dispositifs des autres combinaisons")
            reader.relations.append(
                {beyond: 1.0, share["4+"]: -float(len(types) - 4), "~écart:au-delà": 1.0}
            )
            reader.aux.add("~écart:au-delà")
            reader.why.append("au plus tous les dispositifs")
        street = f"personnes|{YEAR}|dispositif=travail_rue"
        if prefix + "travail_rue" in keys and street in keys:  # never linked to other services
            reader.equal(street, [prefix + "travail_rue"], "travail de rue non relié")

    # 5. Inclusions: the network is at least each dispositif and at most their sum; per flow
    # status too; nested long-term thresholds; nested Housing First and returns cohorts.
    years = sorted({key.split("|")[1] for key in keys if key.startswith("personnes|")})
    for year in years:
        network = f"personnes|{year}|reseau"
        disps = [f"personnes|{year}|dispositif={d}" for d in DISPOSITIFS]
        disps = [key for key in disps if key in keys]
        if network in keys and disps:
            reader.at_most(network, disps, f"réseau ≤ Σ dispositifs {year}")
            for key in disps:
                reader.at_most(key, [network], f"dispositif ≤ réseau {year}")
    for flow in FLOWS:
        network = f"personnes|{YEAR}|flux={flow}"
        parts = [f"personnes|{YEAR}|dispositif={d}|flux={flow}" for d in DISPOSITIFS]
        parts = [key for key in parts if key in keys]
        if network in keys and parts:
            reader.at_most(network, parts, f"flux {flow}: réseau ≤ Σ dispositifs")
            for key in parts:
                reader.at_most(key, [network], f"flux {flow}: dispositif ≤ réseau")
    nested = sorted(
        (int(key.rsplit("=", 1)[1]), key)
        for key in keys
        if key.startswith(f"personnes|{YEAR}|longue_duree=")
    )
    for (_, low), (_, high) in itertools.pairwise(nested):
        reader.at_most(high, [low], "seuils de longue durée emboîtés")
    for what, parts in (("housing_first", ("", "|logees")), ("retours", ("",))):
        horizons = sorted(
            int(m.group(1))
            for key in keys
            if (m := re.fullmatch(rf"{what}\|{YEAR}\|horizon=(\d+)", key))
        )
        for short, long in itertools.pairwise(horizons):
            for part in parts:
                small = f"{what}|{YEAR}|horizon={long}{part}"
                reader.at_most(small, [f"{what}|{YEAR}|horizon={short}{part}"], f"{what} emboîtés")
    return reader


def _intervals(
    reader: Reader, known: dict[str, float], bounds: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """For each quantity of ``bounds``, the least and greatest value compatible with the
    relations, the known values and the bounds (relaxed linear programs)."""
    unknown = sorted({key for r in reader.relations for key in r if key not in known})
    stray = [key for key in unknown if key not in bounds and key not in reader.aux]
    assert not stray, f"relations citant une quantité ni publiée ni masquée : {stray}"
    position = {key: n for n, key in enumerate(unknown)}
    matrix = np.zeros((len(reader.relations), len(unknown)))
    rhs = np.zeros(len(reader.relations))
    for r, relation in enumerate(reader.relations):
        for key, coef in relation.items():
            if key in position:
                matrix[r, position[key]] = coef
            else:
                rhs[r] -= coef * known[key]
        if not any(key in position for key in relation):
            assert abs(rhs[r]) < 1e-6, f"relation fausse sur les chiffres publiés : {reader.why[r]}"
    lp_bounds = [bounds.get(key, (0.0, math.inf)) for key in unknown]
    lp_bounds = [(lo, None if math.isinf(hi) else hi) for lo, hi in lp_bounds]
    out = {}
    for target, own in bounds.items():
        if target not in position:
            out[target] = own
            continue
        ends = []
        for sense in (1.0, -1.0):
            objective = np.zeros(len(unknown))
            objective[position[target]] = sense
            res = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=lp_bounds, method="highs")
            assert res.status in (0, 3), (
                f"relations incompatibles avec les chiffres : {res.message}"
            )
            ends.append(math.inf if res.status == 3 else sense * res.fun)
        out[target] = (ends[0], ends[1])
    return out


def _reader_view(
    cells: dict[str, str], k: int, secondary_floor: float
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Published values, and the bounds the labels give: « < k » is 1…k−1, « s » is at least
    ``secondary_floor`` (0 for a naive reader; k for one who knows why cells are masked)."""
    known, bounds = {}, {}
    for key, text in cells.items():
        if text == f"< {k}":
            bounds[key] = (1.0, float(k - 1))
        elif text == SECONDARY_TEXT:
            bounds[key] = (secondary_floor, math.inf)
        else:
            known[key] = _number(text)
    return known, bounds


def _chain(reader: Reader, target: str, known: dict[str, float]) -> list[str]:
    """The relations linked to ``target`` through unknowns: where a deduction comes from."""
    seen, rows, queue = {target}, set(), [target]
    while queue:
        key = queue.pop()
        for n, relation in enumerate(reader.relations):
            if key in relation and n not in rows:
                rows.add(n)
                new = [k for k in relation if k not in known and k not in seen]
                seen.update(new)
                queue.extend(new)
    return sorted({reader.why[n] for n in rows})


def _integers_left(interval: tuple[float, float], k: int) -> list[int]:
    lo, hi = interval
    return [n for n in range(1, k) if lo - 1e-6 <= n <= hi + 1e-6]


def test_no_hidden_cell_can_be_recovered_from_the_published_tables(published) -> None:
    """Every « < k » cell keeps at least two possible values 1…k−1 for a reader who solves
    every relation the tables justify, whether « s » is read as ≥ 0 or ≥ k."""
    cells, k, grids = published["cells"], published["k"], published["grids"]
    reader = _relations(grids, published["partners"])
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
        known, bounds = _reader_view(cells, k, floor)
        intervals = _intervals(reader, known, bounds)
        for key in primary:
            left = _integers_left(intervals[key], k)
            report.append(f"s ≥ {floor:g} : {key} ∈ {intervals[key]}, valeurs possibles {left}")
            if len(left) < 2:
                why = "; ".join(_chain(reader, key, known))
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
    grids = _read_grids(tables, {})
    reader = _relations(grids, {})
    target = f"personnes|{YEAR}|age=18-21|sexe=F"
    known, bounds = _reader_view(_cells(grids), 5, 0.0)
    assert _intervals(reader, known, bounds)[target] == pytest.approx((3.0, 3.0))
    assert _integers_left((3.0, 3.0), 5) == [3]
    # The same row with the men's cell masked « s »: 13 = men + women, men ≥ 5 → women ≤ 8, but
    # the column (10 = 7 + women) still pins it: mask the 7 too and the reader is stuck.
    (tables / "personnes_par_age_et_sexe.csv").write_text(
        csv.replace("18-21,10,", "18-21,s,").replace("22-25,20,7,", "22-25,s,s,"),
        encoding="utf-8",
    )
    grids = _read_grids(tables, {})
    for floor in (0.0, 5.0):
        known, bounds = _reader_view(_cells(grids), 5, floor)
        interval = _intervals(_relations(grids, {}), known, bounds)[target]
        assert _integers_left(interval, 5) == [1, 2, 3, 4]


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
