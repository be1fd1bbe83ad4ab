"""Linkage error carried into counts: links drawn from the model's match probabilities.

The link stage groups named records into persons at one threshold: a pair of records with a
match probability of 0.6 is always linked, one of 0.4 never. The persons counted are then one
possible grouping; the model says how sure it is of each link, and that uncertainty never
reaches the counts. Multiple imputation of the links (Goldstein, Harron & Wade 2012, London)
draws, M times, each scored pair as linked with its match probability (independent Bernoulli
draws), groups the records again with the same rules as the link stage (most probable links
first, no person with two contradictory birth dates or sexes, the analyst's overrides always
applied: :func:`~observatoire.linkage.clustering.cluster_records`) and recounts. The spread of
the M counts is the linkage's share of the uncertainty of a count of persons.

What it assumes: the match probabilities are calibrated (of the pairs scored 0.3, about 30 %
are the same person; checked on the synthetic truth by :func:`calibration`) and the links
independent given their probabilities (the grouping rules then remove the contradictory
draws). Street-work records are never linked to named records: their chains stay as the link
stage made them, and the range of the network count (both bounds) keeps that second,
larger, uncertainty apart.

The link stage writes what the draws need (no Splink run is repeated):
``data_clean/linkage_pairs.parquet`` (every scored pair with probability ≥ 0.001, and the
overrides) and ``data_clean/linkage_records.parquet`` (per record, what may contradict, and the
street-work chain of an initials-only record).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.linkage.clustering import RecordFacts, cluster_records
from observatoire.linkage.link import Linkage, merge_across

__all__ = [
    "FORCED",
    "LinkageState",
    "SCORED",
    "SEPARATED",
    "REVIEW_BANDS",
    "calibration",
    "draw_clusters",
    "fit_recalibration",
    "linkage_state",
    "recalibrated",
    "review_sample",
]

REVIEW_BANDS = (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 1.000001)
"""Bands of match probability of the review sample (the same number of pairs in each)."""
SCORED = "modele"
FORCED = "forcee"
SEPARATED = "separee"


@dataclass(frozen=True)
class LinkageState:
    """What the draws need from one linkage run, as two tables (the link stage's outs).

    ``records``: ``record_key``, ``named`` (bool), ``tok_birth_date``,
    ``tok_birth_date_swapped``, ``sex`` (named records), ``street_chain`` (initials-only
    records: the chain's smallest record key), in record-key order within each kind.
    ``pairs``: ``record_key_l``, ``record_key_r``, ``match_probability`` and ``lien``
    (:data:`SCORED` for a pair the model scored, :data:`FORCED` / :data:`SEPARATED` for the
    analyst's overrides, whose probability is 1 / 0).
    """

    records: pd.DataFrame
    pairs: pd.DataFrame

    @property
    def named(self) -> pd.DataFrame:
        return self.records[self.records["named"]].reset_index(drop=True)

    def facts(self) -> RecordFacts:
        named = self.named
        return RecordFacts(
            list(named["record_key"]),
            list(named["tok_birth_date"]),
            list(named["tok_birth_date_swapped"]),
            list(named["sex"]),
        )


def linkage_state(linkage: Linkage) -> LinkageState:
    """The records and pairs of a linkage run, by record key (positions are not stable)."""
    ids = list(linkage.facts.ids)
    named = pd.DataFrame(
        {
            "record_key": ids,
            "named": True,
            "tok_birth_date": pd.array(linkage.facts.birth_date, dtype="object"),
            "tok_birth_date_swapped": pd.array(linkage.facts.birth_date_swapped, dtype="object"),
            "sex": pd.array(linkage.facts.sex, dtype="object"),
            "street_chain": None,
        }
    )
    street = pd.DataFrame(
        {
            "record_key": list(linkage.street.index),
            "named": False,
            "tok_birth_date": None,
            "tok_birth_date_swapped": None,
            "sex": None,
            "street_chain": list(linkage.street.to_numpy()),
        }
    )
    records = pd.concat([named, street], ignore_index=True)
    for col in ("tok_birth_date", "tok_birth_date_swapped"):
        records[col] = records[col].map(lambda v: None if v is None or pd.isna(v) else str(v))
    records["sex"] = records["sex"].map(lambda v: v if v in ("M", "F") else None)
    scored = linkage.pairs
    frames = [
        pd.DataFrame(
            {
                "record_key_l": scored.get("unique_id_l", pd.Series(dtype=object)),
                "record_key_r": scored.get("unique_id_r", pd.Series(dtype=object)),
                "match_probability": scored["match_probability"].astype("float64"),
                "lien": SCORED,
            }
        )
    ]
    for kind, pairs in ((FORCED, linkage.together), (SEPARATED, linkage.apart)):
        frames.append(
            pd.DataFrame(
                {
                    "record_key_l": [ids[a] for a, _ in pairs],
                    "record_key_r": [ids[b] for _, b in pairs],
                    "match_probability": 1.0 if kind == FORCED else 0.0,
                    "lien": kind,
                }
            )
        )
    frames.append(
        pd.DataFrame(
            {
                "record_key_l": [a for a, _ in linkage.cross_together],
                "record_key_r": [b for _, b in linkage.cross_together],
                "match_probability": 1.0,
                "lien": FORCED,
            }
        )
    )
    # A network without named records (street work alone) has no pair at all.
    pairs = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    if pairs.empty:
        pairs = pd.DataFrame(
            {
                "record_key_l": pd.Series(dtype=object),
                "record_key_r": pd.Series(dtype=object),
                "match_probability": pd.Series(dtype="float64"),
                "lien": pd.Series(dtype=object),
            }
        )
    return LinkageState(records, pairs)


def draw_clusters(
    state: LinkageState,
    draws: int,
    seed: int,
    threshold: float | None = None,
    probabilities: Callable[[int, np.ndarray], np.ndarray] | None = None,
) -> Iterator[pd.Series]:
    """Record key → person (smallest record key of its group), once per imputation.

    Each scored pair is linked with its match probability, independently; the groups follow
    from the drawn links by the link stage's rules. ``probabilities(m, p)`` gives the
    probabilities of imputation ``m`` from the model's (a recalibration drawn anew for each
    imputation carries the recalibration's own uncertainty). With ``threshold`` instead, the
    pairs at or above it are linked (the link stage's own grouping: a check that the state is
    complete).
    """
    facts = state.facts()
    pos = {k: i for i, k in enumerate(facts.ids)}
    pairs = state.pairs
    scored = pairs[pairs["lien"] == SCORED]
    a = scored["record_key_l"].map(pos).to_numpy(dtype="int64")
    b = scored["record_key_r"].map(pos).to_numpy(dtype="int64")
    p = scored["match_probability"].to_numpy(dtype="float64")
    within = pairs["record_key_l"].isin(pos) & pairs["record_key_r"].isin(pos)
    forced = pairs[(pairs["lien"] == FORCED) & within]
    together = list(
        zip(forced["record_key_l"].map(pos), forced["record_key_r"].map(pos), strict=True)
    )
    sep = pairs[(pairs["lien"] == SEPARATED) & within]
    apart = list(zip(sep["record_key_l"].map(pos), sep["record_key_r"].map(pos), strict=True))
    cross = pairs[(pairs["lien"] == FORCED) & ~within]
    cross_links = list(zip(cross["record_key_l"], cross["record_key_r"], strict=True))
    street = state.records[~state.records["named"]].set_index("record_key")["street_chain"]
    ids = np.asarray(facts.ids, dtype=object)
    rng = np.random.default_rng(seed)

    def grouped(linked: np.ndarray) -> pd.Series:
        # Drawn links keep their probability as the order in which they are tried.
        frame = pd.DataFrame({"a": a[linked], "b": b[linked], "match_probability": p[linked]})
        labels = cluster_records(facts, frame, 0.0, together, apart).labels
        cluster = pd.concat([pd.Series(ids[labels], index=ids), street.astype(object)])
        return merge_across(cluster, cross_links).rename("cluster")

    if threshold is not None:
        yield grouped(p >= threshold)
        return
    for m in range(draws):
        pm = p if probabilities is None else probabilities(m, p)
        yield grouped(rng.random(len(p)) < pm)


def calibration(
    pairs: pd.DataFrame, same_person: pd.Series, edges: tuple[float, ...] = REVIEW_BANDS
) -> pd.DataFrame:
    """Scored pairs by band of match probability: mean probability against the share truly
    the same person (``same_person``, aligned on ``pairs``). Imputation assumes the two agree."""
    scored = pairs.assign(vrai=same_person.astype(bool))
    band = pd.cut(scored["match_probability"], list(edges), right=False, include_lowest=True)
    out = scored.groupby(band, observed=True).agg(
        paires=("vrai", "size"),
        probabilite_moyenne=("match_probability", "mean"),
        part_vraies=("vrai", "mean"),
    )
    out.index = [f"[{i.left:g} ; {i.right:g}[" for i in out.index]
    return out.rename_axis("bande").reset_index()


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype="float64"), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _band(probability: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Band number of each probability (0 to len(edges) − 2; clipped at both ends)."""
    i = np.searchsorted(np.asarray(edges), np.asarray(probability, dtype="float64"), "right")
    return np.clip(i - 1, 0, len(edges) - 2)


def fit_recalibration(
    probability: np.ndarray,
    same: np.ndarray,
    edges: tuple[float, ...] = REVIEW_BANDS,
    cap: float = 12.0,
) -> np.ndarray:
    """Per band of probability, the shift δ of the log-odds such that the reviewed pairs of
    the band, their odds multiplied by e^δ, expect as many true matches as the review found
    (maximum likelihood of a logistic model with slope 1 and one intercept per band).

    A band where every verdict is « same » (or « different ») has δ = +cap (−cap): the
    review saw no exception, the probabilities are pushed to 1 (0), which keeps the bands the
    model is sure of as they are linked. A band without reviewed pairs keeps δ = 0 (the
    model's probabilities). The model's order is kept within a band.
    """
    x = _logit(probability)
    y = np.asarray(same, dtype="float64")
    band = _band(probability, edges)
    shifts = np.zeros(len(edges) - 1)
    for b in range(len(shifts)):
        sel = band == b
        if not sel.any():
            continue
        k = y[sel].sum()
        if k == 0:
            shifts[b] = -cap
        elif k == sel.sum():
            shifts[b] = cap
        else:
            lo, hi = -cap, cap
            for _ in range(60):  # expected matches increase with δ: bisection
                mid = (lo + hi) / 2
                if (1 / (1 + np.exp(-(x[sel] + mid)))).sum() < k:
                    lo = mid
                else:
                    hi = mid
            shifts[b] = (lo + hi) / 2
    return shifts


def recalibrated(
    probability: np.ndarray, shifts: np.ndarray | None, edges: tuple[float, ...] = REVIEW_BANDS
) -> np.ndarray:
    """The model's probabilities through the recalibration ``shifts`` (None: unchanged)."""
    p = np.asarray(probability, dtype="float64")
    if shifts is None:
        return p
    return 1 / (1 + np.exp(-(_logit(p) + np.asarray(shifts)[_band(p, edges)])))


def review_sample(
    pairs: pd.DataFrame, n: int, seed: int, edges: tuple[float, ...] = REVIEW_BANDS
) -> pd.DataFrame:
    """About ``n`` scored pairs to review, the same number in each band of probability (the
    uncertain bands would be a handful in a simple random sample). Sampling on the
    probability alone leaves P(same | probability) unbiased without weights."""
    scored = pairs[pairs["lien"] == SCORED]
    band = pd.cut(scored["match_probability"], list(edges), right=False)
    rng = np.random.default_rng(seed)
    per = max(1, n // (len(edges) - 1))
    picked = []
    for _, grp in scored.groupby(band, observed=True):
        picked.extend(rng.choice(grp.index.to_numpy(), min(per, len(grp)), replace=False))
    return scored.loc[sorted(picked)]
