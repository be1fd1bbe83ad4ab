"""An independent recount of the published figures from ``data_clean/`` (plain pandas).

The end-to-end tests compare every figure the report publishes with this recount. It is written
from the rules of ``docs/indicateurs.md``, not from the package: it imports no indicator function
(nothing from ``observatoire`` at all), so a bug in the indicators cannot hide itself by being
reproduced here.

Presence (docs/indicateurs.md): a person counts in a year when one of their contacts covers a day
of it. A visit covers its day. A stay (shelter, maison d'accueil, Housing First) covers its
nights, entry to the night before its exit day (an entry and exit on the same day covers that
day). Exit day: date_end, else entry + exported nights, else one night at the shelter; a maison
d'accueil stay or a tenancy with neither is still running, up to 31/12 of the last data year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "AGE_EDGES",
    "AGE_NAMES",
    "DAY",
    "HOUSING_FIRST",
    "SHELTER",
    "STAY_SERVICES",
    "as_day",
    "covered_days",
    "flow_status",
    "person_profiles",
    "present_in",
    "shelter_nights",
]

SHELTER = "hebergement_urgence"
HOUSING_FIRST = "housing_first"
STAY_SERVICES = (SHELTER, "maison_accueil", HOUSING_FIRST)
DAY = pd.Timedelta(days=1)
AGE_EDGES = [-np.inf, 17, 21, 25, 34, 44, 54, 64, np.inf]
AGE_NAMES = ["<18", "18-21", "22-25", "26-34", "35-44", "45-54", "55-64", "65+"]


def as_day(values: pd.Series) -> pd.Series:
    """The dates of ``values`` as days (midnight, nanosecond precision)."""
    return pd.to_datetime(values).astype("datetime64[ns]").dt.normalize()


def covered_days(contacts: pd.DataFrame) -> pd.DataFrame:
    """The contacts with ``first`` and ``last`` (both included) day covered, and ``exit_day``."""
    c = contacts.copy()
    start = as_day(c["date_start"])
    exit_day = as_day(c["date_end"])
    exit_day = exit_day.fillna(start + pd.to_timedelta(c["nights"].astype("float64"), unit="D"))
    exit_day = exit_day.where(exit_day.notna() | (c["dispositif"] != SHELTER), start + DAY)
    data_end = pd.Timestamp(int(c["year"].max()), 12, 31)
    stay_last = (exit_day - DAY).where(exit_day > start, start).where(exit_day.notna(), data_end)
    stay = c["dispositif"].isin(STAY_SERVICES)
    c["first"] = start
    c["last"] = stay_last.where(stay, start)
    c["exit_day"] = exit_day.where(stay)
    return c


def present_in(cov: pd.DataFrame, year: int) -> pd.DataFrame:
    """The covered contacts (see :func:`covered_days`) that cover a day of ``year``."""
    return cov[
        (cov["first"] <= pd.Timestamp(year, 12, 31)) & (cov["last"] >= pd.Timestamp(year, 1, 1))
    ]


def _most_frequent(rows: pd.DataFrame, column: str) -> pd.Series:
    """Per person, the most frequent known value of ``column`` (alphabetically first on a tie)."""
    known = rows[rows[column].notna() & (rows[column] != "INCONNU")]
    n = known.groupby(["person_id", column]).size().rename("n").reset_index()
    n = n.sort_values(["person_id", "n", column], ascending=[True, False, True])
    return n.drop_duplicates("person_id").set_index("person_id")[column]


def person_profiles(cov: pd.DataFrame, year: int) -> pd.DataFrame:
    """One row per person of the year: age band at their first contact of the year with a known
    age (« inconnu » if none), sex (M, F, else « inconnu/X ») and nationality group."""
    rows = present_in(cov, year).sort_values(["date_start", "source_file", "source_row"])
    persons = pd.Index(rows["person_id"].unique())
    age = rows.dropna(subset=["age_at_contact"]).groupby("person_id")["age_at_contact"].first()
    band = pd.cut(np.floor(age.reindex(persons)), AGE_EDGES, labels=AGE_NAMES)
    sex = _most_frequent(rows, "sex").reindex(persons)
    nationality = _most_frequent(rows, "nationality_group").reindex(persons)
    return pd.DataFrame(
        {
            "age": band.astype(object).fillna("inconnu").to_numpy(),
            "sex": sex.where(sex.isin(["M", "F"]), "inconnu/X").to_numpy(),
            "nationality": nationality.fillna("INCONNU").to_numpy(),
        },
        index=persons,
    )


def flow_status(cov: pd.DataFrame, year: int, lookback: int, continuing: int) -> pd.Series | None:
    """Per person of the year: new (no presence in the ``lookback`` days before 1 January),
    continuing (present in the ``continuing`` days before) or returning; None when the data do
    not reach ``lookback`` days back."""
    jan1 = pd.Timestamp(year, 1, 1)
    if (jan1 - cov["first"].min()).days < lookback:
        return None
    persons = pd.Index(present_in(cov, year)["person_id"].unique())
    before = cov[cov["first"] < jan1]
    last = before["last"].clip(upper=jan1 - DAY).groupby(before["person_id"]).max()
    gap = (jan1 - last.reindex(persons)).dt.days
    status = np.select(
        [gap.isna() | (gap > lookback), gap <= continuing], ["new", "continuing"], "returning"
    )
    return pd.Series(status, index=persons)


def shelter_nights(cov: pd.DataFrame) -> pd.Series:
    """Persons sleeping at the shelter per night (evening date): entry to the night before exit."""
    stays = cov[cov["dispositif"] == SHELTER]
    n = (stays["exit_day"] - stays["first"]).dt.days.clip(lower=0).astype("int64").to_numpy()
    offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    nights = stays["first"].to_numpy().repeat(n) + offsets.astype("timedelta64[D]")
    return pd.Series(nights).value_counts()
