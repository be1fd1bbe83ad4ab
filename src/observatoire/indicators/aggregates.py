"""Aggregate returns: what partners that send counts (not persons) tell, by year.

The clean table ``data_clean/aggregates.parquet`` holds one value per period (a day or a month),
programme, population group and measure (:data:`observatoire.core.schema.AGGREGATE_MEASURES`).
These figures are never added to the person counts of the linked records: a person counted in
an aggregate return has no identity, so it cannot be told apart from a person the network
already counts. They are reported on their own (the annual report's « Données agrégées »).

Two rules make every figure here well defined:

- **Groups** (:func:`whole_population`): the value for everyone is the row the mapping declares
  as the total when there is one, otherwise the sum of the groups it declares as a partition;
  a sub-group that overlaps the others (youth, chronic) is never added, and a total is never
  added to its parts.
- **Time** (:func:`year_value`): over a year, ``flux`` measures add up over the periods;
  ``nuit`` measures hold for each night of their period and add up into bed-nights (a monthly
  row counts once per night of its month); ``stock`` measures are the value of the last
  period of the year (persons actively homeless at the end of December), never a sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from observatoire.core.schema import AGGREGATE_COLUMNS, AGGREGATE_MEASURES

Partners = Mapping[str, Any]
"""Partner id → its mapping (:class:`observatoire.intake.mapping.PartnerMapping`), not imported
here: the youth stage reads these modules through ``indicators.counts`` without ``intake``."""

__all__ = [
    "CAPACITY_MEASURES",
    "annual_aggregates",
    "count_only_partners",
    "empty_aggregates",
    "nights_in_period",
    "whole_population",
    "year_value",
]

CAPACITY_MEASURES = ("beds_available", "winter_extra_beds")
"""The measures whose sum is the beds offered on a night (the capacity series)."""

_CELL = ["partner_id", "dispositif", "programme", "period", "date", "measure"]


def empty_aggregates() -> pd.DataFrame:
    """The clean aggregate table with no row (a network where nobody sends counts)."""
    return pd.DataFrame(columns=AGGREGATE_COLUMNS)


def count_only_partners(partners: Partners) -> list[str]:
    """Partners whose mapping has no person-level export (``table: contacts``): they send counts
    only, so the person counts of the report do not include the persons they see."""
    return [
        pid
        for pid, p in partners.items()
        if not any(e.table == "contacts" for e in p.exports)
        and any(e.table == "aggregates" for e in p.exports)
    ]


def whole_population(aggregates: pd.DataFrame) -> pd.DataFrame:
    """One value per period, programme and measure for everyone (see the module docstring):
    the declared total where there is one, else the sum of the declared partition's groups;
    sub-groups never. ``from_parts`` says which rule gave the value."""
    a = aggregates
    if a.empty:
        return pd.DataFrame(columns=[*_CELL, "value", "from_parts"])
    totals = a[a["group_role"] == "total"]
    parts = a[a["group_role"] == "partie"]
    whole = totals.groupby(_CELL, as_index=False)["value"].sum().assign(from_parts=False)
    summed = parts.groupby(_CELL, as_index=False)["value"].sum().assign(from_parts=True)
    if not whole.empty:
        have = pd.MultiIndex.from_frame(whole[_CELL].astype(str))
        summed = summed[~pd.MultiIndex.from_frame(summed[_CELL].astype(str)).isin(have)]
    return pd.concat([whole, summed], ignore_index=True).sort_values(_CELL, ignore_index=True)


def nights_in_period(dates: pd.Series, period: pd.Series) -> pd.Series:
    """Nights a row holds for: 1 for a day, the days of its month for a month."""
    d = pd.to_datetime(dates)
    return d.dt.days_in_month.where(period == "mois", 1).astype("int64")


def year_value(rows: pd.DataFrame, measure: str, year: int) -> float | None:
    """The year's value of ``measure`` from ``rows`` (one series: one partner, programme and
    group), by the time rule of its kind; None when the year has no row."""
    r = rows[(rows["measure"] == measure) & (pd.to_datetime(rows["date"]).dt.year == year)]
    if r.empty:
        return None
    kind = AGGREGATE_MEASURES[measure].kind
    if kind == "flux":
        return float(r["value"].sum())
    if kind == "nuit":
        return float((r["value"] * nights_in_period(r["date"], r["period"])).sum())
    last = pd.to_datetime(r["date"]).max()
    return float(r.loc[pd.to_datetime(r["date"]) == last, "value"].sum())


def _measures_of(rows: pd.DataFrame, year: int) -> dict[str, float | None]:
    present = [m for m in AGGREGATE_MEASURES if m in set(rows["measure"])]
    return {m: year_value(rows, m, year) for m in present}


def _occupancy(values: dict[str, float | None]) -> dict[str, Any] | None:
    """Beds occupied over bed-nights offered, when both are sent."""
    occupied = values.get("beds_occupied")
    offered = [values.get(m) for m in CAPACITY_MEASURES if values.get(m) is not None]
    if occupied is None or not offered:
        return None
    capacity = float(sum(offered))
    return {
        "beds_occupied": occupied,
        "capacity_nights": capacity,
        "rate": occupied / capacity if capacity else None,
    }


def _coverage(rows: pd.DataFrame, year: int) -> dict[str, Any]:
    dates = pd.to_datetime(rows["date"])
    inside = rows[dates.dt.year == year]
    period = str(rows["period"].iloc[0]) if len(rows) else "jour"
    d = pd.to_datetime(inside["date"])
    return {
        "period": period,
        "periods": int(d.nunique()),
        "periods_in_year": (
            12 if period == "mois" else int(pd.Timestamp(f"{year}-12-31").dayofyear)
        ),
        "first": None if d.empty else d.min().date().isoformat(),
        "last": None if d.empty else d.max().date().isoformat(),
    }


def annual_aggregates(aggregates: pd.DataFrame, partners: Partners, year: int) -> dict[str, Any]:
    """Per partner that sends counts, the figures of ``year`` and of the year before:

    ``name``, ``dispositif``, ``count_only`` (no person-level export), ``coverage`` (period,
    periods with data in the year, first and last date), ``whole`` (each measure's year value
    for everyone, ``*_prev`` for the year before), ``occupancy`` (beds occupied over bed-nights
    offered, this year and last), ``programmes`` (the same per programme, when the partner has
    several) and ``groups`` (per declared group: its role and its measures' year values).
    Empty when nobody sends counts."""
    out: dict[str, Any] = {}
    if aggregates is None or aggregates.empty:
        return out
    whole = whole_population(aggregates)
    for pid, rows in aggregates.groupby("partner_id", sort=True):
        pid = str(pid)
        partner = partners.get(pid)
        w = whole[whole["partner_id"] == pid]
        all_programmes = w.assign(programme="")  # programmes are disjoint: they add up
        values = _measures_of(all_programmes, year)
        values_prev = _measures_of(all_programmes, year - 1)
        programmes = {}
        names = sorted(str(p) for p in w["programme"].unique() if str(p))
        if len(names) > 1:
            for name in names:
                pv = _measures_of(w[w["programme"] == name], year)
                programmes[name] = {"measures": pv, "occupancy": _occupancy(pv)}
        groups = {}
        # The total, then the partition's parts, then the overlapping sub-groups.
        order = {"total": 0, "partie": 1, "sous_groupe": 2}
        pairs = sorted(
            rows.groupby(["group", "group_role"], sort=True),
            key=lambda kv: (order.get(str(kv[0][1]), 3), str(kv[0][0])),
        )
        for (group, role), g in pairs:
            if role == "total" and len(rows["group"].unique()) == 1:
                continue  # no group column: the whole is the only group
            groups[str(group)] = {
                "role": str(role),
                "measures": _measures_of(g.assign(programme=""), year),
            }
        out[pid] = {
            "name": partner.name if partner else pid,
            "dispositif": partner.dispositif if partner else str(rows["dispositif"].iloc[0]),
            "count_only": partner is not None and pid in count_only_partners({pid: partner}),
            "coverage": _coverage(rows, year),
            "whole": values,
            "whole_prev": values_prev,
            "whole_from_parts": bool(w["from_parts"].any()),
            "occupancy": _occupancy(values),
            "occupancy_prev": _occupancy(values_prev),
            "programmes": programmes,
            "groups": groups,
        }
    return out
