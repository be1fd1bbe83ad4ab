"""The vocabulary of dispositifs is the one home of their codes, labels, colours and rules."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from observatoire.core import dispositifs as voc
from observatoire.core.schema import FIELD_TABLES

ROOT = Path(__file__).resolve().parents[3]
CODES = {d.code for d in voc.VOCABULARY}


def test_entries_are_unique_and_complete():
    assert len(CODES) == len(voc.VOCABULARY)
    assert len({d.colour for d in voc.VOCABULARY}) == len(voc.VOCABULARY)
    assert sorted(d.chart_rank for d in voc.VOCABULARY) == list(range(1, len(CODES) + 1))
    assert all(d.label and d.intro for d in voc.VOCABULARY)


def test_derived_constants_follow_the_entries():
    assert list(voc.DISPOSITIFS) == [d.code for d in voc.VOCABULARY]
    assert set(voc.DISPOSITIF_COLOURS) == set(voc.DISPOSITIF_LABELS) == CODES
    assert list(voc.DISPOSITIF_COLOURS)[0] == min(voc.VOCABULARY, key=lambda d: d.chart_rank).code
    assert set(voc.STAY_DISPOSITIFS) | set(voc.VISIT_DISPOSITIFS) == CODES
    assert set(voc.OPEN_ENDED) <= set(voc.STAY_DISPOSITIFS)
    assert set(voc.NIGHT_STAYS) <= set(voc.STAY_DISPOSITIFS)
    roles = (voc.SHELTER, voc.STREET_WORK, voc.HOUSING_FIRST, voc.MAISON_ACCUEIL)
    assert set(roles) | {voc.SOCIAL_EMERGENCY} <= CODES
    assert voc.by_code(voc.SHELTER).max_stay_nights == voc.MAX_STAY_NIGHTS[voc.SHELTER]


def test_every_partner_mapping_names_a_known_dispositif():
    for path in sorted((ROOT / "params/partners").glob("*.yaml")):
        mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
        if all(e.get("table") == "weather" for e in mapping["exports"]):
            assert "dispositif" not in mapping, path.name  # a weather source is no service
            continue
        if all(e.get("table") in FIELD_TABLES for e in mapping["exports"]):
            assert "dispositif" not in mapping, path.name  # field records are no contacts
            continue
        assert mapping["dispositif"] in CODES, path.name


def _code_lists(path: Path) -> list[int]:
    """Lines of literal dicts, lists, tuples or sets naming three or more dispositif codes."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if not isinstance(node, ast.Dict | ast.List | ast.Tuple | ast.Set) or not items:
            continue
        codes = {i.value for i in items if isinstance(i, ast.Constant) and i.value in CODES}
        if len(codes) >= 3:
            found.append(node.lineno)
    return found


def test_no_module_keeps_its_own_list_of_dispositifs():
    """Labels, colours, orders and presence rules come from the vocabulary. Allowed elsewhere: the
    synthetic generator (it plays the partners), the youth study's own state coding and the
    services a field form names (core/schema.py: partner ids, some are dispositif codes)."""
    allowed = {"core/dispositifs.py", "youth/sequences.py", "core/schema.py"}
    package = ROOT / "src/observatoire"
    offenders = {
        rel: lines
        for p in sorted(package.rglob("*.py"))
        if (rel := p.relative_to(package).as_posix()) not in allowed
        and not rel.startswith("sample/")
        and (lines := _code_lists(p))
    }
    assert not offenders, f"use observatoire.core.dispositifs instead: {offenders}"


def test_the_duplicate_check_can_fail(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text('LABELS = {"travail_rue": "a", "housing_first": "b", "accueil_jour": "c"}\n')
    assert _code_lists(bad) == [1]
