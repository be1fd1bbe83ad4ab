"""The plans file: the repository's file loads, windows follow the seasons, and every mistake
an analyst may make stops with a French message naming the file and the key."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from observatoire.config.paths import PATHS
from observatoire.plans.settings import PlansError, load_plans, plans_from_mapping

REPO_PLANS = Path(__file__).resolve().parents[3] / "params" / "plans.yaml"


@pytest.fixture()
def raw() -> dict:
    return yaml.safe_load(REPO_PLANS.read_text(encoding="utf-8"))


def test_the_repository_file_loads():
    plans = load_plans(REPO_PLANS)
    assert plans.station == "6447"
    winter, summer = plans.plans["grand_froid"], plans.plans["canicule"]
    assert winter.window(2024) == (date(2023, 11, 15), date(2024, 3, 31))
    assert summer.window(2024) == (date(2024, 6, 1), date(2024, 8, 31))
    assert len(winter.days(2024)) == 138  # 16 + 31 + 31 + 29 (leap) + 31
    assert winter.label(2024) == "Plan Grand Froid 2023-2024"
    assert summer.label(2024) == "Plan Canicule 2024"
    assert winter.extra_beds("abri_grand_froid", date(2024, 1, 5), "grand_froid") == 12
    assert winter.extra_beds("abri_grand_froid", date(2024, 1, 5), "veille") == 0
    assert plans.targets.refusal_night_share == 0.10
    assert PATHS.plans_params.as_posix().endswith("params/plans.yaml")


def test_a_rule_with_dates_applies_only_between_them(raw):
    raw["plans"]["grand_froid"]["services"].append(
        {
            "service": "abri_nuit",
            "phase": "veille",
            "extra_beds": 3,
            "from": "2024-01-01",
            "to": "2024-01-31",
        }
    )
    plan = plans_from_mapping(raw).plans["grand_froid"]
    assert plan.extra_beds("abri_nuit", date(2024, 1, 10), "veille") == 3
    assert plan.extra_beds("abri_nuit", date(2024, 2, 10), "veille") == 0


def _error(data, source=Path("params/plans.yaml")) -> str:
    with pytest.raises(PlansError) as err:
        plans_from_mapping(data, source)
    text = str(err.value)
    assert "params/plans.yaml" in text and "À faire" in text
    assert "Traceback" not in text
    return text


def _winter(d):
    return d["plans"]["grand_froid"]


def _trigger(d):
    return _winter(d)["phases"][1]["trigger"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: _winter(d).update(perioed={}), "clé inconnue « plans.grand_froid.perioed »"),
        (lambda d: _winter(d)["period"].update(start="15-11"), "MM-JJ"),
        (lambda d: _winter(d)["period"].update(start="02-30"), "pas un jour"),
        (lambda d: _winter(d).update(season="automne"), "valeurs admises : hiver, ete"),
        (lambda d: _winter(d)["period"].update(start="01-15"), "plan d'hiver"),
        (lambda d: _trigger(d).update(tmin_below="froid"), "tmin_below » vaut « froid » : attendu"),
        (lambda d: _trigger(d).update(tmax_above=30), "pas les deux"),
        (lambda d: _winter(d)["phases"][1].update(trigger={"min_days": 2}), "déclencheur vide"),
        (lambda d: _trigger(d).update(alert="neige"), "froid, chaleur"),
        (lambda d: _winter(d)["phases"][0].update(trigger={"alert": "froid"}), "par défaut"),
        (lambda d: _winter(d)["services"][0].update(phase="glacial"), "phases inconnues"),
        (lambda d: _winter(d)["services"][0].update(hours="18h-10h"), "HH:MM-HH:MM"),
        (lambda d: _winter(d)["services"][0].update(extra_beds=-1), "au moins 0"),
        (lambda d: d["targets"].update(refusal_night_share=1.5), "refusal_night_share"),
        (lambda d: d.pop("station"), "clé « station » absente"),
    ],
)
def test_mistakes_are_named_in_french(raw, edit, expected):
    data = copy.deepcopy(raw)
    edit(data)
    assert expected in _error(data)


def test_a_missing_or_broken_file_is_said_in_french(tmp_path):
    with pytest.raises(PlansError, match="introuvable"):
        load_plans(tmp_path / "plans.yaml")
    broken = tmp_path / "plans.yaml"
    broken.write_text("station: 6447\nplans: [\n", encoding="utf-8")
    with pytest.raises(PlansError, match="illisible"):
        load_plans(broken)
    broken.write_text("- une liste\n", encoding="utf-8")
    with pytest.raises(PlansError, match="dictionnaire"):
        load_plans(broken)
