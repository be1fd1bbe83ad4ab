"""Services activated and services fled, young people against adults.

Everything is measured over each person's follow-up (``follow_up_months`` from the first
contact), so that youth and adults are compared over the same length of time. A service is
*activated* when a person has a contact there; it is *fled* in three measurable ways: a single
contact, no return within ``inactive_days`` of the first contact there, and (where partners
export an exit reason) an early exit or an expulsion from a stay.
"""

from __future__ import annotations

import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.dispositifs import OPEN_ENDED as STAY_DISPOSITIFS
from observatoire.youth.cohort import ADULTS, YOUTH, StudyParams
from observatoire.youth.compare import compare_proportions

__all__ = [
    "EARLY_EXIT_DAYS",
    "FLED_REASONS",
    "combinations",
    "first_services",
    "follow_up_contacts",
    "service_paths",
    "services_activated",
    "services_fled",
    "stay_exits",
]

EARLY_EXIT_DAYS = 30
"""A stay ended within this many days by the resident leaving or being excluded is early."""
FLED_REASONS = ("depart_volontaire", "exclusion")


def follow_up_contacts(
    contacts: pd.DataFrame, cohort: pd.DataFrame, study: StudyParams
) -> pd.DataFrame:
    """The cohort's contacts within each person's follow-up, with the person's group."""
    mine = contacts[contacts["person_id"].isin(cohort.index)]
    first = mine["person_id"].map(cohort["first_contact"])
    month = (mine["date_start"].dt.year - first.dt.year) * 12 + (
        mine["date_start"].dt.month - first.dt.month
    )
    out = mine[month < study.follow_up_months].copy()
    out["group"] = out["person_id"].map(cohort["group"])
    return out


def _comparison_row(label: str, x_y: int, n_y: int, x_a: int, n_a: int) -> dict:
    stats = compare_proportions(x_y, n_y, x_a, n_a)
    row = {"indicator": label, "x_youth": x_y, "n_youth": n_y, "x_adults": x_a, "n_adults": n_a}
    return row | stats


COMPARISON_COLUMNS = (
    "indicator", "x_youth", "n_youth", "x_adults", "n_adults",
    "p1", "p2", "diff", "lower", "upper", "pvalue", "test",
)  # fmt: skip
"""The columns of a youth-vs-adults row (:func:`_comparison_row`)."""


def _comparison_table(rows: list[dict], leading: tuple[str, ...]) -> pd.DataFrame:
    """The rows as a table; with no row (no dispositif of the kind in the network), the same
    columns, so that the notebook, the CSV and the report read an empty table like a full
    one."""
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*leading, *COMPARISON_COLUMNS])


def services_activated(fu: pd.DataFrame, cohort: pd.DataFrame) -> pd.DataFrame:
    """Per dispositif: persons of each group who used it over the follow-up, shares and the
    youth − adults difference with its 95 % CI."""
    n = cohort["group"].value_counts()
    used = fu.groupby(["dispositif", "group"])["person_id"].nunique().unstack(fill_value=0)
    rows = []
    for d in [d for d in DISPOSITIFS if d in used.index]:
        rows.append(
            {"dispositif": d}
            | _comparison_row(
                DISPOSITIFS[d],
                int(used.loc[d].get(YOUTH, 0)),
                int(n.get(YOUTH, 0)),
                int(used.loc[d].get(ADULTS, 0)),
                int(n.get(ADULTS, 0)),
            )
        )
    return _comparison_table(rows, ("dispositif",))


def services_fled(fu: pd.DataFrame, study: StudyParams) -> pd.DataFrame:
    """Per dispositif, among its users: the single-contact rate and the share with no return
    within ``inactive_days`` of their first contact there, youth against adults."""
    fu = fu.sort_values(["person_id", "dispositif", "date_start"])
    per = fu.groupby(["person_id", "dispositif"]).agg(
        group=("group", "first"),
        n=("date_start", "size"),
        first=("date_start", "min"),
    )
    rank = fu.groupby(["person_id", "dispositif"]).cumcount()
    second = fu[rank == 1].set_index(["person_id", "dispositif"])["date_start"]
    per["second"] = second.reindex(per.index)
    first_row = fu[rank == 0].set_index(["person_id", "dispositif"])
    per["first_end"] = first_row["date_end"].fillna(first_row["date_start"]).reindex(per.index)
    per["single"] = per["n"] == 1
    # A stay that lasts beyond the window is not a service left.
    per["no_return"] = (
        per["second"].isna() | ((per["second"] - per["first"]).dt.days > study.inactive_days)
    ) & ((per["first_end"] - per["first"]).dt.days <= study.inactive_days)
    per = per.reset_index()
    rows = []
    for d in [d for d in DISPOSITIFS if d in set(per["dispositif"])]:
        sub = per[per["dispositif"] == d]
        y, a = sub[sub["group"] == YOUTH], sub[sub["group"] == ADULTS]
        for measure, label in (
            ("single", "Un seul contact"),
            ("no_return", f"Pas de retour dans les {study.inactive_days} jours"),
        ):
            rows.append(
                {"dispositif": d, "measure": measure}
                | _comparison_row(
                    f"{DISPOSITIFS[d]} : {label.lower()}",
                    int(y[measure].sum()),
                    len(y),
                    int(a[measure].sum()),
                    len(a),
                )
            )
    return _comparison_table(rows, ("dispositif", "measure"))


def stay_exits(fu: pd.DataFrame) -> pd.DataFrame:
    """The first stay of each person ended over the follow-up (maison d'accueil, Housing
    First) by exit reason, and the early exits (left or excluded within ``EARLY_EXIT_DAYS``),
    youth against adults.

    One stay per person and dispositif (the first ended one): the stays of one person are not
    independent (2024: 36 ended stays of 16 young people at the maison d'accueil), and the
    tests below assume independent units; counting persons also makes every base a number of
    persons, as elsewhere in the report."""
    stays = fu[fu["dispositif"].isin(STAY_DISPOSITIFS) & fu["date_end"].notna()].copy()
    stays = stays[stays["exit_reason"].notna()]
    stays = stays.sort_values(["person_id", "dispositif", "date_start"], kind="stable")
    stays = stays.drop_duplicates(["person_id", "dispositif"])
    stays["days"] = (stays["date_end"] - stays["date_start"]).dt.days
    stays["fled"] = stays["exit_reason"].isin(FLED_REASONS)
    stays["excluded"] = stays["exit_reason"] == "exclusion"
    stays["early"] = stays["fled"] & (stays["days"] <= EARLY_EXIT_DAYS)
    rows = []
    for d in [d for d in STAY_DISPOSITIFS if d in set(stays["dispositif"])]:
        sub = stays[stays["dispositif"] == d]
        y, a = sub[sub["group"] == YOUTH], sub[sub["group"] == ADULTS]
        for measure, label in (
            ("excluded", "premier séjour terminé par une exclusion"),
            ("fled", "premier séjour terminé par un départ volontaire ou une exclusion"),
            ("early", f"départs ou exclusions dans les {EARLY_EXIT_DAYS} premiers jours"),
        ):
            rows.append(
                {"dispositif": d, "measure": measure}
                | _comparison_row(
                    f"{DISPOSITIFS[d]} : {label}",
                    int(y[measure].sum()),
                    len(y),
                    int(a[measure].sum()),
                    len(a),
                )
            )
    return _comparison_table(rows, ("dispositif", "measure"))


def first_services(cohort: pd.DataFrame) -> pd.DataFrame:
    """Where young people and adults first meet the network: persons per first dispositif."""
    table = cohort.groupby(["first_dispositif", "group"]).size().unstack(fill_value=0)
    table = table.reindex(columns=[YOUTH, ADULTS], fill_value=0)
    order = [d for d in DISPOSITIFS if d in table.index]
    return table.loc[order].rename_axis("dispositif").reset_index()


def service_paths(fu: pd.DataFrame, cohort: pd.DataFrame, group: str) -> pd.DataFrame:
    """The order in which a group's persons used the dispositifs: first, then the next different
    one, as counts of paths « A → B » (« A seulement » when nothing else followed)."""
    mine = fu[fu["group"] == group].sort_values(
        ["person_id", "date_start", "source_file", "source_row"]
    )
    firsts = mine.drop_duplicates(["person_id", "dispositif"])
    order = firsts.groupby("person_id")["dispositif"].agg(list)
    paths = order.map(
        lambda seq: (
            f"{DISPOSITIFS[seq[0]]} → {DISPOSITIFS[seq[1]]}"
            if len(seq) > 1
            else f"{DISPOSITIFS[seq[0]]} seulement"
        )
    )
    counts = paths.value_counts().rename_axis("path").rename("persons").reset_index()
    counts["share"] = counts["persons"] / len(order)
    return counts


def combinations(fu: pd.DataFrame, group: str) -> pd.DataFrame:
    """Combinations of dispositifs used over the follow-up (the LSA's « system paths »)."""
    mine = fu[fu["group"] == group]
    sets = mine.groupby("person_id")["dispositif"].agg(
        lambda s: " + ".join(DISPOSITIFS[d] for d in DISPOSITIFS if d in set(s))
    )
    counts = sets.value_counts().rename_axis("combination").rename("persons").reset_index()
    counts["n_dispositifs"] = counts["combination"].str.count(r" \+ ") + 1
    counts["share"] = counts["persons"] / len(sets)
    return counts
