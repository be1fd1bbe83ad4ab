"""Section « Données agrégées des partenaires »: what partners that send counts (not persons)
tell, on its own.

An aggregate return counts beds, nights, meals or persons by status without any identity, so
its persons cannot be told apart from the persons the network counts: nothing here is added to
the person counts of the other chapters. Counts of things (beds, bed-nights, meals) are printed
as they are; counts of persons go through the report's publication (« < k » under the
threshold) like every person count. The occupancy rate is a ratio of two counts of things.
"""

from __future__ import annotations

import re
from typing import Any

from observatoire.core.coverage import season_days, season_months, season_text
from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.core.schema import AGGREGATE_MEASURES, GROUP_ROLES
from observatoire.disclosure.aggregates import WHOLE, aggregate_key
from observatoire.reports.annual.context import ReportData, fr_num

__all__ = ["ROLE_WORDS", "context", "counts_caption", "partner_section"]

ROLE_WORDS = {
    "total": "total",
    "partie": "partie",
    "sous_groupe": "sous-groupe, non additionné",
}
assert set(ROLE_WORDS) == set(GROUP_ROLES)

PERIOD_WORDS = {"jour": "par jour", "mois": "par mois"}


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " et " + words[-1]


def counts_caption(measures: list[str]) -> str:
    """What a table of counts of things counts, from its measures' kinds
    (:data:`observatoire.core.schema.AGGREGATE_MEASURES`): « lits disponibles et lits occupés en
    nuitées (un lit pendant une nuit) ; refus faute de place : total de l'année »."""

    def short(m: str) -> str:  # « lits d'hiver (plan hiver) » → « lits d'hiver »
        return re.sub(r"\s*\([^)]*\)", "", AGGREGATE_MEASURES[m].label)

    parts = []
    nights = [short(m) for m in measures if AGGREGATE_MEASURES[m].kind == "nuit"]
    flows = [short(m) for m in measures if AGGREGATE_MEASURES[m].kind == "flux"]
    stocks = [short(m) for m in measures if AGGREGATE_MEASURES[m].kind == "stock"]
    if nights:
        parts.append(f"{_join(nights)} en nuitées (un lit pendant une nuit)")
    if flows:
        parts.append(f"{_join(flows)} : {'totaux' if len(flows) > 1 else 'total'} de l'année")
    if stocks:
        parts.append(f"{_join(stocks)} : en fin d'année")
    return " ; ".join(parts)


def _cell(data: ReportData, key: str | None) -> str:
    if key is None or key not in data.pub.status:
        return "—"
    return data.pub.cell_text(key)


def partner_section(data: ReportData, pid: str, fig: dict[str, Any]) -> dict[str, Any]:
    """The figures of one partner's section: its counts of things, its occupancy, its counts of
    persons for everyone and per declared group."""
    year = data.year
    cov = fig["coverage"]
    shown = [
        m
        for m in AGGREGATE_MEASURES
        if not AGGREGATE_MEASURES[m].persons and (m in fig["whole"] or m in fig["whole_prev"])
    ]
    counts = [
        {
            "label": AGGREGATE_MEASURES[m].label,
            "value": _cell(data, aggregate_key(year, pid, m) if m in fig["whole"] else None),
            "prev": _cell(
                data,
                aggregate_key(year - 1, pid, m) if fig["whole_prev"].get(m) is not None else None,
            ),
        }
        for m in shown
    ]
    groups = list(fig["groups"])
    persons = [
        {
            "label": AGGREGATE_MEASURES[m].label,
            "kind": AGGREGATE_MEASURES[m].kind,
            "cells": [_cell(data, aggregate_key(year, pid, m))]
            + [
                _cell(
                    data,
                    aggregate_key(year, pid, m, g)
                    if fig["groups"][g]["measures"].get(m) is not None
                    else None,
                )
                for g in groups
            ],
        }
        for m in AGGREGATE_MEASURES
        if AGGREGATE_MEASURES[m].persons and m in fig["whole"]
    ]
    occ, occ_prev = fig.get("occupancy"), fig.get("occupancy_prev")
    programmes = [
        {
            "name": name,
            "occupancy": fr_pct((p.get("occupancy") or {}).get("rate")),
            "nights": fr_num((p.get("occupancy") or {}).get("beds_occupied")),
            "capacity": fr_num((p.get("occupancy") or {}).get("capacity_nights")),
        }
        for name, p in fig["programmes"].items()
        if p.get("occupancy")
    ]
    # A seasonal partner (coverage[].season) sends data for its season only: its year is
    # complete when its season is, the rest of the year the service is closed.
    partner_cov = data.coverage.partners.get(pid) if data.coverage is not None else None
    season = partner_cov.season if partner_cov is not None else ()
    expected = cov["periods_in_year"]
    if season:
        expected = (
            len(season_months(season)) if cov["period"] == "mois" else season_days(season, year)
        )
    return {
        "id": pid,
        "name": fig["name"],
        "dispositif": DISPOSITIFS.get(fig["dispositif"], fig["dispositif"]),
        "count_only": fig["count_only"],
        "period": PERIOD_WORDS.get(cov["period"], cov["period"]),
        "periods": cov["periods"],
        "periods_in_year": expected,
        "period_unit": "mois" if cov["period"] == "mois" else "jours",
        "complete": cov["periods"] >= expected,
        "season": season_text(season).replace("1er ", "1^er^ ") if season else None,
        "counts": counts,
        "counts_caption": counts_caption(shown),
        "occupancy": None if not occ else fr_pct(occ["rate"]),
        "occupancy_prev": None if not occ_prev else fr_pct(occ_prev["rate"]),
        "programmes": programmes,
        "groups": [f"{g} ({ROLE_WORDS[fig['groups'][g]['role']]})" for g in groups],
        "whole_label": WHOLE,
        "whole_from_parts": fig.get("whole_from_parts", False),
        "persons": persons,
    }


def context(data: ReportData) -> dict[str, Any]:
    """One section per partner that sends aggregate returns (none: the chapter prints
    nothing)."""
    agg = data.ind.get("aggregates") or {}
    return {
        "aggregate_sections": [partner_section(data, pid, fig) for pid, fig in sorted(agg.items())]
    }
