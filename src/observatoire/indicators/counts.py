"""The observatory's indicators, one documented function each.

Persons, contacts, nights and interventions are counted separately and never mixed: a person is a
linked ``person_id``; a contact is one row of a partner export (a stay, a visit, an intervention).
Every published figure comes from one of these functions: the notebooks, the report, the tables
and the tests all call them. Definitions in French are in ``docs/indicateurs.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS, SHELTER, SOCIAL_EMERGENCY
from observatoire.core.presence import delivered_in_year, in_year, periods_covered
from observatoire.core.schema import AGE_BANDS, NATIONALITY_GROUPS, age_band
from observatoire.indicators.capacity import CapacitySeries, bed_nights_per_day

Capacity = CapacitySeries | dict[str, int]
"""Beds of the shelters: the dated series, or two fixed numbers (beds, winter_extra_beds)."""

__all__ = [
    "SEX_UNKNOWN_OR_X",
    "UNKNOWN",
    "age_sex_full",
    "age_sex_table",
    "capacity_nights",
    "contacts_count",
    "coverage",
    "daily_refusals",
    "dispositif_order",
    "distinct_persons",
    "interventions",
    "is_winter",
    "monthly_contacts",
    "monthly_distinct_persons",
    "monthly_nights",
    "monthly_occupancy",
    "nationality_groups",
    "nightly_counts",
    "nights",
    "occupancy",
    "person_profile",
    "refusal_nights",
    "refusals_total",
    "sex_shares",
    "unknown_shares",
    "winter_periods",
    "winters",
    "yearly_distinct_persons",
    "youth_persons",
]


def distinct_persons(contacts: pd.DataFrame, year: int, by: str | None = None) -> int | pd.Series:
    """Distinct persons active in the year, network-wide (int) or per ``by`` (dispositif,
    partner): a contact on a day of the year or a stay running in it
    (:mod:`observatoire.core.presence`).

    Network-wide, a person seen by three services counts once; per dispositif, once in each.
    """
    c = in_year(contacts, year)
    if by is None:
        return int(c["person_id"].nunique())
    return c.groupby(by)["person_id"].nunique().astype("int64")


def contacts_count(contacts: pd.DataFrame, year: int, by: str = "dispositif") -> pd.Series:
    """Rows delivered for the year (visits, contacts, interventions; stays and tenancies
    entered in it) per ``by``."""
    return delivered_in_year(contacts, year).groupby(by).size().astype("int64")


def nights(contacts: pd.DataFrame, year: int, dispositif: str = SHELTER) -> int:
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


def capacity_nights(capacity: Capacity, year: int, winter: tuple[str, str]) -> int:
    """Bed-nights offered in the year: the capacity series night by night (two fixed numbers:
    beds every night plus winter-plan beds in winter, :mod:`observatoire.indicators.capacity`)."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    return int(bed_nights_per_day(capacity, days, winter).sum())


def is_winter(days: pd.DatetimeIndex | pd.Series, winter: tuple[str, str]) -> pd.Series:
    """Whether each day is in the winter plan (Plan Grand Froid), e.g. 1 Nov – 31 Mar."""
    days = pd.DatetimeIndex(days)
    md = days.strftime("%m-%d")
    start, end = winter
    mask = (md >= start) | (md <= end) if start > end else (md >= start) & (md <= end)
    return pd.Series(mask, index=days)


def occupancy(
    contacts: pd.DataFrame, capacity: Capacity, year: int, winter: tuple[str, str]
) -> float:
    """Occupancy rate = nights used / bed-nights offered."""
    offered = capacity_nights(capacity, year, winter)
    return nights(contacts, year) / offered if offered else float("nan")


def refusals_total(refusals: pd.DataFrame, year: int) -> int:
    """Refusals for lack of place in the year (a refusal is a request, not a person)."""
    return int(refusals.loc[pd.to_datetime(refusals["date"]).dt.year == year, "refusals"].sum())


def refusal_nights(refusals: pd.DataFrame, year: int) -> int:
    """Nights of the year with at least one refusal for lack of place (distinct nights: two
    shelters refusing on the same night make one)."""
    nights = pd.to_datetime(refusals["date"]).dt.normalize()
    r = refusals[nights.dt.year == year]
    per_night = r.groupby(nights[r.index])["refusals"].sum()
    return int((per_night > 0).sum())


def age_sex_table(contacts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Distinct persons of the year by age band (age at first contact in the year) and sex."""
    c = in_year(contacts, year).sort_values(["date_start", "source_file", "source_row"])
    known_age = c.dropna(subset=["age_at_contact"])
    first = known_age.groupby("person_id").first()
    sex = _most_frequent_known(c.set_index("person_id")["sex"])
    first["sex"] = sex.reindex(first.index).fillna("INCONNU")
    first["age_band"] = first["age_at_contact"].map(age_band)
    table = first.groupby(["age_band", "sex"]).size().rename("persons").reset_index()
    bands = [b for b, _, _ in AGE_BANDS]
    grid = pd.MultiIndex.from_product([bands, ["M", "F"]], names=["age_band", "sex"])
    return table.set_index(["age_band", "sex"])["persons"].reindex(grid, fill_value=0).reset_index()


def sex_shares(contacts: pd.DataFrame, year: int) -> dict[str, int]:
    """Distinct persons of the year by sex (INCONNU kept, so the share of unknowns shows)."""
    c = in_year(contacts, year)
    known = _most_frequent_known(c.set_index("person_id")["sex"])
    persons = pd.Index(c["person_id"].unique())
    sex = known.reindex(persons).fillna("INCONNU")
    return {k: int(v) for k, v in sex.value_counts().sort_index().items()}


def youth_persons(contacts: pd.DataFrame, year: int, low: int = 18, high: int = 25) -> int:
    """Distinct persons aged ``low``–``high`` at their first contact of the year."""
    c = in_year(contacts, year).dropna(subset=["age_at_contact"])
    first = c.sort_values(["date_start", "source_file", "source_row"]).groupby("person_id").first()
    return int(first["age_at_contact"].between(low, high).sum())


def yearly_distinct_persons(contacts: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Distinct persons active per year (and per ``by``), over every year in the data; the
    report year's row equals :func:`distinct_persons`."""
    covered = periods_covered(contacts, "Y")
    covered["year"] = covered["period"].dt.year
    keys = ["year"] + ([by] if by else [])
    return covered.groupby(keys)["person_id"].nunique().rename("persons").reset_index()


def monthly_distinct_persons(contacts: pd.DataFrame, by: str | None = "dispositif") -> pd.DataFrame:
    """Distinct persons active per calendar month (and per ``by``): the seasonal series. A
    stay counts in every month it covers, so Housing First gives the tenants housed, not the
    entries."""
    frame = periods_covered(contacts, "M").rename(columns={"period": "month"})
    keys = ["month"] + ([by] if by else [])
    return frame.groupby(keys)["person_id"].nunique().rename("persons").reset_index()


def monthly_nights(contacts: pd.DataFrame, dispositif: str = SHELTER) -> pd.DataFrame:
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
    c = delivered_in_year(contacts, year)
    month = pd.to_datetime(c["date_start"]).dt.month
    table = c.assign(month=month).groupby(["partner_id", "month"]).size().unstack(fill_value=0)
    return table.reindex(columns=range(1, 13), fill_value=0)


def dispositif_order(values: list[str] | pd.Index) -> list[str]:
    """Dispositifs in the report's order (the IWEPS axes first)."""
    return [d for d in DISPOSITIFS if d in set(values)]


# --- shelter occupancy and refusals by month and by winter -------------------------------------


def nightly_counts(contacts: pd.DataFrame, dispositif: str = SHELTER) -> pd.Series:
    """Persons sleeping in ``dispositif`` each night (indexed by the night's evening date).

    Same stay convention as :func:`nights` (exit date, else entry + exported nights, else one
    night), so monthly and winter sums add up to the yearly figure.
    """
    stays = contacts[contacts["dispositif"] == dispositif]
    start = pd.to_datetime(stays["date_start"])
    end = pd.to_datetime(stays["date_end"]).fillna(
        start + pd.to_timedelta(stays["nights"].fillna(1).astype("float64"), unit="D")
    )
    n = (end - start).dt.days.clip(lower=0).fillna(0).astype("int64").to_numpy()
    offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    days = start.to_numpy().repeat(n) + offsets.astype("timedelta64[D]")
    counts = pd.Series(days, dtype="datetime64[ns]").value_counts().sort_index()
    return counts.rename_axis("day").rename("nights").astype("int64")


def daily_refusals(refusals: pd.DataFrame) -> pd.Series:
    """Refusals for lack of place per night, all shelters added up (a night appears once)."""
    day = pd.to_datetime(refusals["date"]).astype("datetime64[ns]").dt.normalize()
    return refusals.groupby(day)["refusals"].sum().rename_axis("day").astype("int64")


def _capacity_per_day(
    days: pd.DatetimeIndex, capacity: Capacity, winter: tuple[str, str]
) -> np.ndarray:
    return bed_nights_per_day(capacity, days, winter)


def _shelter_days(
    days: pd.DatetimeIndex,
    nightly: pd.Series,
    refused: pd.Series,
    capacity: Capacity,
    winter: tuple[str, str],
) -> pd.DataFrame:
    """Per night: persons sheltered, beds offered, refusals (the base of every occupancy sum)."""
    return pd.DataFrame(
        {
            "nights": nightly.reindex(days, fill_value=0).to_numpy(),
            "capacity_nights": _capacity_per_day(days, capacity, winter),
            "refusals": refused.reindex(days, fill_value=0).to_numpy(),
        },
        index=days,
    )


def _occupancy_row(frame: pd.DataFrame) -> dict[str, float | int | None]:
    used, offered = int(frame["nights"].sum()), int(frame["capacity_nights"].sum())
    return {
        "nights": used,
        "capacity_nights": offered,
        "occupancy": used / offered if offered else None,
        "refusals": int(frame["refusals"].sum()),
        "refusal_nights": int((frame["refusals"] > 0).sum()),
    }


def monthly_occupancy(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    capacity: Capacity,
    year: int,
    winter: tuple[str, str],
) -> pd.DataFrame:
    """Per month of ``year``: nights, bed-nights offered, occupancy, refusals, refused nights.

    Capacity is the permanent beds plus the winter-plan beds on winter nights; the twelve
    months add up to :func:`nights` and :func:`capacity_nights` of the year.
    """
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    frame = _shelter_days(
        days, nightly_counts(contacts), daily_refusals(refusals), capacity, winter
    )
    rows = [{"month": m, **_occupancy_row(g)} for m, g in frame.groupby(frame.index.month)]
    return pd.DataFrame(rows)


def winter_periods(
    first_year: int, last_year: int, winter: tuple[str, str]
) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Winters touching the years ``first_year``–``last_year``: (label, first day, last day).

    Winter W runs from ``winter[0]`` of W to ``winter[1]`` of W + 1 (1 Nov 2023 – 31 Mar 2024
    is « 2023-2024 »), so the first one starts in the year before the data.
    """
    start, end = winter
    out = []
    for w in range(first_year - 1, last_year + 1):
        wraps = start > end
        lo = pd.Timestamp(f"{w}-{start}")
        hi = pd.Timestamp(f"{w + 1 if wraps else w}-{end}")
        label = f"{w}-{w + 1}" if wraps else str(w)
        if hi >= pd.Timestamp(f"{first_year}-01-01") and lo <= pd.Timestamp(f"{last_year}-12-31"):
            out.append((label, lo, hi))
    return out


def winters(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    capacity: Capacity,
    winter: tuple[str, str],
    first_year: int,
    last_year: int,
) -> pd.DataFrame:
    """Every winter in the data: nights, bed-nights offered, occupancy, refusals, refused nights.

    Only nights inside the observed years count; a winter cut by the data's edges is kept but
    flagged ``complete`` False (its figures cover ``days_observed`` of ``days`` nights).
    """
    span_lo, span_hi = pd.Timestamp(f"{first_year}-01-01"), pd.Timestamp(f"{last_year}-12-31")
    nightly, refused = nightly_counts(contacts), daily_refusals(refusals)
    rows = []
    for label, lo, hi in winter_periods(first_year, last_year, winter):
        days = pd.date_range(max(lo, span_lo), min(hi, span_hi), freq="D")
        frame = _shelter_days(days, nightly, refused, capacity, winter)
        total = (hi - lo).days + 1
        rows.append(
            {
                "winter": label,
                "start": lo.date().isoformat(),
                "end": hi.date().isoformat(),
                "days": total,
                "days_observed": len(days),
                "complete": len(days) == total,
                **_occupancy_row(frame),
            }
        )
    return pd.DataFrame(rows)


# --- profile: nationality, unknowns, the complete age × sex table ------------------------------

UNKNOWN = "inconnu"
SEX_UNKNOWN_OR_X = "inconnu/X"
"""Column of the complete age × sex table holding unknown sex and X (too few to show apart)."""


def _most_frequent_known(values: pd.Series, unknown: str = "INCONNU") -> pd.Series:
    """Per person, the most frequent known value (alphabetically first on a tie)."""
    known = values[values != unknown].dropna()
    pairs = pd.DataFrame({"person": known.index, "value": known.to_numpy()})
    n = pairs.groupby(["person", "value"], sort=False).size().rename("n").reset_index()
    # Per person: most contacts first, then the alphabetically first value (the mode's min).
    n = n.sort_values(["person", "n", "value"], ascending=[True, False, True], kind="mergesort")
    best = n.drop_duplicates("person")
    index = pd.Index(best["person"].to_numpy(), name=values.index.name)
    return pd.Series(best["value"].to_numpy(), index=index, name=values.name)


def person_profile(contacts: pd.DataFrame, year: int) -> pd.DataFrame:
    """One row per person of the year: ``sex``, ``age`` (first known age of the year, as in
    :func:`age_sex_table`), ``age_band`` and ``nationality_group``; INCONNU / NaN when unknown."""
    c = in_year(contacts, year).sort_values(["date_start", "source_file", "source_row"])
    persons = pd.Index(c["person_id"].unique(), name="person_id")
    by_person = c.set_index("person_id")
    age = by_person["age_at_contact"].dropna().groupby(level=0).first()
    out = pd.DataFrame(index=persons)
    out["sex"] = _most_frequent_known(by_person["sex"]).reindex(persons).fillna("INCONNU")
    out["age"] = age.reindex(persons)
    out["age_band"] = out["age"].map(age_band)
    nat = _most_frequent_known(by_person["nationality_group"]).reindex(persons)
    out["nationality_group"] = nat.fillna("INCONNU")
    return out


def nationality_groups(
    contacts: pd.DataFrame, year: int, profile: pd.DataFrame | None = None
) -> dict[str, int]:
    """Distinct persons of the year by nationality group (BE, UE, HORS_UE, INCONNU).

    A person's group is the most frequent known one among their contacts of the year; a
    person is INCONNU only if no contact gives it. The four groups partition the persons.
    ``profile``: :func:`person_profile` of ``contacts`` and ``year`` when already computed
    (likewise in :func:`unknown_shares` and :func:`age_sex_full`).
    """
    p = person_profile(contacts, year) if profile is None else profile
    groups = p["nationality_group"].value_counts()
    return {g: int(groups.get(g, 0)) for g in NATIONALITY_GROUPS}


def unknown_shares(
    contacts: pd.DataFrame, year: int, profile: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Persons of the year whose sex, age or nationality is unknown in every contact.

    Returns ``persons`` and, per field, ``{"unknown": n, "share": n / persons}`` (X is a known
    sex). Street-work contacts never carry a nationality, which weighs on its share.
    """
    p = person_profile(contacts, year) if profile is None else profile
    n = len(p)
    unknown = {
        "sex": int((p["sex"] == "INCONNU").sum()),
        "age": int(p["age"].isna().sum()),
        "nationality": int((p["nationality_group"] == "INCONNU").sum()),
    }
    out: dict[str, Any] = {"persons": n}
    for field, k in unknown.items():
        out[field] = {"unknown": k, "share": k / n if n else None}
    return out


def age_sex_full(
    contacts: pd.DataFrame, year: int, profile: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The complete age × sex table: its cells partition the persons of the year.

    Rows are the age bands plus ``inconnu`` (no known age); columns M, F and ``inconnu/X``
    (unknown sex, and X, kept together so that no margin isolates a handful of persons). The
    disclosure engine relies on the grand total being :func:`distinct_persons`.
    """
    p = person_profile(contacts, year) if profile is None else profile
    band = p["age_band"].fillna(UNKNOWN)
    sex = p["sex"].where(p["sex"].isin(["M", "F"]), SEX_UNKNOWN_OR_X)
    bands = [b for b, _, _ in AGE_BANDS] + [UNKNOWN]
    sexes = ["M", "F", SEX_UNKNOWN_OR_X]
    grid = pd.MultiIndex.from_product([bands, sexes], names=["age_band", "sex"])
    counts = pd.DataFrame({"age_band": band, "sex": sex}).value_counts()
    return counts.reindex(grid, fill_value=0).astype("int64").rename("persons").reset_index()


# --- interventions and monthly contacts --------------------------------------------------------


def interventions(contacts: pd.DataFrame, year: int, dispositif: str = SOCIAL_EMERGENCY) -> int:
    """Interventions of the year: rows of the social-emergency export (not persons)."""
    c = delivered_in_year(contacts, year)
    return int((c["dispositif"] == dispositif).sum())


def monthly_contacts(contacts: pd.DataFrame, year: int, by: str = "dispositif") -> pd.DataFrame:
    """Contacts (rows) per month of ``year`` and per ``by``, every month shown (0 if none)."""
    c = delivered_in_year(contacts, year)
    month = pd.to_datetime(c["date_start"]).dt.month.rename("month")
    table = c.groupby([month, c[by]]).size().unstack(fill_value=0)
    table = table.reindex(index=range(1, 13), fill_value=0)
    table = table[dispositif_order(table.columns)] if by == "dispositif" else table
    table.index.name = "month"
    return table.stack().rename("contacts").astype("int64").reset_index()
