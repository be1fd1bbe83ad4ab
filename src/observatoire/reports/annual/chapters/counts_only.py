"""Section « Ce que ce rapport ne compte pas »: the report of a network whose partners send
counts only (no person-level row in any year, ``docs/donnees-agregees.md``).

Such a report prints its aggregate chapter and, instead of the person chapters, this section:
why no person is counted, and the list of what could not be computed, with the trends stage's
own reasons. No person count is printed, not even a zero.
"""

from __future__ import annotations

from typing import Any

from observatoire.core.person_level import NO_PERSONS_REASON
from observatoire.reports.annual.chapters.trends import not_computed_rows
from observatoire.reports.annual.context import ReportData

__all__ = ["NOT_COMPUTED", "context"]

NOT_COMPUTED = (
    "Personnes distinctes du réseau, par dispositif et par partenaire",
    "Profil des personnes (âge, sexe, nationalité) et jeunes de 18 à 25 ans",
    "Flux (nouvelles personnes, personnes suivies en continu, retours)",
    "Parcours entre dispositifs, durées de prise en charge, motifs de sortie",
    "Liaison des personnes entre partenaires et sa marge d'erreur",
    "Étude « jeunes en errance »",
)
"""What a report without person-level data cannot compute, in the order of the full report."""


def context(data: ReportData) -> dict[str, Any]:
    """The reason, the person figures not computed and the trends stage's own reasons."""
    return {
        "no_persons": {
            "reason": NO_PERSONS_REASON,
            "not_computed": list(NOT_COMPUTED),
            "trends": not_computed_rows(data.trend),
        }
    }
