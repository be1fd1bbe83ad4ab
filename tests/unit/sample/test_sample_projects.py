"""The projects of the sample (``observatoire.sample.projects``): team spreadsheets and Kobo
exports written from their own streams, byte-reproducible, whose planted truth
(``sample_truth/projets.json``) is true of the written files — read back here the way a team's
sheet is read (merged two-row headers, one sheet per month, grids of marks, the code lists).
That the rest of the sample stays byte-identical is checked in test_sample_field.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import unicodedata
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml

from observatoire.core.forms import FORMS
from observatoire.sample.config import SampleParams
from observatoire.sample.exports import build_exports
from observatoire.sample.fieldwork.kobo import kobo_form
from observatoire.sample.network import simulate_network
from observatoire.sample.projects import DRIFT, project_sample
from observatoire.sample.projects.affiliation import COUNCIL_EFFECT
from observatoire.sample.projects.sport import presence_form

ROOT = Path(__file__).resolve().parents[3]
PARAMS = yaml.safe_load((ROOT / "params" / "pipeline.yaml").read_text(encoding="utf-8"))


def _norm(text: object) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text).strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace())


def _codes(name: str) -> dict[str, str]:
    table = yaml.safe_load((ROOT / "params" / "codes" / f"{name}.yaml").read_text("utf-8"))
    return {_norm(k): v for k, v in table.items()}


def _pieces(scale: float):
    params = SampleParams.from_mapping({**PARAMS["sample"], "scale": scale})
    network = simulate_network(params)
    return params, network, build_exports(network, params)


@pytest.fixture(scope="module")
def full():
    """The default sample's projects (scale 1: the planted ratio is checked at this size)."""
    pieces = _pieces(1.0)
    return pieces, project_sample(*pieces)


def _book(sample, path: str) -> openpyxl.Workbook:
    data = next(f.data for f in sample.files if f.relative_path == path)
    return openpyxl.load_workbook(io.BytesIO(data))


def _headers(ws, row: int = 3) -> list[str]:
    """« Top / Bottom » names of a two-row header, merged top cells spread over their columns."""
    top = [c.value for c in ws[row]]
    for merged in ws.merged_cells.ranges:
        if merged.min_row == row:
            for col in range(merged.min_col, merged.max_col + 1):
                top[col - 1] = ws.cell(row=row, column=merged.min_col).value
    bottom = [c.value for c in ws[row + 1]]
    width = max(len(top), len(bottom))
    top += [None] * (width - len(top))
    bottom += [None] * (width - len(bottom))
    return [
        f"{t} / {b}" if t and b else str(b if b is not None else t or "")
        for t, b in zip(top, bottom, strict=True)
    ]


def test_same_seed_same_bytes():
    pieces = _pieces(0.1)
    first, second = project_sample(*pieces), project_sample(*pieces)
    digest = [(f.relative_path, hashlib.sha256(f.data).hexdigest()) for f in first.files]
    assert digest == [(f.relative_path, hashlib.sha256(f.data).hexdigest()) for f in second.files]
    assert first.truth_json() == second.truth_json()


def test_the_files_of_both_projects_and_years(full):
    _, sample = full
    paths = {f.relative_path for f in sample.files}
    for year in (2023, 2024):
        for name in ("activites", "presences", "suivis", "budget"):
            assert f"affiliation_hf/{name}_{year}.xlsx" in paths
        assert f"sport_foot/presence_activite_{year}.xlsx" in paths
        assert f"sport_foot/budget_{year}.xlsx" in paths
    assert "affiliation_hf/conseil_2024.xlsx" in paths
    assert "affiliation_hf/conseil_2023.xlsx" not in paths  # the council starts in 2024-03
    book = _book(sample, "affiliation_hf/suivis_2023.xlsx")
    assert book.sheetnames[0] == "Mode d'emploi" and len(book.sheetnames) == 13


def _grid_months(sample, codes: dict[str, str]):
    """Per month: non-council session columns, distinct tenants marked in them."""
    out = {}
    for year in (2023, 2024):
        book = _book(sample, f"affiliation_hf/presences_{year}.xlsx")
        for month, name in enumerate(book.sheetnames[1:], start=1):
            ws = book[name]
            names = _headers(ws)
            sessions = [
                k for k, n in enumerate(names[2:], start=2) if n and codes[_norm(n.split(" / ")[0])]
            ]
            regular = [k for k in sessions if codes[_norm(names[k].split(" / ")[0])] != "conseil"]
            people: set[str] = set()
            for row in ws.iter_rows(min_row=5, values_only=True):
                if row[0] is None:
                    continue
                if any(row[k] in ("x", "X", "P") for k in regular if k < len(row)):
                    people.add(str(row[0]).strip().upper())
            out[(year, month)] = (len(regular), len(people))
    return out


def test_council_effect_realised_in_the_grids(full):
    """Read back from the grids: distinct tenants per non-council session, season-adjusted,
    after/before the council — within 20 % of the planted ratio (and the truth's realised)."""
    _, sample = full
    truth = sample.truth["affiliation_hf"]["effet_conseil"]
    season = [truth["season"][f"{m:02d}"] for m in range(1, 13)]
    months = _grid_months(sample, _codes("activites_affiliation"))
    before = after = s_before = s_after = 0.0
    for (year, month), (sessions, people) in months.items():
        if (year, month) >= (2024, 3):
            after += people / season[month - 1]
            s_after += sessions
        else:
            before += people / season[month - 1]
            s_before += sessions
    ratio = (after / s_after) / (before / s_before)
    assert ratio == pytest.approx(truth["realised_ratio_season_adjusted"], abs=1e-3)
    assert abs(ratio / COUNCIL_EFFECT - 1) < 0.2
    assert truth["months_capped_by_pool"] == 0


def test_every_typed_activity_is_in_the_code_list(full):
    _, sample = full
    codes = _codes("activites_affiliation")
    truth = sample.truth["affiliation_hf"]["variants"]
    for code, typed in truth.items():
        assert all(codes[_norm(t)] == code for t in typed), code
    assert sum(len(v) > 1 for v in truth.values()) >= 5  # names typed with variants
    for year in (2023, 2024):
        book = _book(sample, f"affiliation_hf/activites_{year}.xlsx")
        for ws in book.worksheets[1:]:
            names = _headers(ws)
            title = names.index("Activité / Intitulé")
            for row in ws.iter_rows(min_row=5, values_only=True):
                if row[title] is not None:
                    assert _norm(row[title]) in codes


def _followups(sample) -> dict[str, list[tuple[dt.date, str, str]]]:
    log: dict[str, list[tuple[dt.date, str, str]]] = {}
    for year in (2023, 2024):
        book = _book(sample, f"affiliation_hf/suivis_{year}.xlsx")
        for ws in book.worksheets[1:]:
            names = _headers(ws)
            wanted = ("Locataire / Code", "Contact / Date", "Affiliation / Domaine",
                      "Objectif / Atteint")  # fmt: skip
            col = {n: names.index(n) for n in wanted}
            for row in ws.iter_rows(min_row=5, values_only=True):
                if row[0] is None:
                    continue
                code = str(row[col["Locataire / Code"]])
                day = row[col["Contact / Date"]].date()
                log.setdefault(code, []).append(
                    (day, row[col["Affiliation / Domaine"]] or "", row[col["Objectif / Atteint"]])
                )
    return log


@pytest.fixture(scope="module")
def log(full):
    return _followups(full[1])


@pytest.mark.parametrize("shift", [0, -15, 15])
def test_affiliation_scores_hold_in_the_log(full, log, shift):
    """A domain is active at a point when reached (« oui ») in the 90 days up to it: the truth's
    scores, with the point's definition moved by ±15 days too."""
    _, sample = full
    truth = sample.truth["affiliation_hf"]["affiliation"]
    typed = {
        "Culture": "culture", "Sport": "sport", "Communautaire": "communautaire",
        "Famille": "famille", "Formation / emploi": "formation_emploi",
        "Santé / bien-être": "sante_bien_etre", "Citoyenneté": "citoyennete",
        "Logement (appropriation)": "logement_appropriation",
    }  # fmt: skip
    checked = 0
    for tenant in truth["tenants"]:
        for point, day in tenant["points"].items():
            if tenant["score"][point] is None or (point == "entree" and shift < 0):
                continue
            at = dt.date.fromisoformat(day) + dt.timedelta(days=shift if point != "entree" else 0)
            active = {
                typed[d]
                for when, d, reached in log[tenant["code"]]
                if d and reached == "oui" and at - dt.timedelta(days=90) <= when <= at
            }
            assert sorted(active) == tenant["domains"][point], (tenant["code"], point)
            checked += 1
    assert checked > 150
    realised = truth["realised"]
    assert realised["mean_gain_entry_to_12"] > 1.0
    assert realised["paired_entry_12"] >= 50


def test_selection_without_causal_effect_is_stated(full):
    _, sample = full
    outcomes = sample.truth["affiliation_hf"]["issues_logement"]
    assert outcomes["causal_effect_planted"] == 0
    tenure = outcomes["tenure"]
    assert (
        tenure["participants"]["tenure_days_median"]
        > tenure["non_participants"]["tenure_days_median"]
    )


def test_players_link_by_names_and_birth_dates(full):
    (params, network, files), sample = full
    truth = sample.truth["sport_foot"]["players"]
    players = set()
    for year in (2023, 2024):
        book = _book(sample, f"sport_foot/presence_activite_{year}.xlsx")
        ws = book["participants"]
        head = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2, values_only=True):
            r = dict(zip(head, row, strict=False))
            if r["participants/role"] == "joueur":
                players.add((r["participants/nom"], r["participants/prenom"],
                             r["participants/date_naissance"]))  # fmt: skip
    assert len(players) == truth["total"]
    assert (
        truth["network_persons"] - truth["network_persons_with_noise"]
        <= truth["linkable_by_names_birth_date"]
        <= truth["network_persons"]
    )
    # Recount: an exact (normalised) match on the day centre's export of 2023–2024.
    births = {b for _, _, b in players}
    keys = set()
    for f in files:
        if f.partner_id == "accueil_jour":
            same = f.table[f.table["date_naissance"].isin(births)]
            for s, p, b in zip(same["nom"], same["prenom"], same["date_naissance"], strict=True):
                keys.add((_norm(s).upper(), _norm(p).upper(), b))
    found = sum((_norm(s).upper(), _norm(p).upper(), b) in keys for s, p, b in players)
    assert 1 <= found <= truth["linkable_by_names_birth_date"]


def test_presence_form_matches_the_committed_form():
    if "presence_activite" not in FORMS:
        pytest.skip("formulaire presence_activite pas encore dans core.forms (branche precords)")
    assert kobo_form("presence_activite", "2024.1") == presence_form("2024.1")


def test_budget_drift_line_passes_the_threshold(full):
    _, sample = full
    book = _book(sample, f"{DRIFT['project']}/budget_{DRIFT['year']}.xlsx")
    planned = {r[0]: r[2] for r in book["Budget prévu"].iter_rows(min_row=4, values_only=True)}
    used: dict[str, float] = {}
    for row in book["Dépenses"].iter_rows(min_row=4, values_only=True):
        used[row[1]] = used.get(row[1], 0.0) + row[4]
    ratios = {line: used[line] / planned[line] for line in planned}
    drifting = {line for line, r in ratios.items() if r > 1.10}
    assert drifting == {"Transport"}
    assert ratios["Transport"] == pytest.approx(DRIFT["ratio"], abs=1e-6)
    truth = sample.truth["sport_foot"]["budget"][str(DRIFT["year"])]
    assert np.isclose(truth["transport"]["spent_eur"], used["Transport"])


def test_mappings_name_the_written_columns(full):
    """Every column a project mapping reads is a header of the sheets it reads."""
    _, sample = full
    for project in ("affiliation_hf", "sport_foot"):
        spec = yaml.safe_load((ROOT / "params" / "partners" / f"{project}.yaml").read_text("utf-8"))
        for export in spec["exports"]:
            fmt = export["format"]
            path = export["files"].replace("*", "2024")
            if not any(f.relative_path == path for f in sample.files):
                path = export["files"].replace("*", "2023")
            book = _book(sample, path)
            sheets = book.worksheets[1:] if fmt.get("sheets") else [book[fmt["sheet"]]]
            for ws in sheets:
                row = fmt.get("header_row", 1)
                names = (
                    _headers(ws, row) if fmt.get("header_rows") == 2 else
                    [str(c.value) for c in ws[row] if c.value is not None]
                )  # fmt: skip
                for field, column in export["columns"].items():
                    label = column["column"]
                    if not label.startswith("@"):
                        assert label in names, (project, export["name"], ws.title, field)
