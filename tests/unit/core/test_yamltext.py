"""The project's YAML reads (libyaml's parser) give what ``yaml.safe_load`` gave, errors too."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from observatoire.core import yamltext

ROOT = Path(__file__).resolve().parents[3]
FILES = sorted(
    p
    for pattern in ("params/**/*.yaml", "publications/**/*.yaml", "src/**/*.yaml", "dvc.yaml")
    for p in ROOT.glob(pattern)
)


def test_every_yaml_file_of_the_project_is_read():
    assert len(FILES) > 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_same_values_and_types_as_pyyaml(path: Path):
    text = path.read_text(encoding="utf-8")
    expected = yaml.safe_load(text)
    got = yamltext.safe_load(text)
    assert got == expected
    assert repr(got) == repr(expected)  # same types too: 1 vs 1.0 vs True, dates


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2\nb: 3\n",  # unclosed flow sequence
        "a: 1\n  b: 2\n",  # bad indentation
        "a: !!python/object:os.system 1\n",  # tag a safe loader refuses
        "a: 'unterminated\n",
    ],
)
def test_a_refused_text_gives_the_pure_python_error(text: str):
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as got:
        yamltext.safe_load(text)
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)


def test_the_sources_read_yaml_through_yamltext():
    """A new ``yaml.safe_load`` would bring back the pure-Python parser (ten times slower, read
    by every stage process)."""
    src = ROOT / "src" / "observatoire"
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in src.rglob("*.py")
        if p.name != "yamltext.py" and "yaml.safe_load(" in p.read_text(encoding="utf-8")
    ]
    assert offenders == [], f"use observatoire.core.yamltext.safe_load in {offenders}"
