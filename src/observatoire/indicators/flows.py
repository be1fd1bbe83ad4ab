"""Flows of persons into and through the network: new, continuing and returning.

The definitions are those of the US Longitudinal Systems Analysis, London's CHAIN and Toronto's
shelter flow (see docs/indicateurs.md): a person active in a period is *new* with no contact
anywhere in the network in the ``new_lookback_days`` before the period, *continuing* with a
contact in the ``continuing_days`` before it, and *returning* otherwise. A status needs the full
look-back inside the data: before that, a person first seen could be an old acquaintance, so
the status is « non calculable » rather than a guess.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.coverage import Coverage, coverage_of
from observatoire.core.presence import last_presence_before, presence_span, year_end

__all__ = [
    "CONTINUING",
    "FLOW_LABELS",
    "NEW",
    "RETURNING",
    "flow_counts",
    "flow_status",
    "entry_anchored_new",
    "flows_by_year",
    "re_entries",
]

NEW = "nouveau"
CONTINUING = "continu"
RETURNING = "retour"
FLOW_LABELS = {NEW: "Nouveaux", CONTINUING: "Continus", RETURNING: "De retour"}


def flow_status(
    contacts: pd.DataFrame,
    year: int,
    new_lookback_days: int = 730,
    continuing_days: int = 90,
    coverage: Coverage | None = None,
) -> pd.DataFrame:
    """Status of every person active in ``year``: ``person_id``, ``status``, ``first_in_year``.

    Presence is the days each contact covers (:mod:`observatoire.core.presence`): a stay
    running across 1 January makes its person active in the year and *continuing*, and a tenant
    housed for years is never « returning ». ``status`` is ``None`` when the look-back (the
    ``new_lookback_days`` before 1 January of ``year``) is not covered by every partner active
    in the year (:meth:`observatoire.core.coverage.Coverage.lookback_covered`; ``coverage``
    defaults to the one proposed from ``contacts``): a stray old row does not make it covered.
    """
    start = pd.Timestamp(year=year, month=1, day=1)
    span = presence_span(contacts)
    covers = (span["first_day"] <= year_end(year)) & (
        span["last_day"].isna() | (span["last_day"] >= start)
    )
    first_in = span.loc[covers, "first_day"].clip(lower=start)
    active = first_in.groupby(contacts.loc[covers, "person_id"]).min().rename("first_in_year")
    last_before = last_presence_before(contacts, start, span).reindex(active.index)
    gap = (start - last_before).dt.days
    status = np.select(
        [last_before.isna() | (gap > new_lookback_days), gap <= continuing_days],
        [NEW, CONTINUING],
        default=RETURNING,
    )
    out = pd.DataFrame(
        {"person_id": active.index, "status": status, "first_in_year": active.to_numpy()}
    )
    cov = coverage_of(contacts, coverage)
    if not cov.lookback_covered(start, days=new_lookback_days, concerned_to=year_end(year)):
        out["status"] = None
    return out.sort_values("person_id", ignore_index=True)


def entry_anchored_new(
    contacts: pd.DataFrame,
    year: int,
    new_lookback_days: int = 730,
    coverage: Coverage | None = None,
) -> dict[str, Any]:
    """Persons new to the network counted as US System Performance Measure 5 counts them: the
    look-back runs from each person's *entry*, not from 1 January.

    Entrants: persons with a contact starting in ``year`` (a visit, a stay or a tenancy
    entered; a stay running since last year is no entry). Each is anchored on their first
    entry of the year and is ``new`` with no day of presence in the network in the
    ``new_lookback_days`` days before it (a stay running up to the entry counts as presence).
    :func:`flow_status` anchors every person on 1 January instead, which is what lets new,
    continuing and returning partition the persons of the year; anchored on the entry, a person
    seen in February two years ago and again in June is new (more than 730 days apart) where
    the 1-January rule calls them returning. ``calculable`` is False when the data does not
    reach ``new_lookback_days`` before 1 January: the look-back is not covered by every
    partner active in the year (see :func:`flow_status`).
    """
    start, end = pd.Timestamp(year=year, month=1, day=1), year_end(year)
    day = pd.to_datetime(contacts["date_start"]).astype("datetime64[ns]").dt.normalize()
    entering = (day >= start) & (day <= end)
    entry = day[entering].groupby(contacts.loc[entering, "person_id"]).min().rename("entry")
    theirs = contacts[contacts["person_id"].isin(entry.index)]
    span = presence_span(theirs).join(theirs["person_id"]).join(entry, on="person_id")
    lookback_start = span["entry"] - pd.Timedelta(days=new_lookback_days)
    before = (span["first_day"] < span["entry"]) & (
        span["last_day"].isna() | (span["last_day"] >= lookback_start)
    )
    seen = span.loc[before, "person_id"].nunique()
    covered = coverage_of(contacts, coverage).lookback_covered(
        start, days=new_lookback_days, concerned_to=end
    )
    return {
        "new_lookback_days": new_lookback_days,
        "entrants": len(entry),
        "new": len(entry) - int(seen),
        "known": int(seen),
        "calculable": bool(len(entry)) and covered,
    }


def flows_by_year(
    contacts: pd.DataFrame,
    years: list[int],
    new_lookback_days: int = 730,
    continuing_days: int = 90,
    persons: pd.Index | None = None,
    coverage: Coverage | None = None,
) -> pd.DataFrame:
    """Counts of new, continuing and returning persons per year (optionally among ``persons``).

    Years whose status cannot be told have NaN counts and ``calculable`` False.
    """
    cov = coverage_of(contacts, coverage)
    rows = [
        flow_counts(
            flow_status(contacts, year, new_lookback_days, continuing_days, cov), year, persons
        )
        for year in years
    ]
    return pd.DataFrame(rows)


def flow_counts(status: pd.DataFrame, year: int, persons: pd.Index | None = None) -> dict[str, Any]:
    """One row of :func:`flows_by_year` from the :func:`flow_status` of ``year`` (optionally
    among ``persons``): a year's statuses are computed once and counted for several groups."""
    if persons is not None:
        status = status[status["person_id"].isin(persons)]
    calculable = status["status"].notna().all() and len(status) > 0
    counts = status["status"].value_counts()
    return {
        "year": year,
        "active": len(status),
        "new": counts.get(NEW, 0) if calculable else np.nan,
        "continuing": counts.get(CONTINUING, 0) if calculable else np.nan,
        "returning": counts.get(RETURNING, 0) if calculable else np.nan,
        "calculable": bool(calculable),
    }


def re_entries(contacts: pd.DataFrame, inactive_days: int = 90) -> pd.DataFrame:
    """Per person, the number of re-entries: returns after at least ``inactive_days`` without
    any contact in the network (Toronto's « inactive » after 3 months)."""
    spans = contacts[["person_id", "date_start", "date_end"]].dropna(subset=["date_start"])
    start = spans["date_start"].dt.normalize()
    end = spans["date_end"].fillna(spans["date_start"]).dt.normalize()
    spans = pd.DataFrame({"person_id": spans["person_id"], "start": start, "end": end})
    spans = spans.sort_values(["person_id", "start"], ignore_index=True)
    # A stay covers every day to its exit: the gap runs from the latest day covered so far.
    covered = spans.groupby("person_id")["end"].cummax()
    previous = covered.groupby(spans["person_id"]).shift()
    gap = (spans["start"] - previous).dt.days
    spans = spans.assign(reentry=(gap > inactive_days).astype("int64"))
    out = spans.groupby("person_id")["reentry"].sum().rename("re_entries")
    return out.reset_index()
