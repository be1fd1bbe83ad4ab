"""The services directory: checked on load with French errors; checked against the plans."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from observatoire.config.services import ServicesError, load_services
from observatoire.plans.settings import load_plans
from observatoire.reports.maps.directory import (
    DirectoryError,
    check_against_plans,
    french_hours,
    services_of_plan,
)

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ROOT / "params/services.yaml"
PLANS = ROOT / "params/plans.yaml"


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _one(**changes) -> dict:
    service = {
        "id": "abri",
        "name": "Abri",
        "dispositif": "hebergement_urgence",
        "address": "1 rue Haute",
        "lat": 50.43,
        "lon": 4.9,
        "phone": "099 10 20 30",
        "hours": {"normal": "20 h – 8 h"},
        "welcome": ["hommes"],
    }
    service.update(changes)
    return {"services": [service]}


def test_the_repository_directory_loads_and_agrees_with_the_plans():
    directory = load_services(SERVICES)
    plans = load_plans(PLANS)
    check_against_plans(directory, plans)
    assert 10 <= len(directory.services) <= 14
    numbers = []
    for plan in plans.plans.values():
        services = services_of_plan(directory, plan, 2024)
        numbers.append([s.number for s in services])
        ids = {s.service.id for s in services}
        # a plan-only service is on its own plan's map only
        assert ("abri_grand_froid" in ids) == (plan.id == "grand_froid")
        assert ("accueil_canicule" in ids) == (plan.id == "canicule")
    assert all(n == list(range(1, len(n) + 1)) for n in numbers)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"colour": "rouge"}, "clé inconnue « services[0].colour »"),
        ({"lat": 4.9, "lon": 50.43}, "latitude et longitude inversées"),
        ({"welcome": ["chats"]}, "valeurs admises : hommes, femmes, familles, animaux, jeunes"),
        ({"dispositif": "abri"}, "dispositif « abri » inconnu"),
        ({"phone": "appeler"}, "attendu un numéro de téléphone"),
        ({"dates": {"from": "13-01", "to": "03-31"}}, "attendu un jour « MM-JJ »"),
    ],
)
def test_a_wrong_directory_is_refused_in_french(tmp_path, changes, expected):
    with pytest.raises(ServicesError) as err:
        load_services(_write(tmp_path, _one(**changes)))
    assert expected in str(err.value)
    assert "À faire" in str(err.value)


def test_two_services_with_one_id_are_refused(tmp_path):
    data = _one()
    data["services"].append(dict(data["services"][0]))
    with pytest.raises(ServicesError, match="deux services portent l'identifiant « abri »"):
        load_services(_write(tmp_path, data))


def test_hours_a_plan_sets_are_not_restated_and_phases_must_exist(tmp_path):
    plans = load_plans(PLANS)
    restated = load_services(
        _write(tmp_path, _one(id="abri_nuit", hours={"normal": "x", "grand_froid": "y"}))
    )
    with pytest.raises(DirectoryError, match="déjà fixés par params/plans.yaml"):
        check_against_plans(restated, plans)
    unknown = load_services(_write(tmp_path, _one(hours={"normal": "x", "tempete": "y"})))
    with pytest.raises(DirectoryError, match="aucune phase de ce nom"):
        check_against_plans(unknown, plans)


def test_french_hours():
    assert french_hours("18:00-10:00") == "18 h – 10 h"
    assert french_hours("08:30-12:00") == "8 h 30 – 12 h"
    assert french_hours("sur rendez-vous") == "sur rendez-vous"
