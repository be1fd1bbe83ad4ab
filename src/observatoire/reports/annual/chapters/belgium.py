"""Section « Situer ces chiffres »: what a Belgian reader sets the figures beside: rates per
1,000 inhabitants of the territory, the ETHOS Light category of each dispositif, how a year's
flow of service users differs from a one-night count, and the COVID-19 years.

The rates divide *published* person counts (the network's maximum and the persons known by
name) by the population of ``report.population`` (inhabitants per commune, with its source and
year): the network count is a range (street work is never linked), so the rate is a range too.
"""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import DISPOSITIFS, ETHOS_LIGHT, VOCABULARY
from observatoire.core.formatting import french_number
from observatoire.disclosure.publication import key, network_key
from observatoire.disclosure.suppression import Publication
from observatoire.reports.annual.chapters.network import ethos_text
from observatoire.reports.annual.context import ReportData

__all__ = ["COVID_YEARS", "context", "ethos_rows", "population_context", "rate_text"]

COVID_YEARS = (2020, 2021)
"""The years of the COVID-19 sanitary measures in Belgium (first lockdown from 18 March 2020)."""


def context(data: ReportData) -> dict[str, Any]:
    years = [int(y) for y in data.ind.get("years", [])]
    return {
        "population": population_context(data),
        "ethos_rows": ethos_rows(data.ind),
        "ethos_categories": [{"n": n, "label": label} for n, label in ETHOS_LIGHT.items()],
        "covid_years": [y for y in COVID_YEARS if y in years],
    }


def rate_text(pub: Publication, count_key: str, inhabitants: int) -> str:
    """Persons per 1,000 inhabitants of a published count, one decimal; « – » when masked."""
    if pub.hidden(count_key) or count_key not in pub.status or not inhabitants:
        return "–"
    return french_number(1000 * pub.values[count_key] / inhabitants, 1)


def population_context(data: ReportData) -> dict[str, Any] | None:
    """The territory's population and the network's rate per 1,000 inhabitants (a range: the
    persons known by name, and the network's maximum with street work unlinked)."""
    pop = data.settings.report.population
    if pop is None:
        return None
    y = data.year
    total = pop.total
    return {
        "source": pop.source,
        "year": pop.year,
        "synthetic": pop.synthetic,
        "total": french_number(total),
        "communes": [
            {"name": name, "inhabitants": french_number(n)}
            for name, n in sorted(pop.communes.items(), key=lambda kv: -kv[1])
        ],
        "rate_max": rate_text(data.pub, network_key(y), total),
        "rate_identified": rate_text(data.pub, key(y, "identifies"), total),
        "rate_prev": rate_text(data.pub, network_key(y - 1), total),
    }


def ethos_rows(ind: dict[str, Any]) -> list[dict[str, str]]:
    """Each dispositif of the report with its ETHOS Light categories and how it sits there."""
    present = set(ind.get("dispositifs", {}))
    return [
        {"label": DISPOSITIFS[d.code], "categories": ethos_text(d.code), "note": d.ethos_note}
        for d in VOCABULARY
        if d.code in present
    ]
