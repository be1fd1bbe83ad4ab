"""The annual observatory report: figures from the package, text in French, Quarto source.

The report stage reads what the indicators and trends notebooks computed, draws the charts in the
house style, applies disclosure control to every person count, fills the Quarto template
``assets/reports/observatoire.qmd.j2`` and renders the resulting ``observatoire.qmd`` to HTML and
PDF (Quarto if installed, pandoc + Typst otherwise). No number is typed by hand in the template.

This module only assembles the report; each concern has its own module: the data every chapter
reads (:mod:`.context`), the chapters and their templates (:mod:`.chapters`), the charts
(:mod:`.illustrations`) and the slide deck (:mod:`.deck`). The tables as data are written by the
``publication`` stage (:mod:`observatoire.reports.publication`), which decided every cell's
status before this stage runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.storage import publish_members, temp_dir
from observatoire.guard.leaks import check_before_publishing
from observatoire.reports.annual.chapters import (
    chapter_contexts,
    report_chapters,
    template_names,
)
from observatoire.reports.annual.context import document_context, load_report_data
from observatoire.reports.annual.deck import build_deck
from observatoire.reports.annual.illustrations import draw_figures
from observatoire.reports.common import report_template, stage_logo
from observatoire.reports.render import render_document

__all__ = ["build_annual_report"]


def build_annual_report(settings: Settings, params_path: Path) -> None:
    """Write ``outputs/reports/<year>/`` (source, HTML, PDF, deck, figures); nothing is
    replaced unless everything was built."""
    data = load_report_data(settings, params_path)
    year = data.year
    out_dir = PATHS.reports(year)
    contexts = chapter_contexts(data)
    _, template_name = report_chapters(data)
    template = report_template(template_name)
    tmp = temp_dir(out_dir, "observatoire")
    try:
        if data.has_persons:
            figures = draw_figures(tmp, data, contexts["dispositifs"]["retention"])
        else:
            # Counts only: no person chart to draw; the folder is still an output.
            (tmp / "figures").mkdir()
            figures = {}
        logo = stage_logo(settings.report.logo, tmp / "figures")
        names = template_names(document_context(data), contexts, figures=figures, logo=logo)
        source = tmp / "observatoire.qmd"
        source.write_text(template.render(**names), encoding="utf-8")
        result = render_document(source, tmp)
        build_deck(data.masthead, contexts, figures, tmp, tmp / "chiffres-cles.pptx")
        members = [
            "observatoire.qmd",
            "observatoire.html",
            "observatoire.pdf",
            "chiffres-cles.pptx",
            "figures",
        ]
        check_before_publishing(settings, tmp, members, out_dir, "report")
        publish_members(tmp, out_dir, members)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"Rapport {year} : {out_dir}/observatoire.html et {out_dir}/observatoire.pdf "
        f"(moteur : {result.engine})"
    )
