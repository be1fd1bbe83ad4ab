"""A project team's spreadsheets read through mappings alone (issue 20): one sheet per month
with a title row and a header on two lines with merged cells, a grid of attendance marks (an
unknown mark set aside, an absence counted apart), activity names typed with variants mapped
onto one code (an unknown one set aside and named), the form presence_activite with its repeat
sheet (an orphan set aside), participants pseudonymised as the partner exports' records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import Workbook

from observatoire.core.schema import PROJECT_TABLES, field_dtypes
from observatoire.intake.ingest import ingest_network
from observatoire.intake.mapping import load_mapping
from observatoire.intake.pseudonymise import Pseudonymiser

KEY = b"p" * 32
MONTHS = {"Janvier 2024": 1, "Février 2024": 2, "Mars 2024": 3}
VARIANTS = ["Conseil des locataires", "conseil locataires", "CONSEIL"]
NAMES = ("Dupont", "Marie", "Lefèvre", "Jean", "Martin")


def _activities_workbook(path: Path) -> None:
    """One sheet per month: a title on line 1, a header on lines 3–4 whose top cells are merged
    (« Activité » over Date / Intitulé, « Lieu » merged down over both lines)."""
    wb = Workbook()
    wb.remove(wb.active)
    guide = wb.create_sheet("Mode d'emploi")
    guide["A1"] = "Une feuille par mois ; ne pas modifier l'en-tête."
    for name, month in MONTHS.items():
        ws = wb.create_sheet(name)
        ws["A1"] = f"Activités — {name}"
        ws["A3"], ws["C3"], ws["D3"] = "Activité", "Lieu", "Durée (h)"
        ws.merge_cells("A3:B3")
        ws.merge_cells("C3:C4")
        ws.merge_cells("D3:D4")
        ws["A4"], ws["B4"] = "Date", "Intitulé"
        rows = [
            (dt.datetime(2024, month, 5), VARIANTS[month - 1], "Maison de quartier", 2),
            (dt.datetime(2024, month, 12), "Sport", "Salle Jean Dupont", 1.5),
        ]
        if month == 3:
            rows.append((dt.datetime(2024, 3, 20), "Pétanque improvisée", "Parc", 1))
        for i, r in enumerate(rows, start=5):
            for j, v in enumerate(r, start=1):
                ws.cell(i, j, v)
    wb.save(path)


def _attendance_workbook(path: Path) -> None:
    """A grid per month: the activity merged over its dates on line 2, the dates on line 3,
    one row per tenant; marks « x », « P », 1; an unknown mark « ? » and an absence « A »."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, month in MONTHS.items():
        ws = wb.create_sheet(name)
        ws["A1"] = f"Présences — {name}"
        ws["A2"], ws["B2"] = "Code locataire", "Rôle"
        ws.merge_cells("A2:A3")
        ws.merge_cells("B2:B3")
        ws["C2"], ws["D2"] = VARIANTS[month - 1], "Sport"
        ws["C3"], ws["D3"] = dt.datetime(2024, month, 5), dt.datetime(2024, month, 12)
        ws["E2"] = "Total"
        ws.merge_cells("E2:E3")
        marks = {
            "hf-001": ("x", "P"),
            "HF-002": (1, None),
            "HF-003": ("?", "A") if month == 2 else ("X", None),
            "HF-004": (None, None),
        }
        for i, (code, (c, d)) in enumerate(marks.items(), start=4):
            ws.cell(i, 1, code)
            ws.cell(i, 2, "loc")
            ws.cell(i, 3, c)
            ws.cell(i, 4, d)
            ws.cell(i, 5, sum(v is not None for v in (c, d)))
    wb.save(path)


def _form_workbook(path: Path) -> None:
    """An export of presence_activite: the main sheet, and the repeat « participants » joined
    by _submission__uuid (one orphan row)."""
    wb = Workbook()
    main = wb.active
    main.title = "presence_activite"
    main.append(
        [
            "activite/date",
            "activite/type",
            "activite/intitule",
            "activite/lieu",
            "activite/partenaire",
            "activite/duree",
            "_uuid",
            "__version__",
            "_index",
        ]
    )
    main.append(["2024-04-02", "entrainement", "Entraînement", "Stade", "", 2, "u-1", "v1", 1])
    main.append(["2024-04-09", "tournoi", "Tournoi", "Stade", "Club", 4, "u-2", "v1", 2])
    rep = wb.create_sheet("participants")
    rep.append(
        [
            "participants/nom",
            "participants/prenom",
            "participants/date_naissance",
            "participants/code",
            "participants/role",
            "participants/service",
            "_index",
            "_parent_index",
            "_submission__uuid",
        ]
    )
    rep.append([NAMES[0], NAMES[1], "1990-05-04", "", "joueur", "abri_nuit", 1, 1, "u-1"])
    rep.append([NAMES[2], NAMES[3], "1985-11-30", "", "joueur", "accueil_jour", 2, 1, "u-1"])
    rep.append([NAMES[0], NAMES[1], "1990-05-04", "", "joueur", "abri_nuit", 3, 2, "u-2"])
    rep.append(["", "", "", "E-07", "travailleur", "", 4, 2, "u-2"])
    rep.append([NAMES[4], "Paul", "1970-01-01", "", "joueur", "", 5, 9, "u-9"])  # orphan
    wb.save(path)


AFFILIATION = {
    "partner_id": "affiliation_hf",
    "name": "Affiliation sociale (test)",
    "row_unit": "activite",
    "exports": [
        {
            "name": "activites",
            "table": "project_activities",
            "files": "affiliation_hf/activites_*.xlsx",
            "period_from_filename": r"(?P<year>\d{4})",
            "format": {
                "type": "xlsx",
                "sheets": "*",
                "skip_sheets": ["Mode d'emploi"],
                "header_row": 3,
                "header_rows": 2,
                "date_format": "excel",
            },
            "columns": {
                "date": {"column": "Activité / Date", "required": True},
                "activity": {
                    "column": "Activité / Intitulé",
                    "codes": "@activites_test",
                    "required": True,
                },
                "title": {"column": "Activité / Intitulé"},
                "place": {"column": "Lieu"},
                "duration_hours": {"column": "Durée (h)", "type": "decimal"},
            },
        },
        {
            "name": "presences",
            "table": "project_attendance",
            "files": "affiliation_hf/presences_*.xlsx",
            "period_from_filename": r"(?P<year>\d{4})",
            "format": {
                "type": "xlsx",
                "sheets": r"^\w+ 2024$",
                "header_row": 2,
                "header_rows": 2,
                "date_format": "excel",
                "grid": {
                    "row_columns": ["Code locataire", "Rôle"],
                    "mark": ["x", "P", 1],
                    "absent": ["A"],
                },
            },
            "columns": {
                "participant_id": {
                    "column": "Code locataire",
                    "required": True,
                    "person_partner": "housing_first",
                },
                "role": {"column": "Rôle", "codes": {"loc": "locataire"}},
                "activity": {"column": "@top", "codes": "@activites_test"},
                "date": {"column": "@bottom", "required": True},
            },
        },
    ],
}
SPORT = {
    "partner_id": "sport_foot",
    "name": "Football de rue (test)",
    "row_unit": "activite",
    "form": "presence_activite",
    "exports": [
        {
            "name": "activites",
            "table": "project_activities",
            "files": "sport_foot/presence_activite_*.xlsx",
            "period_from_filename": r"(?P<year>\d{4})",
            "format": {"type": "xlsx", "sheet": "presence_activite"},
            "columns": {
                "submission_id": {"column": "_uuid", "required": True},
                "activity_id": {"column": "_uuid"},
                "form_version": {"column": "__version__"},
                "date": {"column": "activite/date", "type": "date", "required": True},
                "activity": {"column": "activite/type", "codes": "@activites_foot"},
                "title": {"column": "activite/intitule"},
                "place": {"column": "activite/lieu"},
                "partner": {"column": "activite/partenaire"},
                "duration_hours": {"column": "activite/duree", "type": "decimal"},
            },
        },
        {
            "name": "participants",
            "table": "project_attendance",
            "files": "sport_foot/presence_activite_*.xlsx",
            "period_from_filename": r"(?P<year>\d{4})",
            "format": {"type": "xlsx", "sheet": "participants"},
            "columns": {
                "activity_id": {"column": "_submission__uuid", "required": True},
                "participant_id": {"column": "participants/code"},
                "surname": {"column": "participants/nom"},
                "first_name": {"column": "participants/prenom"},
                "birth_date": {"column": "participants/date_naissance", "type": "date"},
                "role": {"column": "participants/role"},
            },
        },
    ],
}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("projets")
    raw, partners_dir, codes = root / "raw", root / "partners", root / "codes"
    for d in (raw / "affiliation_hf", raw / "sport_foot", partners_dir, codes):
        d.mkdir(parents=True)
    (codes / "activites_test.yaml").write_text(
        yaml.safe_dump({**{v: "conseil" for v in VARIANTS}, "Sport": "sport"}, allow_unicode=True),
        encoding="utf-8",
    )
    (codes / "activites_foot.yaml").write_text(
        "entrainement: entrainement\ntournoi: tournoi\n", encoding="utf-8"
    )
    _activities_workbook(raw / "affiliation_hf" / "activites_2024.xlsx")
    _attendance_workbook(raw / "affiliation_hf" / "presences_2024.xlsx")
    _form_workbook(raw / "sport_foot" / "presence_activite_2024.xlsx")
    partners = {}
    for spec in (AFFILIATION, SPORT):
        path = partners_dir / f"{spec['partner_id']}.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        partners[spec["partner_id"]] = load_mapping(path, codes)
    log: list[str] = []
    result = ingest_network(raw, partners, Pseudonymiser(KEY), progress=log.append)
    return result, log


def _files(result, name: str):
    return {f.source_file: f for f in result.files if f.source_file.startswith(name)}


def test_every_project_table_is_there_with_its_columns_and_dtypes(ingested):
    result, _ = ingested
    for table in PROJECT_TABLES:
        frame = result.field_tables[table]
        assert dict(frame.dtypes.astype(str)) == field_dtypes(table), table


def test_one_sheet_per_month_with_merged_headers_and_variants_to_one_code(ingested):
    result, _ = ingested
    acts = result.field_tables["project_activities"]
    acts = acts[acts["partner_id"] == "affiliation_hf"]
    files = _files(result, "affiliation_hf/activites_2024.xlsx")
    # every month sheet read and accounted on its own; the guide sheet skipped
    assert set(files) == {f"affiliation_hf/activites_2024.xlsx#{m}" for m in MONTHS}
    assert all(f.rows_counted == f.rows_read for f in files.values())
    assert (acts["activity"] == "conseil").sum() == 3  # three typed variants, one code
    assert sorted(acts.loc[acts["activity"] == "conseil", "title"]) == sorted(VARIANTS)
    assert set(acts["place"]) == {"Maison de quartier", "Salle Jean Dupont"}
    assert "2024-01-05|conseil|1" in set(acts["activity_id"])
    assert acts["source_row"].min() == 1  # the first data line after the two header lines
    march = files["affiliation_hf/activites_2024.xlsx#Mars 2024"]
    assert march.reasons == {"code_inconnu": 1}
    assert "Pétanque improvisée" in march.quarantined["column"].iloc[0]
    assert int(march.quarantined["line"].iloc[0]) == 7


def test_a_grid_of_marks_gives_one_presence_per_marked_cell(ingested):
    result, log = ingested
    att = result.field_tables["project_attendance"]
    att = att[att["partner_id"] == "affiliation_hf"]
    files = _files(result, "affiliation_hf/presences_2024.xlsx")
    # January: x, P, 1, X; February: x, P, 1 (« ? » set aside, « A » an absence); March: 4
    assert len(att) == 4 + 3 + 4
    feb = files["affiliation_hf/presences_2024.xlsx#Février 2024"]
    assert feb.reasons == {"marque_inconnue": 1}
    assert feb.rows_counted == 4  # the persons' rows, HF-004 without any mark included
    assert feb.accounting()["grid_person_rows"] == 4
    assert feb.rows_read == feb.rows_accepted + feb.rows_quarantined == 4
    q = feb.quarantined.iloc[0]
    assert "« ? »" in q["column"] and int(q["line"]) == 6
    # one line per workbook (its total and its sheets), the sheet's count in the accounting
    absences = [w for w in result.warnings if "marque(s) d'absence" in w]
    assert len(absences) == 1 and "presences_2024.xlsx (" in absences[0]
    assert "1 marque(s) d'absence" in absences[0] and "Février 2024 (1)" in absences[0]
    assert feb.accounting()["grid_absent_marks"] == 1
    assert set(att["activity"]) == {"conseil", "sport"}
    assert set(att["role"]) == {"locataire"}
    # each presence meets its session of the activities' sheets
    acts = result.field_tables["project_activities"]
    assert set(att["activity_id"]) <= set(acts["activity_id"])
    assert att["submission_id"].is_unique


def test_participants_pseudonymised_as_the_exports_records(ingested):
    result, _ = ingested
    pseudo = Pseudonymiser(KEY)
    att = result.field_tables["project_attendance"]
    hf = att[att["partner_id"] == "affiliation_hf"]
    # the code's case and spaces do not matter; person_key is housing_first's record_key
    assert set(hf["participant_id"]) == {
        pseudo.token("participant", f"affiliation_hf:HF-00{i}") for i in (1, 2, 3)
    }
    record_key = pseudo.tokens("record", pd.Series(["housing_first:HF-001"]))[0]
    assert record_key in set(hf["person_key"])
    foot = att[att["partner_id"] == "sport_foot"]
    named = foot[foot["tok_surname"] != ""]
    # the same player at two sessions: one pseudonym; the tokens as identity_tokens computes them
    assert named["participant_id"].nunique() == 2
    assert pseudo.token("surname", "DUPONT") in set(named["tok_surname"])
    assert pseudo.token("first_name", "JEAN") in set(named["tok_first_name"])
    assert pseudo.token("birth_date", "1990-05-04") in set(named["tok_birth_date"])
    assert (foot["person_key"] == "").all()


def test_no_name_in_clear_in_any_written_table(ingested):
    result, _ = ingested
    for table in PROJECT_TABLES:
        text = result.field_tables[table].astype(str).to_string()
        for name in ("Dupont", "Lefèvre", "Marie", "Martin", "E-07", "HF-001", "hf-001"):
            if name == "Dupont" and table == "project_activities":
                continue  # the place « Salle Jean Dupont » as typed: not a participant
            assert name not in text, (table, name)


def test_the_form_and_its_repeat_sheet_joined_by_uuid_orphan_set_aside(ingested):
    result, _ = ingested
    att = result.field_tables["project_attendance"]
    foot = att[att["partner_id"] == "sport_foot"]
    assert len(foot) == 4
    # the repeat's rows take their session's date and activity
    assert set(zip(foot["activity_id"], foot["activity"], strict=True)) == {
        ("u-1", "entrainement"),
        ("u-2", "tournoi"),
    }
    assert foot["date"].notna().all() and (foot["year"] == 2024).all()
    rep = _files(result, "sport_foot/presence_activite_2024.xlsx#participants")
    (res,) = rep.values()
    assert res.reasons == {"jointure_sans_correspondance": 1}
    assert res.rows_read == res.rows_accepted + res.rows_quarantined == 5


def _inputs(tmp_path: Path, specs: list[dict]):
    import shutil

    from observatoire.config.settings import InputsSettings

    root = tmp_path / "projet" / "params"
    (root / "partners").mkdir(parents=True)
    (root / "codes").mkdir()
    (root / "formulaires").mkdir()
    (root / "codes" / "activites_test.yaml").write_text(
        yaml.safe_dump({**{v: "conseil" for v in VARIANTS}, "Sport": "sport"}, allow_unicode=True),
        encoding="utf-8",
    )
    (root / "codes" / "activites_foot.yaml").write_text(
        "entrainement: entrainement\ntournoi: tournoi\n", encoding="utf-8"
    )
    forms = Path(__file__).resolve().parents[3] / "params" / "formulaires"
    shutil.copy(forms / "presence_activite.xlsx", root / "formulaires")
    for spec in specs:
        (root / "partners" / f"{spec['partner_id']}.yaml").write_text(
            yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8"
        )
    return InputsSettings.model_validate(
        {
            "raw_dir": tmp_path / "raw",
            "partners_dir": root / "partners",
            "codes_dir": root / "codes",
        }
    )


def test_check_reads_every_month_sheet_and_the_form_with_its_repeat(tmp_path: Path):
    from observatoire.intake.check import check_file, render_text

    inputs = _inputs(tmp_path, [AFFILIATION, SPORT])
    grid = tmp_path / "presences_2024.xlsx"
    _attendance_workbook(grid)
    report = check_file(grid, "affiliation_hf", inputs)
    text = render_text(report)
    assert report.rows_read == 12 and report.rows_quarantined == 1, text
    assert report.reasons == {"marque_inconnue": 1}
    assert "feuille « Février 2024 », colonne" in text and "Mars 2024" in text
    assert "@mark" not in text  # the grid's own columns are no extra column
    form = tmp_path / "presence_activite_2024.xlsx"
    _form_workbook(form)
    report = check_file(form, "sport_foot", inputs)
    text = render_text(report)
    assert report.rows_read == 2 + 5 and report.reasons == {"jointure_sans_correspondance": 1}
    assert "ne connaît pas" not in text, text  # the export's columns are the form's


def test_the_mapping_refuses_in_french_what_projects_do_not_allow(tmp_path: Path):
    from observatoire.core.errors import MappingError

    def refused(change) -> str:
        spec = yaml.safe_load(yaml.safe_dump(AFFILIATION))
        change(spec)
        path = tmp_path / "affiliation_hf.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        codes = tmp_path / "codes"
        codes.mkdir(exist_ok=True)
        (codes / "activites_test.yaml").write_text("Sport: sport\n", encoding="utf-8")
        with pytest.raises(MappingError) as err:
            load_mapping(path, codes)
        return err.value.problem

    def grid_without_two_rows(s):
        s["exports"][1]["format"]["header_rows"] = 1

    def both_sheet_and_sheets(s):
        s["exports"][0]["format"]["sheet"] = "Mars 2024"

    def person_partner_elsewhere(s):
        s["exports"][1]["columns"]["role"]["person_partner"] = "housing_first"

    def top_without_grid(s):
        del s["exports"][1]["format"]["grid"]

    assert "header_rows: 2" in refused(grid_without_two_rows)
    assert "s'excluent" in refused(both_sheet_and_sheets)
    assert "participant_id" in refused(person_partner_elsewhere)
    assert "format.grid" in refused(top_without_grid)


def test_the_validation_suites_of_the_project_tables(ingested):
    from observatoire.intake.validate import validate_tables

    result, _ = ingested
    activities = result.field_tables["project_activities"]
    twice = pd.concat([result.field_tables["project_attendance"]] * 2, ignore_index=True)
    twice["submission_id"] = [f"s{i}" for i in range(len(twice))]
    field = {"project_activities": activities, "project_attendance": twice}
    empty = result.contacts.iloc[0:0]
    out = validate_tables(empty, result.refusals, pd.Timestamp("2024-12-31"), None, field=field)
    assert len(out["field/project_activities"].set_aside) == 0
    # the same participant twice in one session: the only rule the copies break
    bad = out["field/project_attendance"].set_aside
    assert set(bad["reason"]) == {"ligne_dupliquee"} and len(bad) == len(twice)


def test_budget_and_followups_planned_lines_dated_and_expenses_split_by_status(tmp_path: Path):
    raw = tmp_path / "raw" / "affiliation_hf"
    raw.mkdir(parents=True)
    wb = Workbook()
    plan = wb.active
    plan.title = "Budget prévu"
    plan.append(["Ligne", "Financeur", "Montant prévu"])
    plan.append(["activites", "Région", 12000])
    plan.append(["transport", "Ville", 3000])
    spent = wb.create_sheet("Dépenses")
    spent.append(["Date", "Ligne", "Financeur", "Montant", "Statut"])
    spent.append([dt.datetime(2024, 2, 3), "activites", "Région", 450.5, "payé"])
    spent.append([dt.datetime(2024, 3, 9), "transport", "Ville", 120, "engagé"])
    wb.save(raw / "budget_2024.xlsx")
    wb = Workbook()
    ws = wb.active
    ws.title = "Janvier"
    ws.append(["Date", "Code locataire", "Contact", "Domaine", "Lieu", "Atteint", "Note"])
    ws.append(
        [
            dt.datetime(2024, 1, 8),
            "hf-001",
            "visite_domicile",
            "sport",
            "Club de foot de Jambes",
            "oui",
            "Marie Dupont a rappelé, tél. 0475 12 34 56",
        ]
    )
    ws.append([dt.datetime(2024, 1, 9), "", "entretien", "culture", "", "non", ""])
    wb.save(raw / "suivis_2024.xlsx")
    year = r"(?P<year>\d{4})"
    spending = {
        "table": "project_budget",
        "files": "affiliation_hf/budget_*.xlsx",
        "period_from_filename": year,
        "format": {"type": "xlsx", "sheet": "Dépenses", "date_format": "excel"},
    }
    spec = {
        "partner_id": "affiliation_hf",
        "name": "Affiliation (test)",
        "row_unit": "ligne",
        "exports": [
            {
                "name": "prevu",
                "table": "project_budget",
                "files": "affiliation_hf/budget_*.xlsx",
                "period_from_filename": year,
                "format": {"type": "xlsx", "sheet": "Budget prévu"},
                "columns": {"line": "Ligne", "funder": "Financeur", "planned_eur": "Montant prévu"},
            },
            {
                **spending,
                "name": "paye",
                "where": [{"column": "Statut", "in": ["payé"]}],
                "columns": {
                    "date": {"column": "Date", "type": "date"},
                    "line": "Ligne",
                    "funder": "Financeur",
                    "spent_eur": {"column": "Montant", "type": "decimal"},
                },
            },
            {
                **spending,
                "name": "engage",
                "where": [{"column": "Statut", "in": ["engagé"]}],
                "columns": {
                    "date": {"column": "Date", "type": "date"},
                    "line": "Ligne",
                    "funder": "Financeur",
                    "committed_eur": {"column": "Montant", "type": "decimal"},
                },
            },
            {
                "name": "suivis",
                "table": "project_followups",
                "files": "affiliation_hf/suivis_*.xlsx",
                "period_from_filename": year,
                "format": {"type": "xlsx", "sheets": "*", "date_format": "excel"},
                "columns": {
                    "date": {"column": "Date", "type": "date", "required": True},
                    "participant_id": {
                        "column": "Code locataire",
                        "person_partner": "housing_first",
                    },
                    "contact_kind": "Contact",
                    "domain": "Domaine",
                    "place": "Lieu",
                    "goal_reached": {"column": "Atteint", "type": "boolean"},
                    "note": "Note",
                },
            },
        ],
    }
    path = tmp_path / "affiliation_hf.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    partner = load_mapping(path, tmp_path)
    pseudo = Pseudonymiser(KEY)
    result = ingest_network(tmp_path / "raw", {"affiliation_hf": partner}, pseudo, lambda _m: None)
    budget = result.field_tables["project_budget"].set_index("line")
    assert budget["planned_eur"].dropna().to_dict() == {"activites": 12000.0, "transport": 3000.0}
    planned = budget[budget["planned_eur"].notna()]
    assert (planned["date"] == pd.Timestamp("2024-01-01")).all()
    assert budget["spent_eur"].dropna().to_dict() == {"activites": 450.5}
    assert budget["committed_eur"].dropna().to_dict() == {"transport": 120.0}
    follow = result.field_tables["project_followups"]
    assert len(follow) == 1  # the entry without a tenant's code is set aside
    (res,) = [f for f in result.files if f.table == "project_followups"]
    assert res.reasons == {"identite_manquante": 1} and res.source_file.endswith("#Janvier")
    row = follow.iloc[0]
    assert row["person_key"] == pseudo.token("record", "housing_first:HF-001")
    assert bool(row["goal_reached"]) and row["domain"] == "sport"
    assert "Dupont" not in row["note"] and "0475" not in row["note"]


def test_a_month_sheet_says_its_month_and_rows_dated_elsewhere_are_warned_not_set_aside():
    from observatoire.intake.field import dates_outside_sheet_month, sheet_month

    assert sheet_month("Janvier") == (None, 1)
    assert sheet_month("janv. 2024") == (2024, 1)
    assert sheet_month("2024-03") == (2024, 3)
    assert sheet_month("Février 2024") == (2024, 2)
    assert sheet_month("Mode d'emploi") is None
    dates = pd.Series(pd.to_datetime(["2024-03-05", "2024-04-02", None]))
    assert "1 ligne(s)" in dates_outside_sheet_month("Mars 2024", dates)
    assert dates_outside_sheet_month("Avril", dates.iloc[1:]) is None


def test_keys_and_tokens_meet_the_housing_first_exports_own(tmp_path: Path):
    """A participant's person_key is the record_key ingest gives the Housing First export's
    tenant of the same code; a player's name tokens are that export's identity tokens."""
    root = Path(__file__).resolve().parents[3] / "params"
    raw = tmp_path / "raw"
    for d in ("housing_first", "affiliation_hf", "sport_foot"):
        (raw / d).mkdir(parents=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "Locataires"
    ws["A1"] = "Housing First — locataires"
    header = ["Code locataire", "Nom", "Prénom", "Date de naissance", "Sexe", "Nationalité"]
    header += ["Entrée en logement", "Sortie du logement", "Motif de sortie"]
    for j, h in enumerate(header, start=1):
        ws.cell(3, j, h)
    ws.append(["HF-001", NAMES[0], NAMES[1], dt.datetime(1990, 5, 4), "F", "Belge"])
    for j, v in enumerate([dt.datetime(2024, 2, 1), None, None], start=7):
        ws.cell(4, j, v)
    wb.save(raw / "housing_first" / "housing_first_2024.xlsx")
    _activities_workbook(raw / "affiliation_hf" / "activites_2024.xlsx")
    _attendance_workbook(raw / "affiliation_hf" / "presences_2024.xlsx")
    _form_workbook(raw / "sport_foot" / "presence_activite_2024.xlsx")
    codes = tmp_path / "codes"
    codes.mkdir()
    for f in (root / "codes").glob("*.yaml"):
        (codes / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (codes / "activites_test.yaml").write_text(
        yaml.safe_dump({**{v: "conseil" for v in VARIANTS}, "Sport": "sport"}, allow_unicode=True),
        encoding="utf-8",
    )
    (codes / "activites_foot.yaml").write_text(
        "entrainement: entrainement\ntournoi: tournoi\n", encoding="utf-8"
    )
    partners = {"housing_first": load_mapping(root / "partners" / "housing_first.yaml", codes)}
    for spec in (AFFILIATION, SPORT):
        path = tmp_path / f"{spec['partner_id']}.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        partners[spec["partner_id"]] = load_mapping(path, codes)
    result = ingest_network(raw, partners, Pseudonymiser(KEY), progress=lambda _m: None)
    assert len(result.contacts) == 1, [(f.source_file, f.reasons) for f in result.files]
    (record_key,) = result.contacts["record_key"]
    att = result.field_tables["project_attendance"]
    tenant = att[(att["partner_id"] == "affiliation_hf") & (att["person_key"] == record_key)]
    assert len(tenant) == 6 and tenant["participant_id"].nunique() == 1  # hf-001's presences
    (tokens,) = result.tokens.itertuples()
    player = att[att["tok_surname"] == tokens.tok_surname]
    assert len(player) == 2
    assert set(player["tok_first_name"]) == {tokens.tok_first_name}
    assert set(player["tok_birth_date"]) == {tokens.tok_birth_date}


def test_a_month_sheet_without_the_persons_column_is_refused_naming_file_and_sheet(tmp_path: Path):
    from openpyxl import load_workbook

    from observatoire.core.errors import ExportRejected
    from observatoire.intake.ingest import read_partner_file

    path = tmp_path / "presences_2024.xlsx"
    _attendance_workbook(path)
    wb = load_workbook(path)
    wb["Mars 2024"]["A2"] = "Locataire"  # the column renamed in one sheet
    wb.save(path)
    codes = tmp_path / "codes"
    codes.mkdir()
    (codes / "activites_test.yaml").write_text("Sport: sport\n", encoding="utf-8")
    mapping = tmp_path / "affiliation_hf.yaml"
    mapping.write_text(yaml.safe_dump(AFFILIATION, allow_unicode=True), encoding="utf-8")
    partner = load_mapping(mapping, codes)
    spec = partner.exports[1]
    from dataclasses import replace

    march = replace(spec, format=replace(spec.format, sheet="Mars 2024"))
    name = "affiliation_hf/presences_2024.xlsx#Mars 2024"
    with pytest.raises(ExportRejected) as err:
        read_partner_file(path, name, partner, march)
    text = str(err.value)
    assert "#Mars 2024" in text and "« Code locataire »" in text and "À faire" in text


def test_the_leak_guard_searches_the_participants_codes_names_and_birth_dates(tmp_path: Path):
    from observatoire.guard.leaks import BIRTH_DATE, CLIENT_ID, SURNAME, collect_identities

    raw = tmp_path / "raw"
    for d in ("affiliation_hf", "sport_foot"):
        (raw / d).mkdir(parents=True)
    _attendance_workbook(raw / "affiliation_hf" / "presences_2024.xlsx")
    _activities_workbook(raw / "affiliation_hf" / "activites_2024.xlsx")
    _form_workbook(raw / "sport_foot" / "presence_activite_2024.xlsx")
    codes = tmp_path / "codes"
    codes.mkdir()
    (codes / "activites_test.yaml").write_text("Sport: sport\n", encoding="utf-8")
    (codes / "activites_foot.yaml").write_text("tournoi: tournoi\n", encoding="utf-8")
    partners = {}
    for spec in (AFFILIATION, SPORT):
        path = tmp_path / f"{spec['partner_id']}.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        partners[spec["partner_id"]] = load_mapping(path, codes)
    ids = collect_identities(raw, partners)
    assert ids.raw_files == 3 + 1  # every month sheet of the grid, the form's repeat sheet
    # every tenant's code, HF-004 without any mark included; the players' names and dates
    # (the values are kept as keyed hashes: tested one by one)
    assert all(ids.checks(CLIENT_ID, ("HF-00" + str(i),)) for i in (1, 2, 3, 4))
    assert all(ids.checks(SURNAME, (name,)) for name in ("dupont", "lefevre", "martin"))
    assert ids.checks(BIRTH_DATE, "1990-05-04")
