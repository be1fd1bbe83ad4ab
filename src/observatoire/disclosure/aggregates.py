"""The annual report's tables of aggregate returns (partners that send counts, not persons).

Each partner that sends counts has up to two tables, built from ``agregats.json`` (attached to
the indicators as ``ind["aggregates"]``, see
:func:`observatoire.indicators.aggregates.annual_aggregates`):

- its counts of things (beds, bed-nights, meals, showers, refusals), this year and last: not
  persons, published as they are (a table that is not ``sensitive``), keys
  ``comptages|<year>|agregat=<partner>|mesure=<measure>``;
- its counts of persons (newly identified, moved to housing, actively homeless…) for everyone
  and per declared population group: persons, under the disclosure threshold like every person
  count, keys ``personnes|<year>|agregat=<partner>|mesure=<measure>|groupe=<group>``. When
  everyone is the sum of a declared partition, the audit knows it (a :class:`Constraint`): a
  masked part cannot be recomputed from the whole. Overlapping sub-groups take part in no sum.

These keys never meet the person counts of the linked records (``personnes|<year>|reseau``,
``…|dispositif=…``): an aggregate return is never added to them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.core.schema import AGGREGATE_MEASURES
from observatoire.disclosure.cells import Constraint, CountTable

__all__ = [
    "WHOLE",
    "aggregate_key",
    "aggregate_tables",
    "counts_table_name",
    "persons_table_name",
]

WHOLE = "ensemble"


def aggregate_key(year: int, partner: str, measure: str, group: str | None = None) -> str:
    """The quantity key of one aggregate figure (persons under a group, others without)."""
    if AGGREGATE_MEASURES[measure].persons:
        return f"personnes|{year}|agregat={partner}|mesure={measure}|groupe={group or WHOLE}"
    return f"comptages|{year}|agregat={partner}|mesure={measure}"


def counts_table_name(partner: str) -> str:
    return f"agregats_{partner}_comptages"


def persons_table_name(partner: str) -> str:
    return f"agregats_{partner}_personnes"


def _counts_table(year: int, pid: str, fig: dict[str, Any]) -> CountTable | None:
    rows = [
        m
        for m in AGGREGATE_MEASURES
        if not AGGREGATE_MEASURES[m].persons and (m in fig["whole"] or m in fig["whole_prev"])
    ]
    if not rows:
        return None
    values = pd.DataFrame(
        {
            str(year): [fig["whole"].get(m) for m in rows],
            str(year - 1): [fig["whole_prev"].get(m) for m in rows],
        },
        index=rows,
        dtype="float64",
    )
    keys = pd.DataFrame(
        {
            str(year): [aggregate_key(year, pid, m) for m in rows],
            str(year - 1): [aggregate_key(year - 1, pid, m) for m in rows],
        },
        index=rows,
    ).astype(object)
    keys = keys.where(values.notna(), None)
    return CountTable(
        name=counts_table_name(pid),
        title=f"Comptages transmis par {fig['name']}",
        values=values,
        keys=keys,
        sensitive=False,
    )


def _persons_table(
    year: int, pid: str, fig: dict[str, Any]
) -> tuple[CountTable | None, list[Constraint]]:
    rows = [m for m in AGGREGATE_MEASURES if AGGREGATE_MEASURES[m].persons and m in fig["whole"]]
    if not rows:
        return None, []
    groups = fig["groups"]
    columns = [WHOLE, *groups]
    values = pd.DataFrame(index=rows, columns=columns, dtype="float64")
    keys = pd.DataFrame(index=rows, columns=columns, dtype=object)
    for m in rows:
        values.loc[m, WHOLE] = fig["whole"].get(m)
        keys.loc[m, WHOLE] = aggregate_key(year, pid, m)
        for g, info in groups.items():
            v = info["measures"].get(m)
            values.loc[m, g] = v
            keys.loc[m, g] = aggregate_key(year, pid, m, g) if v is not None else None
    keys = keys.where(values.notna(), None)
    constraints = []
    parts = [g for g, info in groups.items() if info["role"] == "partie"]
    totals = [g for g, info in groups.items() if info["role"] == "total"]
    if parts and fig.get("whole_from_parts") and not totals:
        for m in rows:
            if all(pd.notna(values.loc[m, g]) for g in parts):
                constraints.append(
                    Constraint(
                        total=aggregate_key(year, pid, m),
                        parts=tuple(aggregate_key(year, pid, m, g) for g in parts),
                    )
                )
    table = CountTable(
        name=persons_table_name(pid),
        title=f"Personnes comptées par {fig['name']} (données agrégées)",
        values=values,
        keys=keys,
    )
    return table, constraints


def aggregate_tables(ind: dict[str, Any]) -> tuple[list[CountTable], list[Constraint]]:
    """Every aggregate table of the year and the identities the audit must know."""
    year = int(ind["year"])
    tables: list[CountTable] = []
    constraints: list[Constraint] = []
    for pid, fig in sorted((ind.get("aggregates") or {}).items()):
        counts = _counts_table(year, pid, fig)
        if counts is not None:
            tables.append(counts)
        persons, cons = _persons_table(year, pid, fig)
        if persons is not None:
            tables.append(persons)
            constraints += cons
    return tables, constraints
