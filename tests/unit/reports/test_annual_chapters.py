"""The annual report as a list of chapters: one include and one context function each.

The main template includes exactly the chapters' templates, in their order; every name a chapter
prints is given by one chapter (or the document); each chapter's context is computed from the
report data alone; rendering the chapters one by one gives the main template's text.
"""

from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path

import jinja2
import jinja2.meta
import jinja2.nodes
import pytest

from observatoire.reports.annual.chapters import (
    CHAPTERS,
    COUNTS_ONLY_CHAPTERS,
    COUNTS_ONLY_TEMPLATE,
    Chapter,
    template_names,
)
from observatoire.reports.common import AssetLoader, report_template

ROOT = Path(__file__).resolve().parents[3]
MAIN = "observatoire.qmd.j2"
FIGURE_NAMES = [
    "coverage",
    "monthly",
    "pyramid",
    "nights",
    "trend",
    "stl",
    "sensitivity",
    "occupancy",
    "flows",
    "upset",
    "exits",
    "retention",
    "forecast",
    "forest",
    "fits",
]


def _environment() -> jinja2.Environment:
    return report_template(MAIN).environment


def _parse(name: str) -> jinja2.nodes.Template:
    env = _environment()
    return env.parse(env.loader.get_source(env, name)[0])


def test_the_main_template_includes_every_chapter_once_in_order():
    includes = [node.template.value for node in _parse(MAIN).find_all(jinja2.nodes.Include)]
    assert includes == [chapter.template for chapter in CHAPTERS]
    assert len({chapter.name for chapter in CHAPTERS}) == len(CHAPTERS)


def test_every_chapter_template_is_packaged_and_none_is_left_over():
    folder = resources.files("observatoire").joinpath("assets", "reports", "observatoire")
    packaged = {f"observatoire/{p.name}" for p in folder.iterdir() if p.name.endswith(".qmd.j2")}
    assert packaged == {chapter.template for chapter in (*CHAPTERS, *COUNTS_ONLY_CHAPTERS)}


def test_the_counts_only_template_includes_its_chapters_once_in_order():
    tree = _parse(COUNTS_ONLY_TEMPLATE)
    includes = [node.template.value for node in tree.find_all(jinja2.nodes.Include)]
    assert includes == [chapter.template for chapter in COUNTS_ONLY_CHAPTERS]


def test_the_counts_only_report_says_why_and_prints_no_person_count():
    """Planted: a network whose partners send counts only, no aggregate section to print."""
    from observatoire.core.person_level import NO_PERSONS_REASON
    from observatoire.reports.annual.chapters.counts_only import NOT_COMPUTED
    from observatoire.reports.annual.chapters.glossary import glossary

    names = {
        "title": "Observatoire",
        "organisation": "Relais",
        "year": 2024,
        "k": 5,
        "date": "2025-03-31",
        "colour_primary": "#000000",
        "colour_secondary": "#ffffff",
        "first_year": 2024,
        "logo": "",
        "figures": {},
        "no_persons": {
            "reason": NO_PERSONS_REASON,
            "not_computed": list(NOT_COMPUTED),
            "trends": [{"label": "Tendance annuelle du réseau", "reason": "raison"}],
        },
        "aggregate_sections": [],
        "glossary": glossary(),
    }
    text = report_template(COUNTS_ONLY_TEMPLATE).render(**names)
    assert text.startswith("---\ntitle: ")
    assert NO_PERSONS_REASON in text and "Tendance annuelle du réseau | raison" in text
    assert "personnes distinctes aidées" not in text


def test_an_unknown_include_is_an_error():
    env = _environment()
    with pytest.raises(jinja2.TemplateNotFound):
        env.loader.get_source(env, "observatoire/absent.qmd.j2")
    assert isinstance(env.loader, AssetLoader)


def test_a_name_given_by_two_chapters_is_refused():
    with pytest.raises(ValueError, match="network"):
        template_names({"year": 2024}, {"network": {"year": 2023}})


def test_a_chapter_without_context_gives_no_name():
    assert Chapter("introduction").context(None) == {}  # type: ignore[arg-type]
    assert Chapter("introduction").template == "observatoire/introduction.qmd.j2"


# --- on the report stage's inputs (the pipeline's outputs/) ---------------------------------------


@pytest.fixture(scope="module")
def data():
    from observatoire.config.settings import load_settings
    from observatoire.reports.annual.context import load_report_data

    settings = load_settings(ROOT / "params/pipeline.yaml")
    year = settings.report.year
    needed = [
        f"outputs/indicators/{year}/indicateurs.json",
        f"outputs/trends/{year}/tendances.json",
        "outputs/metrics/rows.json",
        "outputs/metrics/inputs.json",
        "outputs/metrics/linkage.json",
    ]
    if not all((ROOT / p).exists() for p in needed):
        pytest.skip("pas de sorties du pipeline dans outputs/ (lancez `make run`)")
    with contextlib.chdir(ROOT):
        return load_report_data(settings, Path("params/pipeline.yaml"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_each_chapter_context_is_computed_from_the_report_data_alone(data, chapter: Chapter):
    context = chapter.context(data)
    assert isinstance(context, dict)
    assert not any(name.startswith("_") for name in context)
    assert chapter.context(data).keys() == context.keys()


@pytest.fixture(scope="module")
def names(data):
    from observatoire.reports.annual.chapters import chapter_contexts
    from observatoire.reports.annual.context import document_context

    figures = {name: f"figures/{name}.png" for name in FIGURE_NAMES}
    figures |= {
        f"persons_{code}": f"figures/personnes_{code}.png" for code in data.ind["dispositifs"]
    }
    return template_names(document_context(data), chapter_contexts(data), figures=figures, logo="")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_every_name_a_chapter_prints_is_given(names, chapter: Chapter):
    tree = _parse(chapter.template)
    assigned = {node.target.name for node in tree.find_all(jinja2.nodes.Assign)}
    missing = jinja2.meta.find_undeclared_variables(tree) - assigned - set(names)
    assert not missing


def test_the_chapters_rendered_one_by_one_make_the_report(names):
    env = _environment()
    whole = env.get_template(MAIN).render(**names)
    parts = [env.get_template(chapter.template).render(**names) for chapter in CHAPTERS]
    assert "".join(parts) == whole
    assert whole.startswith("---\ntitle: ")
    # A chapter with nothing to say prints nothing (data sent as counts: most networks none).
    assert all(part.endswith("\n") for part in parts if part)


def test_a_simulated_probability_is_never_printed_as_certain():
    """Review: « probabilité que la demande dépasse la capacité : 100 % » from 5 000 winters."""
    from observatoire.reports.annual.chapters.forecast import exceedance_text

    assert exceedance_text(1.0, 5000) == "plus de 99,9\u202f%"
    assert exceedance_text(0.0, 5000) == "moins de 0,1\u202f%"
    assert exceedance_text(0.42, 5000) == "42\u202f%"
    assert exceedance_text(None, 5000) == "–"
