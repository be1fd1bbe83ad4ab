"""Exact-key methods, kept as baselines for the probabilistic model.

- ``cle_exacte``: the classic key of social-sector files, initials + birth date + sex. Two
  records are the same person when they share it (records without birth date share nothing).
- ``regles_deterministes``: the observatory's first method, several exact keys on keyed name
  tokens and birth dates (with day/month swap), closed transitively.

Both leave street-work records as they are (one person per initials record).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["EXACT_KEY", "KEY_RULES", "deterministic_clusters", "exact_key_clusters"]

KEY_RULES: list[tuple[str, list[str]]] = [
    ("nom_prenom_naissance", ["tok_surname", "tok_first_name", "tok_birth_date"]),
    ("phonetique_naissance", ["tok_surname_phon", "tok_first_name_phon", "tok_birth_date"]),
    ("nom_naissance_sexe", ["tok_surname", "tok_birth_date", "sex"]),
    ("prenom_naissance_sexe", ["tok_first_name", "tok_birth_date", "sex"]),
]
"""The first method's exact keys (plus a day/month-swapped date, and records without birth
date joined to the only birth date known for their name)."""
EXACT_KEY = ["tok_name_initials", "tok_birth_date", "sex"]


def _records(tokens: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in tokens.columns if c.startswith("tok_") and not c.endswith("_variants")]
    cols = ["record_key", "sex", *cols]
    out = tokens.sort_values(["record_key", "source_file", "source_row"])
    out = out.drop_duplicates("record_key")[cols].reset_index(drop=True)
    named = out["tok_surname"].notna() | out["tok_first_name"].notna()
    return out[named].reset_index(drop=True)


def _components(keys: pd.Index, a: list[np.ndarray], b: list[np.ndarray]) -> pd.Series:
    n = len(keys)
    ea = np.concatenate(a) if a else np.empty(0, dtype=int)
    eb = np.concatenate(b) if b else np.empty(0, dtype=int)
    graph = coo_matrix((np.ones(len(ea)), (ea, eb)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    smallest = pd.Series(keys).groupby(labels).transform("min")
    return pd.Series(smallest.to_numpy(), index=keys, name="cluster")


def _group_edges(frame: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    sub = frame.dropna(subset=cols)
    if sub.empty:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    group = sub.groupby(cols, sort=False).ngroup().to_numpy()
    pos = sub.index.to_numpy()
    first = pd.Series(pos).groupby(group).transform("first").to_numpy()
    return first, pos


def exact_key_clusters(tokens: pd.DataFrame) -> pd.Series:
    """Cluster (smallest record key) of every named record under initials + birth date + sex."""
    records = _records(tokens)
    a, b = _group_edges(records, [c for c in EXACT_KEY if c in records])
    return _components(pd.Index(records["record_key"]), [a], [b])


def deterministic_clusters(tokens: pd.DataFrame) -> pd.Series:
    """Cluster of every named record under the first method's rules."""
    records = _records(tokens)
    keys = pd.Index(records["record_key"])
    edges_a, edges_b = [], []
    for _, cols in KEY_RULES:
        a, b = _group_edges(records, cols)
        edges_a.append(a)
        edges_b.append(b)
    pairs = (
        records.reset_index()
        .dropna(subset=["tok_surname", "tok_first_name", "tok_birth_date_swapped"])
        .merge(
            records.reset_index().dropna(
                subset=["tok_surname", "tok_first_name", "tok_birth_date"]
            ),
            left_on=["tok_surname", "tok_first_name", "tok_birth_date_swapped"],
            right_on=["tok_surname", "tok_first_name", "tok_birth_date"],
            suffixes=("_a", "_b"),
        )
    )
    edges_a.append(pairs["index_a"].to_numpy())
    edges_b.append(pairs["index_b"].to_numpy())
    name_cols = ["tok_surname", "tok_first_name", "sex"]
    named = records.dropna(subset=["tok_surname", "tok_first_name"])
    dated = named.dropna(subset=["tok_birth_date"])
    one_date = dated.groupby(name_cols)["tok_birth_date"].nunique()
    one_date = one_date[one_date == 1].index
    undated = named[named["tok_birth_date"].isna()]
    ok = pd.concat(
        [
            dated[dated.set_index(name_cols).index.isin(one_date)],
            undated[undated.set_index(name_cols).index.isin(one_date)],
        ]
    )
    a, b = _group_edges(ok, name_cols)
    edges_a.append(a)
    edges_b.append(b)
    return _components(keys, edges_a, edges_b)
