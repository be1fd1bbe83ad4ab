"""The projects' params file: typed, and every mistake refused in French with its key path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from observatoire.projects.settings import (
    ProjectsError,
    load_projects_settings,
    projects_from_mapping,
)

ROOT = Path(__file__).resolve().parents[3]
PARAMS = ROOT / "params/projets.yaml"


def _data() -> dict:
    return yaml.safe_load(PARAMS.read_text(encoding="utf-8"))


def test_the_repository_file_reads_with_both_projects():
    settings = load_projects_settings(PARAMS)
    assert set(settings.projets) == {"affiliation_hf", "sport_foot"}
    hf = settings.project("affiliation_hf")
    assert hf.conseil is not None and hf.conseil.debut == "2024-03"
    assert hf.participant_roles == ("locataire",)
    assert settings.project("sport_foot").participant_roles == ("joueur",)
    assert {o.indicateur for o in hf.objectives(2024)} >= {"seances:conseil", "budget_execution"}
    assert hf.objectives(2031) == []


def _refused(data: dict) -> str:
    with pytest.raises(ProjectsError) as caught:
        projects_from_mapping(data, Path("params/projets.yaml"))
    return str(caught.value)


def test_an_unknown_key_is_refused_with_its_path_and_the_admitted_keys():
    data = _data()
    data["projets"]["sport_foot"]["budget"]["seuil"] = 0.2
    text = _refused(data)
    assert "clé inconnue « projets.sport_foot.budget.seuil »" in text
    assert "seuil_derive" in text and "À faire" in text


def test_an_unknown_indicator_is_refused_with_its_path_and_the_list():
    data = _data()
    data["projets"]["affiliation_hf"]["objectifs"][2024][1]["indicateur"] = "retention_6_mois"
    text = _refused(data)
    assert "projets.affiliation_hf.objectifs.2024[1].indicateur" in text
    assert "indicateur inconnu « retention_6_mois »" in text and "retention_3_mois" in text


def test_sessions_of_an_activity_the_project_does_not_have_are_refused():
    data = _data()
    data["projets"]["sport_foot"]["objectifs"][2024][2]["indicateur"] = "seances:conseil"
    text = _refused(data)
    assert "projets.sport_foot.objectifs.2024[2].indicateur" in text
    assert "l'activité « conseil » n'est pas une des activités du projet" in text


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("affiliation_hf", "conseil", "debut"), "mars 2024", "un mois « AAAA-MM »"),
        (("affiliation_hf", "conseil", "activite"), "reunion", "conseil.activite"),
        (("affiliation_hf", "type"), "logement", "valeurs admises : affiliation, socio_sport"),
        (("sport_foot", "budget", "seuil_derive"), 1.5, "au plus 1"),
        (("sport_foot", "roles_participants"), ["joueuse"], "valeurs admises"),
    ],
)
def test_wrong_values_are_named(path: tuple[str, ...], value: object, expected: str):
    data = copy.deepcopy(_data())
    node = data["projets"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert expected in _refused(data)


def test_a_duplicated_objective_code_and_a_missing_file_are_refused(tmp_path: Path):
    data = _data()
    objectives = data["projets"]["sport_foot"]["objectifs"][2024]
    objectives[1]["code"] = objectives[0]["code"]
    assert "déjà utilisé en 2024" in _refused(data)
    with pytest.raises(ProjectsError, match="introuvable"):
        load_projects_settings(tmp_path / "projets.yaml")
    (tmp_path / "projets.yaml").write_text("projets: [\n", encoding="utf-8")
    with pytest.raises(ProjectsError, match="illisible"):
        load_projects_settings(tmp_path / "projets.yaml")
    (tmp_path / "projets.yaml").write_text("autre: 1\n", encoding="utf-8")
    with pytest.raises(ProjectsError, match="Section « projets: » absente"):
        load_projects_settings(tmp_path / "projets.yaml")
    with pytest.raises(ProjectsError, match="Projet « foot » absent"):
        load_projects_settings(PARAMS).project("foot")
