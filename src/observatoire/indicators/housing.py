"""Housing outcomes: Housing First retention, and returns after leaving to housing.

Both are cohort measures with a follow-up window, so a person only counts once the whole window
is observed by 31 December of the report year: counting people whose window is still open
would make retention look better and returns look rarer than they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from observatoire.core.dispositifs import HOUSING, SHELTER, STAY_DISPOSITIFS
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
    ``year`` (an entry on 31/12/Y−1 is followed up to 31/12/Y and counts); ``entry_first`` and
    ``entry_last`` are the first and last entry dates of the cohort. The status is read on the
    person's own anchor date, entry + ``months`` (not on 31 December): still housed if the
    tenancy has no exit before the anchor, or ended by ``relogement`` (moved on to other stable
    housing, a success of Housing First, not a loss). A tenant who died before the anchor
    (exit reason ``deces``) is neither housed nor a failure of the programme: deaths are
    reported apart (``deceased``) and left out of the denominator ``followed`` (= cohort −
    deceased), the convention of Housing First evaluations in Europe. ``share`` is housed /
    followed; the strict variant counts only tenancies still running at the anchor. Wilson
    95 % intervals.
    """
    spans = stay_spans(contacts, [dispositif]).sort_values(["person_id", "start"])
    first = spans.drop_duplicates("person_id").set_index("person_id")
    anchor = first["start"] + pd.DateOffset(months=months)
    cohort = first[anchor <= pd.Timestamp(f"{year}-12-31")]
    anchor = anchor[cohort.index]
    running = cohort["end"].isna() | (cohort["end"] >= anchor)
    moved_on = (cohort["exit_reason"] == RELOGEMENT) & ~running
    died = (cohort["exit_reason"] == DECES) & ~running
    n, deceased = len(cohort), int(died.sum())
    followed = n - deceased
    housed, strict = int((running | moved_on).sum()), int(running.sum())
    strict_share = _share(strict, followed)
    return {
        "months": months,
        "cohort": n,
        "deceased": deceased,
        "followed": followed,
        "entry_first": cohort["start"].min() if n else None,
        "entry_last": cohort["start"].max() if n else None,
        "housed": housed,
        **_share(housed, followed),
        "housed_strict": strict,
        "share_strict": strict_share["share"],
        "lower_strict": strict_share["lower"],
        "upper_strict": strict_share["upper"],
    }


def returns_after_housing(
    contacts: pd.DataFrame,
    year: int,
    months: Iterable[int] = (6, 12, 24),
    grace_days: int = 14,
    exits_from: Iterable[str] = RETURN_FROM,
    cohort_years: int = 1,
) -> dict[str, dict[str, Any]]:
    """Returns to homelessness services after an exit to housing, as US System Performance
    Measure 2 counts them: one exit cohort, followed over nested windows.

    Cohort: each person's first exit to housing (a stay of ``exits_from`` ended with
    ``relogement``) in the *cohort years*: the ``cohort_years`` calendar years ending
    ``ceil(max(months) / 12)`` years before 31/12 of ``year`` (2022 for 2024 with a 24-month
    window and one year, SPM 2's choice; 2021–2022 with two, pooled for a small network), so
    that every window of every exit is observed by 31/12 of ``year``. The same persons are the
    denominator of every window: the returns within 24 months include those within 12, which
    include those within 6 (cumulative counts never decrease).

    A return is the start of a contact after the exit day and at most ``months`` months after
    it: a night-shelter stay (``shelter``), or any contact with the network (``any_contact``).
    The ``grace_days`` rule is SPM 2's: it applies to re-entries into *housing* (here Housing
    First: a tenancy starting within ``grace_days`` days of the exit is a move between housing
    programmes, not a return), while a shelter stay, a street-work contact or a day-centre
    visit counts from the day after the exit.
    """
    m_list = sorted(int(m) for m in months)
    if not m_list:
        return {}
    cohort_year = year - math.ceil(max(m_list) / 12)
    first_year = cohort_year - cohort_years + 1
    lo, hi = pd.Timestamp(f"{first_year}-01-01"), pd.Timestamp(f"{cohort_year}-12-31")
    spans = stay_spans(contacts, list(exits_from))
    exits = spans[(spans["exit_reason"] == RELOGEMENT) & spans["end"].between(lo, hi)]
    exits = exits.sort_values(["person_id", "end"]).drop_duplicates("person_id")
    exits = exits.set_index("person_id")["end"]
    later = contacts[contacts["person_id"].isin(exits.index)]
    starts = pd.to_datetime(later["date_start"]).astype("datetime64[ns]").dt.normalize()
    later = pd.DataFrame(
        {
            "person_id": later["person_id"],
            "shelter": later["dispositif"] == SHELTER,
            "housing": later["dispositif"].isin(list(HOUSING)),
            "start": starts,
        }
    ).join(exits.rename("exit"), on="person_id")
    gap = (later["start"] - later["exit"]).dt.days
    counts = (gap >= 1) & (~later["housing"] | (gap > grace_days))
    n = len(exits)
    out = {}
    for m in m_list:
        limit = later["exit"] + pd.DateOffset(months=m)
        hit = later[counts & (later["start"] <= limit)]
        shelter = int(hit.loc[hit["shelter"], "person_id"].nunique())
        any_contact = int(hit["person_id"].nunique())
        s, a = _share(shelter, n), _share(any_contact, n)
        out[str(m)] = {
            "cohort_first_year": first_year,
            "cohort_year": cohort_year,
            "exits": n,
            "shelter": shelter,
            **s,
            "any_contact": any_contact,
            "share_any_contact": a["share"],
            "lower_any_contact": a["lower"],
            "upper_any_contact": a["upper"],
        }
    return out
