"""Section « Glossaire »: the terms of ``assets/glossaire.yaml``, one definition each."""

from __future__ import annotations

from importlib import resources
from typing import Any

from observatoire.core import yamltext
from observatoire.reports.annual.context import ReportData

__all__ = ["context", "glossary"]


def context(data: ReportData) -> dict[str, Any]:
    return {"glossary": glossary()}


def glossary() -> list[dict[str, str]]:
    text = (resources.files("observatoire") / "assets" / "glossaire.yaml").read_text(
        encoding="utf-8"
    )
    return [
        {"term": e["terme"], "definition": " ".join(str(e["definition"]).split())}
        for e in yamltext.safe_load(text)
    ]
