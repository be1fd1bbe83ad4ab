"""The field records of the sample (``observatoire.sample.fieldwork``): KoboToolbox exports that
follow the committed forms, byte-reproducible, from their own streams (the rest of the sample
is untouched), and the planted truth written and true of the files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from observatoire.core.forms import FORMS, KOBO_METADATA, KOBO_REPEAT_METADATA
from observatoire.core.free_text import NAME, valid_national_number
from observatoire.sample import generate_sample
from observatoire.sample.fieldwork import FieldSample, field_sample
from observatoire.sample.fieldwork.incidents import form_of as incident_form
from observatoire.sample.fieldwork.kobo import kobo_form
from observatoire.sample.fieldwork.relays import CEILINGS
from observatoire.sample.projects import ProjectSample

ROOT = Path(__file__).resolve().parents[3]
PARAMS = yaml.safe_load((ROOT / "params" / "pipeline.yaml").read_text(encoding="utf-8"))
SMALL = {**PARAMS["sample"], "scale": 0.1}
FORM_FILES = {
    "barometre_violences/fiche_incident_{y}.xlsx": "fiche_incident",
    "travail_rue_observations/observation_rue_{y}.xlsx": "observation_rue",
    "relais_quartier/relais_prestation_{y}.xlsx": "relais_prestation",
    "barometre_violences/temoignage_{y}.xlsx": "temoignage",
}


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("field")
    generate_sample(SMALL, base / "raw", base / "truth")
    return base


def test_field_part_leaves_every_other_file_byte_identical(sample, tmp_path, monkeypatch):
    """The field records and the projects (their own streams) only add files: without them,
    every other file of the sample is byte-identical."""
    import observatoire.sample.generate as generate_module

    empty = FieldSample([], {}, pd.DataFrame(columns=["kind"]))
    monkeypatch.setattr(generate_module, "assemble_field", lambda parts: empty)
    monkeypatch.setattr(generate_module, "assemble_projects", lambda parts: ProjectSample([], {}))
    generate_sample(SMALL, tmp_path / "raw", tmp_path / "truth")
    added_truth = ("terrain.json", "notes_identites.csv", "projets.json")
    without = _hashes(tmp_path / "raw") | {
        f"truth/{k}": v for k, v in _hashes(tmp_path / "truth").items() if k not in added_truth
    }
    with_field = _hashes(sample / "raw") | {
        f"truth/{k}": v for k, v in _hashes(sample / "truth").items()
    }
    added = set(with_field) - set(without)
    assert {k: with_field[k] for k in without} == without  # nothing changed, files only added
    assert {f"truth/{k}" for k in added_truth} <= added
    assert all(k.startswith(("barometre_violences/", "travail_rue_observations/",
                             "relais_quartier/", "affiliation_hf/", "sport_foot/", "truth/"))
               for k in added)  # fmt: skip
    assert any(k.startswith("affiliation_hf/") for k in added)
    assert any(k.startswith("sport_foot/") for k in added)


def test_same_seed_same_bytes(sample, tmp_path):
    generate_sample(SMALL, tmp_path / "raw", tmp_path / "truth")
    assert _hashes(tmp_path / "raw") == _hashes(sample / "raw")
    assert _hashes(tmp_path / "truth") == _hashes(sample / "truth")


def _sheet(path: Path, name: str) -> pd.DataFrame:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb[name].iter_rows(values_only=True))
    wb.close()
    return pd.DataFrame(rows[1:], columns=rows[0], dtype=object)


@pytest.mark.parametrize("year", [2023, 2024])
def test_exports_are_written_like_kobotoolbox_from_the_committed_forms(sample, year):
    raw = sample / "raw"
    for pattern, form_id in FORM_FILES.items():
        table = _sheet(raw / pattern.format(y=year), form_id)
        # The committed form; in 2023 the incident sheet's first version (tested below).
        old = form_id == "fiche_incident" and year == 2023
        layout = incident_form(2023) if old else kobo_form(form_id, "")
        questions = [h for q in layout.questions for h in q.headers()]
        assert list(table.columns) == [
            "start", "end", "today", "deviceid", *questions, *KOBO_METADATA
        ]  # fmt: skip
        assert table["_uuid"].is_unique and table["_id"].is_monotonic_increasing
        assert set(table["__version__"]) == {f"{year}.1"}
        assert (
            table["start"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0[12]:00").all()
        )
        for q in layout.questions:
            if q.kind == "select_multiple":  # combined column = the 0/1 columns
                split = table[[f"{q.path}/{c}" for c in q.choices]].astype(int)
                combined = table[q.path].fillna("").str.split()
                for c in q.choices:
                    assert (split[f"{q.path}/{c}"] == combined.map(lambda v, c=c: c in v)).all()
    if year == 2024:
        groups = _sheet(raw / f"travail_rue_observations/observation_rue_{year}.xlsx", "groupes")
        main = _sheet(
            raw / f"travail_rue_observations/observation_rue_{year}.xlsx", "observation_rue"
        )
        assert list(groups.columns)[-len(KOBO_REPEAT_METADATA) :] == list(KOBO_REPEAT_METADATA)
        assert set(groups["_submission__uuid"]) <= set(main["_uuid"])
        parent = main.set_index("_index")["_uuid"]
        assert (groups["_parent_index"].map(parent) == groups["_submission__uuid"]).all()


def test_incident_form_changed_version_between_the_years(sample):
    raw = sample / "raw" / "barometre_violences"
    v1 = _sheet(raw / "fiche_incident_2023.xlsx", "fiche_incident")
    v2 = _sheet(raw / "fiche_incident_2024.xlsx", "fiche_incident")
    assert "incident/contexte" in v1 and "contexte/contexte_incident" not in v1
    assert "contexte/contexte_incident" in v2 and "incident/contexte" not in v2
    assert (
        "incident/contexte/sante_mentale" not in v1
        and "contexte/contexte_incident/sante_mentale" in v2
    )
    assert "legere" in set(v1["incident/gravite"]) and "faible" in set(v2["incident/gravite"])
    assert "faible" not in set(v1["incident/gravite"])
    assert set(FORMS["fiche_incident"].choices["contextes"]) >= set(
        v2["contexte/contexte_incident"].dropna().str.split().sum()
    )


def test_planted_identities_are_where_the_truth_says(sample):
    truth = pd.read_csv(sample / "truth" / "notes_identites.csv")
    assert len(truth) > 50
    assert {
        "nom",
        "téléphone",
        "date de naissance",
        "numéro national",
        "adresse",
        "courriel",
    } <= set(truth["kind"])
    names = truth[truth["kind"] == NAME]
    assert names["in_keyed_list"].any() and (~names["in_keyed_list"]).any()
    for (file, sheet), rows in truth.groupby(["source_file", "sheet"]):
        table = _sheet(sample / "raw" / file, sheet)
        for r in rows.itertuples():
            cell = table[r.column].iat[r.source_row - 1]
            assert cell[r.start : r.end] == r.text, (file, r.source_row)
    for number in truth.loc[truth["kind"] == "numéro national", "text"]:
        assert valid_national_number(number.replace(".", "").replace("-", ""))


def test_planted_patterns_are_in_the_truth_and_the_files(sample):
    terrain = json.loads((sample / "truth" / "terrain.json").read_text(encoding="utf-8"))
    assert terrain["incidents"]["trend"]["planted_rate_ratio"] == 1.15
    assert terrain["incidents"]["winter_refusal_nights"]["planted_rate_ratio"] == 2.0
    links = terrain["incidents"]["exclusions"]["links"]
    incidents = pd.concat(
        _sheet(sample / "raw" / f"barometre_violences/fiche_incident_{y}.xlsx", "fiche_incident")
        for y in (2023, 2024)
    ).set_index("_uuid")
    for link in links:
        row = incidents.loc[link["incident_uuid"]]
        assert row["incident/auteur"] == link["ref"] and "exclusion" in row["suites/consequences"]
        assert row["incident/service"] == "maison_accueil"
    survey = terrain["worker_survey"]["estimates"]["physical_12m"]
    # Unweighted is biased low (the most exposed roles answer least); post-stratified is not.
    assert survey["expected_unweighted_share"] < survey["model_share"] - 0.01
    allowances = _sheet(sample / "raw" / "relais_quartier/defraiements_2024.xlsx", "Défraiements")
    per_volunteer = allowances.groupby("Code volontaire")["Montant (€)"].sum()
    assert per_volunteer.gt(CEILINGS[2024]["yearly"]).sum() == 1
    assert allowances["Montant (€)"].gt(CEILINGS[2024]["daily"]).sum() == 1
    street = terrain["street"]["realised"]
    assert (
        street["2024"]["mean_young_per_observation"]["Gare"]
        > street["2023"]["mean_young_per_observation"]["Gare"]
    )


def test_field_sample_reads_the_network_without_drawing_from_its_streams():
    from observatoire.sample.config import SampleParams
    from observatoire.sample.exports import build_exports
    from observatoire.sample.network import simulate_network

    params = SampleParams.from_mapping(SMALL)
    network = simulate_network(params)
    files = build_exports(network, params)
    before = [f.table.copy() for f in files]
    first = field_sample(params, network, files)
    second = field_sample(params, network, files)
    assert [f.data for f in first.files] == [f.data for f in second.files]
    for old, new in zip(before, files, strict=True):
        pd.testing.assert_frame_equal(old, new.table)
