"""Flows through the network and multi-service use: who is new, who uses which services.

Flows reuse :mod:`observatoire.indicators.flows` (new / continuing / returning, windows from
``report.flows``). Multi-service use counts, for the persons of the year, how many dispositifs
each used and which combination (the US LSA's « system paths »; the report draws it as an
UpSet chart). Street work is its own dispositif but its persons, known by initials and an
estimated age only, are never linked to the other services: a street-work person always
appears with « travail de rue » alone, so combinations with street work are not observed
(they are not absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.coverage import Coverage, coverage_of
from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.presence import PRESENCE_COLUMNS
from observatoire.indicators.counts import dispositif_order, in_year
from observatoire.indicators.flows import flow_counts, flow_status, flows_by_year

__all__ = [
    "COMBINATION_GROUPS",
    "LONG_STAY",
    "LONG_STAY_LABEL",
    "N_DISPOSITIFS_CLASSES",
    "OTHER_COMBINATIONS",
    "combination_label",
    "combinations",
    "dispositif_sets",
    "flows_by_dispositif",
    "group_small_combinations",
    "n_class",
    "n_dispositifs",
    "network_flows",
    "published_combination",
    "yearly_network_flows",
]

OTHER_COMBINATIONS = "autres combinaisons"
N_DISPOSITIFS_CLASSES = ("1", "2", "3", "4+")

LONG_STAY = "maison_accueil_ou_housing_first"
LONG_STAY_LABEL = "Maison d'accueil ou Housing First"
COMBINATION_GROUPS: dict[str, str] = {"maison_accueil": LONG_STAY, "housing_first": LONG_STAY}
"""Dispositifs merged in the *published* combinations table. Kept apart, maison d'accueil and
Housing First (about a hundred persons each) split into many combinations of 1 to 4 persons;
gathered in « autres », their make-up could still be deduced exactly from the persons of each
dispositif (2 of 8 at full scale, one of them a single person using all five services). Both
are long stays out of the street; the persons of each stay published in their own tables."""


def published_combination(combination: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A combination as the report publishes it: :data:`COMBINATION_GROUPS` merged, in the
    order of the dispositifs."""
    merged = {COMBINATION_GROUPS.get(d, d) for d in combination}
    order = [*(d for d in DISPOSITIFS if d not in COMBINATION_GROUPS), LONG_STAY]
    return tuple(d for d in order if d in merged)


def combination_label(combination: tuple[str, ...] | list[str]) -> str:
    """French label of a (published) combination, « + » between services."""
    labels = {**DISPOSITIFS, LONG_STAY: LONG_STAY_LABEL}
    return " + ".join(labels.get(d, d) for d in combination)


def _flow_record(row: Mapping[str, Any]) -> dict[str, Any]:
    def count(v: Any) -> int | None:
        return None if pd.isna(v) else int(v)

    return {
        "active": int(row["active"]),
        "new": count(row["new"]),
        "continuing": count(row["continuing"]),
        "returning": count(row["returning"]),
        "calculable": bool(row["calculable"]),
    }


def network_flows(
    contacts: pd.DataFrame,
    year: int,
    new_lookback_days: int = 730,
    continuing_days: int = 90,
    coverage: Coverage | None = None,
) -> dict[str, Any]:
    """Persons of ``year`` who are new, continuing or returning in the network.

    ``active`` is every person present in the year (:mod:`observatoire.core.presence`), so
    new + continuing + returning = active; the three are None when the data does not reach back far
    enough.
    """
    table = flows_by_year(contacts, [year], new_lookback_days, continuing_days, None, coverage)
    return _flow_record(table.iloc[0])


def yearly_network_flows(
    contacts: pd.DataFrame,
    years: list[int],
    new_lookback_days: int = 730,
    continuing_days: int = 90,
    coverage: Coverage | None = None,
) -> list[dict[str, Any]]:
    """:func:`network_flows` for every year (records with ``year``): the flows chart's series.
    Early years lack the look-back and come out with None counts."""
    table = flows_by_year(contacts, years, new_lookback_days, continuing_days, None, coverage)
    return [{"year": int(row["year"]), **_flow_record(row)} for _, row in table.iterrows()]


def flows_by_dispositif(
    contacts: pd.DataFrame,
    year: int,
    new_lookback_days: int = 730,
    continuing_days: int = 90,
    coverage: Coverage | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`network_flows` for the persons of each dispositif, status relative to the network.

    A person using the day centre for the first time but seen at the shelter last month is
    *continuing*, not new: « new » means new to the whole network (no contact anywhere in the
    look-back), which is the status the network acts on. Each dispositif's counts add up to
    its distinct persons of the year.
    """
    c = in_year(contacts, year)
    coverage = coverage_of(contacts, coverage)
    status = flow_status(contacts, year, new_lookback_days, continuing_days, coverage)
    out = {}
    for d in dispositif_order(c["dispositif"].unique()):
        persons = pd.Index(c.loc[c["dispositif"] == d, "person_id"].unique())
        out[d] = _flow_record(flow_counts(status, year, persons))
    return out


def dispositif_sets(contacts: pd.DataFrame, year: int) -> pd.Series:
    """Per person of the year, the tuple of dispositifs used (in the report's order)."""
    columns = ["person_id", "dispositif", "date_start", "date_end", "nights", *PRESENCE_COLUMNS]
    c = in_year(contacts[[k for k in columns if k in contacts.columns]], year)
    c = c[["person_id", "dispositif"]].drop_duplicates()
    rank = {d: i for i, d in enumerate(DISPOSITIFS)}
    c = c.assign(rank=c["dispositif"].map(rank).fillna(len(rank)))
    c = c.sort_values(["person_id", "rank", "dispositif"], ignore_index=True)
    if c.empty:
        return c.groupby("person_id", sort=True)["dispositif"].agg(tuple).rename("combination")
    # Each person's rows are contiguous, in order: their tuple is a slice (a groupby's
    # ``agg(tuple)`` builds a Series per person, most of this function's time).
    person = c["person_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]])
    ends = np.r_[starts[1:], len(person)]
    dispositifs = c["dispositif"].to_numpy()
    combinations = [tuple(dispositifs[a:b]) for a, b in zip(starts, ends, strict=True)]
    index = pd.Index(c["person_id"].iloc[starts], name="person_id")
    return pd.Series(combinations, index=index, dtype=object, name="combination")


def n_class(n: int) -> str:
    """The class of a number of dispositifs: « 1 », « 2 », « 3 » or « 4+ »."""
    return "4+" if n >= 4 else str(n)


def n_dispositifs(contacts: pd.DataFrame, year: int) -> dict[str, int]:
    """Persons of the year by number of dispositifs used: 1, 2, 3, 4+ (a partition).

    Maison d'accueil and Housing First count as one (:data:`COMBINATION_GROUPS`), as in the
    combinations table, whose margin this is: counted apart, the two tables together gave away
    the make-up of the small combinations."""
    sets = dispositif_sets(contacts, year)
    classes = sets.map(lambda s: n_class(len(published_combination(s))))
    counts = pd.Series(classes).value_counts()
    return {k: int(counts.get(k, 0)) for k in N_DISPOSITIFS_CLASSES}


def combinations(contacts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Every combination of dispositifs used in the year with its persons (a partition).

    Columns ``combination`` (tuple of codes), ``label`` (French, « + » between services),
    ``n_dispositifs`` and ``persons``; largest first, then by label.
    """
    sets = dispositif_sets(contacts, year)
    counts = sets.value_counts()
    table = pd.DataFrame(
        {
            "combination": list(counts.index),
            "label": [" + ".join(DISPOSITIFS.get(d, d) for d in combo) for combo in counts.index],
            "n_dispositifs": [len(combo) for combo in counts.index],
            "persons": counts.to_numpy().astype("int64"),
        }
    )
    table = table.sort_values(["persons", "label"], ascending=[False, True], ignore_index=True)
    return table


def group_small_combinations(table: pd.DataFrame, min_persons: int) -> pd.DataFrame:
    """Combinations with fewer than ``min_persons`` persons gathered in one last row
    « autres combinaisons » (empty ``combination``, ``n_dispositifs`` None), so that the table
    still partitions the persons. No such row when nothing is small."""
    small = table["persons"] < min_persons
    kept = table[~small].reset_index(drop=True)
    if not small.any():
        return kept
    other = pd.DataFrame(
        {
            "combination": [()],
            "label": [OTHER_COMBINATIONS],
            "n_dispositifs": [None],
            "persons": [int(table.loc[small, "persons"].sum())],
        }
    )
    return pd.concat([kept.astype({"n_dispositifs": "object"}), other], ignore_index=True)
