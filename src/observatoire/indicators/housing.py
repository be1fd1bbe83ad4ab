"""Housing outcomes: Housing First retention, and returns after leaving to housing.

Both are cohort measures with a follow-up window, so a person only counts once the whole window
is observed by 31 December of the report year: counting people whose window is still open
would make retention look better and returns look rarer than they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from observatoire.core.dispositifs import HOUSING_FIRST, SHELTER, STAY_DISPOSITIFS
from observatoire.core.stats import proportion_ci
from observatoire.indicators.durations import stay_spans

__all__ = ["DECES", "RELOGEMENT", "RETURN_FROM", "housing_first_retention", "returns_after_housing"]

RELOGEMENT = "relogement"
DECES = "deces"
RETURN_FROM = STAY_DISPOSITIFS
"""Services whose exits to housing (``relogement``) open a returns follow-up: every stay."""


def _share(x: int, n: int) -> dict[str, Any]:
    low, upp = proportion_ci(x, n)
    return {
        "share": x / n if n else None,
        "lower": low if n else None,
        "upper": upp if n else None,
    }


def housing_first_retention(
    contacts: pd.DataFrame, year: int, months: int = 12, dispositif: str = "housing_first"
) -> dict[str, Any]:
    """Share of Housing First tenants still housed ``months`` after entering their housing.

    Cohort: each person's first tenancy whose entry + ``months`` is on or before 31/12 of
    ``year`` (an entry on 31/12/Y−1 is followed up to 31/12/Y and counts). Still housed: the
    tenancy has no exit before entry + ``months``, or it ended by ``relogement`` (the person
    moved on to other stable housing, which is a success of Housing First, not a loss). The
    strict variant counts only tenancies still running. Deaths stay in the denominator and
    are counted in ``deceased``. Wilson 95 % intervals.
    """
    spans = stay_spans(contacts, [dispositif]).sort_values(["person_id", "start"])
    first = spans.drop_duplicates("person_id").set_index("person_id")
    anchor = first["start"] + pd.DateOffset(months=months)
    cohort = first[anchor <= pd.Timestamp(f"{year}-12-31")]
    anchor = anchor[cohort.index]
    running = cohort["end"].isna() | (cohort["end"] >= anchor)
    moved_on = cohort["exit_reason"] == RELOGEMENT
    n, housed, strict = len(cohort), int((running | moved_on).sum()), int(running.sum())
    strict_share = _share(strict, n)
    return {
        "months": months,
        "cohort": n,
        "housed": housed,
        **_share(housed, n),
        "housed_strict": strict,
        "share_strict": strict_share["share"],
        "lower_strict": strict_share["lower"],
        "upper_strict": strict_share["upper"],
        "deceased": int(((cohort["exit_reason"] == DECES) & ~running).sum()),
    }


def returns_after_housing(
    contacts: pd.DataFrame,
    year: int,
    months: Iterable[int] = (6, 12, 24),
    grace_days: int = 14,
    exits_from: Iterable[str] = RETURN_FROM,
) -> dict[str, dict[str, Any]]:
    """Returns to homelessness services after an exit to housing (US System Performance
    Measure 2), per follow-up of ``months``.

    Exits: each person's first stay of ``exits_from`` ended with ``relogement``. A return is a
    new night-shelter stay (``shelter``) or any contact with the network outside Housing First
    (``any_contact``; a Housing First tenancy is housing, not a return) starting more than
    ``grace_days`` days after the exit (day 15 counts, day 14 does not) and at most ``months``
    months after it. Only exits whose whole window ends by 31/12 of ``year`` are counted.
    """
    spans = stay_spans(contacts, list(exits_from))
    exits = spans[(spans["exit_reason"] == RELOGEMENT) & spans["end"].notna()]
    exits = exits.sort_values(["person_id", "end"]).drop_duplicates("person_id")
    exits = exits.set_index("person_id")["end"]
    later = contacts[contacts["dispositif"] != HOUSING_FIRST]
    later = later[later["person_id"].isin(exits.index)]
    starts = pd.to_datetime(later["date_start"]).astype("datetime64[ns]").dt.normalize()
    later = pd.DataFrame(
        {
            "person_id": later["person_id"],
            "shelter": later["dispositif"] == SHELTER,
            "start": starts,
        }
    ).join(exits.rename("exit"), on="person_id")
    gap = (later["start"] - later["exit"]).dt.days
    end_of_year = pd.Timestamp(f"{year}-12-31")
    out = {}
    for m in months:
        window_end = exits + pd.DateOffset(months=m)
        observed = exits[window_end <= end_of_year]
        limit = later["exit"] + pd.DateOffset(months=m)
        hit = later[(gap > grace_days) & (later["start"] <= limit)]
        hit = hit[hit["person_id"].isin(observed.index)]
        n = len(observed)
        shelter = int(hit.loc[hit["shelter"], "person_id"].nunique())
        any_contact = int(hit["person_id"].nunique())
        s, a = _share(shelter, n), _share(any_contact, n)
        out[str(m)] = {
            "exits": n,
            "shelter": shelter,
            **s,
            "any_contact": any_contact,
            "share_any_contact": a["share"],
            "lower_any_contact": a["lower"],
            "upper_any_contact": a["upper"],
        }
    return out
