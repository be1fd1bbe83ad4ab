"""The key figures' range of persons reads right when its two ends are one number."""

from __future__ import annotations

import re
from importlib import resources

import jinja2
import pytest


def _range_line(persons_range: dict[str, str]) -> str:
    source = (
        resources.files("observatoire")
        .joinpath("assets", "reports", "observatoire", "key_figures.qmd.j2")
        .read_text(encoding="utf-8")
    )
    block = re.search(r"\{% if persons_range %\}\n(.*?)\n\{% endif %\}", source, re.S)
    assert block is not None
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string(block.group(1)).render(persons_range=persons_range)


@pytest.mark.parametrize(
    ("ends", "expected"),
    [
        (
            {"minimum": "130", "maximum": "145", "low": "128", "high": "149"},
            "- entre **130** et **145** personnes distinctes selon que les personnes du travail de "
            "rue sont ou non vues ailleurs (128 à 149 avec l'erreur de liaison)",
        ),
        (
            {"minimum": "137", "maximum": "137", "low": "137", "high": "137"},
            "- **137** personnes distinctes, que les personnes du travail de rue soient ou non "
            "vues ailleurs",
        ),
        (
            {"minimum": "137", "maximum": "137", "low": "", "high": ""},
            "- **137** personnes distinctes, que les personnes du travail de rue soient ou non "
            "vues ailleurs",
        ),
    ],
)
def test_a_degenerate_range_is_one_number_not_between_137_and_137(ends, expected):
    assert _range_line(ends) == expected
