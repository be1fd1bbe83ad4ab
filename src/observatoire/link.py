"""Linking records of the same person across partners, on keyed tokens only.

First method: deterministic keys. Two records are the same person when they share a partner
record (same client id at the same partner), or agree exactly on one of these keyed keys:

- surname + first name + birth date, and the same with one side's day and month swapped;
- phonetic surname + phonetic first name + birth date;
- surname + birth date + sex, or first name + birth date + sex (one name misspelt beyond its
  phonetic key);
- for a record without birth date: surname + first name + sex, when every dated record with that
  name shares one birth date (no ambiguity).

Links are closed transitively (connected components). Street-work records (initials and an
estimated age only) are chained among themselves (same initials and sex, estimated birth years
close) but not linked to other partners: too little information to do so safely, so a person
seen by street work and by another service is counted twice network-wide, and the report says so.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from observatoire.schema import CONTACT_COLUMNS, PERSON_COLUMNS

KEY_RULES: list[tuple[str, list[str]]] = [
    ("nom_prenom_naissance", ["tok_surname", "tok_first_name", "tok_birth_date"]),
    ("phonetique_naissance", ["tok_surname_phon", "tok_first_name_phon", "tok_birth_date"]),
    ("nom_naissance_sexe", ["tok_surname", "tok_birth_date", "sex"]),
    ("prenom_naissance_sexe", ["tok_first_name", "tok_birth_date", "sex"]),
]
STREET_WORK_YEAR_GAP = 1
"""Street-work records of the same initials and sex are chained when their estimated birth
years are at most this far apart (an estimated age drifts by a year or two between contacts)."""


def _record_table(tokens: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct record (partner client), with its identity tokens."""
    cols = [c for c in tokens.columns if c not in ("source_file", "source_row")]
    return tokens[cols].drop_duplicates().sort_values(cols, na_position="last", ignore_index=True)


def link_records(tokens: pd.DataFrame) -> pd.Series:
    """Map each ``record_key`` to a ``person_id`` (a stable pseudonym of its cluster)."""
    records = _record_table(tokens)
    keys = pd.Index(records["record_key"].unique())
    n = len(keys)
    rec_pos = keys.get_indexer(records["record_key"])
    edges_a: list[np.ndarray] = []
    edges_b: list[np.ndarray] = []
    linkable = records["tok_initials"].isna()

    def add_groups(frame: pd.DataFrame, cols: list[str]) -> None:
        sub = frame.dropna(subset=cols)
        if sub.empty:
            return
        group = sub.groupby(cols, sort=False).ngroup().to_numpy()
        pos = rec_pos[sub.index.to_numpy()]
        first = pd.Series(pos).groupby(group).transform("first").to_numpy()
        edges_a.append(first)
        edges_b.append(pos)

    lk = records[linkable]
    for _, cols in KEY_RULES:
        add_groups(lk, cols)
    # Day/month swap: a record's swapped birth date against the others' true birth date.
    swapped = lk.dropna(subset=["tok_surname", "tok_first_name", "tok_birth_date_swapped"])
    true_dates = lk.dropna(subset=["tok_surname", "tok_first_name", "tok_birth_date"])
    pairs = swapped.reset_index().merge(
        true_dates.reset_index(),
        left_on=["tok_surname", "tok_first_name", "tok_birth_date_swapped"],
        right_on=["tok_surname", "tok_first_name", "tok_birth_date"],
        suffixes=("_a", "_b"),
    )
    if not pairs.empty:
        edges_a.append(rec_pos[pairs["index_a"].to_numpy()])
        edges_b.append(rec_pos[pairs["index_b"].to_numpy()])
    # A record without birth date joins the dated records of the same name and sex, if they
    # all agree on one birth date.
    name_cols = ["tok_surname", "tok_first_name", "sex"]
    named = lk.dropna(subset=["tok_surname", "tok_first_name"])
    dated = named.dropna(subset=["tok_birth_date"])
    unambiguous = dated.groupby(name_cols)["tok_birth_date"].nunique()
    unambiguous = unambiguous[unambiguous == 1].index
    undated = named[named["tok_birth_date"].isna()]
    dated_ok = dated[dated.set_index(name_cols).index.isin(unambiguous)]
    undated_ok = undated[undated.set_index(name_cols).index.isin(unambiguous)]
    add_groups(pd.concat([dated_ok, undated_ok]), name_cols)
    # Street work: chain records of the same initials and sex by estimated birth year.
    street = (
        records[~linkable]
        .dropna(subset=["tok_initials"])
        .sort_values(["tok_initials", "sex", "est_birth_year"])
    )
    if not street.empty:
        same = street["tok_initials"].eq(street["tok_initials"].shift())
        same &= street["sex"].eq(street["sex"].shift())
        gap = street["est_birth_year"].astype("float64").diff()
        chained = same & (gap.fillna(99) <= STREET_WORK_YEAR_GAP)
        pos = rec_pos[street.index.to_numpy()]
        prev = np.roll(pos, 1)
        mask = chained.to_numpy()
        edges_a.append(prev[mask])
        edges_b.append(pos[mask])
    if edges_a:
        a, b = np.concatenate(edges_a), np.concatenate(edges_b)
    else:
        a = b = np.empty(0, dtype=int)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # The person id is a hash of the smallest record key of its cluster: stable whatever order
    # the clusters were found in, and not reversible to any partner's client id.
    smallest = pd.Series(keys).groupby(labels).transform("min")
    person = smallest.map(lambda k: "P" + hashlib.sha256(k.encode()).hexdigest()[:15])
    return pd.Series(person.to_numpy(), index=keys, name="person_id")


def build_clean_tables(
    contacts: pd.DataFrame, tokens: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach ``person_id`` to every contact and derive the persons table."""
    person_of = link_records(tokens)
    out = contacts.copy()
    out["person_id"] = out["record_key"].map(person_of)
    out = out[CONTACT_COLUMNS].sort_values(["source_file", "source_row"], ignore_index=True)

    birth = tokens[["record_key", "birth_year", "est_birth_year"]].copy()
    birth["person_id"] = birth["record_key"].map(person_of)
    exact = (
        birth.dropna(subset=["birth_year"])
        .groupby("person_id")["birth_year"]
        .agg(lambda s: s.mode().min())
    )
    est = birth.dropna(subset=["est_birth_year"]).groupby("person_id")["est_birth_year"].median()

    def modal(col: str, unknown: str) -> pd.Series:
        known = out[out[col] != unknown]
        return known.groupby("person_id")[col].agg(lambda s: s.mode().min())

    g = out.groupby("person_id")
    persons = pd.DataFrame(
        {
            "first_seen": g["date_start"].min(),
            "last_seen": g["date_start"].max(),
            "n_partners": g["partner_id"].nunique(),
            "n_contacts": g.size(),
        }
    )
    persons["sex"] = modal("sex", "INCONNU").reindex(persons.index).fillna("INCONNU")
    persons["nationality_group"] = (
        modal("nationality_group", "INCONNU").reindex(persons.index).fillna("INCONNU")
    )
    by = exact.reindex(persons.index)
    persons["age_estimated"] = by.isna() & est.reindex(persons.index).notna()
    persons["birth_year"] = by.fillna(est.reindex(persons.index).round()).astype("Int64")
    persons = persons.reset_index()[PERSON_COLUMNS].sort_values("person_id", ignore_index=True)
    persons["n_partners"] = persons["n_partners"].astype("int64")
    persons["n_contacts"] = persons["n_contacts"].astype("int64")
    return out, persons
