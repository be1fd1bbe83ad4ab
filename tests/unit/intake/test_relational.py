"""Relational exports: joined tables, row filters, one file feeding several dispositifs.

Planted tables whose every row's fate is known (joined, unmatched, ambiguous, filtered), the
mapping language's refusals in French, ``check``'s exit code 2 on an unmatched key, and the
HMIS-like fixture (tests/fixtures/foreign/hmis) onboarded by mapping files alone, its distinct
persons per dispositif compared with a count written here in plain pandas from the raw CSVs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from observatoire.config.settings import InputsSettings
from observatoire.core.errors import MappingError
from observatoire.intake.check import check_file, render_text
from observatoire.intake.ingest import ingest_network
from observatoire.intake.mapping import load_mapping, load_partners
from observatoire.intake.pseudonymise import Pseudonymiser

ROOT = Path(__file__).resolve().parents[3]
HMIS = ROOT / "tests" / "fixtures" / "foreign" / "hmis"
KEY = b"cle-de-test-relationnel-32-octets!!"


def _project(tmp_path: Path, mapping: dict[str, Any], tables: dict[str, str]) -> InputsSettings:
    """A tiny project: one partner « reseau » with its CSV tables and its mapping."""
    raw = tmp_path / "data_raw"
    (raw / "reseau").mkdir(parents=True)
    for name, text in tables.items():
        (raw / "reseau" / name).write_text(text, encoding="utf-8")
    partners = tmp_path / "params" / "partners"
    partners.mkdir(parents=True)
    (partners / "reseau.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True), "utf-8")
    codes = tmp_path / "params" / "codes"
    codes.mkdir()
    return InputsSettings(raw_dir=raw, partners_dir=partners, codes_dir=codes)


def _mapping(**export: Any) -> dict[str, Any]:
    base = {
        "name": "sejours",
        "files": "reseau/sejours.csv",
        "columns": {
            "local_id": {"column": "pid", "required": True},
            "date_start": {"column": "entree", "type": "date", "required": True},
        },
    }
    return {
        "partner_id": "reseau",
        "name": "Réseau",
        "dispositif": "accueil_jour",
        "exports": [{**base, **export}],
    }


def _ingest(inputs: InputsSettings):
    partners = load_partners(inputs.partners_dir, inputs.codes_dir)
    return ingest_network(inputs.raw_dir, partners, Pseudonymiser(KEY), progress=lambda _: None)


# --- planted join: every row's fate known ---------------------------------------------------

STAYS = (
    "sid,pid,entree,prog\n"
    "1,A,2024-01-05,1\n"  # joined
    "2,B,2024-02-05,1\n"  # joined
    "3,Z,2024-03-05,1\n"  # person unknown: unmatched
    "4,D,2024-04-05,1\n"  # person twice in the persons table: ambiguous
    "5,A,2024-05-05,9\n"  # programme type filtered out
    "6,,2024-06-05,1\n"  # no key: unmatched
)
PERSONS = (
    "pid,nom,naissance\nA,Dupont,1980-01-01\nB,Martin,1990-02-02\n"
    "D,Peeters,1970-03-03\nD,Peeters,1970-03-03\nE,Jamais,1960-04-04\n"
)


def test_a_join_sets_aside_unmatched_and_ambiguous_rows_and_counts_unused_joined_rows(tmp_path):
    mapping = _mapping(
        join=[{"name": "personnes", "files": "reseau/personnes.csv", "keys": {"pid": "pid"}}],
        where=[{"column": "prog", "in": [1]}],
    )
    mapping["exports"][0]["columns"]["surname"] = "personnes.nom"
    mapping["exports"][0]["columns"]["birth_date"] = {"column": "personnes.naissance"}
    inputs = _project(tmp_path, mapping, {"sejours.csv": STAYS, "personnes.csv": PERSONS})
    result = _ingest(inputs)
    (stays,) = result.files
    acc = stays.accounting()
    assert (acc["rows_read"], acc["rows_accepted"], acc["rows_quarantined"]) == (6, 2, 3)
    assert acc["rows_filtered"] == 1
    assert acc["reasons"] == {"jointure_ambigue": 1, "jointure_sans_correspondance": 2}
    q = stays.quarantined.set_index("source_row")
    assert q.loc[3, "reason"] == "jointure_sans_correspondance" and q.loc[3, "column"] == "pid"
    assert q.loc[4, "reason"] == "jointure_ambigue"
    assert "nom" not in q.columns  # the quarantine shows the partner's own file
    assert stays.filtered["source_row"].tolist() == [5]
    # A joined column is read like any column (its dates in the join's format).
    assert sorted(result.contacts["age_at_contact"].tolist()) == [34, 44]
    (persons,) = result.joined
    # A and B used; D used (the ambiguous key points at both its rows); E never.
    assert persons.accounting()["rows_read"] == 5
    assert (persons.rows_used, persons.rows_read - persons.rows_used) == (4, 1)


def test_a_left_join_keeps_unmatched_rows_with_empty_joined_columns(tmp_path):
    mapping = _mapping(
        join=[
            {
                "name": "sorties",
                "files": "reseau/sorties.csv",
                "keys": {"sid": "sid"},
                "required": False,
            }
        ]
    )
    mapping["dispositif"] = "maison_accueil"
    mapping["exports"][0]["columns"]["date_end"] = {"column": "sorties.sortie", "type": "date"}
    exits = "sid,sortie\n1,2024-01-20\n2,2024-02-03\n"
    inputs = _project(tmp_path, mapping, {"sejours.csv": STAYS, "sorties.csv": exits})
    result = _ingest(inputs)
    (stays,) = result.files
    # Row 2 ends before it starts (a planted incoherence); row 6 has no person id.
    assert stays.reasons == {"dates_incoherentes": 1, "identite_manquante": 1}
    assert stays.rows_accepted == 4 and stays.accounting().get("rows_filtered") is None
    ends = result.contacts.set_index("source_row")["date_end"]
    assert str(ends[1].date()) == "2024-01-20" and pd.isna(ends[3])


def test_a_date_filter_and_a_not_in_filter_are_accounted_as_out_of_scope(tmp_path):
    mapping = _mapping(
        where=[
            {"column": "entree", "from": "2024-02-01", "to": "2024-05-31"},
            {"column": "prog", "not_in": ["9"]},
        ]
    )
    inputs = _project(tmp_path, mapping, {"sejours.csv": STAYS})
    (stays,) = _ingest(inputs).files
    assert sorted(stays.filtered["source_row"]) == [1, 5, 6]
    assert stays.rows_accepted == 3 and stays.rows_quarantined == 0
    assert "2024-02-01" in stays.filtered.set_index("source_row").loc[1, "condition"]


# --- one file, two dispositifs ----------------------------------------------------------------


def test_one_file_feeds_two_dispositifs_and_each_row_is_accounted_once(tmp_path):
    one = _mapping(name="rue", dispositif="travail_rue", where=[{"column": "prog", "in": [1]}])
    two = {**one["exports"][0], "name": "accueil", "dispositif": "accueil_jour"}
    two["where"] = [{"column": "prog", "in": [9]}]
    one["exports"].append(two)
    one.pop("dispositif")  # every export declares its own
    stays = STAYS + "7,C,2024-07-05,4\n"  # a programme no export takes
    inputs = _project(tmp_path, one, {"sejours.csv": stays})
    partner = load_mapping(inputs.partners_dir / "reseau.yaml", inputs.codes_dir)
    assert partner.dispositifs == ("travail_rue", "accueil_jour")
    result = _ingest(inputs)
    (acc,) = [f.accounting() for f in result.files]
    assert acc["rows_read"] == 7
    assert acc["rows_read"] == acc["rows_accepted"] + acc["rows_quarantined"] + acc["rows_filtered"]
    assert (acc["rows_accepted"], acc["rows_quarantined"], acc["rows_filtered"]) == (5, 1, 1)
    assert acc["exports"]["rue"] == {"rows_accepted": 4, "rows_quarantined": 1, "rows_filtered": 2}
    assert acc["rows_in_several_exports"] == 0
    by = result.contacts.groupby("dispositif")["source_row"].apply(sorted).to_dict()
    assert by == {"travail_rue": [1, 2, 3, 4], "accueil_jour": [5]}


def test_overlapping_filters_count_a_row_once(tmp_path):
    one = _mapping(name="a", where=[{"column": "prog", "in": [1, 9]}])
    one["exports"].append({**one["exports"][0], "name": "b", "dispositif": "travail_rue"})
    inputs = _project(tmp_path, one, {"sejours.csv": STAYS})
    result = _ingest(inputs)
    (acc,) = [f.accounting() for f in result.files]
    assert acc["rows_in_several_exports"] == 5
    assert len(result.contacts) == 5 and set(result.contacts["dispositif"]) == {"accueil_jour"}


# --- the mapping language refuses in French ---------------------------------------------------


def _refused(tmp_path: Path, mapping: dict[str, Any]) -> str:
    inputs = _project(tmp_path, mapping, {"sejours.csv": STAYS})
    with pytest.raises(MappingError) as info:
        load_mapping(inputs.partners_dir / "reseau.yaml", inputs.codes_dir)
    text = str(info.value)
    assert "reseau.yaml" in text and "À faire" in text and "Traceback" not in text
    return text


JOIN = {"name": "personnes", "files": "reseau/personnes.csv", "keys": {"pid": "pid"}}
REFUSALS = {
    "on written for keys": (
        # YAML 1.1 reads an unquoted « on: » as the boolean true.
        {"join": [{"name": "p", "files": "x.csv", True: {"pid": "pid"}}]},
        ("exports[0].join[0]", "keys:"),
    ),
    "unknown join key": ({"join": [{**JOIN, "how": "left"}]}, ("join[0].how", "keys, required")),
    "join name with a capital": ({"join": [{**JOIN, "name": "Personnes"}]}, ("join[0].name",)),
    "join required as text": ({"join": [{**JOIN, "required": "non"}]}, ("true ou false",)),
    "two conditions in one filter": (
        {"where": [{"column": "prog", "in": [1], "not_in": [2]}]},
        ("where[0]", "une seule condition"),
    ),
    "filter without condition": ({"where": [{"column": "prog"}]}, ("une seule condition",)),
    "unknown filter key": (
        {"where": [{"column": "prog", "egal": 1}]},
        ("where[0].egal", "column, in, not_in, from, to"),
    ),
    "empty in list": ({"where": [{"column": "prog", "in": []}]}, ("where[0].in", "vide")),
    "unreadable period bound": (
        {"where": [{"column": "entree", "from": "hier"}]},
        ("where[0].from", "aaaa-mm-jj"),
    ),
    "reversed period": (
        {"where": [{"column": "entree", "from": "2024-05-01", "to": "2024-01-01"}]},
        ("where[0].to", "précède"),
    ),
    "a joined table named before it is declared": (
        {
            "join": [
                {"name": "a", "files": "a.csv", "keys": {"b.x": "x"}},
                {"name": "b", "files": "b.csv", "keys": {"pid": "pid"}},
            ]
        },
        ("join[0].keys.b.x", "déclarée plus bas"),
    ),
    "a column the join does not bring": (
        {"join": [{**JOIN, "columns": ["nom"]}], "where": [{"column": "personnes.age", "in": [1]}]},
        ("where[0].column", "join.columns"),
    ),
    "unknown export dispositif": ({"dispositif": "abri"}, ("exports[0].dispositif", "travail_rue")),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_wrong_join_or_filter_key_is_refused_in_french(tmp_path, case):
    export, expected = REFUSALS[case]
    text = _refused(tmp_path, _mapping(**export))
    for piece in expected:
        assert piece in text, (piece, text)


def test_a_partner_without_dispositif_needs_one_on_every_export(tmp_path):
    mapping = _mapping()
    mapping.pop("dispositif")
    text = _refused(tmp_path, mapping)
    assert "dispositif" in text and "hebergement_urgence" in text


# --- check: an unmatched key is a refused sending ---------------------------------------------


def test_check_names_each_unmatched_key_and_exits_2(tmp_path):
    mapping = _mapping(join=[JOIN], where=[{"column": "prog", "in": [1]}])
    inputs = _project(tmp_path, mapping, {"sejours.csv": STAYS, "personnes.csv": PERSONS})
    report = check_file(inputs.raw_dir / "reseau" / "sejours.csv", "reseau", inputs)
    assert report.exit_code == 2 and report.status == "join_problems"
    text = render_text(report)
    assert "colonne « pid » : lignes 4 et 7" in text  # lines of the file (header = line 1)
    assert "personnes.csv" in text and "code de sortie 2" in text
    assert "hors champ : 1" in text and "« prog » dans [1]" in text
    assert "Dupont" not in text + json.dumps(report.to_json())
    joined = check_file(inputs.raw_dir / "reseau" / "personnes.csv", "reseau", inputs)
    assert joined.exit_code == 2 and "table jointe « personnes »" in joined.message


# --- the HMIS-like fixture, onboarded by mapping files alone ----------------------------------


def _independent_hmis_count() -> dict[str, set[str]]:
    """Distinct PersonalIDs per dispositif, in plain pandas from the raw CSVs."""
    raw = HMIS / "data_raw" / "reseau_hmis"
    read = lambda name: pd.read_csv(raw / name, dtype=str, keep_default_na=False)  # noqa: E731
    clients, projects = read("Client.csv"), read("Project.csv")
    enrol, services = read("Enrollment.csv"), read("Services.csv")
    known = set(clients["PersonalID"])
    ptype = dict(zip(projects["ProjectID"], projects["ProjectType"], strict=True))
    enrol["type"] = enrol["ProjectID"].map(ptype)
    out = {}
    for dispositif, code, date in (
        ("travail_rue", "4", "EntryDate"),
        ("accueil_jour", "11", "EntryDate"),
        ("maison_accueil", "2", "EntryDate"),
        ("housing_first", "3", "MoveInDate"),
    ):
        rows = enrol[(enrol["type"] == code) & enrol["PersonalID"].isin(known)]
        out[dispositif] = set(rows.loc[rows[date] != "", "PersonalID"])
    shelter_enrol = set(enrol.loc[enrol["type"] == "1", "EnrollmentID"])
    nights = services[
        (services["RecordType"] == "200") & services["EnrollmentID"].isin(shelter_enrol)
    ]
    out["hebergement_urgence"] = set(nights.loc[nights["PersonalID"].isin(known), "PersonalID"])
    return out


def test_the_hmis_fixture_counts_the_persons_an_independent_pandas_count_finds(tmp_path):
    inputs = InputsSettings(
        raw_dir=HMIS / "data_raw",
        partners_dir=HMIS / "params" / "partners",
        codes_dir=HMIS / "params" / "codes",
    )
    result = _ingest(inputs)
    expected = _independent_hmis_count()
    pseudo = Pseudonymiser(KEY)
    for dispositif, ids in expected.items():
        got = set(result.contacts.loc[result.contacts["dispositif"] == dispositif, "record_key"])
        want = set(pseudo.tokens("record", pd.Series([f"reseau_hmis:{i}" for i in ids])))
        assert got == want, dispositif
    network = set().union(*expected.values())
    assert result.contacts["record_key"].nunique() == len(network)
    assert 150 <= len(network) <= 300
    # Every row of every file has one fate; the planted quirks are where they were put.
    files = {f.source_file: f.accounting() for f in result.files}
    for acc in files.values():
        assert acc["rows_read"] == (
            acc["rows_accepted"] + acc["rows_quarantined"] + acc["rows_filtered"]
        )
    enrolments = files["reseau_hmis/Enrollment.csv"]
    assert enrolments["reasons"]["jointure_sans_correspondance"] == 3
    assert enrolments["rows_in_several_exports"] == 0
    joined = {j.source_file: j for j in result.joined}
    clients = joined["reseau_hmis/Client.csv"]
    assert clients.rows_read - clients.rows_used >= 2  # clients never enrolled
    assert (
        joined["reseau_hmis/Project.csv"].rows_read - joined["reseau_hmis/Project.csv"].rows_used
        == 1
    )


def test_a_night_by_night_export_counts_one_night_per_row():
    """``night_by_night: true`` (HMIS bed nights, one Services row per night): each clean row
    is a stay of one night, so the shelter's nights are the rows an independent count finds."""
    inputs = InputsSettings(
        raw_dir=HMIS / "data_raw",
        partners_dir=HMIS / "params" / "partners",
        codes_dir=HMIS / "params" / "codes",
    )
    result = _ingest(inputs)
    shelter = result.contacts[result.contacts["dispositif"] == "hebergement_urgence"]
    assert (shelter["nights"] == 1).all()
    assert (
        (pd.to_datetime(shelter["date_end"]) - pd.to_datetime(shelter["date_start"]))
        .dt.days.eq(1)
        .all()
    )
    raw = HMIS / "data_raw" / "reseau_hmis"
    services = pd.read_csv(raw / "Services.csv", dtype=str, keep_default_na=False)
    files = {f.source_file: f.accounting() for f in result.files}
    accepted = files["reseau_hmis/Services.csv"]["rows_accepted"]
    assert int(shelter["nights"].sum()) == accepted == len(shelter)
    assert accepted <= int((services["RecordType"] == "200").sum())


def test_night_by_night_is_refused_outside_a_night_stay(tmp_path):
    text = (HMIS / "params/partners/reseau_hmis.yaml").read_text(encoding="utf-8")
    bad = text.replace(
        "    dispositif: hebergement_urgence\n    night_by_night: true",
        "    dispositif: accueil_jour\n    night_by_night: true",
    )
    assert bad != text
    (tmp_path / "reseau_hmis.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping(tmp_path / "reseau_hmis.yaml", HMIS / "params" / "codes")
    assert "night_by_night" in str(err.value) and "nuitées" in str(err.value)
