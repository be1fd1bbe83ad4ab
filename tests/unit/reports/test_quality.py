"""Data-quality sheets per partner: each block on hand-computed cases, then the real sheets.

What a partner relies on: a missing month is flagged, a field coded « inconnu » counts as empty,
every reason set aside comes with what to fix and where (file, line, column — never a value),
person counts below k are masked, and the sheets hold no identity read in the raw exports.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from observatoire.core.formatting import french_number, french_points
from observatoire.core.schema import QUARANTINE_REASONS
from observatoire.disclosure.ledger import published_texts
from observatoire.reports.quality import (
    NetworkData,
    attention_points,
    field_completeness,
    md,
    months_delivered,
    persons_and_rows,
    quarantine_counts,
    quarantine_examples,
    reason_advice,
    reasons_table,
)
from tests.support.settings import project_settings

ROOT = Path(__file__).resolve().parents[3]
MA_FILE = "maison_accueil/maison_accueil_{}.xlsx"


def _contacts(year: int, **columns: list) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(columns)
    frame["year"] = year
    frame["source_file"] = MA_FILE.format(year)
    frame["source_row"] = range(1, n + 1)
    frame["record_key"] = [f"r{year}{i}" for i in range(n)]
    frame["person_id"] = [f"P{year}{i}" for i in range(n)]
    frame["age_estimated"] = False
    return frame


@pytest.fixture
def maison(partners):
    return partners["maison_accueil"]


# --- completeness -------------------------------------------------------------------------------


def test_completeness_counts_inconnu_as_missing_and_exit_reason_on_ended_stays(maison):
    d = pd.Timestamp("2024-05-01")
    cur = _contacts(
        2024,
        sex=["M", "F", "INCONNU", "M"],
        nationality_group=["BE", "INCONNU", "INCONNU", "UE"],
        date_start=[d] * 4,
        date_end=[d, None, d, d],
        exit_reason=["relogement", None, "inconnu", None],
    )
    prev = _contacts(
        2023,
        sex=["M", "M"],
        nationality_group=["BE", "HORS_UE"],
        date_start=[d - pd.Timedelta(days=365)] * 2,
        date_end=[d, d],
        exit_reason=["exclusion", "deces"],
    )
    contacts = pd.concat([cur, prev], ignore_index=True)
    tokens = contacts[["source_file", "source_row"]].copy()
    tokens["tok_surname"] = ["a", None, "b", "c", "d", "e"]
    tokens["tok_first_name"] = ["a", "b", "c", "d", "e", "f"]
    tokens["tok_birth_date"] = ["x", "y", None, None, "z", "w"]
    tokens["tok_initials"] = None
    refusals = pd.DataFrame(columns=["date", "refusals", "source_file"])

    table = field_completeness(maison, contacts, tokens, refusals, 2024).set_index("field")

    assert table.loc["sex", "share"] == 0.75
    assert table.loc["sex", "share_prev"] == 1.0
    assert table.loc["sex", "change"] == pytest.approx(-0.25)
    assert table.loc["nationality", "share"] == 0.5
    assert table.loc["date_end", "share"] == 0.75
    # three stays ended in 2024: one reason given, one « inconnu », one empty
    assert table.loc["exit_reason", "base"] == 3
    assert table.loc["exit_reason", "share"] == pytest.approx(1 / 3)
    assert table.loc["surname", "share"] == 0.75  # a missing name has no token
    assert table.loc["birth_date", "share"] == 0.5
    assert table.loc["birth_date", "share_prev"] == 1.0
    assert table.loc["local_id", "share"] == 1.0
    assert "« inconnu » = vide" in table.loc["sex", "note"]
    assert table.loc["sex", "column"] == "Genre"  # the partner's own column label
    assert set(table.index) == set(maison.exports[0].columns)


def test_completeness_of_a_field_not_kept_is_not_measured(partners):
    abri = partners["abri_nuit"]
    d = pd.Timestamp("2024-02-01")
    contacts = _contacts(
        2024,
        sex=["M"],
        nationality_group=["BE"],
        date_start=[d],
        date_end=[d],
        nights=[0.0],
        exit_reason=[None],
    ).assign(source_file="abri_nuit/abri_nuit_sejours_2024.csv")
    tokens = contacts[["source_file", "source_row"]].assign(
        tok_surname="a", tok_first_name="b", tok_birth_date="c", tok_initials=None
    )
    refusals = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-03", "2024-01-04"]),
            "refusals": [2, 1],
            "source_file": "abri_nuit/abri_nuit_refus_2024.csv",
        }
    )
    table = field_completeness(abri, contacts, tokens, refusals, 2024)
    fee = table[table["field"] == "fee_eur"].iloc[0]
    assert pd.isna(fee["share"]) and pd.isna(fee["change"]) and "non mesuré" in fee["note"]
    refused = table[(table["export"] == "refus") & (table["field"] == "refusals")].iloc[0]
    assert refused["share"] == 1.0 and refused["base"] == 2


# --- months -------------------------------------------------------------------------------------


def _dates(per_month: dict[int, int], year: int) -> list[pd.Timestamp]:
    return [pd.Timestamp(year, m, 1 + i % 28) for m, n in per_month.items() for i in range(n)]


def test_missing_and_low_months_are_flagged_for_a_large_service():
    prev = _dates({m: 30 for m in range(1, 13)}, 2023)
    cur = _dates({m: (0 if m == 8 else 10 if m == 3 else 30) for m in range(1, 13)}, 2024)
    months = months_delivered(pd.Series(prev + cur), 2024)
    assert months.loc[8, "rows"] == 0 and months.loc[8, "rows_prev"] == 30
    assert list(months.index[months["missing"]]) == [8]
    assert list(months.index[months["low"]]) == [3]
    assert months["rows"].sum() == 10 * 30 + 10


def test_a_service_that_stopped_sending_mid_year_is_flagged():
    # the previous year is unknown (first year): the months delivered set the usual volume
    cur = _dates({m: 40 for m in range(1, 7)}, 2024)
    months = months_delivered(pd.Series(cur), 2024)
    assert list(months.index[months["missing"]]) == [7, 8, 9, 10, 11, 12]


def test_empty_months_of_a_small_service_or_of_refusals_are_not_gaps():
    small = _dates({m: 2 for m in range(1, 13) if m != 8}, 2024)
    assert not months_delivered(pd.Series(small), 2024)["missing"].any()
    refusals = _dates({1: 30, 2: 30, 12: 30}, 2023) + _dates({1: 30}, 2024)
    flags = months_delivered(pd.Series(refusals), 2024, flag_gaps=False)
    assert not flags["missing"].any() and not flags["low"].any()


# --- rows set aside -----------------------------------------------------------------------------


def test_every_quarantine_reason_has_advice_for_every_partner(partners):
    for mapping in partners.values():
        for spec in mapping.exports:
            generic = reason_advice("__motif_sans_conseil__", spec)
            for reason in QUARANTINE_REASONS:
                advice = reason_advice(reason, spec, year=2024)
                assert advice and advice != generic, (mapping.partner_id, spec.name, reason)
                assert advice[0].isupper() and advice.endswith(".")


def test_advice_speaks_the_partner_s_format_and_columns(partners):
    sejours = partners["abri_nuit"].exports[0]
    assert "jj/mm/aaaa" in reason_advice("date_illisible", sejours, year=2024)
    assert "« N° dossier »" in reason_advice("identite_manquante", sejours)
    assert "« Date » " in reason_advice("date_manquante", partners["travail_rue"].exports[0])


def _rows_json() -> dict:
    return {
        "files": {
            "abri_nuit/abri_nuit_sejours_2023.csv": {
                "partner_id": "abri_nuit",
                "reasons": {"date_illisible": 2},
            },
            "abri_nuit/abri_nuit_sejours_2024.csv": {
                "partner_id": "abri_nuit",
                "reasons": {"date_illisible": 15, "ligne_dupliquee": 1},
            },
            "abri_nuit/abri_nuit_sejours_2022.csv": {
                "partner_id": "abri_nuit",
                "reasons": {"code_inconnu": 9},
            },
            "abri_nuit/abri_nuit_refus_2024.csv": {
                "partner_id": "abri_nuit",
                "reasons": {"valeur_hors_plage": 1},
            },
            "accueil_jour/accueil_jour_2024.csv": {
                "partner_id": "accueil_jour",
                "reasons": {"code_inconnu": 4},
            },
        }
    }


def test_quarantine_counts_compare_the_two_years_per_export(partners):
    counts = quarantine_counts(_rows_json(), partners["abri_nuit"], 2024)
    got = {(r.export, r.reason): (r.n_prev, r.n) for r in counts.itertuples()}
    assert got == {
        ("sejours", "date_illisible"): (2, 15),
        ("sejours", "ligne_dupliquee"): (0, 1),
        ("refus", "valeur_hors_plage"): (0, 1),
    }  # 2022 and the other partner left out


IDENTITY = {"N° dossier": "AN-004711", "Nom": "Dupré-Lefèvre", "Prénom": "Clémentine"}


def _write_quarantine(folder: Path) -> None:
    """An ingest quarantine file as the pipeline writes it (raw cells after the location), and
    a validation one for a maison d'accueil stay of more than five years."""
    rows = []
    for i in range(15):  # 15 unreadable dates, lines 12-14 then every 10th line
        line = 12 + i if i < 3 else 10 * i
        rows.append([line - 1, line, "date_illisible", "Date d'entrée"])
    rows.append([99, 100, "ligne_dupliquee", "(ligne entière)"])
    frame = pd.DataFrame(rows, columns=["source_row", "line", "reason", "column"])
    frame.insert(0, "source_file", "abri_nuit/abri_nuit_sejours_2024.csv")
    frame.insert(0, "partner_id", "abri_nuit")
    for column, value in IDENTITY.items():
        frame[column] = value
    frame["Date de naissance"] = "07/03/1990"
    (folder / "ingest").mkdir(parents=True)
    frame.to_csv(folder / "ingest/abri_nuit__abri_nuit_sejours_2024.csv", index=False)
    (folder / "validation").mkdir()
    pd.DataFrame(
        {
            "record_key": ["9b0915fbf60bff9402b1ab5b132f7df5"],
            "partner_id": ["maison_accueil"],
            "dispositif": ["maison_accueil"],
            "nights": ["1954.0"],
            "age_at_contact": ["43.0"],
            "source_file": [MA_FILE.format(2023)],
            "source_row": ["44"],
            "reason": ["valeur_hors_plage"],
            "expectation": ["expect_column_values_to_be_between"],
        }
    ).to_csv(folder / "validation/contacts.csv", index=False)


def test_examples_cite_file_line_and_column_never_a_value(tmp_path, partners):
    _write_quarantine(tmp_path)
    abri = partners["abri_nuit"]
    examples = quarantine_examples(tmp_path, abri, (2023, 2024))
    dates = examples[examples["reason"] == "date_illisible"].iloc[0]
    assert dates["lines"][:4] == [12, 13, 14, 30] and dates["n"] == 15
    assert dates["where"] == "colonne « Date d'entrée »"
    table = reasons_table(quarantine_counts(_rows_json(), abri, 2024), examples, 2024)
    by_reason = {r["reason"]: r for r in table}
    assert by_reason["date_illisible"]["places"] == [
        "abri_nuit_sejours_2024.csv, colonne « Date d'entrée » : "
        "lignes 12–14, 30, 40, 50, 60, 70, 80, 90, 100, 110 et 3 autres"
    ]
    assert by_reason["ligne_dupliquee"]["places"] == [
        "abri_nuit_sejours_2024.csv, ligne entière : ligne 100"
    ]
    assert by_reason["valeur_hors_plage"]["places"] == []  # no row located for refusals
    text = json.dumps(table, ensure_ascii=False, default=str)
    for value in [*IDENTITY.values(), "07/03/1990", "1990"]:
        assert value not in text
    assert examples[examples["reason"] == "date_illisible"].shape[0] == 1
    assert quarantine_examples(tmp_path, abri, (2022,)).empty


def test_the_sheets_read_each_quarantine_file_once_for_all_partners(tmp_path, partners):
    _write_quarantine(tmp_path)
    data = NetworkData(
        contacts=pd.DataFrame(), tokens=pd.DataFrame(), refusals=pd.DataFrame(), rows={},
        inputs={}, published={},
    )  # fmt: skip
    for pid in ("abri_nuit", "maison_accueil", "abri_nuit"):
        shared = quarantine_examples(tmp_path, partners[pid], (2023, 2024), data.read_quarantine)
        alone = quarantine_examples(tmp_path, partners[pid], (2023, 2024))
        pd.testing.assert_frame_equal(shared, alone)
    assert len(data.quarantine) == 2  # one ingest file, one validation file: each read once


def test_validation_rows_are_located_in_the_partner_s_file(tmp_path, partners):
    _write_quarantine(tmp_path)
    examples = quarantine_examples(tmp_path, partners["maison_accueil"], (2023, 2024))
    row = examples.iloc[0]
    # data row 44 under a header on line 4 is line 48; a stay with no nights column is in
    # its dates
    assert row["lines"] == [48]
    assert row["where"] == "colonnes « Date d'entrée » et « Date de sortie »"


# --- persons, attention, formatting -------------------------------------------------------------


def test_person_counts_are_the_ledger_s_and_so_is_their_change():
    """A sheet prints the partner's persons as the annual report's ledger does: « < k » and
    « s » included, and no change beside a masked year."""
    ledger = pd.DataFrame(
        {
            "key": ["personnes|2023|partenaire=abri", "personnes|2024|partenaire=abri"],
            "status": ["publie", "primaire"],
            "value": [7.0, None],
            "tables": ["personnes_par_partenaire"] * 2,
        }
    )
    cells = published_texts(ledger, 5)
    files = {
        y: pd.DataFrame({"rows_read": [n], "rows_clean": [n - 1], "rows_quarantined": [1]})
        for y, n in ((2023, 8), (2024, 5))
    }
    persons_of = {y: cells[f"personnes|{y}|partenaire=abri"] for y in (2023, 2024)}
    rows = {r["label"]: r for r in persons_and_rows(files, 2024, persons_of)}
    persons = rows["Personnes distinctes"]
    assert (persons["prev"], persons["cur"], persons["change"]) == ("7", "< 5", "–")
    assert rows["Lignes lues"]["change"] == "−37,5\u202f%"
    assert rows["Lignes écartées"]["cur"] == "1"
    masked = published_texts(ledger.assign(status=["publie", "secondaire"]), 5)
    rows = persons_and_rows(
        files, 2024, {y: masked[f"personnes|{y}|partenaire=abri"] for y in (2023, 2024)}
    )
    assert (rows[-1]["cur"], rows[-1]["change"]) == ("s", "–")
    both = published_texts(ledger.assign(status="publie", value=[8.0, 10.0]), 5)
    rows = persons_and_rows(
        files, 2024, {y: both[f"personnes|{y}|partenaire=abri"] for y in (2023, 2024)}
    )
    assert (rows[-1]["prev"], rows[-1]["cur"], rows[-1]["change"]) == ("8", "10", "+25,0\u202f%")


def test_attention_points_state_the_facts_with_their_figures():
    months = months_delivered(
        pd.Series(
            _dates({m: 30 for m in range(1, 13)}, 2023)
            + _dates({m: 30 for m in range(1, 13) if m != 8}, 2024)
        ),
        2024,
    )
    completeness = pd.DataFrame(
        {
            "field": ["sex", "nationality", "zone"],
            "label": ["Sexe", "Nationalité", "Zone"],
            "column": ["Genre", "Nationalité", "Quartier"],
            "share": [0.70, 0.995, 0.5],
            "share_prev": [0.95, 1.0, 0.5],
            "change": [-0.25, -0.005, 0.0],
            "note": ["", "", ""],
        }
    )
    reasons = [
        {"label": "Date illisible", "n": "12", "n_value": 12},
        {"label": "Code inconnu", "n": "3", "n_value": 3},
    ]
    files = pd.DataFrame({"rows_read": [345], "rows_quarantined": [15]})
    points = attention_points(2024, months, reasons, completeness, files, files.iloc[:0])
    assert points[0] == "1 mois sans aucune ligne en 2024 : août (330 lignes sur l'année)."
    assert "15 lignes écartées en 2024 sur 345 lues (4,3\u202f%)" in points[1]
    assert "« date illisible » (12 lignes)" in points[1]
    assert (
        "« Genre » : 70,0\u202f% en 2024 contre 95,0\u202f% en 2023 (−25,0\u202fpts)" in (points[2])
    )
    assert not any("Nationalité" in p for p in points)  # −0,5 pt: below the threshold
    assert "« Quartier » n'est renseigné que pour 50,0\u202f%" in points[3]


def test_points_and_markdown_escaping():
    assert french_points(-0.188) == "−18,8\u202fpts"
    assert french_points(0.003) == "+0,3\u202fpt"
    assert french_points(None) == "–"
    assert md("A | B @x *y*") == "A \\| B \\@x \\*y\\*"
    assert md("« Nom » : x") == "«\u00a0Nom\u00a0»\u00a0: x"


# --- the real sheets ----------------------------------------------------------------------------

HAS_DATA = all(
    (ROOT / p).exists()
    for p in (
        "data_clean/contacts.parquet",
        "outputs/metrics/rows.json",
        "outputs/metrics/inputs.json",
        "outputs/indicators",
    )
)


def _corrupt_dates(root: Path, partners) -> list[int]:
    """Re-read a real export with three unreadable dates, as ingest would, and put its
    quarantine (raw cells included) and its row accounting in the copy of the project."""
    from observatoire.core.storage import write_csv
    from observatoire.intake.ingest import read_partner_file

    mapping = partners["urgence_sociale"]
    rel = "urgence_sociale/urgence_sociale_2024.csv"
    lines = (ROOT / "data_raw/sample" / rel).read_bytes().decode("cp1252").split("\r\n")
    date = lines[0].split(";").index("Date")
    for i in (5, 6, 40):
        cells = lines[i].split(";")
        cells[date] = cells[date].replace("/", "-")
        lines[i] = ";".join(cells)
    corrupted = root / "work" / rel
    corrupted.parent.mkdir(parents=True)
    corrupted.write_bytes("\r\n".join(lines).encode("cp1252"))
    result, _ = read_partner_file(corrupted, rel, mapping, mapping.exports[0])
    assert result.reasons == {"date_illisible": 3}
    write_csv(
        result.quarantined.astype(str),
        root / "data_raw/quarantine/ingest/urgence_sociale__urgence_sociale_2024.csv",
    )
    rows = json.loads((ROOT / "outputs/metrics/rows.json").read_text(encoding="utf-8"))
    acc = rows["files"][rel]
    acc.update(reasons={"date_illisible": 3}, rows_quarantined=3, rows_clean=acc["rows_read"] - 3)
    (root / "outputs/metrics/rows.json").write_text(json.dumps(rows), encoding="utf-8")
    return [i + 1 for i in (5, 6, 40)]


def _partner_ledgers(root: Path, year: int, k: int, masked: set[str]) -> dict[tuple[str, int], str]:
    """A ledger of the partners' persons (by presence, from the indicators) as the publication
    stage would write it for threshold ``k``, the partners of ``masked`` as « s » this year;
    returns the text each cell must print."""
    from observatoire.disclosure.ledger import PublicationState, write_state
    from observatoire.indicators.contract import INDICATORS_FILE, PREVIOUS_YEAR_FILE

    ind_dir = ROOT / "outputs/indicators" / str(year)
    rows: dict[int, list[dict]] = {}
    texts = {}
    for y, name in ((year, INDICATORS_FILE), (year - 1, PREVIOUS_YEAR_FILE)):
        ind = json.loads((ind_dir / name).read_text(encoding="utf-8"))
        for pid, p in ind["partners"].items():
            n = float(p["persons"])
            status = "primaire" if 0 < n < k else "publie"
            if y == year and pid in masked:
                status = "secondaire"
            shown = f"< {k}" if status == "primaire" else "s" if status == "secondaire" else None
            texts[(pid, y)] = shown or french_number(n)
            rows.setdefault(y, []).append(
                {
                    "key": f"personnes|{y}|partenaire={pid}",
                    "status": status,
                    "value": n if status == "publie" else None,
                    "tables": "personnes_par_partenaire",
                }
            )
    tables = root / "outputs/tables" / str(year)
    tables.mkdir(parents=True)
    pd.DataFrame(rows[year]).to_csv(tables / "cases_publiees.csv", index=False)
    state = PublicationState(pd.DataFrame(columns=["key"]), pd.DataFrame(rows[year - 1]), None, {})
    (root / "outputs/disclosure" / str(year)).mkdir(parents=True)
    write_state(root / "outputs/disclosure" / str(year), state)
    return texts


@pytest.mark.skipif(not HAS_DATA, reason="pas de sorties du pipeline : lancez `make run`")
def test_real_sheets_one_per_partner_no_identity_and_small_counts_masked(tmp_path, partners):
    """The sheets of the default sample, with k = 120 so that Housing First's persons are
    « < 120 », street work's masked « s » by a planted ledger (the sheets print the ledger), and
    three unreadable dates planted in the urgence sociale quarantine."""
    from pypdf import PdfReader

    from observatoire.guard.leaks import collect_identities, scan_tree
    from observatoire.reports.quality import build_quality_sheets

    root = tmp_path / "projet"
    (root / "data_raw/quarantine").mkdir(parents=True)
    (root / "outputs/metrics").mkdir(parents=True)
    for name in ("data_clean", "params", "data_raw/sample", "data_raw/quarantine/validation"):
        (root / name).symlink_to(ROOT / name)
    shutil.copy(ROOT / "outputs/metrics/inputs.json", root / "outputs/metrics/inputs.json")
    planted = _corrupt_dates(root, partners)
    settings = project_settings(report__disclosure_threshold=120)
    ledgers = _partner_ledgers(root, settings.report.year, k=120, masked={"travail_rue"})

    written = build_quality_sheets(settings, Path("params/pipeline.yaml"), root=root)

    out = root / "outputs/quality" / str(settings.report.year)
    assert sorted(written) == sorted(partners)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["index.html"] + [f"{pid}.{ext}" for pid in partners for ext in ("html", "pdf")]
    )
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{pid}.pdf"' in index for pid in partners)

    ids = collect_identities(ROOT / settings.inputs.raw_dir, partners)
    scan = scan_tree([out], ids)
    assert scan.findings == [] and scan.unreadable == []
    assert scan.scanned["pdf"] == len(partners) and scan.scanned["html"] == len(partners) + 1

    persons_row = re.compile(
        r"Personnes distinctes</td>\s*<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)<"
    )
    for pid in partners:
        page = (out / f"{pid}.html").read_text(encoding="utf-8")
        shown = persons_row.search(page).groups()
        # A partner that sends counts only has no persons of its own: « – » (no cell).
        expected = tuple(html.escape(ledgers.get((pid, y), "–")) for y in (2023, 2024))
        assert shown == expected, (pid, shown, expected)
        pdf = PdfReader(out / f"{pid}.pdf")
        assert 1 <= len(pdf.pages) <= 3
    hf = (out / "housing_first.html").read_text(encoding="utf-8")
    assert persons_row.search(hf).groups() == ("&lt; 120", "&lt; 120")
    street = (out / "travail_rue.html").read_text(encoding="utf-8")
    assert persons_row.search(street).groups()[1] == "s"

    us = (out / "urgence_sociale.html").read_text(encoding="utf-8")
    assert "Date illisible" in us
    assert f"lignes {planted[0]}, {planted[1]} et {planted[2]}" in us.replace("\u00a0", " ")
