"""Length of time in services, long-term stayers and the concentration of shelter nights.

Two kinds of services, two measures of time. A *stay* service (night shelter, maison d'accueil,
Housing First) covers every night from entry to exit, so a person's time in it is the number
of nights of their stays falling in the period. A *visit* service (day centre, social
emergency, street work) only knows the days someone came, so its time is the number of
distinct contact days. The two are shown side by side, never added.

Stay ends follow :func:`observatoire.indicators.counts.nights`: the exit date, else entry + exported
nights, else one night for the shelter; a maison d'accueil stay or a Housing First tenancy with
no exit is still running (it is censored at the end of the period, not cut to one night).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.coverage import Coverage, coverage_of
from observatoire.core.dispositifs import HOUSING, STAY_DISPOSITIFS, TIME_UNITS
from observatoire.core.dispositifs import OPEN_ENDED as OPEN_ENDED
from observatoire.core.dispositifs import VISIT_DISPOSITIFS as VISIT_DISPOSITIFS
from observatoire.core.presence import EXIT_DAY, stay_end
from observatoire.indicators.counts import dispositif_order

__all__ = [
    "LONG_TERM_COUNTS",
    "long_term_stayers",
    "presence_days",
    "stay_lengths",
    "stay_lengths_all",
    "stay_spans",
    "summary",
    "time_in_service",
    "time_in_services",
    "top_share_nights",
]


def _year_bounds(year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(f"{year}-01-01"), pd.Timestamp(f"{year}-12-31")


def stay_spans(
    contacts: pd.DataFrame, dispositifs: Iterable[str] = STAY_DISPOSITIFS
) -> pd.DataFrame:
    """One row per stay: ``person_id``, ``dispositif``, ``start``, ``end``, ``exit_reason``.

    ``end`` is the exit day (the morning after the last night); NaT means still running, which
    only happens for :data:`OPEN_ENDED` services. See the module docstring for the rule.
    """
    stays = contacts[contacts["dispositif"].isin(list(dispositifs))]
    start = pd.to_datetime(stays["date_start"]).astype("datetime64[ns]").dt.normalize()
    end = stay_end(stays)
    return pd.DataFrame(
        {
            "person_id": stays["person_id"],
            "dispositif": stays["dispositif"],
            "start": start,
            "end": end,
            "exit_reason": stays["exit_reason"],
        }
    ).reset_index(drop=True)


# The columns :func:`presence_days` reads (through :func:`stay_spans`): it selects rows of these
# only, not of every column of the contacts.
_PRESENCE_COLUMNS = (
    "person_id",
    "dispositif",
    "date_start",
    "date_end",
    "nights",
    "exit_reason",
    EXIT_DAY,
)


def _expand(person: np.ndarray, disp: np.ndarray, first: pd.Series, n: np.ndarray) -> pd.DataFrame:
    n = np.clip(n, 0, None).astype("int64")
    offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    days = first.to_numpy(dtype="datetime64[ns]").repeat(n) + offsets.astype("timedelta64[D]")
    return pd.DataFrame({"person_id": person.repeat(n), "dispositif": disp.repeat(n), "day": days})


def presence_days(
    contacts: pd.DataFrame,
    first_day: pd.Timestamp,
    last_day: pd.Timestamp,
    dispositifs: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Every (person, dispositif, day) of ``first_day``–``last_day`` a person was in a service.

    A stay counts each of its nights (the evening's date; a stay entered and left the same day
    counts that day; a running stay counts to ``last_day``); a visit counts its day.
    """
    columns = [c for c in _PRESENCE_COLUMNS if c in contacts.columns]
    if dispositifs is not None:
        contacts = contacts.loc[contacts["dispositif"].isin(list(dispositifs)), columns]
    else:
        contacts = contacts[columns]
    stay = contacts["dispositif"].isin(STAY_DISPOSITIFS)
    spans = stay_spans(contacts[stay])
    last_night = (spans["end"] - pd.Timedelta(days=1)).where(spans["end"] > spans["start"])
    last_night = last_night.fillna(spans["start"].where(spans["end"].notna(), last_day))
    first = spans["start"].clip(lower=first_day)
    n = (last_night.clip(upper=last_day) - first).dt.days.to_numpy() + 1
    nights = _expand(spans["person_id"].to_numpy(), spans["dispositif"].to_numpy(), first, n)
    visits = contacts[~stay]
    day = pd.to_datetime(visits["date_start"]).astype("datetime64[ns]").dt.normalize()
    visits = pd.DataFrame(
        {"person_id": visits["person_id"], "dispositif": visits["dispositif"], "day": day}
    )
    visits = visits[(visits["day"] >= first_day) & (visits["day"] <= last_day)]
    out = pd.concat([nights, visits], ignore_index=True).drop_duplicates()
    return out.sort_values(["person_id", "dispositif", "day"], ignore_index=True)


def summary(values: pd.Series | np.ndarray) -> dict[str, Any]:
    """``n``, mean, median and quartiles of a set of durations (None when empty)."""
    v = np.asarray(values, dtype="float64")
    if len(v) == 0:
        return {"n": 0, "mean": None, "median": None, "p25": None, "p75": None}
    p25, median, p75 = np.percentile(v, [25, 50, 75])
    return {
        "n": len(v),
        "mean": float(v.mean()),
        "median": float(median),
        "p25": float(p25),
        "p75": float(p75),
    }


def time_in_service(contacts: pd.DataFrame, year: int, dispositif: str) -> pd.Series:
    """Per person, days spent in ``dispositif`` in ``year`` (nights of stays falling in the
    year, or distinct contact days for a visit service); persons with no day are absent."""
    lo, hi = _year_bounds(year)
    return _days_per_person(presence_days(contacts, lo, hi, [dispositif]))


def _days_per_person(days: pd.DataFrame) -> pd.Series:
    return days.groupby("person_id").size().rename("days").astype("int64")


def time_in_services(contacts: pd.DataFrame, year: int) -> dict[str, dict[str, Any]]:
    """Per dispositif: persons, mean, median, P25 and P75 of :func:`time_in_service`, and its
    unit (``nuitées``, ``jours``, ``jours de contact``...). ``n`` counts persons.

    The year's days of every dispositif are listed once and split by dispositif (the rows of
    :func:`presence_days` of one dispositif are those of all of them with that dispositif)."""
    lo, hi = _year_bounds(year)
    every = presence_days(contacts, lo, hi)
    out = {}
    for d in dispositif_order(contacts["dispositif"].unique()):
        days = _days_per_person(every[every["dispositif"] == d])
        out[d] = {"unit": TIME_UNITS.get(d, "jours"), **summary(days)}
    return out


def stay_lengths(contacts: pd.DataFrame, year: int, dispositif: str) -> dict[str, Any]:
    """Length in days of the stays of ``dispositif`` that ended in ``year`` (``n`` stays, mean,
    median, quartiles), and ``ongoing``: stays entered by 31/12 and still running after it.

    Ended stays only, so no length is cut short by the end of the data; the long stays still
    running are counted beside them rather than guessed.
    """
    lo, hi = _year_bounds(year)
    spans = stay_spans(contacts, [dispositif])
    ended = spans[(spans["end"] >= lo) & (spans["end"] <= hi)]
    ongoing = (spans["start"] <= hi) & (spans["end"].isna() | (spans["end"] > hi))
    return {**summary((ended["end"] - ended["start"]).dt.days), "ongoing": int(ongoing.sum())}


def stay_lengths_all(contacts: pd.DataFrame, year: int) -> dict[str, dict[str, Any]]:
    """:func:`stay_lengths` for every stay service present in the data."""
    present = set(contacts["dispositif"].unique())
    return {d: stay_lengths(contacts, year, d) for d in STAY_DISPOSITIFS if d in present}


LONG_TERM_COUNTS = ("nuits", "presence")
"""What a day of the long-term stayers' window is: a night homeless in a stay service
(``nuits``, the definition's) or any day of presence, a visit included (``presence``)."""


def long_term_stayers(
    contacts: pd.DataFrame,
    year: int,
    thresholds: Iterable[int] = (180, 270, 365),
    window_years: int = 3,
    active_days: int = 30,
    exclude: Iterable[str] = HOUSING,
    count: str = "nuits",
    coverage: Coverage | None = None,
) -> dict[str, Any]:
    """Persons with at least N nights homeless in the ``window_years`` ending 31/12 of ``year``,
    among the persons present in its last ``active_days`` days (long-term stayers).

    The definition counts *nights homeless*: a night of a stay in a service that shelters
    homeless people (night shelter, maison d'accueil: every stay service except ``exclude``,
    Housing First, where being housed is the way out). A day-centre visit or a street-work
    contact says that someone was seen, not where they slept, so with ``count="nuits"`` it
    counts no night. ``count="presence"`` gives the earlier, broader measure (a night or a
    contact day in any service but ``exclude``), kept for comparison.

    The denominator ``active_end`` is every person present in a service other than
    ``exclude`` (a night or a contact) in the last ``active_days`` days of the year; a
    long-term stayer is one of them. ``complete`` is False when the window is not covered
    by every partner active in it (see :mod:`observatoire.core.coverage`).
    """
    if count not in LONG_TERM_COUNTS:
        raise ValueError(f"count: {count!r} not in {LONG_TERM_COUNTS}")
    hi = pd.Timestamp(f"{year}-12-31")
    lo = pd.Timestamp(f"{year - window_years + 1}-01-01")
    kept = contacts[~contacts["dispositif"].isin(list(exclude))]
    days = presence_days(kept, lo, hi)
    last = days.groupby("person_id")["day"].max()
    active = last[last > hi - pd.Timedelta(days=active_days)].index
    if count == "nuits":
        days = days[days["dispositif"].isin(list(STAY_DISPOSITIFS))]
    per_person = days[["person_id", "day"]].drop_duplicates().groupby("person_id").size()
    per_person = per_person.reindex(active, fill_value=0)
    covered = coverage_of(contacts, coverage).window_covered(lo, hi)
    return {
        "window_start": lo.date().isoformat(),
        "window_end": hi.date().isoformat(),
        "complete": bool(len(contacts)) and covered,
        "count": count,
        "active_end": len(active),
        "persons": {str(t): int((per_person >= t).sum()) for t in thresholds},
    }


def top_share_nights(
    contacts: pd.DataFrame,
    year: int,
    share: float = 0.1,
    dispositif: str = "hebergement_urgence",
) -> dict[str, Any]:
    """Share of the year's shelter nights used by the ``share`` of persons with most nights.

    The top group is the ⌈share × persons⌉ heaviest users (which of several tied persons is
    taken does not change the sum). The brief's shelter studies put it near one half.
    """
    per_person = time_in_service(contacts, year, dispositif).sort_values(ascending=False)
    n = len(per_person)
    k = math.ceil(round(share * n, 9))
    total, top = int(per_person.sum()), int(per_person.iloc[:k].sum())
    return {
        "persons": n,
        "top_persons": k,
        "nights": total,
        "top_nights": top,
        "share": top / total if total else None,
    }
