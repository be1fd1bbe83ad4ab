"""The annual report's chapters, in the order the report prints them.

A chapter is a template include of ``assets/reports/observatoire/`` and a function that formats,
from the report's :class:`~observatoire.reports.annual.context.ReportData`, the names that include
prints. The main template ``observatoire.qmd.j2`` includes the same files in the same order (a
test keeps the two lists equal), so adding a chapter is one module, one include and one line here.

The chapters' names share one namespace, with the names of
:func:`~observatoire.reports.annual.context.document_context` and the report's ``figures`` and
``logo``: a name belongs to one chapter, and another chapter may print it (the key figures
summarise the others; the dispositifs' chapters print the long-term persons of « Flux et
parcours »; the annex prints the trends' diagnostics).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from observatoire.reports.annual.chapters import (
    aggregates,
    annex,
    belgium,
    counts_only,
    coverage,
    dispositifs,
    field,
    flows,
    forecast,
    glossary,
    network,
    trends,
)
from observatoire.reports.annual.context import ReportData

__all__ = [
    "CHAPTERS",
    "COUNTS_ONLY_CHAPTERS",
    "COUNTS_ONLY_TEMPLATE",
    "MAIN_TEMPLATE",
    "Chapter",
    "chapter_contexts",
    "no_context",
    "report_chapters",
    "template_names",
]


def no_context(data: ReportData) -> dict[str, Any]:
    """A chapter that prints only the document's names and other chapters' names."""
    return {}


@dataclass(frozen=True)
class Chapter:
    """One chapter of the report: its name, its template include and its context."""

    name: str
    context: Callable[[ReportData], dict[str, Any]] = no_context

    @property
    def template(self) -> str:
        return f"observatoire/{self.name}.qmd.j2"


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("front_matter"),
    Chapter("key_figures"),
    Chapter("introduction"),
    Chapter("coverage", coverage.context),
    Chapter("network", network.context),
    Chapter("belgium", belgium.context),
    Chapter("dispositifs", dispositifs.context),
    Chapter("aggregates", aggregates.context),
    Chapter("flows", flows.context),
    Chapter("trends", trends.context),
    Chapter("forecast", forecast.context),
    Chapter("field", field.context),
    Chapter("annex", annex.context),
    Chapter("references"),
    Chapter("glossary", glossary.context),
)


COUNTS_ONLY_CHAPTERS: tuple[Chapter, ...] = (
    Chapter("counts_only", counts_only.context),
    Chapter("aggregates", aggregates.context),
    Chapter("references"),
    Chapter("glossary", glossary.context),
)
"""The report of a network whose partners send counts only (no person-level row in any year):
its own front matter and what it cannot compute, the aggregate chapter, references, glossary."""

MAIN_TEMPLATE = "observatoire.qmd.j2"
COUNTS_ONLY_TEMPLATE = "observatoire-comptages.qmd.j2"


def report_chapters(data: ReportData) -> tuple[tuple[Chapter, ...], str]:
    """The chapters and the main template of this year's report: the full report, or the
    counts-only one when no partner sends person-level rows."""
    if data.has_persons:
        return CHAPTERS, MAIN_TEMPLATE
    return COUNTS_ONLY_CHAPTERS, COUNTS_ONLY_TEMPLATE


def chapter_contexts(data: ReportData) -> dict[str, dict[str, Any]]:
    """Each chapter's context, by chapter name (the chapters of :func:`report_chapters`)."""
    chapters, _ = report_chapters(data)
    return {chapter.name: chapter.context(data) for chapter in chapters}


def template_names(
    document: Mapping[str, Any], contexts: Mapping[str, Mapping[str, Any]], **extra: Any
) -> dict[str, Any]:
    """The one namespace the main template is rendered with; a name given twice is an error."""
    names: dict[str, Any] = {}
    for owner, part in [("document", document), *contexts.items(), ("report", extra)]:
        twice = set(names) & set(part)
        if twice:
            raise ValueError(f"chapter {owner}: names already given: {sorted(twice)}")
        names.update(part)
    return names
