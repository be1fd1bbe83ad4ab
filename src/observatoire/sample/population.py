"""The synthetic population: who comes into contact with the network, when, and who they are.

Each person has a true identity (names, birth date, sex), a nationality, a trajectory archetype
and a date of first contact. Newcomers arrive every year (more in winter), growing by
``annual_growth``; the burn-in years before the first exported year build the stock of chronic and
episodic persons the network already knows when the series starts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.sample import calibration as cal
from observatoire.sample.config import SampleParams
from observatoire.sample.names import draw_names
from observatoire.sample.timeline import Timeline

__all__ = ["draw_newcomers", "name_persons"]


def draw_newcomers(
    params: SampleParams, timeline: Timeline, rng: np.random.Generator
) -> pd.DataFrame:
    """Every person's first contact, archetype, sex, birth date and nationality (no names yet).

    Returns one row per person with integer day indices (``first_contact``) and a datetime64
    ``birth_date``. Age at first contact: ``youth_share`` are 18–25, a handful are 16–17 (met by
    street workers only), the rest 26+ with a mode in the late thirties.
    """
    first_contact = []
    winter_peak = timeline.seasonal(0.2)
    for year in range(params.first_year - cal.BURN_IN_YEARS, params.last_year + 1):
        expected = (
            cal.NEWCOMERS_FIRST_YEAR
            * params.scale
            * (1 + params.annual_growth) ** (year - params.first_year)
        )
        days = np.flatnonzero(timeline.year == year)
        weights = winter_peak[days] / winter_peak[days].sum()
        first_contact.append(np.sort(rng.choice(days, size=int(round(expected)), p=weights)))
    fc = np.concatenate(first_contact)
    n = len(fc)

    # Age group at first contact, then archetype (young people are rarely chronic).
    u = rng.random(n)
    minor = u < cal.MINOR_SHARE
    youth = (u >= cal.MINOR_SHARE) & (u < cal.MINOR_SHARE + params.youth_share)
    age = np.where(
        minor,
        rng.uniform(16.02, 17.98, n),
        np.where(
            youth,
            rng.uniform(18.02, 25.98, n),
            np.minimum(26.02 + rng.gamma(2.2, 7.5, n), 82.0),
        ),
    )
    archetype = np.where(
        youth | minor,
        rng.choice(3, size=n, p=cal.ARCHETYPE_SHARES_YOUTH),
        rng.choice(3, size=n, p=cal.ARCHETYPE_SHARES_ADULT),
    )
    archetype[minor] = cal.TRANSITIONAL

    female_share = np.where(
        youth | minor,
        cal.FEMALE_SHARE_YOUTH,
        np.where(archetype == cal.CHRONIC, cal.FEMALE_SHARE_CHRONIC, cal.FEMALE_SHARE_ADULT),
    )
    v = rng.random(n)
    sex = np.where(v < cal.OTHER_SEX_SHARE, "X", np.where(v < female_share, "F", "M"))

    birth_date = timeline.dates[fc] - np.round(age * 365.25).astype("timedelta64[D]")

    groups = list(cal.NATIONALITY_GROUPS)
    group = np.array(groups, dtype=object)[
        rng.choice(len(groups), size=n, p=list(cal.NATIONALITY_GROUPS.values()))
    ]
    country = np.full(n, "", dtype=object)
    country[group == "BE"] = "BE"
    for grp, table in (("UE", cal.EU_COUNTRIES), ("HORS_UE", cal.NON_EU_COUNTRIES)):
        idx = np.flatnonzero(group == grp)
        codes = np.array(list(table), dtype=object)
        weights = np.tile(np.array(list(table.values())), (len(idx), 1))
        # Ukrainians fleeing the war from March 2022 onwards.
        after_war = timeline.dates[fc[idx]] >= np.datetime64("2022-03-01")
        if "UA" in table:
            weights[after_war, list(table).index("UA")] *= 4
        weights /= weights.sum(axis=1, keepdims=True)
        picks = (rng.random(len(idx))[:, None] > np.cumsum(weights, axis=1)).sum(axis=1)
        country[idx] = codes[np.minimum(picks, len(codes) - 1)]

    return pd.DataFrame(
        {
            "first_contact": fc,
            "birth_date": birth_date,
            "sex": sex,
            "archetype": archetype,
            "youth": youth,
            "minor": minor,
            "nationality_group": group,
            "country": country,
        }
    )


def name_persons(persons: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Add true surnames and first names, and the stable ``true_person_id``."""
    persons = persons.reset_index(drop=True).copy()
    surname, first = draw_names(
        persons["country"].to_numpy(dtype=object), persons["sex"].to_numpy(dtype=object), rng
    )
    persons["surname"] = surname
    persons["first_name"] = first
    persons["true_person_id"] = [f"P{i:06d}" for i in range(1, len(persons) + 1)]
    return persons
