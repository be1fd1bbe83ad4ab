"""The observatory's indicators, one documented function each.

Persons, contacts, nights and interventions are counted separately and never mixed: a person is a
linked ``person_id``; a contact is one row of a partner export (a stay, a visit, an intervention).
Every published figure comes from one of these functions: the notebooks, the report, the tables
and the tests all call them. Definitions in French are in ``docs/indicateurs.md``.
"""

from __future__ import annotations

import pandas as pd

from observatoire.schema import AGE_BANDS, DISPOSITIFS, age_band


def in_year(contacts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Contacts that start in ``year`` (exports are annual by start date)."""
    return contacts[contacts["year"] == year]


def distinct_persons(contacts: pd.DataFrame, year: int, by: str | None = None) -> int | pd.Series:
    """Distinct persons seen in the year, network-wide (int) or per ``by`` (dispositif, partner).

    Network-wide, a person seen by three services counts once; per dispositif, once in each.
    """
    c = in_year(contacts, year)
    if by is None:
        return int(c["person_id"].nunique())
    return c.groupby(by)["person_id"].nunique().astype("int64")


def contacts_count(contacts: pd.DataFrame, year: int, by: str = "dispositif") -> pd.Series:
    """Rows of the year (stays, visits, contacts, interventions, tenancies) per ``by``."""
    return in_year(contacts, year).groupby(by).size().astype("int64")


def nights(contacts: pd.DataFrame, year: int, dispositif: str = "hebergement_urgence") -> int:
    """Nights spent in the year in stays of ``dispositif`` (nuitées), counted within the year.

    A stay from 28 December to 3 January gives 4 nights to one year and 2 to the next; a stay with
    no exit date counts its exported number of nights from its entry.
    """
    stays = contacts[contacts["dispositif"] == dispositif]
    start = pd.to_datetime(stays["date_start"])
    end = pd.to_datetime(stays["date_end"])
    end = end.fillna(start + pd.to_timedelta(stays["nights"].fillna(1).astype("float64"), unit="D"))
    lo = pd.Timestamp(f"{year}-01-01")
    hi = pd.Timestamp(f"{year + 1}-01-01")
    inside = (end.clip(upper=hi) - start.clip(lower=lo)).dt.days.clip(lower=0)
    return int(inside.sum())


def capacity_nights(capacity: dict[str, int], year: int, winter: tuple[str, str]) -> int:
    """Bed-nights offered in the year: beds every night plus winter-plan beds in winter."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    base = capacity.get("beds", 0) * len(days)
    extra = capacity.get("winter_extra_beds", 0) * int(is_winter(days, winter).sum())
    return int(base + extra)


def is_winter(days: pd.DatetimeIndex | pd.Series, winter: tuple[str, str]) -> pd.Series:
    """Whether each day is in the winter plan (Plan Grand Froid), e.g. 1 Nov – 31 Mar."""
    days = pd.DatetimeIndex(days)
    md = days.strftime("%m-%d")
    start, end = winter
    mask = (md >= start) | (md <= end) if start > end else (md >= start) & (md <= end)
    return pd.Series(mask, index=days)


def occupancy(
    contacts: pd.DataFrame, capacity: dict[str, int], year: int, winter: tuple[str, str]
) -> float:
    """Occupancy rate = nights used / bed-nights offered."""
    offered = capacity_nights(capacity, year, winter)
    return nights(contacts, year) / offered if offered else float("nan")


def refusals_total(refusals: pd.DataFrame, year: int) -> int:
    """Refusals for lack of place in the year (a refusal is a request, not a person)."""
    return int(refusals.loc[pd.to_datetime(refusals["date"]).dt.year == year, "refusals"].sum())


def refusal_nights(refusals: pd.DataFrame, year: int) -> int:
    """Nights of the year with at least one refusal for lack of place."""
    r = refusals[pd.to_datetime(refusals["date"]).dt.year == year]
    return int((r["refusals"] > 0).sum())


def age_sex_table(contacts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Distinct persons of the year by age band (age at first contact in the year) and sex."""
    c = in_year(contacts, year).sort_values(["date_start", "source_file", "source_row"])
    known_age = c.dropna(subset=["age_at_contact"])
    first = known_age.groupby("person_id").first()
    sex = c[c["sex"] != "INCONNU"].groupby("person_id")["sex"].agg(lambda s: s.mode().min())
    first["sex"] = sex.reindex(first.index).fillna("INCONNU")
    first["age_band"] = first["age_at_contact"].map(age_band)
    table = first.groupby(["age_band", "sex"]).size().rename("persons").reset_index()
    bands = [b for b, _, _ in AGE_BANDS]
    grid = pd.MultiIndex.from_product([bands, ["M", "F"]], names=["age_band", "sex"])
    return table.set_index(["age_band", "sex"])["persons"].reindex(grid, fill_value=0).reset_index()


def sex_shares(contacts: pd.DataFrame, year: int) -> dict[str, int]:
    """Distinct persons of the year by sex (INCONNU kept, so the share of unknowns shows)."""
    c = in_year(contacts, year)
    known = c[c["sex"] != "INCONNU"].groupby("person_id")["sex"].agg(lambda s: s.mode().min())
    persons = pd.Index(c["person_id"].unique())
    sex = known.reindex(persons).fillna("INCONNU")
    return {k: int(v) for k, v in sex.value_counts().sort_index().items()}


def youth_persons(contacts: pd.DataFrame, year: int, low: int = 18, high: int = 25) -> int:
    """Distinct persons aged ``low``–``high`` at their first contact of the year."""
    c = in_year(contacts, year).dropna(subset=["age_at_contact"])
    first = c.sort_values(["date_start", "source_file", "source_row"]).groupby("person_id").first()
    return int(first["age_at_contact"].between(low, high).sum())


def yearly_distinct_persons(contacts: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Distinct persons per year (and per ``by``), over every year in the data."""
    keys = ["year"] + ([by] if by else [])
    return contacts.groupby(keys)["person_id"].nunique().rename("persons").reset_index()


def monthly_distinct_persons(contacts: pd.DataFrame, by: str | None = "dispositif") -> pd.DataFrame:
    """Distinct persons per calendar month (and per ``by``): the seasonal series."""
    month = pd.to_datetime(contacts["date_start"]).dt.to_period("M").dt.to_timestamp()
    frame = contacts.assign(month=month)
    keys = ["month"] + ([by] if by else [])
    return frame.groupby(keys)["person_id"].nunique().rename("persons").reset_index()


def monthly_nights(contacts: pd.DataFrame, dispositif: str = "hebergement_urgence") -> pd.DataFrame:
    """Nights per calendar month in stays of ``dispositif``, each night in its own month."""
    stays = contacts[contacts["dispositif"] == dispositif]
    start = pd.to_datetime(stays["date_start"])
    end = pd.to_datetime(stays["date_end"]).fillna(
        start + pd.to_timedelta(stays["nights"].fillna(1).astype("float64"), unit="D")
    )
    n = (end - start).dt.days.clip(lower=0).astype(int)
    nights_index = (
        start.repeat(n)
        + pd.to_timedelta(
            pd.Series(range(int(n.sum()))) - n.cumsum().sub(n).repeat(n).reset_index(drop=True),
            unit="D",
        ).to_numpy()
    )
    months = pd.Series(nights_index).dt.to_period("M").dt.to_timestamp()
    return months.value_counts().sort_index().rename_axis("month").rename("nights").reset_index()


def coverage(contacts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rows delivered per partner and month of the year: which partner sent which months."""
    c = in_year(contacts, year)
    month = pd.to_datetime(c["date_start"]).dt.month
    table = c.assign(month=month).groupby(["partner_id", "month"]).size().unstack(fill_value=0)
    return table.reindex(columns=range(1, 13), fill_value=0)


def dispositif_order(values: list[str] | pd.Index) -> list[str]:
    """Dispositifs in the report's order (the IWEPS axes first)."""
    return [d for d in DISPOSITIFS if d in set(values)]
