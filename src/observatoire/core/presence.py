"""When a person is present in the network: the days each contact covers.

A *visit* (day centre, social emergency, street work) covers its day. A *stay* (night shelter,
maison d'accueil, Housing First) covers every night from entry to the night before exit; a
maison d'accueil stay or a Housing First tenancy with no exit is still running.

A person is *active* in a period when one of their contacts covers a day of it. Partners export
a stay once, in the year it starts, so counting persons by the start year alone would drop a
tenant housed in 2021 and still housed from every later report, and a shelter stay from
28 December to 3 January from the second year. Every count of persons of a year, of a month and
every flow status therefore uses the covered days. The ``year`` column keeps the export's
meaning (the year a row was delivered): coverage, months delivered and contacts entered in the
year count rows by it (:func:`delivered_in_year`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.core.dispositifs import OPEN_ENDED, STAY_DISPOSITIFS

__all__ = [
    "active",
    "data_end",
    "delivered_in_year",
    "in_year",
    "last_presence_before",
    "periods_covered",
    "presence_span",
    "stay_end",
    "with_presence",
    "year_end",
]


# The columns :func:`with_presence` adds: each contact's first and last day covered and, for a
# stay, its exit day, computed once for the whole frame and carried by every selection of rows.
FIRST_DAY, LAST_DAY, EXIT_DAY = "presence_first_day", "presence_last_day", "presence_exit_day"
PRESENCE_COLUMNS = (FIRST_DAY, LAST_DAY, EXIT_DAY)

# What :func:`stay_end` reads: rows are selected on these columns only (selecting every column
# of the contacts, many of them strings, is what costs).
_STAY_COLUMNS = ("dispositif", "date_start", "date_end", "nights", EXIT_DAY)


def _stay_columns(contacts: pd.DataFrame) -> list[str]:
    return [c for c in _STAY_COLUMNS if c in contacts.columns]


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).astype("datetime64[ns]").dt.normalize()


def stay_end(stays: pd.DataFrame) -> pd.Series:
    """Exit day of each stay (the morning after its last night); NaT while still running.

    The exit date, else entry + exported nights, else one night for the shelter; a stay of an
    :data:`OPEN_ENDED` service with neither is still running (censored, not cut to one night).
    Frames without ``date_end`` or ``nights`` (built outside ingest) are read as having none.
    Read from the frame when :func:`with_presence` has computed it.
    """
    if EXIT_DAY in stays.columns:
        return stays[EXIT_DAY]
    start = _day(stays["date_start"])
    missing = pd.Series(float("nan"), index=stays.index)
    end = _day(stays.get("date_end", missing))
    nights = stays.get("nights", missing).astype("float64")
    end = end.fillna(start + pd.to_timedelta(nights, unit="D"))
    one_night = start + pd.Timedelta(days=1)
    return end.where(end.notna() | stays["dispositif"].isin(OPEN_ENDED), one_night)


def presence_span(contacts: pd.DataFrame) -> pd.DataFrame:
    """First and last day each contact covers (``first_day``, ``last_day``), on its index.

    A visit covers its day; a stay its entry day to its last night (a stay entered and left the
    same day covers that day); ``last_day`` is NaT for a stay still running. Read from the
    frame when :func:`with_presence` has computed it.
    """
    if FIRST_DAY in contacts.columns:
        span = contacts[[FIRST_DAY, LAST_DAY]]
        return span.set_axis(["first_day", "last_day"], axis=1)
    first = _day(contacts["date_start"])
    last = first.copy()
    stay = contacts["dispositif"].isin(STAY_DISPOSITIFS)
    if stay.any():
        end = stay_end(contacts.loc[stay, _stay_columns(contacts)])
        last_night = (end - pd.Timedelta(days=1)).where(end > first[stay], first[stay])
        last.loc[stay] = last_night.where(end.notna())
    return pd.DataFrame({"first_day": first, "last_day": last}, index=contacts.index)


def with_presence(contacts: pd.DataFrame) -> pd.DataFrame:
    """``contacts`` with :func:`presence_span` and :func:`stay_end` as columns
    (:data:`PRESENCE_COLUMNS`), which those functions then read instead of recomputing.

    Both are computed row by row, so the span of a selection of rows is that selection of the
    whole frame's span: a stage that derives many counts from one frame (the indicators stage
    computed the span some 80 times, a quarter of its work) computes it once. For a frame whose
    dates are not changed afterwards (a changed date would keep its old span). A frame that has
    them already is returned as it is.
    """
    if FIRST_DAY in contacts.columns:
        return contacts
    span = presence_span(contacts)
    return contacts.assign(
        **{
            FIRST_DAY: span["first_day"],
            LAST_DAY: span["last_day"],
            EXIT_DAY: stay_end(contacts[_stay_columns(contacts)]),
        }
    )


def _covers(span: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Series:
    return (span["first_day"] <= hi) & (span["last_day"].isna() | (span["last_day"] >= lo))


def active(contacts: pd.DataFrame, first_day: pd.Timestamp, last_day: pd.Timestamp) -> pd.DataFrame:
    """Contacts covering at least one day of ``first_day``–``last_day`` (both included)."""
    return contacts[_covers(presence_span(contacts), first_day, last_day)]


def in_year(contacts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Contacts covering a day of ``year``: visits of the year and stays running in it."""
    return active(contacts, pd.Timestamp(year=year, month=1, day=1), year_end(year))


def delivered_in_year(contacts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rows the partners delivered for ``year`` (contacts starting in it: visits, stays entered)."""
    return contacts[contacts["year"] == year]


def year_end(year: int) -> pd.Timestamp:
    return pd.Timestamp(year=year, month=12, day=31)


def data_end(contacts: pd.DataFrame) -> pd.Timestamp:
    """Last day the data speaks of: the end of the last year delivered. Running stays run to it."""
    return year_end(int(contacts["year"].max()))


def periods_covered(contacts: pd.DataFrame, freq: str) -> pd.DataFrame:
    """One row per contact and period it covers (``freq`` "Y" or "M"), with ``period`` the
    period's first day; running stays cover every period to :func:`data_end`.

    The base of the yearly and monthly counts of persons: a tenancy from March 2021 still
    running covers every year and month from then on.
    """
    if contacts.empty:
        return contacts.assign(period=pd.Series(dtype="datetime64[ns]"))
    span = presence_span(contacts)
    last = span["last_day"].fillna(data_end(contacts))

    def ordinal(day: pd.Series) -> pd.Series:
        return day.dt.year * 12 + (day.dt.month - 1) if freq == "M" else day.dt.year

    first = ordinal(span["first_day"])
    n = (ordinal(last) - first).clip(lower=0).to_numpy() + 1
    rows = contacts.index.repeat(n)
    index = first.to_numpy().repeat(n) + (np.arange(int(n.sum())) - (n.cumsum() - n).repeat(n))
    if freq == "M":
        period = pd.to_datetime({"year": index // 12, "month": index % 12 + 1, "day": 1})
    else:
        period = pd.to_datetime({"year": index, "month": 1, "day": 1})
    out = contacts.loc[rows].reset_index(drop=True)
    out["period"] = period.to_numpy()
    return out


def last_presence_before(
    contacts: pd.DataFrame, day: pd.Timestamp, span: pd.DataFrame | None = None
) -> pd.Series:
    """Per person, the last day before ``day`` covered by one of their contacts (none: absent).

    ``span``: :func:`presence_span` of ``contacts`` when already computed."""
    span = presence_span(contacts) if span is None else span
    before = span["first_day"] < day
    last = span.loc[before, "last_day"].fillna(day).clip(upper=day - pd.Timedelta(days=1))
    return last.groupby(contacts.loc[before, "person_id"]).max()
