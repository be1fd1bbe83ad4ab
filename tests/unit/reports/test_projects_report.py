"""A project's report renders from the coord20 contract's files and prints no small count."""

from __future__ import annotations

import re

import pytest

from observatoire.disclosure.ledger import LedgerCells, ledger_of, published_texts
from observatoire.disclosure.projets import publish_projects, read_projects
from observatoire.disclosure.suppression import PRIMARY
from observatoire.reports.projects.report import monthly_content, render_project
from tests.support.projects_outputs import write_projects_outputs
from tests.support.settings import project_settings

K = 5


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("projets")
    write_projects_outputs(root / "projects")
    pubs = publish_projects(root / "projects" / "2024", 2024, K)
    cells = LedgerCells(published_texts(ledger_of(pubs), K), 2024, K, "projects")
    out = next(o for o in read_projects(root / "projects" / "2024", 2024)
               if o.project == "affiliation_hf")  # fmt: skip
    work = root / "rapport"
    work.mkdir()
    members, _ = render_project(project_settings(), out, cells, work, formats=("html",))
    return work, members, pubs["projet-affiliation_hf"], out, cells


def test_renders_every_section_and_the_sheets(rendered):
    work, members, _, _, _ = rendered
    qmd = (work / "projet-affiliation_hf.qmd").read_text(encoding="utf-8")
    for title in (
        "# Objectifs",
        "# Activités et participation",
        "# Conseil des locataires",
        "# Affiliation des locataires",
        "# Issues de logement Housing First",
        "# Budget",
        "# Méthodes et limites",
        "# Règles de diffusion et leur coût",
    ):
        assert title in qmd, title  # fmt: skip
    assert "Une description, pas un effet" in qmd
    assert (work / "projet-affiliation_hf.html").exists()
    sheets = work / "projet-affiliation_hf-fiches"
    assert (sheets / "fiches-2024.xlsx").exists() and (sheets / "fiches-2024.pdf").exists()
    figures = work / "projet-affiliation_hf-figures"
    for png in figures.glob("*.png"):
        assert png.with_suffix(".csv").exists()  # every chart has its data beside it


def test_no_raw_small_count_in_the_qmd_or_the_html(rendered):
    work, _, pub, _, _ = rendered
    qmd = (work / "projet-affiliation_hf.qmd").read_text(encoding="utf-8")
    html = (work / "projet-affiliation_hf.html").read_text(encoding="utf-8")
    assert "< 5" in qmd
    # every masked council session is printed « < 5 » or « s », never its value
    council = re.search(r"\| Séance \| Présences \|\n\|.*\|\n((?:\|.*\|\n)+)", qmd).group(1)
    texts = [line.split("|")[2].strip() for line in council.strip().splitlines()]
    assert len(texts) == 10 and texts.count("< 5") == 4 and "s" in texts
    assert not {"3", "4"} & set(texts)
    # the planted 2 new participants of May: « < 5 » in the monthly table
    may = next(line for line in qmd.splitlines() if line.startswith("| Mai |"))
    assert "< 5" in may.split("|")[5]
    for text in (qmd, html):
        assert "coût" in text.lower() or "Règles de diffusion" in text
    hidden = [k for k, s in pub.status.items() if s == PRIMARY]
    assert hidden


def test_the_council_cost_paragraph_says_what_the_reader_loses(rendered):
    work, _, _, _, _ = rendered
    qmd = (work / "projet-affiliation_hf.qmd").read_text(encoding="utf-8")
    assert "6 locataires différents" in qmd
    assert re.search(r"Sur ses 10 séances, la présence de \d+ n'est pas imprimée", qmd)
    assert re.search(r"Sur \d+ nombres de personnes de ce rapport", qmd)


def test_monthly_sheet_prints_ledger_texts(rendered):
    _, _, _, out, cells = rendered
    months = monthly_content(out, cells)
    assert len(months) == 12
    assert months[4]["new"] == "< 5"  # May's two new participants
    assert months[0]["council"] == [] and len(months[2]["council"]) == 1
